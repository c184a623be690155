"""Shrinkage columns of the unit table from O and E: empirical Bayes and Fay-Herriot."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from casemix._params import check_one_of
from casemix.core.ranks import rank_summary
from casemix.shrinkage.empirical_bayes import poisson_gamma
from casemix.shrinkage.fay_herriot import fay_herriot

__all__ = ["SHRINKAGE_COLUMNS", "UNIT_SHRINKAGE_METHODS", "log_ratio_direct", "shrink_units",
           "shrink_units_by_year"]

#: Columns every shrinkage method adds to the unit table.
SHRINKAGE_COLUMNS = ["shrunk_oe", "shrunk_lower", "shrunk_upper", "prob_above", "rank",
                     "rank_lower", "rank_upper"]
UNIT_SHRINKAGE_METHODS = ("eb", "fay-herriot")


def log_ratio_direct(observed: np.ndarray, expected: np.ndarray) -> tuple[np.ndarray,
                                                                          np.ndarray]:
    """Direct estimate :math:`\\log(O/E)` and its sampling variance :math:`1/O`.

    Units with :math:`O = 0` get the continuity correction :math:`O = 0.5` (estimate
    :math:`\\log(0.5/E)`, variance 2).
    """
    o = np.where(observed > 0, observed, 0.5)
    return np.log(o / expected), 1 / o


def shrink_units(units: pd.DataFrame, method: str, *, level: float = 0.95,
                 seed: int = 20261123) -> pd.DataFrame:
    """Add the shrinkage columns to a unit table with ``observed`` and ``expected``.

    Parameters
    ----------
    units : pandas.DataFrame
        One row per unit of one level (columns ``observed``, ``expected``).
    method : {"eb", "fay-herriot"}
        Poisson-gamma empirical Bayes on (O, E), or Fay-Herriot (REML) on log O/E.

    Returns
    -------
    pandas.DataFrame
        ``units`` with :data:`SHRINKAGE_COLUMNS`: shrunken O/E with its interval, the
        probability that the unit's true ratio exceeds 1, and the rank with its interval.
    """
    check_one_of("method", method, UNIT_SHRINKAGE_METHODS, owner="shrink_units")
    O = units["observed"].to_numpy(dtype=float)
    E = units["expected"].to_numpy(dtype=float)
    if method == "eb":
        t = poisson_gamma(O, E, level=level, seed=seed).units
        cols = {"shrunk_oe": t["posterior_mean"], "shrunk_lower": t["lower"],
                "shrunk_upper": t["upper"]}
    else:
        y, v = log_ratio_direct(O, E)
        t = fay_herriot(y, v, level=level, seed=seed).units
        cols = {"shrunk_oe": np.exp(t["eblup"]), "shrunk_lower": np.exp(t["lower"]),
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
        ``expected``.
    method : {"eb", "fay-herriot"}

    Returns
    -------
    pandas.DataFrame
        ``per_year`` with :data:`SHRINKAGE_COLUMNS` (ranks within each year).

    Notes
    -----
    ``eb``: two stages. The unit's multi-year relative risk :math:`\\mu_k` is its Poisson-gamma
    posterior mean over all years; each year's relative risk then has the prior
    :math:`\theta_{kt} \\sim \\mathrm{Gamma}(b, b/(\\mu_k c))`, with the between-year shape
    :math:`b` and national factor :math:`c` estimated from all unit-years by a negative-binomial
    fit with exposure :math:`E_{kt}\\mu_k`; the posterior is
    :math:`\\mathrm{Gamma}(b + O_{kt}, b/(\\mu_k c) + E_{kt})`. Intervals multiply draws of
    this posterior with draws of the unit's multi-year posterior, so the uncertainty of
    :math:`\\mu_k` is kept. A unit that is consistently high is shrunk towards its own level,
    not the nation's.
    ``fay-herriot``: the same two stages on the log scale. The unit's multi-year EBLUP
    :math:`m_k` (Fay-Herriot on the pooled log O/E) is the prior mean of each year; a second
    Fay-Herriot model on :math:`\\log(O_{kt}/E_{kt}) - m_k` estimates the between-year variance
    and shrinks each year towards :math:`m_k`; the MSE adds :math:`(1-\\gamma_{kt})^2` times the
    MSE of :math:`m_k`.
    """
    check_one_of("method", method, UNIT_SHRINKAGE_METHODS, owner="shrink_units_by_year")
    out = per_year.copy()
    if method == "eb":
        pooled = out.groupby("unit")[["observed", "expected"]].sum()
        mu_unit = poisson_gamma(pooled["observed"], pooled["expected"], seed=seed).units
        mu = mu_unit["posterior_mean"].to_numpy()[pooled.index.get_indexer(out["unit"])]
        stage1 = poisson_gamma(pooled["observed"], pooled["expected"], seed=seed)
        position = pooled.index.get_indexer(out["unit"])
        fit = poisson_gamma(out["observed"], out["expected"].to_numpy(dtype=float) * mu,
                            level=level, seed=seed + 1)
        # theta_kt = mu_k * theta'_kt: the unit's level keeps its own uncertainty
        draws = stage1.draws[:, position] * fit.draws
        q = (1 - level) / 2
        out["shrunk_oe"] = mu * fit.units["posterior_mean"].to_numpy()
        out["shrunk_lower"] = np.quantile(draws, q, axis=0)
        out["shrunk_upper"] = np.quantile(draws, 1 - q, axis=0)
        out["prob_above"] = (draws > 1).mean(axis=0)
    else:
        pooled = out.groupby("unit")[["observed", "expected"]].sum()
        py, pv = log_ratio_direct(pooled["observed"].to_numpy(dtype=float),
                                  pooled["expected"].to_numpy(dtype=float))
        stage1 = fay_herriot(py, pv, level=level, seed=seed).units
        position = pooled.index.get_indexer(out["unit"])
        m_k = stage1["eblup"].to_numpy()[position]
        mse_k = stage1["mse"].to_numpy()[position]
        y, v = log_ratio_direct(out["observed"].to_numpy(dtype=float),
                                out["expected"].to_numpy(dtype=float))
        t = fay_herriot(y - m_k, v, level=level, seed=seed + 1).units
        estimate = m_k + t["eblup"].to_numpy()
        se = np.sqrt(t["mse"].to_numpy() + (1 - t["shrinkage"].to_numpy()) ** 2 * mse_k)
        z = ndtri(0.5 + level / 2)
        draws = np.exp(np.random.default_rng(seed).normal(estimate, se, (4000, len(y))))
        out["shrunk_oe"] = np.exp(estimate)
        out["shrunk_lower"] = np.exp(estimate - z * se)
        out["shrunk_upper"] = np.exp(estimate + z * se)
        out["prob_above"] = ndtr(estimate / se)
    for rank_col in ("rank", "rank_lower", "rank_upper"):
        out[rank_col] = np.nan
    for _, idx in out.groupby("period").indices.items():
        ranks = rank_summary(out["shrunk_oe"].to_numpy()[idx], draws[:, idx], level=level)
        out.iloc[idx, [out.columns.get_loc(c) for c in ("rank", "rank_lower", "rank_upper")]
                 ] = ranks.to_numpy()
    return out
