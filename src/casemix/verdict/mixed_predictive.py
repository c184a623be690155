"""Mixed predictive p-values: is a unit unusual beyond the variation between units?

Reference: Marshall EC, Spiegelhalter DJ. Identifying outliers in Bayesian hierarchical
models: a simulation-based approach. Bayesian Analysis 2007;2(2):409-444.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numpy.polynomial.hermite_e import hermegauss
from scipy import stats
from scipy.special import betainc, gammainc, gammaincc

from casemix._params import check_one_of
from casemix.exceptions import DataError

__all__ = ["FAMILIES", "mixed_predictive"]

FloatArray = npt.NDArray[np.float64]
#: Between-unit distributions of the true ratio theta.
FAMILIES = ("lognormal", "gamma")
#: Gauss-Hermite nodes: tail probabilities to about 1e-10 for the spreads met in practice.
N_NODES = 96


def _theta_nodes(family: str, centre: float, tau2: float, n_nodes: int) -> tuple[
        FloatArray, FloatArray]:
    """Quadrature nodes and weights of the between-unit distribution of theta.

    Gauss-Hermite nodes of a standard normal, mapped through the quantile function of the
    family (exact for the lognormal; for the gamma an exact change of variable), so one rule
    serves both."""
    if tau2 <= 0:
        return np.array([np.exp(centre)]), np.array([1.0])
    x, w = hermegauss(n_nodes)
    w = w / w.sum()
    if family == "lognormal":
        return np.exp(centre + np.sqrt(tau2) * x), w
    shape = 1 / np.expm1(tau2)  # the lognormal's coefficient of variation
    return stats.gamma.ppf(stats.norm.cdf(x), shape, scale=np.exp(centre) / shape), w


def _conditional_tails(observed: FloatArray, mean: FloatArray, size: FloatArray
                       ) -> tuple[FloatArray, FloatArray]:
    """P(X >= O) and P(X <= O) given the unit's true ratio: Poisson with ``mean`` where
    ``size`` is infinite, else the binomial with ``size`` trials and probability
    ``mean / size`` (capped at 1); both continuous in O through the regularised incomplete
    gamma and beta functions, which equal the discrete tails at whole O."""
    O = observed
    up = np.where(O > 0, gammainc(np.maximum(O, 1e-300), mean), 1.0)
    down = gammaincc(O + 1, mean)
    binary = np.isfinite(size)
    if binary.any():
        n = np.where(binary, size, 1.0)
        q = np.clip(mean / n, 0, 1)
        up_b = np.where(O <= 0, 1.0, np.where(n < O, 0.0, betainc(
            np.maximum(O, 1e-300), np.maximum(n - O + 1, 1e-300), q)))
        down_b = np.where(n <= O, 1.0, 1 - betainc(O + 1, np.maximum(n - O, 1e-300), q))
        up, down = np.where(binary, up_b, up), np.where(binary, down_b, down)
    return up, down


def mixed_predictive(observed: npt.ArrayLike, expected: npt.ArrayLike, *, tau2: float,
                     centre: float = 0.0, family: str = "lognormal",
                     variance: npt.ArrayLike | None = None,
                     n_nodes: int = N_NODES) -> tuple[FloatArray, FloatArray]:
    """Mixed predictive tail probabilities of each unit's observed count.

    Parameters
    ----------
    observed, expected : array-like, shape (K,)
        Observed and expected events per unit.
    tau2 : float
        Between-unit variance of :math:`\\log\\theta` (the robust spread,
        :func:`casemix.verdict.between_unit_spread`).
    centre : float, default 0
        Mean of :math:`\\log\\theta` (lognormal) or log of the mean of :math:`\\theta` (gamma):
        the method's fitted national level.
    family : {"lognormal", "gamma"}
        Between-unit distribution of the true ratio :math:`\\theta`: lognormal (random
        effects on the log or logit scale: GLMM, Fay-Herriot, Bayesian models), or gamma
        (Poisson-gamma empirical Bayes) with the same coefficient of variation
        :math:`\\sqrt{e^{\\tau^2} - 1}`.
    variance : array-like, shape (K,), optional
        Null variance :math:`V_k = \\sum p_i(1-p_i)` of a binary outcome (default Poisson).

    Returns
    -------
    (p_above, p_below) : ndarray, ndarray
        :math:`P(O^{rep}_k \\ge O_k)` and :math:`P(O^{rep}_k \\le O_k)`.

    Notes
    -----
    A replicate unit is drawn afresh from the between-unit distribution (not from the unit's
    own posterior, which would use its data twice): :math:`\\theta^{rep} \\sim g`, then
    :math:`O^{rep} \\mid \\theta^{rep}` from the sampling model, and

    .. math:: p_k^{above} = \\int P(O^{rep} \\ge O_k \\mid \\theta)\\, g(\\theta)\\, d\\theta,

    computed by Gauss-Hermite quadrature (``n_nodes`` nodes mapped through the quantile
    function of :math:`g`) instead of simulation. Sampling model: Poisson with mean
    :math:`E_k\\theta`, or for a binary outcome the binomial with the mean and variance of the
    Poisson-binomial with risks :math:`\\theta p_i`: mean :math:`\\theta E_k`, variance
    :math:`\\theta E_k - \\theta^2 \\sum p_i^2` with :math:`\\sum p_i^2 = E_k - V_k`, i.e.
    size :math:`E_k/p^*_k` and probability :math:`\\theta p^*_k`, :math:`p^*_k = 1 - V_k/E_k`
    (capped at 1). A unit is unusual at level L when :math:`p^{above} < (1-L)/2` or
    :math:`p^{below} < (1-L)/2`. With :math:`\\tau^2 = 0` this is the conditional test of
    the unit against the national level (Poisson, or Poisson-binomial to two moments).
    """
    check_one_of("family", family, FAMILIES, owner="mixed_predictive")
    O = np.asarray(observed, dtype=float)
    E = np.asarray(expected, dtype=float)
    if O.shape != E.shape or O.ndim != 1:
        raise DataError("mixed_predictive: observed and expected must be 1-d arrays of the "
                        f"same length; got shapes {O.shape} and {E.shape}.")
    bad = ~(E > 0) | ~(O >= 0)
    if bad.any():
        raise DataError(f"mixed_predictive: {int(bad.sum())} unit(s) have expected <= 0 or a "
                        "negative or missing observed count.")
    size = np.full_like(E, np.inf)
    if variance is not None:
        p_star = np.clip(1 - np.asarray(variance, dtype=float) / E, 0, 1)
        size = np.where(p_star > 1e-12, E / np.maximum(p_star, 1e-300), np.inf)
    theta, w = _theta_nodes(family, float(centre), float(tau2), n_nodes)
    mean = E[:, None] * theta[None, :]
    shape = mean.shape
    up, down = _conditional_tails(np.broadcast_to(O[:, None], shape), mean,
                                  np.broadcast_to(size[:, None], shape))
    return np.clip(up @ w, 0, 1), np.clip(down @ w, 0, 1)
