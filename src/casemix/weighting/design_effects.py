"""Kish's design effect of unequal weights and the effective sample size."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["NATIONAL", "design_effects"]

#: Level and unit label of the row of all births (as in the package's count tables).
NATIONAL = ("national", "NL")
COLUMNS = ["level", "unit", "n", "sum_weights", "deff", "n_effective"]


def _rows(level: str, units: Sequence[object], n: npt.NDArray[np.float64],
          s1: npt.NDArray[np.float64], s2: npt.NDArray[np.float64]) -> pd.DataFrame:
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = np.where(s2 > 0, s1 * s1 / s2, 0.0)
        deff = np.where(n_eff > 0, n / n_eff, np.nan)
    return pd.DataFrame({"level": level, "unit": [str(u) for u in units],
                         "n": n.astype(np.int64), "sum_weights": s1, "deff": deff,
                         "n_effective": n_eff})


def design_effects(weights: npt.ArrayLike, by: pd.DataFrame | None = None) -> pd.DataFrame:
    """Kish's design effect and effective sample size, overall and per unit.

    Parameters
    ----------
    weights : array-like of float
        One weight per birth (>= 0).
    by : pandas.DataFrame, optional
        Unit columns (``vsv``, ``municipality``, ...), one row per birth: each column is a
        level, and each of its codes a unit. Births without a code are in the overall row
        only.

    Returns
    -------
    pandas.DataFrame
        ``level, unit, n, sum_weights, deff, n_effective``: first the row of all births
        (level ``national``, unit ``NL``), then the units of each level.

    Notes
    -----
    For the births of a group with weights $w_i$ (Kish 1965, section 11.7),

    $$n_\\text{eff} = \\frac{(\\sum_i w_i)^2}{\\sum_i w_i^2}, \\qquad
    \\text{deff} = \\frac{n}{n_\\text{eff}} = \\frac{n \\sum_i w_i^2}{(\\sum_i w_i)^2}.$$

    The design effect is 1 for equal weights and grows with their spread
    ($1 + \\text{CV}^2$ of the weights). It is the factor by which unequal weighting
    inflates the variance of a weighted mean; clustering is not included.

    References
    ----------
    Kish, L. (1965). *Survey Sampling*. Wiley.
    """
    w = np.asarray(weights, dtype=float)
    out = [_rows(NATIONAL[0], [NATIONAL[1]], np.array([float(len(w))]), np.array([w.sum()]),
                 np.array([np.dot(w, w)]))]
    frame = pd.DataFrame() if by is None else by
    for level in frame.columns:
        codes, units = pd.factorize(frame[level], sort=True)
        ok = codes >= 0
        k = len(units)
        out.append(_rows(str(level), list(units),
                         np.bincount(codes[ok], minlength=k).astype(float),
                         np.bincount(codes[ok], w[ok], minlength=k).astype(float),
                         np.bincount(codes[ok], w[ok] ** 2, minlength=k).astype(float)))
    return pd.concat(out, ignore_index=True)[COLUMNS]
