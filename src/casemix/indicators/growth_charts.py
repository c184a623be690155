"""Dutch birthweight reference curves (Hoftiezer et al. 2019) shipped as package data.

The table gives, per infant sex and gestational day (161..294 days, i.e. 23+0 to 42+0 weeks),
the 3rd, 5th, 10th, 50th, 90th, 95th and 97th birthweight percentiles in grams.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import ndtr, ndtri

from casemix._params import check_one_of

__all__ = [
    "GA_MAX_DAYS",
    "GA_MIN_DAYS",
    "PERCENTILES",
    "birthweight_at_percentile",
    "birthweight_percentile",
    "birthweight_reference",
    "birthweight_threshold",
]

PERCENTILES: tuple[int, ...] = (3, 5, 10, 50, 90, 95, 97)
GA_MIN_DAYS = 161
GA_MAX_DAYS = 294
_SEXES = ("female", "male")
CITATION = (
    "Hoftiezer L, Hof MHP, Dijs-Elsinga J, Hogeveen M, Hukkelhoven CWPM, van Lingen RA. "
    "From population reference to national standard: new and improved birthweight charts. "
    "Am J Obstet Gynecol 2019;220(4):383.e1-383.e17. doi:10.1016/j.ajog.2018.12.023"
)


@cache
def birthweight_reference() -> pd.DataFrame:
    """Return the Hoftiezer 2019 reference table.

    Returns
    -------
    pandas.DataFrame
        Columns ``sex`` (female/male), ``week``, ``day``, ``ga_days``, ``p3``, ``p5``, ``p10``,
        ``p50``, ``p90``, ``p95``, ``p97`` (grams); one row per sex and gestational day.

    Notes
    -----
    Source: Hoftiezer et al., Am J Obstet Gynecol 2019;220(4):383.e1-383.e17,
    doi:10.1016/j.ajog.2018.12.023 (tables as distributed with the publication).
    """
    path = files("casemix.resources").joinpath("hoftiezer2019_birthweight_percentiles.csv")
    with path.open("r", encoding="utf-8") as fh:
        table = pd.read_csv(fh)
    return table


@cache
def _grid() -> npt.NDArray[np.float64]:
    """Array ``[sex, ga_days - 161, percentile]`` of reference weights (read-only)."""
    table = birthweight_reference()
    n_days = GA_MAX_DAYS - GA_MIN_DAYS + 1
    grid = np.full((2, n_days, len(PERCENTILES)), np.nan)
    for s, sex in enumerate(_SEXES):
        rows = table[table["sex"] == sex].sort_values("ga_days")
        grid[s, rows["ga_days"].to_numpy() - GA_MIN_DAYS] = rows[[f"p{p}" for p in PERCENTILES]]
    grid.setflags(write=False)
    return grid


def _sex_and_day_index(
    sex: npt.ArrayLike, ga_days: npt.ArrayLike
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.bool_]]:
    """Map sex labels and gestational days to grid indices; ``valid`` marks defined lookups."""
    codes, uniques = pd.factorize(pd.Series(sex) if not isinstance(sex, pd.Series) else sex)
    lookup = np.array([0 if u == "female" else 1 if u == "male" else -1 for u in uniques] + [-1],
                      dtype=np.intp)
    s_idx = lookup[codes]  # code -1 (missing) takes the appended -1
    ga_series = ga_days if isinstance(ga_days, pd.Series) else pd.Series(np.asarray(ga_days))
    if not pd.api.types.is_numeric_dtype(ga_series.dtype):  # numbers need no parsing (the
        ga_series = pd.to_numeric(ga_series, errors="coerce")  # validated column: 15 ms/1M)
    ga = ga_series.to_numpy(dtype=float, na_value=np.nan)
    in_range = np.isfinite(ga) & (ga >= GA_MIN_DAYS) & (ga <= GA_MAX_DAYS)
    d_idx = np.where(in_range, np.nan_to_num(ga) - GA_MIN_DAYS, 0).astype(np.intp)
    return s_idx, d_idx, in_range & (s_idx >= 0)


def birthweight_threshold(
    sex: npt.ArrayLike, ga_days: npt.ArrayLike, percentile: int = 10
) -> npt.NDArray[np.float64]:
    """Reference birthweight (grams) at a tabulated percentile, per infant.

    Parameters
    ----------
    sex : array-like of {"female", "male"}
        Infant sex; any other value (including missing) gives NaN.
    ga_days : array-like of int
        Completed gestational days. Days outside 161..294 give NaN.
    percentile : {3, 5, 10, 50, 90, 95, 97}
        Which tabulated percentile to return.

    Returns
    -------
    numpy.ndarray
        Weights in grams, NaN where the reference is undefined.

    Examples
    --------
    >>> birthweight_threshold(["female", "male"], [259, 259]).tolist()
    [2437.0, 2531.0]
    """
    check_one_of("percentile", percentile, PERCENTILES)
    s_idx, d_idx, valid = _sex_and_day_index(sex, ga_days)
    out = _grid()[np.clip(s_idx, 0, 1), d_idx, PERCENTILES.index(percentile)].astype(float)
    out[~valid] = np.nan
    return out


def birthweight_at_percentile(
    sex: npt.ArrayLike, ga_days: npt.ArrayLike, quantile: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Birthweight at an arbitrary quantile of the reference distribution (for simulation).

    Parameters
    ----------
    sex, ga_days : array-like
        As in :func:`birthweight_threshold`; days outside 161..294 are clamped to the range.
    quantile : array-like of float in (0, 1)
        Quantile of the reference distribution.

    Returns
    -------
    numpy.ndarray
        Weight in grams (not rounded).

    Notes
    -----
    The publication tabulates seven percentiles only. Between them, weight is interpolated
    linearly on the standard-normal quantile scale, $z = \\Phi^{-1}(q)$; beyond p3 and p97 the
    outermost segment is extrapolated. This is an approximation used to generate synthetic
    birthweights; SGA classification itself only uses the tabulated p10.
    """
    s_idx, _, _ = _sex_and_day_index(sex, ga_days)
    if np.any(s_idx < 0):
        raise ValueError("birthweight_at_percentile needs sex 'female' or 'male' for every infant.")
    ga = np.clip(np.asarray(ga_days, dtype=float), GA_MIN_DAYS, GA_MAX_DAYS).astype(np.intp)
    weights = _grid()[s_idx, ga - GA_MIN_DAYS]  # (n, 7)
    knots = ndtri(np.asarray(PERCENTILES) / 100.0)
    z = ndtri(np.asarray(quantile, dtype=float))
    seg = np.clip(np.searchsorted(knots, z) - 1, 0, len(knots) - 2)
    z0, z1 = knots[seg], knots[seg + 1]
    rows = np.arange(weights.shape[0])
    w0, w1 = weights[rows, seg], weights[rows, seg + 1]
    return w0 + (w1 - w0) * (z - z0) / (z1 - z0)


def birthweight_percentile(
    sex: npt.ArrayLike, ga_days: npt.ArrayLike, weight_g: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Percentile (0..100) of a birthweight on the reference distribution: the inverse of
    :func:`birthweight_at_percentile` (for simulating a registry's own percentile column).

    Parameters
    ----------
    sex, ga_days : array-like
        As in :func:`birthweight_threshold`: days outside 161..294, or a sex other than
        ``female``/``male``, give NaN (the reference does not define a percentile there).
    weight_g : array-like of float
        Birthweight in grams; missing gives NaN.

    Returns
    -------
    numpy.ndarray
        Percentiles, interpolated on the standard-normal quantile scale between the tabulated
        percentiles as in :func:`birthweight_at_percentile`; exactly 10 at the tabulated p10.

    Examples
    --------
    >>> birthweight_percentile(["female", "male"], [259, 259], [2437, 2531]).round(6).tolist()
    [10.0, 10.0]
    """
    s_idx, d_idx, valid = _sex_and_day_index(sex, ga_days)
    weights = _grid()[np.clip(s_idx, 0, 1), d_idx]  # (n, 7)
    w = pd.to_numeric(pd.Series(np.asarray(weight_g, dtype=object)), errors="coerce").to_numpy(
        dtype=float, na_value=np.nan)
    knots = ndtri(np.asarray(PERCENTILES) / 100.0)
    seg = np.clip((weights < w[:, None]).sum(axis=1) - 1, 0, len(knots) - 2)
    rows = np.arange(len(w))
    w0, w1 = weights[rows, seg], weights[rows, seg + 1]
    z = knots[seg] + (knots[seg + 1] - knots[seg]) * (w - w0) / (w1 - w0)
    out = 100 * ndtr(z)
    out[~valid | np.isnan(w)] = np.nan
    return out
