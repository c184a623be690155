"""Exact control limits of funnel plots, with the interpolation that makes them smooth.

Reference: Spiegelhalter DJ. Funnel plots for comparing institutional performance. Stat Med
2005;24:1185-1202 (appendix A.1.1 and A.1.2).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import stats

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
    y = stats.poisson.ppf(p, mu)
    upper = stats.poisson.cdf(y, mu)
    lower = stats.poisson.cdf(y - 1, mu)
    alpha = (upper - p) / (upper - lower)
    return (y - alpha) / E


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
    y = stats.binom.ppf(p, N, target)
    upper = stats.binom.cdf(y, N, target)
    lower = stats.binom.cdf(y - 1, N, target)
    alpha = (upper - p) / (upper - lower)
    return (y - alpha) / N
