"""Model-based direct standardisation: each unit's own rates applied to the national case-mix."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import expit, ndtri

from casemix.core.cells import Cells, unit_cells
from casemix.core.logistic import fit_logistic_fixed_effects

__all__ = ["DIRECT_COLUMNS", "direct_standardisation"]

DIRECT_COLUMNS = ["level", "unit", "n", "observed", "direct_rate", "direct_rate_lower",
                  "direct_rate_upper", "direct_note"]


def _standardise(alpha: npt.NDArray[np.float64], lp: npt.NDArray[np.float64],
                 weight: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Weighted mean of ``expit(alpha_k + lp)`` over the national patterns, per unit."""
    finite = np.isfinite(alpha)
    out = np.where(alpha > 0, 1.0, 0.0)
    out[finite] = expit(alpha[finite, None] + lp[None, :]) @ weight / weight.sum()
    return out


def direct_standardisation(X: npt.NDArray[np.float64], patterns: Cells, cells: Cells,
                           level: str, *, confidence_level: float = 0.95) -> pd.DataFrame:
    """Directly standardised rate per unit: the unit's rates on the national case-mix.

    Parameters
    ----------
    X : ndarray
        Design matrix of the covariate patterns, intercept first.
    patterns : Cells
        Covariate patterns with their births ``m`` (the standard population).
    cells : Cells
        Pattern x unit cells (``cells.pattern`` indexes ``patterns``; keys include ``level``).
    level : str
        Unit level.
    confidence_level : float
        Interval level.

    Returns
    -------
    pandas.DataFrame
        Columns of :data:`DIRECT_COLUMNS`.

    Notes
    -----
    A logistic model with one intercept $\\alpha_k$ per unit and common case-mix
    coefficients $\\beta$ is fitted; the directly standardised rate of unit $k$ is
    $\\sum_j n_j\\,\\mathrm{expit}(\\alpha_k + x_j^T\\beta) / \\sum_j n_j$ over the
    national covariate patterns $j$ (with $n_j$ births). This generalises classic
    direct standardisation (stratum-specific rates weighted by a standard population) to many
    case-mix variables, where stratum-specific rates would be empty. The interval maps the Wald
    interval of $\\alpha_k$ given $\\beta$ (standard error
    $1/\\sqrt{\\sum_{i \\in k} w_i p_i (1-p_i)}$) through this monotone function; the
    uncertainty of the nationally estimated $\\beta$ is small by comparison and ignored.
    Units without events (or without non-events) have no finite intercept: their rate is 0
    (or 1) with no interval, marked in ``direct_note``.
    """
    if cells.pattern is None:
        raise ValueError("Direct standardisation needs unit cells that index the covariate "
                         "patterns (Cells.pattern).")
    X = X[:, 1:]
    uc = unit_cells(cells, level)
    fit = fit_logistic_fixed_effects(X, uc.unit, uc.y, uc.m, n_units=len(uc.uniques),
                                     pattern=uc.pattern)
    lp = X @ fit.coef
    q = ndtri(0.5 + confidence_level / 2)
    rate = _standardise(fit.unit_intercepts, lp, patterns.m)
    se = fit.unit_intercept_se_conditional
    lower = _standardise(fit.unit_intercepts - q * se, lp, patterns.m)
    upper = _standardise(fit.unit_intercepts + q * se, lp, patterns.m)
    finite = np.isfinite(fit.unit_intercepts)
    lower[~finite] = upper[~finite] = np.nan
    n = np.bincount(uc.unit, weights=uc.m, minlength=len(uc.uniques))
    o = np.bincount(uc.unit, weights=uc.y, minlength=len(uc.uniques))
    note = np.where(finite, "", np.where(o == 0, "no events: rate 0, no interval",
                                         "no non-events: rate 1, no interval"))
    return pd.DataFrame({"level": level, "unit": np.asarray(uc.uniques).astype(str), "n": n,
                         "observed": o, "direct_rate": rate, "direct_rate_lower": lower,
                         "direct_rate_upper": upper, "direct_note": note})
