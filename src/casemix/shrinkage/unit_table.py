"""Shrinkage columns of the unit table from O and E: empirical Bayes and Fay-Herriot."""

from __future__ import annotations

import numpy as np
import pandas as pd

from casemix._params import check_one_of
from casemix.core.ranks import rank_summary
from casemix.shrinkage.empirical_bayes import poisson_gamma, poisson_gamma_by_year
from casemix.shrinkage.fay_herriot import (
    FH_BACKTRANSFORMS,
    fay_herriot,
    fay_herriot_by_year,
    log_backtransform,
)

__all__ = ["SHRINKAGE_COLUMNS", "UNIT_SHRINKAGE_METHODS", "log_ratio_direct", "shrink_units",
           "shrink_units_by_year"]

#: Columns every shrinkage method adds to the unit table.
SHRINKAGE_COLUMNS = ["shrunk_oe", "shrunk_lower", "shrunk_upper", "prob_above", "rank",
                     "rank_lower", "rank_upper"]
UNIT_SHRINKAGE_METHODS = ("eb", "fay-herriot")


def log_ratio_direct(observed: np.ndarray, expected: np.ndarray, *,
                     variance: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Direct estimate $\\log(O/E)$ and its sampling variance under the model.

    Parameters
    ----------
    observed, expected : ndarray
        $O_k$ and $E_k > 0$.
    variance : ndarray, optional
        Null variance $V_k$ of $O_k$ (for a binary outcome the Poisson-binomial
        variance $\\sum_i p_i(1-p_i)$, the unit table's ``variance`` column).

    Returns
    -------
    direct, sampling_variance : ndarray
        $\\log(O_k/E_k)$ and, by the delta method at $O_k = E_k$ (the model's
        expectation, not the unit's own noisy count), $V_k/E_k^2$, or $1/E_k$
        (Poisson, $V_k = E_k$) without ``variance``. Units with $O_k = 0$ get the
        continuity correction $O_k = 0.5$ in the estimate only; their variance is the same
        function of $E_k$ as every other unit's.
    """
    O = np.asarray(observed, dtype=float)
    E = np.asarray(expected, dtype=float)
    o = np.where(O > 0, O, 0.5)
    if variance is None:
        return np.log(o / E), 1 / E
    return np.log(o / E), np.asarray(variance, dtype=float) / E**2


def _null_variance(units: pd.DataFrame) -> np.ndarray | None:
    """The ``variance`` column when every row has a usable value, else None (Poisson)."""
    if "variance" not in units:
        return None
    v = units["variance"].to_numpy(dtype=float)
    return v if bool(np.all(np.isfinite(v) & (v > 0))) else None


def shrink_units(units: pd.DataFrame, method: str, *, level: float = 0.95,
                 seed: int = 20261123, backtransform: str = "bc_sm") -> pd.DataFrame:
    """Add the shrinkage columns to a unit table with ``observed`` and ``expected``.

    Parameters
    ----------
    units : pandas.DataFrame
        One row per unit of one level (columns ``observed``, ``expected``).
    method : {"eb", "fay-herriot"}
        Poisson-gamma empirical Bayes on (O, E), or Fay-Herriot (REML) on log O/E.
    backtransform : {"bc_sm", "bc_crude", "naive"}, default "bc_sm"
        Fay-Herriot only: how the log-scale EBLUP becomes ``shrunk_oe``
        (:func:`casemix.shrinkage.fay_herriot.log_backtransform`).

    Returns
    -------
    pandas.DataFrame
        ``units`` with :data:`SHRINKAGE_COLUMNS`: shrunken O/E with its interval, the
        probability that the unit's true ratio exceeds 1, and the rank with its interval.

    Notes
    -----
    ``fay-herriot``: direct estimates and sampling variances from :func:`log_ratio_direct`
    ($V_k/E_k^2$ with the table's ``variance`` column, else $1/E_k$);
    ``shrunk_oe`` is the Slud-Maiti bias-corrected $\\exp(\\hat\\theta_k + g_{1k}/2)$
    by default; ``shrunk_lower``/``shrunk_upper`` are the log-scale limits
    $\\hat\\theta_k \\pm z\\sqrt{\\mathrm{mse}_k}$ back-transformed by $\\exp$
    (so the point estimate need not be their geometric midpoint); ``prob_above`` is
    $\\Phi(\\hat\\theta_k/\\sqrt{\\mathrm{mse}_k})$.
    """
    check_one_of("method", method, UNIT_SHRINKAGE_METHODS, owner="shrink_units")
    check_one_of("backtransform", backtransform, FH_BACKTRANSFORMS, owner="shrink_units")
    O = units["observed"].to_numpy(dtype=float)
    E = units["expected"].to_numpy(dtype=float)
    if method == "eb":
        t = poisson_gamma(O, E, level=level, seed=seed).units
        cols = {"shrunk_oe": t["posterior_mean"], "shrunk_lower": t["lower"],
                "shrunk_upper": t["upper"]}
    else:
        y, v = log_ratio_direct(O, E, variance=_null_variance(units))
        fit = fay_herriot(y, v, level=level, seed=seed)
        t = fit.units
        cols = {"shrunk_oe": log_backtransform(fit, backtransform),
                "shrunk_lower": np.exp(t["lower"]),
                "shrunk_upper": np.exp(t["upper"])}
    out = units.copy()
    for name, values in {**cols, "prob_above": t["prob_above"], "rank": t["rank"],
                         "rank_lower": t["rank_lower"], "rank_upper": t["rank_upper"]}.items():
        out[name] = np.asarray(values)
    return out


def shrink_units_by_year(per_year: pd.DataFrame, method: str, *, level: float = 0.95,
                         seed: int = 20261123) -> pd.DataFrame:
    """Per-year shrinkage that borrows strength from the unit's other years.

    Parameters
    ----------
    per_year : pandas.DataFrame
        One row per unit and year of one level: ``unit``, ``period`` (the year), ``observed``,
        ``expected`` (optionally ``variance``, the null variance of ``observed``).
    method : {"eb", "fay-herriot"}

    Returns
    -------
    pandas.DataFrame
        ``per_year`` with :data:`SHRINKAGE_COLUMNS` (ranks within each year).

    Notes
    -----
    In both methods each year's data enter the estimate once, and the interval,
    ``prob_above`` and rank draws come from one posterior per unit-year.

    ``eb`` (:func:`casemix.shrinkage.poisson_gamma_by_year`): $\\theta_{kt} = \\lambda_k
    \\varepsilon_{kt}$, unit levels $\\lambda_k \\sim \\mathrm{Gamma}(a, a/\\mu)$ fitted
    on the units' totals, year variation $\\varepsilon_{kt} \\sim \\mathrm{Gamma}(b, b)$.
    The prior of year $t$ is the unit's level given its *other* years,
    $\\lambda_k \\mid O_{k,-t} \\sim \\mathrm{Gamma}(a + O_k - O_{kt}, a/\\mu + E_k -
    E_{kt})$ (mean $m$, variance $v$), times $\\varepsilon$: the gamma
    distribution $\\mathrm{Gamma}(s, r)$ with mean $m$ and variance
    $V = v + (v + m^2)/b$; the posterior is $\\mathrm{Gamma}(s + O_{kt},
    r + E_{kt})$. $b$ maximises the marginal likelihood of each year given the unit's
    other years. A unit that is consistently high is shrunk towards its own level, not the
    nation's.

    ``fay-herriot`` (:func:`casemix.shrinkage.fay_herriot_by_year`): the two-level model
    $\\log(O_{kt}/E_{kt}) = \\beta + u_k + w_{kt} + e_{kt}$, $u_k \\sim N(0, A)$,
    $w_{kt} \\sim N(0, B)$, $e_{kt} \\sim N(0, D_{kt})$ with $D_{kt}$ from
    :func:`log_ratio_direct`, $(\\beta, A, B)$ by REML; the estimate is the conditional
    mean of $\\theta_{kt} = \\beta + u_k + w_{kt}$ given the unit's years (the same as
    shrinking year $t$ towards the unit's level from its other years), with conditional
    variance $c_{kt}$; ``shrunk_oe`` $= \\exp(\\hat\\theta_{kt} + c_{kt}/2)$
    (the Slud-Maiti correction of :func:`shrink_units`), the interval is
    $\\exp(\\hat\\theta_{kt} \\pm z\\sqrt{\\mathrm{mse}_{kt}})$.
    """
    check_one_of("method", method, UNIT_SHRINKAGE_METHODS, owner="shrink_units_by_year")
    out = per_year.copy()
    O = out["observed"].to_numpy(dtype=float)
    E = out["expected"].to_numpy(dtype=float)
    unit = out["unit"].astype(str).to_numpy()
    if method == "eb":
        fit = poisson_gamma_by_year(O, E, unit, level=level, seed=seed)
        t = fit.units
        draws = fit.draws
        out["shrunk_oe"] = t["posterior_mean"].to_numpy()
        out["shrunk_lower"] = t["lower"].to_numpy()
        out["shrunk_upper"] = t["upper"].to_numpy()
        out["prob_above"] = t["prob_above"].to_numpy()
    else:
        y, v = log_ratio_direct(O, E, variance=_null_variance(out))
        fh = fay_herriot_by_year(y, v, unit, level=level, seed=seed)
        t = fh.units
        draws = np.exp(fh.draws)
        out["shrunk_oe"] = np.exp(t["eblup"].to_numpy() + 0.5 * t["cond_var"].to_numpy())
        out["shrunk_lower"] = np.exp(t["lower"].to_numpy())
        out["shrunk_upper"] = np.exp(t["upper"].to_numpy())
        out["prob_above"] = t["prob_above"].to_numpy()
    for rank_col in ("rank", "rank_lower", "rank_upper"):
        out[rank_col] = np.nan
    for _, idx in out.groupby("period").indices.items():
        ranks = rank_summary(out["shrunk_oe"].to_numpy()[idx], draws[:, idx], level=level)
        out.iloc[idx, [out.columns.get_loc(c) for c in ("rank", "rank_lower", "rank_upper")]
                 ] = ranks.to_numpy()
    return out
