"""Shrinkage columns of the unit table from O and E: empirical Bayes and Fay-Herriot."""

from __future__ import annotations

import numpy as np
import pandas as pd

from casemix._params import check_one_of
from casemix.shrinkage.empirical_bayes import poisson_gamma
from casemix.shrinkage.fay_herriot import fay_herriot

__all__ = ["SHRINKAGE_COLUMNS", "UNIT_SHRINKAGE_METHODS", "log_ratio_direct", "shrink_units"]

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
