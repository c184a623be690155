"""Empirical Bayes shrinkage on unit totals: Poisson-gamma for O/E, beta-binomial for rates.

Both work on aggregated data alone (observed and expected counts, or events and births), so
users with only published totals can use them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import optimize
from scipy.special import betaln, digamma, expit, gammaincc, gammaincinv, gammaln

from casemix._params import check_in_range
from casemix.core.ranks import rank_summary
from casemix.exceptions import DataError, MethodSwitchWarning

__all__ = ["BetaBinomialFit", "PoissonGammaFit", "PoissonGammaYearFit", "beta_binomial",
           "poisson_gamma", "poisson_gamma_by_year"]

FloatArray = npt.NDArray[np.float64]


class _Gamma:
    """The gamma distribution's quantiles and upper tail through ``scipy.special``: the
    same float values as ``scipy.stats.gamma(shape, scale=scale)`` (``gammaincinv`` and
    ``gammaincc`` are what it calls), without importing ``scipy.stats`` (0.45 s)."""

    def __init__(self, shape: npt.NDArray[np.float64], scale: npt.NDArray[np.float64]
                 ) -> None:
        self.shape, self.scale = shape, scale

    def ppf(self, q: float) -> npt.NDArray[np.float64]:
        """The ``q``-quantile."""
        return gammaincinv(self.shape, q) * self.scale

    def sf(self, x: float) -> npt.NDArray[np.float64]:
        """P(X > x) for x >= 0."""
        return gammaincc(self.shape, x / self.scale)


def _as_float(name: str, values: npt.ArrayLike, *, positive: bool = False) -> FloatArray:
    out = np.asarray(values, dtype=float)
    bad = ~np.isfinite(out) | ((out <= 0) if positive else (out < 0))
    if bad.any():
        rule = "> 0" if positive else ">= 0"
        raise DataError(f"'{name}' must be finite and {rule}; {int(bad.sum())} of {out.size} "
                        f"entries are not (e.g. {out[bad][:3].tolist()}).")
    return out


@dataclass(frozen=True)
class PoissonGammaFit:
    """Result of :func:`poisson_gamma`.

    Attributes
    ----------
    shape : float
        Gamma shape $a$ of the prior of the relative risks (``theta`` of ``MASS::glm.nb``);
        ``inf`` when no between-unit variation is detected.
    coef, std_error : ndarray
        Coefficients of the prior mean $\\log \\mu_k = z_k^T \\gamma$ (intercept only by
        default) and their standard errors.
    units : pandas.DataFrame
        Per unit: ``observed``, ``expected``, ``prior_mean``, ``posterior_mean``,
        ``posterior_median``, ``lower``, ``upper``, ``prob_above`` (P(theta > 1)),
        ``posterior_shape``, ``posterior_rate``, ``rank``, ``rank_lower``, ``rank_upper``.
    draws : ndarray, shape (n_draws, K)
        Posterior draws of the relative risks (for rank intervals and further summaries).
    """

    shape: float
    coef: FloatArray
    std_error: FloatArray
    units: pd.DataFrame
    draws: FloatArray
    loglik: float


def _nb_glm(O: FloatArray, E: FloatArray, Z: FloatArray, alpha: float) -> tuple[
        FloatArray, FloatArray, float]:
    """NB2 GLM with log link and offset log E at a fixed dispersion (statsmodels IRLS)."""
    import statsmodels.api as sm

    family = sm.families.NegativeBinomial(alpha=alpha) if alpha > 0 else sm.families.Poisson()
    with warnings.catch_warnings():  # a perfect fit (O == E) is legitimate here
        warnings.simplefilter("ignore")
        fit = sm.GLM(O, Z, family=family, offset=np.log(E)).fit(tol=1e-12, maxiter=200)
    return np.asarray(fit.params), np.asarray(fit.bse), float(fit.llf)


def _fit_negative_binomial(O: FloatArray, E: FloatArray, Z: FloatArray) -> tuple[
        FloatArray, FloatArray, float, float]:
    """Maximum likelihood NB2 regression with offset log E, as ``MASS::glm.nb``.

    The dispersion $\alpha = 1/a$ is found by maximising the profile log-likelihood
    (Brent on $\\log\alpha$; each evaluation is a statsmodels GLM fit), and compared with
    the Poisson boundary $\alpha = 0$. Returns coefficients, their standard errors,
    $\alpha$ (0 on the boundary) and the log-likelihood.
    """
    from scipy.optimize import minimize_scalar

    def negative_profile(log_alpha: float) -> float:
        return -_nb_glm(O, E, Z, float(np.exp(log_alpha)))[2]

    res = minimize_scalar(negative_profile, bounds=(-16.0, 4.0), method="bounded",
                          options={"xatol": 1e-10})
    alpha = float(np.exp(res.x))
    poisson = _nb_glm(O, E, Z, 0.0)
    if poisson[2] >= -float(res.fun) - 1e-9 or res.x < -15.5:
        return poisson[0], poisson[1], 0.0, poisson[2]
    coef, se, loglik = _nb_glm(O, E, Z, alpha)
    return coef, se, alpha, loglik


def poisson_gamma(
    observed: npt.ArrayLike,
    expected: npt.ArrayLike,
    *,
    covariates: npt.ArrayLike | None = None,
    units: npt.ArrayLike | None = None,
    level: float = 0.95,
    n_draws: int = 4000,
    seed: int = 20261123,
) -> PoissonGammaFit:
    """Empirical Bayes relative risks: Poisson counts with gamma-distributed unit effects.

    Parameters
    ----------
    observed, expected : array-like, shape (K,)
        Observed and expected events per unit (expected > 0).
    covariates : array-like, shape (K, q), optional
        Unit-level covariates of the prior mean (an intercept is added).
    units : array-like, optional
        Unit codes for the output table.
    level : float
        Level of the posterior intervals and rank intervals.
    n_draws : int
        Posterior draws for rank intervals.
    seed : int
        Seed of the draws.

    Returns
    -------
    PoissonGammaFit

    Notes
    -----
    $O_k \\mid \\theta_k \\sim \\mathrm{Poisson}(E_k \\theta_k)$,
    $\\theta_k \\sim \\mathrm{Gamma}(a, a/\\mu_k)$ (mean $\\mu_k$, variance
    $\\mu_k^2/a$), $\\log \\mu_k = z_k^T\\gamma$. Marginally $O_k$ is negative
    binomial with mean $E_k\\mu_k$ and size $a$ (NB2, as ``MASS::glm.nb`` with
    ``offset(log(E))``); $(a, \\gamma)$ are estimated by maximum likelihood (statsmodels).
    The posterior is $\\mathrm{Gamma}(a + O_k, a/\\mu_k + E_k)$. Intervals treat the
    estimated $(a, \\gamma)$ as known (naive EB; Clayton D, Kaldor J. Empirical Bayes
    estimates of age-standardized relative risks for use in disease mapping. Biometrics
    1987;43:671-681). When the data show no over-dispersion ($\\hat a \\to \\infty$) every
    unit is shrunk to its prior mean; a :class:`~casemix.exceptions.MethodSwitchWarning` says so.
    """
    check_in_range("level", level, 0.5, 0.9999, owner="poisson_gamma")
    O = _as_float("observed", observed)
    E = _as_float("expected", expected, positive=True)
    Z = np.ones((len(O), 1)) if covariates is None else np.column_stack(
        [np.ones(len(O)), np.asarray(covariates, dtype=float)])
    coef, se, alpha, loglik = _fit_negative_binomial(O, E, Z)
    mu = np.exp(Z @ coef)
    rng = np.random.default_rng(seed)
    if alpha < 1e-6:
        warnings.warn("No over-dispersion between units (negative-binomial shape -> infinity): "
                      "every unit is shrunk to its prior mean.", MethodSwitchWarning,
                      stacklevel=2)
        shape = np.inf
        post_a, post_rate = np.full_like(O, 1e12), 1e12 / mu
    else:
        shape = 1 / alpha
        post_a, post_rate = shape + O, shape / mu + E
    dist = _Gamma(post_a, 1 / post_rate)
    q = (1 - level) / 2
    draws = rng.gamma(post_a, 1 / post_rate, size=(n_draws, len(O)))
    mean = post_a / post_rate
    table = pd.DataFrame({
        "unit": np.arange(len(O)) if units is None else np.asarray(units),
        "observed": O, "expected": E, "prior_mean": mu, "posterior_mean": mean,
        "posterior_median": dist.ppf(0.5), "lower": dist.ppf(q), "upper": dist.ppf(1 - q),
        "prob_above": dist.sf(1.0), "posterior_shape": post_a, "posterior_rate": post_rate,
    })
    table = pd.concat([table, rank_summary(mean, draws, level=level)], axis=1)
    return PoissonGammaFit(shape, coef, se, table, draws, loglik)


@dataclass(frozen=True)
class PoissonGammaYearFit:
    """Result of :func:`poisson_gamma_by_year`.

    Attributes
    ----------
    shape : float
        Gamma shape $a$ of the unit levels $\\lambda_k$.
    prior_mean : float
        Their mean $\\mu$.
    year_shape : float
        Gamma shape $b$ of the year-to-year variation of a unit's relative risk.
    unit_fit : PoissonGammaFit
        :func:`poisson_gamma` on the units' multi-year totals (the starting values).
    units : pandas.DataFrame
        One row per unit-year, in input order: ``unit``, ``observed``, ``expected``,
        ``level_mean``, ``level_var`` (the unit's level from its other years),
        ``prior_shape``, ``prior_rate``, ``posterior_shape``, ``posterior_rate``,
        ``posterior_mean``, ``lower``, ``upper``, ``prob_above``.
    draws : ndarray, shape (n_draws, n)
        Draws of $\\theta_{kt}$ from its gamma posterior.
    loglik : float
        Log-likelihood of the years given the units' other years at $\\hat b$.
    """

    shape: float
    prior_mean: float
    year_shape: float
    unit_fit: PoissonGammaFit
    units: pd.DataFrame
    draws: FloatArray
    loglik: float


def _leave_year_out_prior(m: FloatArray, v_level: FloatArray, b: float) -> tuple[
        FloatArray, FloatArray]:
    """Gamma (shape, rate) with the mean and variance of $\\lambda\\varepsilon$,
    $E\\lambda = m$, $\\mathrm{Var}\\lambda = v$, $\\varepsilon \\sim
    \\mathrm{Gamma}(b, b)$."""
    var = v_level + (v_level + m**2) / b if np.isfinite(b) else v_level
    var = np.maximum(var, m**2 * 1e-12)
    return m**2 / var, m / var


def _nb_loglik(O: FloatArray, E: FloatArray, shape: FloatArray, rate: FloatArray) -> float:
    """Sum of negative-binomial log-probabilities: O ~ Poisson(E theta), theta ~
    Gamma(shape, rate)."""
    return float(np.sum(gammaln(O + shape) - gammaln(shape) - gammaln(O + 1)
                        + shape * np.log(rate / (rate + E)) + O * np.log(E / (rate + E))))


def poisson_gamma_by_year(
    observed: npt.ArrayLike,
    expected: npt.ArrayLike,
    units: npt.ArrayLike,
    *,
    level: float = 0.95,
    n_draws: int = 4000,
    seed: int = 20261123,
) -> PoissonGammaYearFit:
    """Per-year Poisson-gamma relative risks that borrow strength from the unit's other years.

    Parameters
    ----------
    observed, expected : array-like, shape (n,)
        Observed and expected events per unit-year (expected > 0).
    units : array-like, shape (n,)
        Unit of each row (rows of a unit are its years).

    Returns
    -------
    PoissonGammaYearFit

    Notes
    -----
    Two levels: $O_{kt} \\mid \\theta_{kt} \\sim \\mathrm{Poisson}(E_{kt}\\theta_{kt})$,
    $\\theta_{kt} = \\lambda_k \\varepsilon_{kt}$, $\\varepsilon_{kt} \\sim
    \\mathrm{Gamma}(b, b)$ (year-to-year variation, mean 1), $\\lambda_k \\sim
    \\mathrm{Gamma}(a, a/\\mu)$ (between units).

    Each year's data enter once. The prior of $\\theta_{kt}$ is built from the unit's
    *other* years: the unit level given them is approximately $\\lambda_k \\mid
    O_{k,-t} \\sim \\mathrm{Gamma}(\\alpha, \\beta)$, $\\alpha = a + O_{k,-t}/\\phi$,
    $\\beta = a/\\mu + E_{k,-t}/\\phi$ ($O_{k,-t} = O_k - O_{kt}$, likewise
    $E$), where $\\phi = 1 + m_0 \\sum_{s \\ne t} E_{ks}^2/(b E_{k,-t})$ is the
    over-dispersion of the pooled other years caused by their own year variation (the
    variance of $O_{k,-t}$ given $\\lambda_k$ is $\\lambda_k E_{k,-t} +
    \\lambda_k^2 \\sum_{s\\ne t} E_{ks}^2/b$; $m_0 = (a + O_{k,-t})/(a/\\mu + E_{k,-t})$),
    with mean $m = \\alpha/\\beta$ and variance
    $v = \\alpha/\\beta^2$; then $E\\theta_{kt} = m$ and
    $\\mathrm{Var}\\,\\theta_{kt} = v + (v + m^2)/b$, and the prior is the gamma
    distribution with these two moments, $\\mathrm{Gamma}(s, r)$, $s = m^2/V$,
    $r = m/V$. The posterior is $\\mathrm{Gamma}(s + O_{kt}, r + E_{kt})$ (one
    distribution: intervals, ``prob_above`` and draws all come from it).
    $(a, \\mu, b)$ maximise $\\sum_{kt} \\log p(O_{kt} \\mid O_{k,-t})$, the
    negative-binomial marginal likelihood of each year given the unit's other years (a
    leave-year-out pseudo-likelihood; L-BFGS-B on the logs, shapes within
    $e^{-6}..e^{16}$, started from :func:`poisson_gamma` on the units' totals and
    $b = 50$). As $b \\to \\infty$ every year gets the unit's multi-year posterior
    $\\mathrm{Gamma}(a + O_k, a/\\mu + E_k)$; a unit with one year gets the national prior
    (mean $\\mu$, variance $\\mu^2/a + (\\mu^2/a + \\mu^2)/b$). As in
    :func:`poisson_gamma`, the estimated $(a, \\mu, b)$ are treated as known.
    """
    check_in_range("level", level, 0.5, 0.9999, owner="poisson_gamma_by_year")
    O = _as_float("observed", observed)
    E = _as_float("expected", expected, positive=True)
    labels = np.asarray(units)
    codes, group = np.unique(labels, return_inverse=True)
    k = len(codes)
    O_unit = np.bincount(group, O, minlength=k)
    E_unit = np.bincount(group, E, minlength=k)
    unit_fit = poisson_gamma(O_unit, E_unit, units=codes, seed=seed)
    O_rest, E_rest = O_unit[group] - O, E_unit[group] - E
    S2_rest = np.bincount(group, E * E, minlength=k)[group] - E * E

    def unit_level(a: float, mu: float, b: float) -> tuple[FloatArray, FloatArray]:
        """Mean and variance of lambda_k given the unit's other years."""
        m0 = (a + O_rest) / (a / mu + E_rest)
        phi = 1 + m0 * S2_rest / (b * np.where(E_rest > 0, E_rest, 1.0))
        alpha, beta = a + O_rest / phi, a / mu + E_rest / phi
        return alpha / beta, alpha / beta**2

    def negative(params: FloatArray) -> float:
        a, mu, b = np.exp(params)
        return -_nb_loglik(O, E, *_leave_year_out_prior(*unit_level(a, mu, b), b))

    a0 = unit_fit.shape if np.isfinite(unit_fit.shape) else 1e6
    start = np.log([a0, float(np.exp(unit_fit.coef[0])), 50.0])
    res = optimize.minimize(negative, start, method="L-BFGS-B",
                            bounds=[(-6.0, 16.0), (-10.0, 10.0), (-6.0, 16.0)])
    a, mu, b = (float(v) for v in np.exp(res.x))
    m, v_level = unit_level(a, mu, b)
    prior_shape, prior_rate = _leave_year_out_prior(m, v_level, b)
    loglik = _nb_loglik(O, E, prior_shape, prior_rate)
    post_a, post_rate = prior_shape + O, prior_rate + E
    dist = _Gamma(post_a, 1 / post_rate)
    q = (1 - level) / 2
    draws = np.random.default_rng(seed).gamma(post_a, 1 / post_rate, size=(n_draws, len(O)))
    table = pd.DataFrame({
        "unit": labels, "observed": O, "expected": E, "level_mean": m, "level_var": v_level,
        "prior_shape": prior_shape, "prior_rate": prior_rate, "posterior_shape": post_a,
        "posterior_rate": post_rate, "posterior_mean": post_a / post_rate,
        "lower": dist.ppf(q), "upper": dist.ppf(1 - q), "prob_above": dist.sf(1.0)})
    return PoissonGammaYearFit(a, mu, b, unit_fit, table, draws, loglik)


@dataclass(frozen=True)
class BetaBinomialFit:
    """Result of :func:`beta_binomial`: prior ``alpha``, ``beta`` and the unit table
    (``events``, ``n``, ``crude_rate``, ``posterior_mean``, ``lower``, ``upper``,
    ``prob_above`` (P(rate > prior mean)), ``rank``, ``rank_lower``, ``rank_upper``)."""

    alpha: float
    beta: float
    units: pd.DataFrame
    draws: FloatArray
    loglik: float

    @property
    def prior_mean(self) -> float:
        """Mean of the beta prior, $\\alpha/(\\alpha+\\beta)$."""
        return self.alpha / (self.alpha + self.beta)


def _beta_binomial_nll(params: FloatArray, x: FloatArray, n: FloatArray) -> tuple[
        float, FloatArray]:
    """Negative log-likelihood kernel and its gradient in (logit mean, log(alpha + beta))."""
    mean, total = expit(params[0]), np.exp(params[1])
    a, b = mean * total, (1 - mean) * total
    value = -float(np.sum(betaln(x + a, n - x + b) - betaln(a, b)))
    common = digamma(n + a + b) - digamma(a + b)
    da = -np.sum(digamma(x + a) - digamma(a) - common)
    db = -np.sum(digamma(n - x + b) - digamma(b) - common)
    dm = total * mean * (1 - mean)
    return value, np.array([da * dm - db * dm, da * a + db * b])


def beta_binomial(
    events: npt.ArrayLike,
    n: npt.ArrayLike,
    *,
    units: npt.ArrayLike | None = None,
    level: float = 0.95,
    n_draws: int = 4000,
    seed: int = 20261123,
) -> BetaBinomialFit:
    """Empirical Bayes rates: binomial counts with beta-distributed unit rates.

    Notes
    -----
    $x_k \\sim \\mathrm{Binomial}(n_k, \\pi_k)$, $\\pi_k \\sim
    \\mathrm{Beta}(\\alpha, \\beta)$; $(\\alpha, \\beta)$ maximise the beta-binomial
    marginal likelihood $\\sum_k [\\log B(x_k+\\alpha, n_k-x_k+\\beta) -
    \\log B(\\alpha, \\beta)]$ (parameterised by the logit of the mean and the log of
    $\\alpha+\\beta$, BFGS); the posterior is $\\mathrm{Beta}(\\alpha + x_k,
    \\beta + n_k - x_k)$.
    """
    check_in_range("level", level, 0.5, 0.9999, owner="beta_binomial")
    x = _as_float("events", events)
    N = _as_float("n", n, positive=True)
    if np.any(x > N):
        raise DataError(f"'events' exceed 'n' for {int((x > N).sum())} unit(s).")
    rate = x.sum() / N.sum()
    start = np.array([np.log(rate / (1 - rate)), np.log(100.0)])
    res = optimize.minimize(_beta_binomial_nll, start, args=(x, N), method="BFGS", jac=True,
                            options={"gtol": 1e-11, "maxiter": 1000})
    mean, total = expit(res.x[0]), np.exp(res.x[1])
    a, b = mean * total, (1 - mean) * total
    from scipy import stats  # here: beta.ppf needs scipy.stats (0.45 s to import)

    post = stats.beta(a + x, b + N - x)
    q = (1 - level) / 2
    draws = np.random.default_rng(seed).beta(a + x, b + N - x, size=(n_draws, len(x)))
    table = pd.DataFrame({
        "unit": np.arange(len(x)) if units is None else np.asarray(units),
        "events": x, "n": N, "crude_rate": x / N, "posterior_mean": post.mean(),
        "lower": post.ppf(q), "upper": post.ppf(1 - q), "prob_above": post.sf(mean),
    })
    table = pd.concat([table, rank_summary(post.mean(), draws, level=level)], axis=1)
    return BetaBinomialFit(float(a), float(b), table, draws, -float(res.fun))
