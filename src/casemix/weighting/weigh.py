"""One call for the command line: weights, optional trimming, and the fit after it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from casemix._params import check_one_of
from casemix.weighting.design_effects import design_effects
from casemix.weighting.margins import Margins, cell_codes, classify
from casemix.weighting.raking import poststratify, rake
from casemix.weighting.result import Weights
from casemix.weighting.trimming import trim

__all__ = ["METHODS", "weigh"]

METHODS = ("rake", "poststratify")


def weigh(births: pd.DataFrame, margins: Margins, *, method: str = "rake",
          base: str | None = None, trim_bounds: tuple[float, float] | None = None,
          relative: bool = True, strict: bool = True) -> Weights:
    """Weights of ``births`` to ``margins``, trimmed if asked.

    Parameters
    ----------
    births : pandas.DataFrame
    margins : Margins
    method : {"rake", "poststratify"}
    base : str, optional
        Column of base weights.
    trim_bounds : (float, float), optional
        Lower and upper bound of the weights after weighting.
    relative : bool, default True
        The bounds are multiples of the mean weight (otherwise absolute weights).
    strict : bool, default True
        Trim until no weight is outside the bounds (:func:`~casemix.weighting.trim`).

    Returns
    -------
    Weights
        After trimming, ``fit`` shows the margins the trimmed weights achieve (trimming
        keeps the total, not the margins) and ``trimming`` the bounds and counts.
    """
    check_one_of("method", method, METHODS, owner="weigh")
    result = (rake if method == "rake" else poststratify)(births, margins, base=base)
    if trim_bounds is None:
        return result
    scale = float(result.weights.mean()) if relative else 1.0
    trimmed = trim(result.weights, trim_bounds[0] * scale, trim_bounds[1] * scale,
                   strict=strict)
    fit = result.fit.copy()
    encoded = classify(births, margins)
    achieved = np.concatenate([np.bincount(cell_codes(encoded, m), trimmed.weights,
                                           minlength=len(m.values))
                               for m in margins.margins])
    fit["achieved"] = achieved
    fit["deviation"] = achieved - fit["target"].to_numpy()
    return dataclasses.replace(result, weights=trimmed.weights, fit=fit,
                               design_effects=design_effects(trimmed.weights),
                               trimming=trimmed.to_dict())
