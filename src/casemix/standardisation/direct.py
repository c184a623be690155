"""Model-based direct standardisation: each unit's own rates applied to the national case-mix."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import expit, ndtri

from casemix.models.cells import unit_cells
from casemix.models.logistic import fit_logistic_fixed_effects
from casemix.models.result import CaseMixResult

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


def direct_standardisation(result: CaseMixResult, level: str | None = None,
                           *, confidence_level: float | None = None) -> pd.DataFrame:
    """Directly standardised rate per unit: the unit's rates on the national case-mix.

    Parameters
    ----------
    result : CaseMixResult
        A fitted result (with its data attached, i.e. not loaded from disk).
    level : str, optional
        Unit level (default: the spec's first level).
    confidence_level : float, optional
        Interval level (default: the spec's).

    Returns
    -------
    pandas.DataFrame
        Columns of :data:`DIRECT_COLUMNS`.

    Notes
    -----
    A logistic model with one intercept :math:`\\alpha_k` per unit and common case-mix
    coefficients :math:`\\beta` is fitted; the directly standardised rate of unit :math:`k` is
    :math:`\\sum_j n_j\\,\\mathrm{expit}(\\alpha_k + x_j^T\\beta) / \\sum_j n_j` over the
    national covariate patterns :math:`j` (with :math:`n_j` births). This generalises classic
    direct standardisation (stratum-specific rates weighted by a standard population) to many
    case-mix variables, where stratum-specific rates would be empty. The interval maps the Wald
    interval of :math:`\\alpha_k` given :math:`\\beta` (standard error
    :math:`1/\\sqrt{\\sum_{i \\in k} w_i p_i (1-p_i)}`) through this monotone function; the
    uncertainty of the nationally estimated :math:`\\beta` is small by comparison and ignored.
    Units without events (or without non-events) have no finite intercept: their rate is 0
    (or 1) with no interval, marked in ``direct_note``.
    """
    if result.cells is None or result.patterns is None or result.cells.pattern is None:
        raise ValueError("Direct standardisation needs a result with its data attached "
                         "(a fitted result, not a loaded model).")
    level = level or result.spec.levels[0]
    conf = confidence_level or result.spec.confidence_level
    cells, patterns = result.cells, result.patterns
    assert cells.pattern is not None  # checked above
    X = result.encoding.matrix(patterns.keys)[:, 1:]
    uc = unit_cells(cells, level)
    fit = fit_logistic_fixed_effects(X[uc.pattern], uc.unit, uc.y, uc.m,
                                     n_units=len(uc.uniques))
    lp = X @ fit.coef
    q = ndtri(0.5 + conf / 2)
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
