"""Confidence intervals and tests for observed/expected ratios and proportions (vectorised).

Every function takes array-likes that broadcast against each other (one entry per unit) and
returns NumPy arrays of the broadcast shape, so ~1000 units cost one call, not a loop.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from scipy import special

from casemix._params import check_in_range, check_one_of
from casemix.exceptions import DataError

__all__ = [
    "DEFAULT_AUTO_THRESHOLD",
    "Interval",
    "PoissonTestResult",
    "poisson_ratio_interval",
    "poisson_ratio_test",
    "proportion_interval",
]

FloatArray = npt.NDArray[np.float64]

#: Observed counts below this use the exact interval under ``method="auto"``, others Byar's.
DEFAULT_AUTO_THRESHOLD = 10.0

POISSON_METHODS = ("exact", "byar", "auto")
PROPORTION_METHODS = ("clopper-pearson", "wilson")

# R's poisson.test: outcomes whose probability is within this factor of the observed one count
# as "no more likely" (guards against ties lost to rounding).
_REL_ERR = 1 + 1e-7
# R's poisson.test accepts x within this distance of a whole number.
_INTEGER_TOLERANCE = 1e-7


def _arr(value: npt.ArrayLike) -> FloatArray:
    """Always an array (0-d for scalar inputs), never a NumPy scalar."""
    return np.asarray(value, dtype=np.float64)


class Interval(NamedTuple):
    """Lower and upper confidence limits, one entry per unit (unpacks as ``lower, upper``)."""

    lower: FloatArray
    upper: FloatArray


class PoissonTestResult(NamedTuple):
    """Exact two-sided p-value and z-score of H0: O/E = 1, one entry per unit."""

    p_value: FloatArray
    z_score: FloatArray


# --------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------


def _check_number(name: str, value: Any, owner: str) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(
            f"The {name!r} parameter of {owner} must be a real number. Got {value!r} instead."
        )


def _check_level(level: float, owner: str) -> None:
    """``level`` must lie strictly between 0 and 1 (0.95, not 95)."""
    _check_number("level", level, owner)
    check_in_range("level", level, 0.0, 1.0, owner=owner)
    if level in (0.0, 1.0):
        raise ValueError(
            f"The 'level' parameter of {owner} must be strictly between 0 and 1 "
            f"(e.g. 0.95 or 0.998). Got {level!r} instead."
        )


def _as_float(name: str, value: npt.ArrayLike, owner: str) -> FloatArray:
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"The {name!r} argument of {owner} must be numeric; could not convert it to "
            f"floats ({exc})."
        ) from None


def _broadcast(owner: str, **arrays: FloatArray) -> list[FloatArray]:
    try:
        return [np.asarray(a) for a in np.broadcast_arrays(*arrays.values())]
    except ValueError:
        shapes = ", ".join(f"{k} {np.shape(v)}" for k, v in arrays.items())
        raise DataError(
            f"The arguments of {owner} must have the same length (or broadcast). Got shapes "
            f"{shapes}."
        ) from None


def _require(
    name: str, arr: FloatArray, ok: npt.NDArray[np.bool_], what: str, owner: str, fix: str = ""
) -> None:
    """Raise a :class:`DataError` naming the argument, offending values and how many."""
    bad = ~ok
    n_bad = int(bad.sum())
    if n_bad == 0:
        return
    where = f"The {name!r} argument of {owner} must be {what}"
    if arr.ndim == 0:
        raise DataError(f"{where}. Got {name} = {float(arr)!r} instead.{fix}")
    parts = []
    for row in np.argwhere(bad)[:3]:
        key = ", ".join(str(int(i)) for i in row)
        parts.append(f"{name}[{key}] = {float(arr[tuple(row)])!r}")
    shown = ", ".join(parts) + (", ..." if n_bad > 3 else "")
    raise DataError(f"{where}; {n_bad} of {arr.size} entries are not ({shown}).{fix}")


def _poisson_inputs(
    observed: npt.ArrayLike, expected: npt.ArrayLike, owner: str
) -> tuple[FloatArray, FloatArray]:
    obs = _as_float("observed", observed, owner)
    E = _as_float("expected", expected, owner)
    obs, E = _broadcast(owner, observed=obs, expected=E)
    _require(
        "observed",
        obs,
        np.isfinite(obs) & (obs >= 0),
        "finite and >= 0",
        owner,
        " Drop or mask units with a missing count before calling.",
    )
    _require(
        "expected",
        E,
        np.isfinite(E) & (E > 0),
        "finite and > 0",
        owner,
        " A unit with no expected events has no O/E ratio; leave it out explicitly.",
    )
    return obs, E


# --------------------------------------------------------------------------------------------
# O/E ratio intervals
# --------------------------------------------------------------------------------------------


def _garwood(obs: FloatArray, E: FloatArray, alpha: float) -> Interval:
    """Exact (Garwood) limits via gamma quantiles; lower is 0 where O = 0."""
    pos = obs > 0
    lower = np.where(pos, special.gammaincinv(np.where(pos, obs, 1.0), alpha / 2), 0.0)
    upper = special.gammainccinv(obs + 1, alpha / 2)
    return Interval(_arr(lower / E), _arr(upper / E))


def _byar(obs: FloatArray, E: FloatArray, alpha: float) -> Interval:
    """Byar's approximation; lower is 0 where O = 0 and clipped at 0 where negative."""
    z = float(special.ndtri(1 - alpha / 2))
    pos = obs > 0
    obs_s = np.where(pos, obs, 1.0)
    lower = obs_s * (1 - 1 / (9 * obs_s) - z / (3 * np.sqrt(obs_s))) ** 3
    lower = np.where(pos, np.maximum(lower, 0.0), 0.0)
    obs1 = obs + 1
    upper = obs1 * (1 - 1 / (9 * obs1) + z / (3 * np.sqrt(obs1))) ** 3
    return Interval(_arr(lower / E), _arr(upper / E))


def poisson_ratio_interval(
    observed: npt.ArrayLike,
    expected: npt.ArrayLike,
    *,
    level: float = 0.95,
    method: str = "exact",
    auto_threshold: float = DEFAULT_AUTO_THRESHOLD,
) -> Interval:
    r"""Confidence interval for the ratio of observed to expected events, O/E.

    ``O`` is treated as Poisson with mean $\theta E$, ``E`` as known (the sum of
    predicted risks), and the interval is for $\theta$.

    Parameters
    ----------
    observed : array-like of float
        Observed events per unit, ``>= 0``. May be non-integer (weighted counts), see Notes.
    expected : array-like of float
        Expected events per unit, ``> 0``. Broadcast against ``observed``.
    level : float, default 0.95
        Confidence level, strictly between 0 and 1 (0.998 for the outer funnel limits).
    method : {"exact", "byar", "auto"}, default "exact"
        ``"exact"``: Garwood's interval. ``"byar"``: Byar's approximation. ``"auto"``: exact
        where ``observed < auto_threshold``, Byar elsewhere.
    auto_threshold : float, default 10
        Switch point of ``method="auto"`` (ignored otherwise). ``0`` means always Byar,
        ``inf`` always exact.

    Returns
    -------
    Interval
        Named tuple ``(lower, upper)`` of float arrays with the broadcast shape of the inputs
        (0-d arrays for scalar inputs).

    Raises
    ------
    ValueError
        If ``level``, ``method`` or ``auto_threshold`` is invalid.
    DataError
        (a ``ValueError``) if an ``observed`` entry is negative or not finite, or an
        ``expected`` entry is not finite and positive; the message names the argument, the
        offending values and how many entries are affected.

    Notes
    -----
    With $\alpha = 1 - \text{level}$ and $z = \Phi^{-1}(1 - \alpha/2)$:

    *Exact (Garwood, 1936)*, written with chi-square or, equivalently, gamma quantiles:

    $$
    L = \frac{\chi^2_{2O,\,\alpha/2}}{2E} = \frac{G^{-1}_{O}(\alpha/2)}{E}, \qquad
    U = \frac{\chi^2_{2(O+1),\,1-\alpha/2}}{2E} = \frac{G^{-1}_{O+1}(1-\alpha/2)}{E},
    $$

    where $G^{-1}_{s}$ is the quantile function of the Gamma(shape ``s``, scale 1)
    distribution, and $L = 0$ when $O = 0$. This is the interval of R's
    ``poisson.test(O, E)$conf.int``.

    *Byar* (Breslow and Day, 1987), the Wilson-Hilferty approximation of the same quantiles:

    $$
    L = \frac{O}{E}\left(1 - \frac{1}{9O} - \frac{z}{3\sqrt{O}}\right)^3, \qquad
    U = \frac{O+1}{E}\left(1 - \frac{1}{9(O+1)} + \frac{z}{3\sqrt{O+1}}\right)^3.
    $$

    At $O = 0$ the lower formula is $0 \cdot (-\infty)^3$ (undefined); it is
    defined as 0. For small $O$ the cubed term can be negative (e.g. $O = 1$ at
    99.8%); a ratio cannot be negative, so the lower limit is clipped at 0. This is the
    textbook formula, not ``epitools::pois.byar``, which uses $O + 0.5$ in both limits.

    *auto*: exact below ``auto_threshold``, Byar from it on. The default of 10 is the rule of
    the English public-health profiling tools (Fingertips; ``PHEindicatormethods``'
    ``calculate_ISRatio``), so published indicators can be reproduced. From 10 events on,
    Byar's limits are within 0.2% (95%) and 1.5% (99.8%) of the exact ones, and the gap
    shrinks with $O$ (below 0.03% at $O = 100$). The exact limits are no more
    expensive here, so ``"exact"`` is the default method; use ``"auto"`` (or ``"byar"``)
    to match a programme that publishes Byar limits.

    *Non-integer O* (weighted or pooled counts): both formulas are used as written; the gamma
    quantiles are continuous in the shape parameter, so the exact limits interpolate
    smoothly between neighbouring integer counts, and Byar's formula takes any
    $O > 0$. Neither interval has an exact coverage guarantee for counts that are not
    Poisson (e.g. unequal weights); for directly standardised rates see Fay and Feuer (1997).

    References
    ----------
    Garwood F. Fiducial limits for the Poisson distribution. *Biometrika* 1936;28:437-442.

    Breslow NE, Day NE. *Statistical Methods in Cancer Research, Vol. II: The Design and
    Analysis of Cohort Studies.* IARC Scientific Publications 82. Lyon: IARC; 1987.

    Fay MP, Feuer EJ. Confidence intervals for directly standardized rates: a method based on
    the gamma distribution. *Stat Med* 1997;16:791-801.

    Checked against R 4.2.2: ``poisson.test(O, E, conf.level = level)$conf.int`` and the
    closed forms above (``tests/fixtures/oe_intervals``).

    Examples
    --------
    >>> ci = poisson_ratio_interval([0, 5, 50], [2.0, 4.0, 40.0])
    >>> ci.lower.round(4)
    array([0.    , 0.4059, 0.9278])
    >>> ci.upper.round(4)
    array([1.8444, 2.9171, 1.648 ])
    >>> lower, upper = poisson_ratio_interval(1, 2.5, level=0.998, method="byar")
    >>> float(lower), round(float(upper), 4)
    (0.0, 3.7449)
    """
    owner = "poisson_ratio_interval"
    _check_level(level, owner)
    check_one_of("method", method, POISSON_METHODS, owner=owner)
    if method == "auto":
        _check_number("auto_threshold", auto_threshold, owner)
        check_in_range("auto_threshold", auto_threshold, 0.0, math.inf, owner=owner)
    obs, E = _poisson_inputs(observed, expected, owner)
    alpha = 1 - level
    if method == "exact":
        return _garwood(obs, E, alpha)
    if method == "byar":
        return _byar(obs, E, alpha)
    use_exact = obs < auto_threshold
    ex, by = _garwood(obs, E, alpha), _byar(obs, E, alpha)
    return Interval(
        _arr(np.where(use_exact, ex.lower, by.lower)), _arr(np.where(use_exact, ex.upper, by.upper))
    )


# --------------------------------------------------------------------------------------------
# exact Poisson test
# --------------------------------------------------------------------------------------------


def _logpmf(k: FloatArray, m: FloatArray) -> FloatArray:
    out: FloatArray = special.xlogy(k, m) - m - special.gammaln(k + 1)
    return out


def _upper_cut(x: FloatArray, m: FloatArray, log_d: FloatArray) -> FloatArray:
    """Smallest k >= ceil(m) with pmf(k) <= d * (1 + 1e-7) (the pmf decreases there)."""
    log_tol = log_d + math.log(_REL_ERR)
    # R starts at N = ceil(2m - x) and doubles while dpois(N, m) > d.
    hi = np.ceil(2 * m - x)
    todo = _logpmf(hi, m) > log_d
    while np.any(todo):
        hi = np.where(todo, 2 * hi, hi)
        todo = _logpmf(hi, m) > log_d
    lo = np.ceil(m) - 1  # sentinel just below the search range
    while np.any(hi - lo > 1):
        mid = np.floor((lo + hi) / 2)
        ok = _logpmf(mid, m) <= log_tol
        active = hi - lo > 1
        hi = np.where(active & ok, mid, hi)
        lo = np.where(active & ~ok, mid, lo)
    return hi


def _lower_cut(m: FloatArray, log_d: FloatArray) -> FloatArray:
    """Largest j <= floor(m) with pmf(j) <= d * (1 + 1e-7), or -1 (the pmf increases there)."""
    log_tol = log_d + math.log(_REL_ERR)
    lo = np.full_like(m, -1.0)  # sentinel: "none"
    hi = np.floor(m) + 1  # sentinel just above the search range
    while np.any(hi - lo > 1):
        mid = np.floor((lo + hi) / 2)
        ok = _logpmf(mid, m) <= log_tol
        active = hi - lo > 1
        lo = np.where(active & ok, mid, lo)
        hi = np.where(active & ~ok, mid, hi)
    return lo


def poisson_ratio_test(observed: npt.ArrayLike, expected: npt.ArrayLike) -> PoissonTestResult:
    r"""Exact two-sided Poisson test of H0: O/E = 1, and the z-score, per unit.

    Parameters
    ----------
    observed : array-like of int
        Observed events per unit: whole numbers ``>= 0`` (within 1e-7, as in R).
    expected : array-like of float
        Expected events per unit, ``> 0``. Broadcast against ``observed``.

    Returns
    -------
    PoissonTestResult
        Named tuple ``(p_value, z_score)`` of float arrays with the broadcast shape.

    Raises
    ------
    DataError
        (a ``ValueError``) if ``observed`` has negative, non-finite or non-integer entries, or
        ``expected`` has entries that are not finite and positive.

    Notes
    -----
    Under H0, $O \sim \text{Poisson}(E)$. The two-sided p-value is the probability of
    all outcomes no more likely than the observed one,

    $$
    p = \min\Bigl(1, \sum_{k:\ f(k) \le f(O)(1 + 10^{-7})} f(k)\Bigr), \qquad
    f(k) = e^{-E} E^k / k!,
    $$

    exactly as R's ``poisson.test(O, E)$p.value`` (the factor $1 + 10^{-7}$ keeps
    outcomes tied with the observed one). Because the pmf rises up to the mode and falls after
    it, the outcomes on the far side of the mode form one tail that is located by vectorised
    bisection, so the cost is $O(\log E)$ array operations whatever the number of units.
    When $O = E$ exactly, $p = 1$.

    The z-score is $(O - E)/\sqrt{E}$, the standardised Pearson residual used for funnel
    plots (Spiegelhalter, 2005).

    The exact test needs whole counts, so non-integer (weighted) ``observed`` is rejected; use
    :func:`poisson_ratio_interval` for those.

    References
    ----------
    R Core Team. ``poisson.test`` in package stats (R 4.2.2).

    Spiegelhalter DJ. Funnel plots for comparing institutional performance. *Stat Med*
    2005;24:1185-1202.

    Checked against R 4.2.2 ``poisson.test(O, E)$p.value`` (``tests/fixtures/oe_intervals``).

    Examples
    --------
    >>> res = poisson_ratio_test([2, 100, 250], [3.2, 80.7, 313.2])
    >>> res.p_value.round(6).tolist()
    [0.777384, 0.034325, 0.000265]
    >>> res.z_score.round(3)
    array([-0.671,  2.148, -3.571])
    """
    owner = "poisson_ratio_test"
    obs, E = _poisson_inputs(observed, expected, owner)
    x = np.round(obs)
    _require(
        "observed",
        obs,
        np.abs(obs - x) <= _INTEGER_TOLERANCE,
        "whole numbers",
        owner,
        " The exact test needs counts; for weighted counts use poisson_ratio_interval.",
    )
    z = _arr((x - E) / np.sqrt(E))

    shape = x.shape
    x, m = x.ravel(), E.ravel()
    p = np.ones_like(m)
    log_d = _logpmf(x, m)

    below = x < m
    if np.any(below):
        xb, mb = x[below], m[below]
        k = _upper_cut(xb, mb, log_d[below])
        p[below] = special.pdtr(xb, mb) + special.pdtrc(k - 1, mb)

    above = x > m
    if np.any(above):
        xa, ma = x[above], m[above]
        j = _lower_cut(ma, log_d[above])
        left = np.where(j >= 0, special.pdtr(np.maximum(j, 0), ma), 0.0)
        p[above] = left + special.pdtrc(xa - 1, ma)

    p = np.minimum(p, 1.0)
    return PoissonTestResult(p.reshape(shape), z)


# --------------------------------------------------------------------------------------------
# proportions
# --------------------------------------------------------------------------------------------


def proportion_interval(
    events: npt.ArrayLike,
    n: npt.ArrayLike,
    *,
    level: float = 0.95,
    method: str = "clopper-pearson",
) -> Interval:
    r"""Confidence interval for a proportion ``events / n``, per unit.

    Parameters
    ----------
    events : array-like of float
        Number of events, ``0 <= events <= n``. May be non-integer (weighted), see Notes.
    n : array-like of float
        Number of trials (births), ``> 0``. Broadcast against ``events``.
    level : float, default 0.95
        Confidence level, strictly between 0 and 1.
    method : {"clopper-pearson", "wilson"}, default "clopper-pearson"
        Exact (Clopper-Pearson) or Wilson score interval.

    Returns
    -------
    Interval
        Named tuple ``(lower, upper)`` of float arrays in [0, 1] with the broadcast shape.

    Raises
    ------
    ValueError
        If ``level`` or ``method`` is invalid.
    DataError
        (a ``ValueError``) if ``n`` is not finite and positive, or ``events`` is not finite or
        outside ``[0, n]``.

    Notes
    -----
    With $\alpha = 1 - \text{level}$, $z = \Phi^{-1}(1 - \alpha/2)$,
    $x$ events and $\hat p = x/n$:

    *Clopper-Pearson* (exact), with $B^{-1}_{a,b}$ the Beta quantile function:

    $$
    L = B^{-1}_{x,\,n-x+1}(\alpha/2), \qquad U = B^{-1}_{x+1,\,n-x}(1-\alpha/2),
    $$

    with $L = 0$ when $x = 0$ and $U = 1$ when $x = n$; R's
    ``binom.test(x, n)$conf.int``.

    *Wilson* (score) interval, R's ``prop.test(x, n, correct = FALSE)$conf.int``:

    $$
    \frac{\hat p + \frac{z^2}{2n} \pm z\sqrt{\frac{\hat p(1-\hat p)}{n}
    + \frac{z^2}{4n^2}}}{1 + z^2/n},
    $$

    set to exactly 0 at $x = 0$ and 1 at $x = n$ (where the formula gives these
    values up to rounding) and clipped to [0, 1], as R does.

    *Non-integer x* (weighted counts): both formulas are used as written (the Beta quantiles
    are continuous in their parameters); coverage is then approximate.

    References
    ----------
    Clopper CJ, Pearson ES. The use of confidence or fiducial limits illustrated in the case of
    the binomial. *Biometrika* 1934;26:404-413.

    Wilson EB. Probable inference, the law of succession, and statistical inference. *J Am Stat
    Assoc* 1927;22:209-212.

    Checked against R 4.2.2 ``binom.test`` and ``prop.test`` (``tests/fixtures/binomial_exact``).

    Examples
    --------
    >>> ci = proportion_interval([0, 3, 150], [50, 50, 1000])
    >>> ci.lower.round(4)
    array([0.    , 0.0125, 0.1284])
    >>> ci.upper.round(4)
    array([0.0711, 0.1655, 0.1737])
    """
    owner = "proportion_interval"
    _check_level(level, owner)
    check_one_of("method", method, PROPORTION_METHODS, owner=owner)
    x = _as_float("events", events, owner)
    N = _as_float("n", n, owner)
    x, N = _broadcast(owner, events=x, n=N)
    _require("n", N, np.isfinite(N) & (N > 0), "finite and > 0", owner)
    _require("events", x, np.isfinite(x) & (x >= 0) & (x <= N), "finite and between 0 and n", owner)
    alpha = 1 - level
    none, every = x == 0, x == N

    if method == "clopper-pearson":
        a_lo = np.where(none, 1.0, x)
        b_up = np.where(every, 1.0, N - x)
        lower = np.where(none, 0.0, special.betaincinv(a_lo, N - x + 1, alpha / 2))
        upper = np.where(every, 1.0, special.betaincinv(x + 1, b_up, 1 - alpha / 2))
        return Interval(_arr(lower), _arr(upper))

    z = float(special.ndtri(1 - alpha / 2))
    p = x / N
    denom = 1 + z**2 / N
    centre = (p + z**2 / (2 * N)) / denom
    half = z * np.sqrt(p * (1 - p) / N + z**2 / (4 * N**2)) / denom
    lower = np.where(none, 0.0, np.clip(centre - half, 0.0, 1.0))
    upper = np.where(every, 1.0, np.clip(centre + half, 0.0, 1.0))
    return Interval(_arr(lower), _arr(upper))
