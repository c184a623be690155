"""Indirect standardisation: per unit O, E, O/E with intervals, adjusted rate, flags.

Works on aggregated data (observed and expected counts per unit), so it serves both the fitted
risk models and users who only have published totals.
"""

from __future__ import annotations

import warnings

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import ndtr

from casemix._params import check_in_range, check_one_of
from casemix.exceptions import DataError, MethodSwitchWarning
from casemix.standardisation.intervals import poisson_ratio_interval, poisson_ratio_test
from casemix.verdict import unit_verdict

__all__ = ["UNIT_COLUMNS", "flag", "unit_comparison"]

#: Stable interface of ``units.csv`` (later issues add columns, never rename these).
UNIT_COLUMNS = ["level", "unit", "n", "observed", "expected", "crude_rate", "oe", "oe_lower",
                "oe_upper", "adjusted_rate", "adjusted_rate_lower", "adjusted_rate_upper", "z",
                "p_value", "flag_95", "flag_998", "suppressed", "flag_poisson_95",
                "flag_poisson_998", "verdict_p"]


def _as_counts(values: npt.NDArray[np.float64]) -> pd.Series | npt.NDArray[np.float64]:
    """Whole-number counts as integers (nullable), weighted counts stay float."""
    if np.all(values == np.round(values)):
        return pd.array(values.astype(np.int64), dtype="Int64")
    return values


def flag(lower: npt.ArrayLike, upper: npt.ArrayLike) -> npt.NDArray[np.str_]:
    """``above`` when the interval lies above 1, ``below`` when below 1, else ``within``."""
    lo, hi = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    return np.where(lo > 1, "above", np.where(hi < 1, "below", "within"))


def unit_comparison(
    observed: npt.ArrayLike,
    expected: npt.ArrayLike,
    n: npt.ArrayLike,
    *,
    units: npt.ArrayLike | None = None,
    level: str = "unit",
    national_rate: float | None = None,
    confidence_level: float = 0.95,
    interval_method: str = "auto",
    variance: npt.ArrayLike | None = None,
    design_effect: npt.ArrayLike | None = None,
) -> pd.DataFrame:
    """Compare units by indirect standardisation.

    Parameters
    ----------
    observed, expected, n : array-like
        Observed events, expected events (sum of predicted risks) and births per unit (sums of
        case weights when weights are used).
    units : array-like, optional
        Unit codes (default ``0..K-1``).
    level : str
        Name of the unit level (e.g. ``"vsv"``), written in the ``level`` column.
    national_rate : float, optional
        Reference rate for the adjusted rate (default: ``sum(observed) / sum(n)``).
    confidence_level : float, default 0.95
        Level of ``oe_lower``/``oe_upper`` and the adjusted-rate interval.
    interval_method : {"auto", "exact", "byar"}, default "auto"
        Garwood's exact interval, Byar's approximation, or exact below 10 observed events and
        Byar above (see :func:`~casemix.standardisation.intervals.poisson_ratio_interval`).
    variance : array-like, optional
        Null variance of each unit's O for a binary outcome, $\\sum_i p_i(1-p_i)$
        (default: Poisson, the variance is E). Used by the z-score and the verdict.
    design_effect : array-like, optional
        Per unit, $k = V_w / V$: the null variance of the weighted count (sampling weights,
        births shared between units) over that of as many whole births. The O/E intervals
        and Poisson flags then use the effective counts $O/k$ and $E/k$ (the same ratio,
        with the precision of the effective sample size $n/k$).

    Returns
    -------
    pandas.DataFrame
        The columns of :data:`UNIT_COLUMNS` (``suppressed`` is False: disclosure control is
        applied when a table is exported). ``flag_95`` and ``flag_998`` are the verdict
        "unusual beyond the variation between units" of the over-dispersed funnel plot of
        these units (:func:`casemix.verdict.unit_verdict`, family ``funnel``), with its
        two-sided p-value ``verdict_p``; ``flag_poisson_95`` and ``flag_poisson_998``
        answer "does the unit differ from the national level?" (the O/E interval against 1).

    Notes
    -----
    With $O_k$ observed and $E_k = \\sum_{i \\in k} \\hat p_i$ expected events,
    the standardised ratio is $O_k / E_k$ and the indirectly standardised rate is
    $(O_k / E_k) \\times r$ with $r$ the national rate. Intervals for the ratio
    treat $O_k$ as Poisson with known $E_k$: Garwood's exact limits
    $\\chi^2_{\\alpha/2}(2O)/(2E)$, $\\chi^2_{1-\\alpha/2}(2O+2)/(2E)$, or Byar's
    approximation (Breslow & Day 1987, vol. II, p. 69). The z-score is
    $(O - E)/\\sqrt{E}$ and the p-value is the exact two-sided Poisson test of
    $O/E = 1$ (as R's ``poisson.test``); with non-integer (weighted) counts the p-value is
    $2\\Phi(-|z|)$, with a :class:`~casemix.exceptions.MethodSwitchWarning`. With
    ``variance`` the z-score is $(O - E)/\\sqrt{V}$. The Poisson flags compare the
    95% and 99.8% intervals (computed with the same ``interval_method``) with 1; at national
    scale nearly every unit differs from 1, which is why the headline flags allow for the
    between-unit variation (Spiegelhalter 2005).
    """
    check_one_of("interval_method", interval_method, ("auto", "exact", "byar"),
                 owner="unit_comparison")
    check_in_range("confidence_level", confidence_level, 0.5, 0.9999, owner="unit_comparison")
    O = np.asarray(observed, dtype=float)
    E = np.asarray(expected, dtype=float)
    N = np.asarray(n, dtype=float)
    if not (O.shape == E.shape == N.shape):
        raise DataError(f"observed, expected and n must have the same length; got {O.shape}, "
                        f"{E.shape} and {N.shape}.")
    bad = ~(E > 0)
    if bad.any():
        raise DataError(f"expected must be > 0 for every unit; {int(bad.sum())} unit(s) have "
                        f"expected <= 0 or missing (e.g. {E[bad][:3].tolist()}).")
    rate = float(O.sum() / N.sum()) if national_rate is None else float(national_rate)
    oe = O / E
    k = np.ones_like(O) if design_effect is None else np.asarray(design_effect, dtype=float)
    Oe, Ee = O / k, E / k  # effective counts (k = 1: O and E themselves)
    lo, hi = poisson_ratio_interval(Oe, Ee, level=confidence_level, method=interval_method)
    flags = {}
    for lev, name in ((0.95, "flag_poisson_95"), (0.998, "flag_poisson_998")):
        flags[name] = flag(*poisson_ratio_interval(Oe, Ee, level=lev, method=interval_method))
    V = E if variance is None else np.asarray(variance, dtype=float)
    verdict = unit_verdict(O, E, family="funnel", variance=variance).table
    z = (O - E) / np.sqrt(V)
    whole = np.allclose(O, np.round(O), rtol=0, atol=1e-7)
    if whole:
        p_value = poisson_ratio_test(np.round(O), E).p_value
    else:
        warnings.warn("Observed counts are not whole numbers (case weights or shared "
                      "births): p-values use the normal approximation 2*Phi(-|z|) instead of "
                      "the exact Poisson test.", MethodSwitchWarning, stacklevel=2)
        p_value = 2 * ndtr(-np.abs(z))
    if design_effect is not None:  # weighted sums: the normal test with their own variance
        p_value = np.where(k != 1, 2 * ndtr(-np.abs(z)), p_value)
    with np.errstate(invalid="ignore", divide="ignore"):
        crude = O / N
    return pd.DataFrame({
        "level": level,
        "unit": np.arange(len(O)) if units is None else np.asarray(units),
        "n": _as_counts(N), "observed": _as_counts(O), "expected": E, "crude_rate": crude,
        "oe": oe, "oe_lower": lo, "oe_upper": hi,
        "adjusted_rate": oe * rate, "adjusted_rate_lower": lo * rate,
        "adjusted_rate_upper": hi * rate,
        "z": z, "p_value": p_value, "flag_95": verdict["flag_95"].to_numpy(),
        "flag_998": verdict["flag_998"].to_numpy(), "suppressed": False, **flags,
        "verdict_p": verdict["verdict_p"].to_numpy(),
    })
