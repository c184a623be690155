"""The result of a weighting: the weights, the fit to each margin, trimming, design effects."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["Weights"]


@dataclass(frozen=True)
class Weights:
    """Weights of the births and how they were obtained.

    Attributes
    ----------
    weights : numpy.ndarray
        One weight per birth, in the order of the births.
    method : str
        ``"poststratify"`` or ``"rake"``.
    fit : pandas.DataFrame
        Per margin cell: ``margin, value, n`` (births), ``base`` (their base weight),
        ``target``, ``achieved`` (sum of the weights) and ``deviation`` (achieved - target).
    iterations : int
        Raking cycles over all margins (1 for post-stratification).
    design_effects : pandas.DataFrame
        Kish's design effect of all births (:func:`~casemix.weighting.design_effects`).
    trimming : dict, optional
        Bounds and counts of trimming (:meth:`Trimmed.to_dict`), if trimmed.
    """

    weights: npt.NDArray[np.float64]
    method: str
    fit: pd.DataFrame
    iterations: int
    design_effects: pd.DataFrame
    trimming: dict[str, float | int] | None = field(default=None)

    def max_deviation(self) -> pd.Series:
        """Largest absolute deviation from the target per margin (in births)."""
        return self.fit.assign(abs_dev=self.fit["deviation"].abs()).groupby(
            "margin", sort=False)["abs_dev"].max()

    def summary(self) -> dict[str, object]:
        """Method, iterations, fit, trimming and the overall design effect as plain data."""
        overall = self.design_effects.iloc[0]
        return {"method": self.method, "iterations": self.iterations,
                "max_abs_deviation": {k: float(v) for k, v in self.max_deviation().items()},
                "deff": float(overall["deff"]), "n_effective": float(overall["n_effective"]),
                "n": int(overall["n"]), "min_weight": float(self.weights.min()),
                "max_weight": float(self.weights.max()), "trimming": self.trimming}
