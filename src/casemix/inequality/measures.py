"""Inequality measures of public-health monitoring: SII/RII and the extreme-group contrasts.

:func:`sii_rii` computes the slope and relative index of inequality over ordered social groups
(deciles, quintiles, education levels) as ``PHEindicatormethods::phe_sii`` does, with Monte
Carlo confidence limits. :func:`extreme_groups` compares the two extreme groups: the rate
difference with Newcombe's hybrid score interval and the rate ratio with Katz's log interval.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import expit, logit, ndtri

from casemix._params import check_in_range, check_one_of
from casemix.exceptions import DataError, DataWarning, ParameterError
from casemix.standardisation.intervals import proportion_interval

__all__ = ["SII_COLUMNS", "VALUE_TYPES", "ExtremeGroups", "extreme_groups", "sii_rii"]

FloatArray = npt.NDArray[np.float64]

#: Value types of :func:`sii_rii` and their working scale: identity, log, logit.
VALUE_TYPES = ("normal", "rate", "proportion")

#: Result columns of :func:`sii_rii`, after the ``group_by`` columns.
SII_COLUMNS = ["confidence", "sii", "sii_lower", "sii_upper", "rii", "rii_lower", "rii_upper",
               "intercept", "n_quantiles"]

#: phe_sii reads the supplied limits as 95% limits, whatever the requested confidence.
_Z975 = float(ndtri(0.975))
#: Largest number of normal draws held in memory at once by the simulation.
_MAX_DRAWS = 50_000_000
_MIN_QUANTILES, _MAX_QUANTILES, _WARN_QUANTILES = 5, 100, 10
_MIN_REPETITIONS = 1000


# --------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------


def _require(name: str, values: FloatArray, ok: npt.NDArray[np.bool_], what: str, owner: str,
             labels: Sequence[Any] | None = None, fix: str = "") -> None:
    """Raise a :class:`DataError` naming the argument, the offending values and how many.

    With ``labels`` (the row labels of a data frame) ``name`` is a column of that frame.
    """
    bad = ~ok
    n_bad = int(bad.sum())
    if n_bad == 0:
        return
    kind = "argument of" if labels is None else "column given to"
    where = f"The {name!r} {kind} {owner} must be {what}"
    if values.ndim == 0:
        raise DataError(f"{where}. Got {name} = {float(values)!r} instead.{fix}")
    idx = np.flatnonzero(bad.ravel())
    keys = [labels[i] if labels is not None else int(i) for i in idx[:3]]
    shown = ", ".join(f"{name}[{k!r}] = {float(values.ravel()[i])!r}"
                      for k, i in zip(keys, idx[:3], strict=True))
    more = ", ..." if n_bad > 3 else ""
    raise DataError(f"{where}; {n_bad} of {values.size} entries are not ({shown}{more}).{fix}")


def _check_real(name: str, value: Any, owner: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParameterError(
            f"The {name!r} parameter of {owner} must be a real number. Got {value!r} instead.")
    return float(value)


def _check_level(name: str, value: Any, owner: str) -> float:
    """A confidence level strictly between 0 and 1 (0.95, not 95)."""
    level = _check_real(name, value, owner)
    check_in_range(name, level, 0.0, 1.0, owner=owner)
    if level in (0.0, 1.0):
        raise ParameterError(
            f"The {name!r} parameter of {owner} must be strictly between 0 and 1 (e.g. 0.95 or "
            f"0.998). Got {value!r} instead.")
    return level


def _as_float(name: str, value: Any, owner: str) -> FloatArray:
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"The {name!r} argument of {owner} must be numeric; could not convert "
                        f"it to floats ({exc}).") from None


# --------------------------------------------------------------------------------------------
# slope and relative index of inequality
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _SiiSpec:
    """The options of one :func:`sii_rii` call, validated."""

    value_type: str
    transform: bool
    confidence: tuple[float, ...]
    repetitions: int
    multiplier: float


def _g(v: FloatArray, value_type: str) -> FloatArray:
    """Working scale: identity, log (rates) or logit (proportions)."""
    if value_type == "rate":
        return np.log(v)
    if value_type == "proportion":
        return np.asarray(logit(v), dtype=np.float64)
    return v


def _g_inv(t: FloatArray, value_type: str) -> FloatArray:
    if value_type == "rate":
        return np.exp(t)
    if value_type == "proportion":
        return np.asarray(expit(t), dtype=np.float64)
    return t


def _positions(repetitions: int, confidence: float) -> tuple[int, int]:
    """1-based order statistics of the limits, with phe_sii's arithmetic and R's ``round``.

    Python's ``round`` and R's ``round(x, 0)`` both round exact halves to even.
    """
    upper_tail = confidence + (1 - confidence) / 2
    return round(repetitions * (1 - upper_tail)), round(repetitions * upper_tail)


def _check_spec(value_type: str, transform: bool, confidence: float | Sequence[float],
                repetitions: int, multiplier: float, se: str | None,
                limits: tuple[str | None, str | None]) -> _SiiSpec:
    owner = "sii_rii"
    check_one_of("value_type", value_type, VALUE_TYPES, owner=owner)
    if not isinstance(transform, bool):
        raise ParameterError(f"The 'transform' parameter of {owner} must be True or False. "
                             f"Got {transform!r} instead.")
    if isinstance(repetitions, bool) or not isinstance(repetitions, numbers.Integral):
        raise ParameterError(f"The 'repetitions' parameter of {owner} must be an integer. "
                             f"Got {repetitions!r} instead.")
    check_in_range("repetitions", int(repetitions), _MIN_REPETITIONS, math.inf, owner=owner)
    m = _check_real("multiplier", multiplier, owner)
    if m == 0 or not math.isfinite(m):
        raise ParameterError(f"The 'multiplier' parameter of {owner} must be finite and non-zero. "
                             f"Got {multiplier!r} instead.")
    levels = (confidence,) if isinstance(confidence, numbers.Real) else tuple(confidence)
    if not levels:
        raise ParameterError(f"The 'confidence' parameter of {owner} needs at least one level.")
    levels = tuple(_check_level("confidence", c, owner) for c in levels)
    for c in levels:
        if _positions(int(repetitions), c)[0] < 1:
            raise ParameterError(
                f"The 'confidence' parameter of {owner}: {c!r} needs more than {repetitions} "
                f"repetitions (the lower limit would be order statistic 0); raise 'repetitions'.")
    _check_error_source(se, limits, value_type, transform, owner)
    return _SiiSpec(value_type, transform, levels, int(repetitions), m)


def _check_error_source(se: str | None, limits: tuple[str | None, str | None],
                        value_type: str, transform: bool, owner: str) -> None:
    lower, upper = limits
    has_limits = lower is not None and upper is not None
    if (lower is None) != (upper is None):
        raise ParameterError(f"{owner} needs both 'lower' and 'upper' (or neither). Got "
                             f"lower={lower!r}, upper={upper!r}.")
    if se is None and not has_limits:
        raise ParameterError(f"{owner} needs the 95% limits ('lower' and 'upper') or 'se'.")
    if se is not None and has_limits:
        raise ParameterError(f"{owner} takes either 'se' or 'lower' and 'upper', not both.")
    if transform and value_type == "normal":
        raise ParameterError(f"The 'transform' parameter of {owner} needs value_type 'rate' or "
                             "'proportion' (there is nothing to transform for 'normal').")
    if transform and se is not None:
        raise ParameterError(f"With transform=True, {owner} needs 'lower' and 'upper', not 'se' "
                             "(as phe_sii).")


def _columns_exist(data: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise DataError(f"sii_rii: column(s) {missing} are not in the data (it has "
                        f"{list(data.columns)}).")


def _numeric_column(data: pd.DataFrame, column: str) -> FloatArray:
    series = data[column]
    if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        raise DataError(f"The {column!r} column given to sii_rii must be numeric. Got dtype "
                        f"{series.dtype} instead.")
    return series.to_numpy(dtype=np.float64, na_value=np.nan)


def _scale_ok(values: FloatArray, value_type: str) -> tuple[npt.NDArray[np.bool_], str]:
    finite = np.isfinite(values)
    if value_type == "rate":
        return finite & (values > 0), "finite and > 0 (rates are analysed on the log scale)"
    if value_type == "proportion":
        ok = finite & (values > 0) & (values < 1)
        return ok, "strictly between 0 and 1 (proportions are analysed on the logit scale)"
    return finite, "finite (not missing)"


def _check_quantile_labels(data: pd.DataFrame, quantile: str) -> None:
    series = data[quantile]
    dtype = series.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        if not dtype.ordered:
            raise DataError(f"The {quantile!r} column given to sii_rii is an unordered "
                            "categorical; make it ordered (pd.Categorical(..., ordered=True)) so "
                            "that the order of the quantiles is explicit.")
    elif pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        raise DataError(f"The {quantile!r} column given to sii_rii must be numeric or an ordered "
                        f"categorical (its order is the social order). Got dtype {dtype} instead.")
    n_missing = int(series.isna().sum())
    if n_missing:
        raise DataError(f"The {quantile!r} column given to sii_rii has {n_missing} of "
                        f"{len(series)} entries missing.")


def _prepare(data: pd.DataFrame, columns: dict[str, str | None], spec: _SiiSpec) -> pd.DataFrame:
    """Check the input columns; return a frame with ``_q, _pop, _t, _se`` (working scale)."""
    quantile, population, value = columns["quantile"], columns["population"], columns["value"]
    lower, upper, se = columns["lower"], columns["upper"], columns["se"]
    assert quantile is not None and population is not None and value is not None
    owner, labels = "sii_rii", list(data.index)
    _check_quantile_labels(data, quantile)
    pop = _numeric_column(data, population)
    _require(population, pop, np.isfinite(pop) & (pop > 0), "finite and > 0", owner, labels,
             " Every quantile needs a population; leave empty groups out explicitly.")
    v = _numeric_column(data, value)
    _require(value, v, *_scale_ok(v, spec.value_type), owner, labels)
    t = _g(v, spec.value_type)
    if se is not None:
        s = _numeric_column(data, se)
        _require(se, s, np.isfinite(s) & (s >= 0), "finite and >= 0", owner, labels)
    else:
        assert lower is not None and upper is not None
        lo, up = _numeric_column(data, lower), _numeric_column(data, upper)
        _require(lower, lo, *_scale_ok(lo, spec.value_type), owner, labels)
        _require(upper, up, *_scale_ok(up, spec.value_type), owner, labels)
        _require(upper, up, up >= lo, f"at least {lower!r}", owner, labels)
        s = (_g(up, spec.value_type) - _g(lo, spec.value_type)) / (2 * _Z975)
    return pd.DataFrame({"_q": data[quantile].array, "_pop": pop, "_t": t, "_se": s},
                        index=data.index)


def _group_keys(group_by: str | Sequence[str] | None) -> list[str]:
    if group_by is None:
        return []
    return [group_by] if isinstance(group_by, str) else list(group_by)


def _check_quantile_count(frame: pd.DataFrame, quantile: str,
                          min_quantiles: int = _MIN_QUANTILES) -> int:
    n_q = int(frame["_q"].nunique())
    if not min_quantiles <= n_q <= _MAX_QUANTILES:
        raise DataError(f"The {quantile!r} column given to sii_rii must have between "
                        f"{min_quantiles} and {_MAX_QUANTILES} distinct quantiles. Got {n_q}.")
    if n_q > _WARN_QUANTILES:
        warnings.warn(f"sii_rii: {n_q} quantiles; small numbers per quantile can make the SII "
                      "unstable.", DataWarning, stacklevel=3)
    return n_q


def _groups(frame: pd.DataFrame, keys: list[str], n_q: int,
            quantile: str) -> list[tuple[tuple[Any, ...], pd.DataFrame]]:
    """The groups in sorted order, each sorted by quantile; incomplete groups are dropped."""
    if not keys:
        grouped: list[tuple[tuple[Any, ...], pd.DataFrame]] = [((), frame)]
    else:
        grouped = [(k if isinstance(k, tuple) else (k,), g) for k, g in
                   frame.groupby(keys, sort=True, observed=True, dropna=False)]
    out, dropped = [], []
    for key, g in grouped:
        duplicated = int(g["_q"].duplicated().sum())
        if duplicated:
            raise DataError(f"sii_rii: group {key!r} has {duplicated} duplicated {quantile!r} "
                            "values; give one row per group and quantile.")
        if g["_q"].nunique() < n_q:
            dropped.append(key)
            continue
        out.append((key, g.sort_values("_q", kind="stable")))
    if dropped:
        warnings.warn(f"sii_rii: {len(dropped)} group(s) lack some of the {n_q} quantiles and "
                      f"are left out (as phe_sii does): {dropped[:5]}.", DataWarning, stacklevel=3)
    return out


def _rank_design(pop: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Population shares ``a`` and cumulative-midpoint ranks ``b`` (phe_sii's FindXValues)."""
    a = pop / pop.sum()
    b = np.cumsum(a) - a / 2
    return a, b


def _wls(a: FloatArray, b: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Intercept and slope of the regression of ``y`` on ``b`` weighted by ``a``.

    ``y`` has the quantiles in its last axis, so one call fits every replicate row.
    """
    w = a / a.sum()
    b_bar = float(w @ b)
    c = w * (b - b_bar)
    c = c / float(c @ (b - b_bar))
    y_bar = y @ w
    beta1 = y @ c - y_bar * float(c.sum())
    return y_bar - beta1 * b_bar, beta1


def _simulate(t: FloatArray, se: FloatArray, a: FloatArray, b: FloatArray, spec: _SiiSpec,
              rng: np.random.Generator) -> tuple[FloatArray, FloatArray]:
    """Intercepts and slopes of ``repetitions`` replicates, drawn in chunks of rows."""
    n, reps = t.size, spec.repetitions
    rows = max(1, _MAX_DRAWS // n)
    beta0, beta1 = np.empty(reps), np.empty(reps)
    for start in range(0, reps, rows):
        stop = min(reps, start + rows)
        draws = rng.normal(t, se, size=(stop - start, n))
        y = draws if spec.transform else _g_inv(draws, spec.value_type)
        beta0[start:stop], beta1[start:stop] = _wls(a, b, y)
    return beta0, beta1


def _order_stats(x: FloatArray, positions: tuple[int, int]) -> tuple[float, float]:
    """The ``k``-th smallest values (1-based), no interpolation."""
    k_lo, k_up = positions[0] - 1, positions[1] - 1
    part = np.partition(x, [k_lo, k_up])
    return float(part[k_lo]), float(part[k_up])


def _point(beta0: float, beta1: float, spec: _SiiSpec) -> dict[str, float]:
    m = spec.multiplier
    if not spec.transform:
        rii = (beta0 + beta1) / beta0
        return {"sii": m * beta1, "rii": 1 / rii if m < 0 else rii, "intercept": beta0}
    at0 = float(_g_inv(np.asarray(beta0, dtype=np.float64), spec.value_type))
    at1 = float(_g_inv(np.asarray(beta0 + beta1, dtype=np.float64), spec.value_type))
    rii = at1 / at0
    return {"sii": (at1 - at0) * m, "rii": 1 / rii if m < 0 else rii, "intercept": at0 * abs(m)}


def _limits_direct(beta0s: FloatArray, beta1s: FloatArray, spec: _SiiSpec,
                   confidence: float) -> dict[str, float]:
    """transform=False: percentiles of the replicate SIIs and RIIs."""
    pos = _positions(spec.repetitions, confidence)
    rii = (beta0s + beta1s) / beta0s
    if spec.multiplier < 0:
        rii = 1 / rii
    sii_lo, sii_up = _order_stats(spec.multiplier * beta1s, pos)
    rii_lo, rii_up = _order_stats(rii, pos)
    return {"sii_lower": sii_lo, "sii_upper": sii_up, "rii_lower": rii_lo, "rii_upper": rii_up}


def _limits_transformed(beta1s: FloatArray, h: float, spec: _SiiSpec,
                        confidence: float) -> dict[str, float]:
    """transform=True: the slope limits placed about the rank-0.5 fit, back-transformed."""
    s = np.array(_order_stats(beta1s, _positions(spec.repetitions, confidence)))
    at1 = _g_inv(h + s / 2, spec.value_type)
    at0 = _g_inv(h - s / 2, spec.value_type)
    sii, rii = (at1 - at0) * spec.multiplier, at1 / at0
    if spec.multiplier < 0:
        sii, rii = sii[::-1], 1 / rii[::-1]
    return {"sii_lower": float(sii[0]), "sii_upper": float(sii[1]),
            "rii_lower": float(rii[0]), "rii_upper": float(rii[1])}


def _one_group(g: pd.DataFrame, spec: _SiiSpec, rng: np.random.Generator) -> list[dict[str, Any]]:
    a, b = _rank_design(g["_pop"].to_numpy(dtype=np.float64))
    t, se = g["_t"].to_numpy(dtype=np.float64), g["_se"].to_numpy(dtype=np.float64)
    y = t if spec.transform else _g_inv(t, spec.value_type)
    beta0, beta1 = (float(v) for v in _wls(a, b, y))
    point = _point(beta0, beta1, spec)
    beta0s, beta1s = _simulate(t, se, a, b, spec, rng)
    rows = []
    for c in spec.confidence:
        if spec.transform:
            limits = _limits_transformed(beta1s, beta0 + beta1 / 2, spec, c)
        else:
            limits = _limits_direct(beta0s, beta1s, spec, c)
        rows.append({"confidence": c, **point, **limits, "n_quantiles": len(g)})
    return rows


def sii_rii(
    data: pd.DataFrame,
    *,
    quantile: str,
    value: str,
    population: str,
    lower: str | None = None,
    upper: str | None = None,
    se: str | None = None,
    group_by: str | Sequence[str] | None = None,
    value_type: str = "normal",
    transform: bool = False,
    confidence: float | Sequence[float] = 0.95,
    repetitions: int = 100_000,
    multiplier: float = 1.0,
    seed: int | np.random.Generator | None = None,
    min_quantiles: int = _MIN_QUANTILES,
) -> pd.DataFrame:
    r"""Slope (SII) and relative (RII) index of inequality, as ``PHEindicatormethods::phe_sii``.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per group and quantile (tidy data).
    quantile : str
        Column of quantile labels, numeric or an ordered categorical. The quantiles are ranked
        in ascending label (or category) order: rank 0 is the first quantile (e.g. decile 1 =
        most deprived). Between 5 and 100 distinct labels; more than 10 gives a warning.
    value : str
        Column of indicator values per quantile.
    population : str
        Column of quantile populations (births), ``> 0``.
    lower, upper : str, optional
        Columns of the **95%** confidence limits of ``value`` (always read as 95% limits,
        whatever ``confidence`` is), used for the standard errors.
    se : str, optional
        Column of standard errors instead of ``lower``/``upper``, on the working scale (log
        for rates, logit for proportions). Not allowed with ``transform=True``.
    group_by : str or sequence of str, optional
        Columns defining the groups (areas, years); one result per group. A group lacking some
        of the quantiles found in ``data`` is left out with a :class:`DataWarning`.
    value_type : {"normal", "rate", "proportion"}, default "normal"
        Sets the working scale $g$: identity, log or logit (phe_sii's value_type 0, 1
        and 2). Proportions are fractions (0.05, not 5%).
    transform : bool, default False
        Fit the regression on the working scale (log or logit) and back-transform, instead of
        on the original values.
    confidence : float or sequence of float, default 0.95
        Confidence level(s) of the simulated limits, strictly between 0 and 1.
    repetitions : int, default 100000
        Monte Carlo replicates (at least 1000).
    multiplier : float, default 1
        Scales the SII (e.g. 100 for percentages); a negative multiplier flips the polarity
        (the SII changes sign and the RII is inverted).
    seed : int or numpy.random.Generator, optional
        Random generator or its seed, for reproducible limits. The groups are simulated one
        after the other from the same stream.
    min_quantiles : int, default 5
        Fewest quantiles accepted (phe_sii: 5). Lower it (to 3 at least) for a variable with
        fewer ordered groups, such as maternal education (low, middle, high): the regression
        is the same, but with three points its slope rests on few groups, so read it with the
        rate difference between the extremes.

    Returns
    -------
    pandas.DataFrame
        One row per group and confidence level (long format): the ``group_by`` columns, then
        :data:`SII_COLUMNS` (``confidence``, ``sii``, ``sii_lower``, ``sii_upper``, ``rii``,
        ``rii_lower``, ``rii_upper``, ``intercept``: the fitted value at rank 0, and
        ``n_quantiles``).

    Raises
    ------
    ParameterError
        If an option is invalid (value type, confidence, repetitions, multiplier, or the
        standard-error source: give either ``lower`` and ``upper`` or ``se``).
    DataError
        (a ``ValueError``) if a column is missing or not numeric, the quantile labels are not
        numeric or ordered, there are fewer than 5 or more than 100 quantiles, a group has a
        duplicated quantile, or an entry is invalid: population not ``> 0``, missing values or
        limits, rates not ``> 0``, proportions not strictly between 0 and 1, ``upper <
        lower`` or a negative ``se``. The message names the column, the offending values (by
        row label) and how many entries are affected.

    Notes
    -----
    For quantiles $i = 1..n$ of a group with populations $P_i$, values
    $v_i$ and 95% limits $L_i, U_i$ (Low and Low, 2004; the ``phe_sii`` source):

    *Ranks.* $a_i = P_i / \sum_j P_j$ and $b_i = \sum_{j<i} a_j + a_i/2$, the
    midpoint of quantile $i$ in the cumulative population distribution.

    *Regression.* Weighted least squares of $y_i$ on $b_i$ with weights
    $a_i$ (phe_sii's ``lm(sqrt(a) * y ~ sqrt(a) + b * sqrt(a) - 1)``):

    $$
    \beta_1 = \frac{\sum_i a_i (b_i - \bar b)(y_i - \bar y)}{\sum_i a_i (b_i - \bar b)^2},
    \qquad \beta_0 = \bar y - \beta_1 \bar b,
    $$

    with $\bar b = \sum a_i b_i = 1/2$ and $\bar y = \sum a_i y_i$. The response is
    $y_i = v_i$ (``transform=False``) or $y_i = g(v_i)$ (``transform=True``).

    *Point estimates.* Without transform, $SII = m\beta_1$, $RII = (\beta_0 +
    \beta_1)/\beta_0$ (fitted value at rank 1 over rank 0) and intercept $\beta_0$. With
    transform, $SII = m\,(g^{-1}(\beta_0 + \beta_1) - g^{-1}(\beta_0))$, $RII =
    g^{-1}(\beta_0 + \beta_1)/g^{-1}(\beta_0)$ and intercept $|m|\,g^{-1}(\beta_0)$
    (phe_sii scales the intercept by $|m|$ only here). For $m < 0$ the RII is
    inverted.

    *Standard errors* on the working scale: $s_i = (g(U_i) - g(L_i)) / (2 z_{0.975})$,
    or the supplied ``se``.

    *Monte Carlo limits.* $R$ replicates $t^*_{ir} \sim N(g(v_i), s_i^2)$ are
    drawn and each is refitted with the same weights, the response being
    $g^{-1}(t^*)$ without transform and $t^*$ with it. The limits at level
    $c$ are the $k_L$-th and $k_U$-th smallest replicate values (1-based,
    no interpolation) with $k_L = \mathrm{round}(R(1-c)/2)$ and
    $k_U = \mathrm{round}(R(1+c)/2)$, halves to even as R's ``round``. Without
    transform these are order statistics of the replicate SII and RII. With transform, the
    slope limits $s_L, s_U$ (working scale) are placed about the fit at rank 1/2,
    $h = \beta_0 + \beta_1/2$: $SII_{L,U} = m\,(g^{-1}(h + s_{L,U}/2) -
    g^{-1}(h - s_{L,U}/2))$ and $RII_{L,U} = g^{-1}(h + s_{L,U}/2)/g^{-1}(h - s_{L,U}/2)$;
    for $m < 0$ the limits swap and the RII is inverted.

    The random numbers differ from R's, so the limits agree with phe_sii's only within Monte
    Carlo error (about 1% of the interval width at $R = 10^5$); the point estimates
    agree to rounding. Replicates are fitted in closed form, in chunks of at most
    $5 \cdot 10^7$ draws.

    *Differences from phe_sii* (2.0.1.9000). With ``transform=True`` phe_sii multiplies the
    slope limits by the multiplier before back-transforming them and again afterwards, and
    for rates it tests ``multiplier < 1`` instead of ``< 0``; here the multiplier is applied
    once. The two agree for ``multiplier = 1`` (and for every multiplier without transform).
    phe_sii also accepts percentages (95) as confidence levels and proportions of exactly 0
    or 1 (infinite on the logit scale); both are refused here. Ordered categorical labels keep
    their category order (phe_sii converts factors to character). The reliability statistic
    (``reliability_stat``) is not implemented.

    References
    ----------
    Low A, Low A. Measuring the gap: quantifying and comparing local health inequalities.
    *J Public Health* 2004;26:388-395.

    Mackenbach JP, Kunst AE. Measuring the magnitude of socio-economic inequalities in health:
    an overview of available measures illustrated with two examples from Europe. *Soc Sci Med*
    1997;44:757-771.

    UK Health Security Agency (PHE). PHEindicatormethods: ``phe_sii`` (R package version
    2.0.1.9000, ``R/SII_function.R`` and ``R/utils.R``).

    Checked against ``phe_sii`` on its documented example (``tests/fixtures/sii_phe``).

    Examples
    --------
    >>> df = pd.DataFrame({"decile": range(1, 11),
    ...                    "births": [7291, 7997, 6105, 7666, 5790, 6934, 5918, 5974, 7147, 7534],
    ...                    "value": [75.9, 78.3, 83.8, 83.6, 80.5, 81.1, 81.7, 84.2, 80.6, 86.3],
    ...                    "se": [1.64, 1.58, 1.51, 1.78, 1.7, 1.56, 1.37, 1.4, 2.43, 1.57]})
    >>> res = sii_rii(df, quantile="decile", value="value", population="births", se="se",
    ...               repetitions=10_000, seed=1)
    >>> res[["sii", "rii", "intercept"]].round(4).to_dict("records")
    [{'sii': 7.0002, 'rii': 1.0897, 'intercept': 78.0321}]
    """
    spec = _check_spec(value_type, transform, confidence, repetitions, multiplier, se,
                       (lower, upper))
    keys = _group_keys(group_by)
    used = [quantile, value, population, *keys]
    used += [c for c in (lower, upper, se) if c is not None]
    _columns_exist(data, used)
    columns = {"quantile": quantile, "population": population, "value": value,
               "lower": lower, "upper": upper, "se": se}
    frame = _prepare(data, columns, spec)
    for k in keys:
        frame[k] = data[k].array
    if not isinstance(min_quantiles, int) or not 3 <= min_quantiles <= _MIN_QUANTILES:
        raise ParameterError(f"sii_rii: min_quantiles must be an integer from 3 to "
                             f"{_MIN_QUANTILES}. Got {min_quantiles!r}.")
    n_q = _check_quantile_count(frame, quantile, min_quantiles)
    rng = np.random.default_rng(seed)
    records = []
    for key, g in _groups(frame, keys, n_q, quantile):
        for row in _one_group(g, spec, rng):
            records.append({**dict(zip(keys, key, strict=True)), **row})
    return pd.DataFrame.from_records(records, columns=[*keys, *SII_COLUMNS])


# --------------------------------------------------------------------------------------------
# extreme groups: rate difference and rate ratio
# --------------------------------------------------------------------------------------------


class ExtremeGroups(NamedTuple):
    """Rate difference and rate ratio of group 1 against group 2, one entry per comparison."""

    difference: FloatArray
    difference_lower: FloatArray
    difference_upper: FloatArray
    ratio: FloatArray
    ratio_lower: FloatArray
    ratio_upper: FloatArray


def _group_inputs(events: npt.ArrayLike, births: npt.ArrayLike, which: int,
                  owner: str) -> tuple[FloatArray, FloatArray]:
    x = _as_float(f"events_{which}", events, owner)
    n = _as_float(f"births_{which}", births, owner)
    try:
        x, n = (np.asarray(v) for v in np.broadcast_arrays(x, n))
    except ValueError:
        raise DataError(f"The arguments of {owner} must have the same length (or broadcast). "
                        f"Got events_{which} {x.shape} and births_{which} {n.shape}.") from None
    _require(f"births_{which}", n, np.isfinite(n) & (n > 0), "finite and > 0", owner)
    _require(f"events_{which}", x, np.isfinite(x) & (x >= 0) & (x <= n),
             f"finite and between 0 and births_{which}", owner)
    return x, n


def _katz(x1: FloatArray, n1: FloatArray, x2: FloatArray, n2: FloatArray,
          z: float) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Ratio and Katz log limits; limits NaN where a count is 0, ratio NaN where p2 = 0."""
    p1, p2 = x1 / n1, x2 / n2
    ratio = np.divide(p1, p2, out=np.full_like(p1, np.nan), where=p2 > 0)
    both = (x1 > 0) & (x2 > 0)
    x1s, x2s = np.where(both, x1, 1.0), np.where(both, x2, 1.0)
    se = np.sqrt(np.maximum(1 / x1s - 1 / n1 + 1 / x2s - 1 / n2, 0.0))
    log_rr = np.log(np.where(both, ratio, 1.0))
    lower = np.where(both, np.exp(log_rr - z * se), np.nan)
    upper = np.where(both, np.exp(log_rr + z * se), np.nan)
    return ratio, lower, upper


def extreme_groups(
    events_1: npt.ArrayLike,
    births_1: npt.ArrayLike,
    events_2: npt.ArrayLike,
    births_2: npt.ArrayLike,
    *,
    level: float = 0.95,
) -> ExtremeGroups:
    r"""Rate difference and rate ratio between two groups of proportions, with intervals.

    Typically group 1 is the lowest and group 2 the highest education (or income) group.

    Parameters
    ----------
    events_1, births_1 : array-like of float
        Events and births of group 1; ``births_1 > 0`` and ``0 <= events_1 <= births_1``.
    events_2, births_2 : array-like of float
        The same for group 2. All four broadcast against each other.
    level : float, default 0.95
        Confidence level, strictly between 0 and 1.

    Returns
    -------
    ExtremeGroups
        Named tuple of float arrays with the broadcast shape: ``difference`` $p_1 - p_2$
        with ``difference_lower``/``difference_upper`` (Newcombe), and ``ratio``
        $p_1/p_2$ with ``ratio_lower``/``ratio_upper`` (Katz).

    Raises
    ------
    ParameterError
        If ``level`` is invalid.
    DataError
        (a ``ValueError``) if births are not finite and positive or events are not finite and
        within ``[0, births]``; the message names the argument, the offending values and how
        many entries are affected.

    Notes
    -----
    With $p_k = x_k / n_k$, $z = \Phi^{-1}(1 - \alpha/2)$ and the Wilson score
    limits $(l_k, u_k)$ of each proportion
    (:func:`~casemix.standardisation.proportion_interval` with ``method="wilson"``):

    *Difference*, Newcombe's hybrid score interval (method 10),

    $$
    L = d - \sqrt{(p_1 - l_1)^2 + (u_2 - p_2)^2}, \qquad
    U = d + \sqrt{(u_1 - p_1)^2 + (p_2 - l_2)^2}, \qquad d = p_1 - p_2.
    $$

    It is defined for every count, including 0 and $n$, and stays within [-1, 1].

    *Ratio*, Katz's log interval,

    $$
    \exp\Bigl(\log\frac{p_1}{p_2} \pm z\sqrt{\frac{1}{x_1} - \frac{1}{n_1} + \frac{1}{x_2}
    - \frac{1}{n_2}}\Bigr),
    $$

    R's ``epitools::riskratio(..., method = "wald")``. It is undefined when $x_1 = 0$ or
    $x_2 = 0$: the limits are then NaN, and no continuity correction is applied. The
    ratio itself is 0 when $x_1 = 0 < x_2$ and NaN when $x_2 = 0$. When
    $x_1 = n_1$ and $x_2 = n_2$ the variance is 0 and both limits equal the
    ratio. Non-integer (weighted) counts are used as written; coverage is then approximate.

    References
    ----------
    Newcombe RG. Interval estimation for the difference between independent proportions:
    comparison of eleven methods. *Stat Med* 1998;17:873-890.

    Katz D, Baptista J, Azen SP, Pike MC. Obtaining confidence intervals for the risk ratio in
    cohort studies. *Biometrics* 1978;34:469-474.

    Wilson EB. Probable inference, the law of succession, and statistical inference. *J Am Stat
    Assoc* 1927;22:209-212.

    Checked against Newcombe (1998, Table II) and R 4.2.2 (``prop.test``, ``epitools``;
    ``tests/fixtures/inequality_measures``).

    Examples
    --------
    >>> res = extreme_groups([56, 246], [70, 41250], [48, 271], [80, 64830])
    >>> res.difference_lower.round(4), res.difference_upper.round(4)
    (array([0.0524, 0.0009]), array([0.3339, 0.0027]))
    >>> res.ratio.round(4), res.ratio_lower.round(4)
    (array([1.3333, 1.4267]), array([1.0766, 1.201 ]))
    """
    owner = "extreme_groups"
    level = _check_level("level", level, owner)
    x1, n1 = _group_inputs(events_1, births_1, 1, owner)
    x2, n2 = _group_inputs(events_2, births_2, 2, owner)
    try:
        x1, n1, x2, n2 = (np.asarray(v) for v in np.broadcast_arrays(x1, n1, x2, n2))
    except ValueError:
        raise DataError(f"The groups given to {owner} must have the same length (or "
                        f"broadcast). Got shapes {x1.shape} and {x2.shape}.") from None
    l1, u1 = proportion_interval(x1, n1, level=level, method="wilson")
    l2, u2 = proportion_interval(x2, n2, level=level, method="wilson")
    p1, p2 = x1 / n1, x2 / n2
    d = p1 - p2
    d_lower = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    d_upper = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    ratio, r_lower, r_upper = _katz(x1, n1, x2, n2, float(ndtri(0.5 + level / 2)))
    return ExtremeGroups(np.asarray(d), np.asarray(d_lower), np.asarray(d_upper),
                         ratio, r_lower, r_upper)
