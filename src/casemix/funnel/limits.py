"""Exact control limits of funnel plots, with the interpolation that makes them smooth.

Reference: Spiegelhalter DJ. Funnel plots for comparing institutional performance. Stat Med
2005;24:1185-1202 (appendix A.1.1 and A.1.2).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.special import pdtr, pdtrik

# Boost's binomial distribution function and quantile: what scipy.stats.binom calls (private
# names, present since scipy 1.7), imported from scipy.special to spare scipy.stats' import
from scipy.special._ufuncs import _binom_cdf, _binom_ppf  # type: ignore[attr-defined]

from casemix._params import check_in_range

__all__ = ["binomial_limit", "poisson_limit"]

FloatArray = npt.NDArray[np.float64]


def poisson_limit(expected: npt.ArrayLike, p: float, target: float = 1.0) -> FloatArray:
    """The ``p``-quantile control limit of an indirectly standardised ratio O/E.

    Parameters
    ----------
    expected : array-like
        Expected counts E (> 0) at which to evaluate the limit.
    p : float
        Tail probability, e.g. 0.025 / 0.975 (95% limits) or 0.001 / 0.999 (99.8%).
    target : float, default 1
        Target ratio.

    Returns
    -------
    numpy.ndarray
        $(y_p - \\alpha)/E$ with $y_p$ the p-quantile of
        $\\mathrm{Poisson}(\\theta_0 E)$ and
        $\\alpha = (F(y_p) - p)/(F(y_p) - F(y_p - 1))$, which interpolates between
        the discrete quantiles (Spiegelhalter 2005, A.1.1).
    """
    check_in_range("p", p, 1e-12, 1 - 1e-12, owner="poisson_limit")
    E = np.asarray(expected, dtype=float)
    mu = target * E
    y = _poisson_ppf(p, mu)
    upper = _poisson_cdf(y, mu)
    lower = _poisson_cdf(y - 1, mu)
    alpha = (upper - p) / (upper - lower)
    return (y - alpha) / E


def _poisson_ppf(q: float, mu: FloatArray) -> FloatArray:
    """The smallest whole $y$ with $F(y) \\ge q$ under Poisson(mu), for 0 < q < 1.

    The steps of ``scipy.stats.poisson.ppf`` (the same float values): the continuous
    inverse ``pdtrik`` rounded up, then one step down where the distribution function
    already reaches ``q`` there; NaN where mu is negative or NaN. Through scipy.special
    because importing scipy.stats costs 0.45 s of every ``casemix fit``.
    """
    with np.errstate(invalid="ignore"):
        up = np.ceil(pdtrik(q, mu))
        down = np.maximum(up - 1, 0)
        y = np.where(pdtr(down, mu) >= q, down, up)
    return np.where(mu >= 0, y, np.nan)


def _poisson_cdf(k: FloatArray, mu: FloatArray) -> FloatArray:
    """$P(Y \\le k)$ under Poisson(mu): 0 below 0, as ``scipy.stats.poisson.cdf``
    (``pdtr`` of the whole part of ``k``); NaN where ``k`` or mu is NaN or mu negative."""
    with np.errstate(invalid="ignore"):
        inside = np.clip(pdtr(np.floor(np.maximum(k, 0)), mu), 0, 1)
        out = np.where(k >= 0, np.where(np.isposinf(k), 1.0, inside), 0.0)
    return np.where((mu >= 0) & ~np.isnan(k), out, np.nan)


def binomial_limit(n: npt.ArrayLike, p: float, target: npt.ArrayLike) -> FloatArray:
    """The ``p``-quantile control limit of a proportion with denominator ``n``.

    Returns $(y_p - \\alpha)/n$ with $y_p$ the p-quantile of
    $\\mathrm{Binomial}(n, \\theta_0)$ and
    $\\alpha = (F(y_p) - p)/(F(y_p) - F(y_p - 1))$ (Spiegelhalter 2005, A.1.2).
    """
    check_in_range("p", p, 1e-12, 1 - 1e-12, owner="binomial_limit")
    if np.ndim(target) == 0:
        check_in_range("target", float(target), 1e-12, 1 - 1e-12,  # type: ignore[arg-type]
                       owner="binomial_limit")
    N = np.asarray(n, dtype=float)
    y = _binomial_ppf(p, N, target)
    upper = _binomial_cdf(y, N, target)
    lower = _binomial_cdf(y - 1, N, target)
    alpha = (upper - p) / (upper - lower)
    return (y - alpha) / N


def _binomial_valid(n: FloatArray, prob: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Where Binomial(n, prob) is defined: whole n >= 0 and 0 <= prob <= 1."""
    with np.errstate(invalid="ignore"):
        return (n >= 0) & (n == np.round(n)) & (np.asarray(prob) >= 0) & (np.asarray(prob) <= 1)


def _binomial_ppf(q: float, n: FloatArray, prob: npt.ArrayLike) -> FloatArray:
    """The smallest whole $y$ with $F(y) \\ge q$ under Binomial(n, prob), for 0 < q < 1;
    NaN where the distribution is undefined (n not whole, among others).

    The function and checks of ``scipy.stats.binom.ppf`` (Boost's binomial quantile; the
    same float values), without importing scipy.stats (0.45 s of every ``casemix fit``).
    """
    with np.errstate(invalid="ignore"):
        y = _binom_ppf(q, n, prob)
    return np.where(_binomial_valid(n, prob), y, np.nan)


def _binomial_cdf(k: FloatArray, n: FloatArray, prob: npt.ArrayLike) -> FloatArray:
    """$P(Y \\le k)$ under Binomial(n, prob), as ``scipy.stats.binom.cdf``: 0 below 0, 1
    from n on, Boost's distribution function of the whole part of ``k`` between; NaN where
    ``k`` is NaN or the distribution undefined."""
    valid = _binomial_valid(n, prob)
    with np.errstate(invalid="ignore"):
        inside = np.clip(_binom_cdf(np.floor(k), n, prob), 0, 1)
        out = np.where((k >= 0) & (k < n) & np.isfinite(k) & valid, inside, 0.0)
        out = np.where(k >= n, 1.0, out)
    return np.where(valid & ~np.isnan(k), out, np.nan)
