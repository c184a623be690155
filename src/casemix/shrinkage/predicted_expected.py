"""Predicted/expected ratios of a random-intercept model (hospital-profiling construction)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import expit

from casemix.core.ranks import rank_summary

__all__ = ["parametric_bootstrap", "predicted_expected"]

FloatArray = npt.NDArray[np.float64]
_GRID = np.linspace(-7.0, 7.0, 57)  # offsets in posterior standard deviations


def predicted_expected(
    eta: FloatArray,
    units: npt.NDArray[np.intp],
    m: FloatArray,
    modes: FloatArray,
    mode_var: FloatArray,
    *,
    level: float = 0.95,
    n_draws: int = 4000,
    seed: int = 20261123,
    draws: FloatArray | None = None,
) -> pd.DataFrame:
    """Predicted/expected ratio per unit with intervals, P(ratio > 1) and rank intervals.

    Parameters
    ----------
    eta : ndarray
        Fixed-effects linear predictor per cell (unit effect excluded).
    units : ndarray of int
        Unit index 0..K-1 per cell.
    m : ndarray
        Births per cell (weighted).
    modes, mode_var : ndarray, shape (K,)
        Conditional modes of the unit intercepts and their conditional variances.
    draws : ndarray, shape (n_draws, K), optional
        Ready-made draws of the ratio (e.g. from :func:`parametric_bootstrap`); by default the
        unit intercepts are drawn from their conditional distribution.

    Returns
    -------
    pandas.DataFrame
        Per unit: ``predicted``, ``expected``, ``shrunk_oe`` (= predicted/expected),
        ``shrunk_lower``, ``shrunk_upper``, ``prob_above``, ``rank``, ``rank_lower``,
        ``rank_upper``.

    Notes
    -----
    $P_k = \\sum_{i \\in k} \\mathrm{expit}(x_i^T\\hat\\beta + \\hat u_k)$ is what the
    unit's births are predicted to experience with the unit's own (shrunken) intercept;
    $E_k = \\sum_{i \\in k} \\mathrm{expit}(x_i^T\\hat\\beta)$ what they would experience in
    an average unit. $P_k/E_k$ is the standardised ratio of national hospital-profiling
    programmes (Krumholz HM et al. Circulation 2006;113:1683-1692; Ash AS et al., COPSS-CMS
    white paper, 2012). Intervals and ranks come from draws of the unit intercepts from their
    approximate conditional distribution $N(\\hat u_k, 1/D_k)$, with the fixed effects
    held at their estimates (their uncertainty is small next to that of a unit's intercept in
    national data). $P_k(u)$ is evaluated on a grid of intercepts and interpolated.
    """
    K = len(modes)
    sd = np.sqrt(mode_var)
    expected = np.bincount(units, weights=m * expit(eta), minlength=K).astype(float)
    predicted = np.bincount(units, weights=m * expit(eta + modes[units]), minlength=K)
    if draws is None:
        draws = _conditional_draws(eta, units, m, modes, sd, expected, n_draws, seed)
    alpha = (1 - level) / 2
    ratio = predicted / expected
    table = pd.DataFrame({
        "predicted": predicted, "expected": expected, "shrunk_oe": ratio,
        "shrunk_lower": np.quantile(draws, alpha, axis=0),
        "shrunk_upper": np.quantile(draws, 1 - alpha, axis=0),
        "prob_above": (draws > 1).mean(axis=0),
    })
    return pd.concat([table, rank_summary(ratio, draws, level=level)], axis=1)


def _conditional_draws(eta: FloatArray, units: npt.NDArray[np.intp], m: FloatArray,
                       modes: FloatArray, sd: FloatArray, expected: FloatArray, n_draws: int,
                       seed: int) -> FloatArray:
    """Ratio draws with unit intercepts from N(mode, conditional variance), via a grid."""
    K = len(modes)
    grid = np.empty((K, len(_GRID)))
    for g, t in enumerate(_GRID):
        u = modes + t * sd
        grid[:, g] = np.bincount(units, weights=m * expit(eta + u[units]), minlength=K)
    z = np.random.default_rng(seed).standard_normal((n_draws, K))
    pos = np.clip((z - _GRID[0]) / (_GRID[1] - _GRID[0]), 0, len(_GRID) - 1 - 1e-9)
    idx = pos.astype(int)
    frac = pos - idx
    cols = np.arange(K)[None, :]
    return (grid[cols, idx] * (1 - frac) + grid[cols, idx + 1] * frac) / expected[None, :]


def parametric_bootstrap(
    X: FloatArray, units: npt.NDArray[np.intp], m: FloatArray, coef: FloatArray,
    modes: FloatArray, sigma: float, *, n_boot: int = 200, n_agq: int = 1,
    seed: int = 20261123,
) -> FloatArray:
    """Parametric-bootstrap draws of each unit's predicted/expected ratio.

    Returns
    -------
    ndarray, shape (n_boot, K)
        $\\hat R_k \\exp(-(\\log \\hat R^*_{kb} - \\log R^*_{kb}))$: the estimate corrected
        by bootstrap prediction errors.

    Notes
    -----
    Each replicate draws new unit effects $u^*_k \\sim N(0, \\hat\\sigma^2)$ and events
    $y^* \\sim \\mathrm{Binomial}(m, \\mathrm{expit}(x^T\\hat\beta + u^*_k))$, refits the
    GLMM and compares the re-estimated ratio $\\hat R^*_k$ with the replicate's true
    ratio $R^*_k = \\sum m\\,\\mathrm{expit}(x^T\\hat\beta + u^*_k) / \\sum m\\,
    \\mathrm{expit}(x^T\\hat\beta)$. The spread of these prediction errors (which include the
    uncertainty of $\\hat\beta$, $\\hat\\sigma$ and of the shrinkage itself) is
    applied to the observed estimate (Chatterjee S, Lahiri P, Li H. Parametric bootstrap
    approximation to the distribution of EBLUP and related prediction intervals in linear
    mixed models. Ann Stat 2008;36:1221-1245). Weighted trials are rounded for the binomial
    draws. Costs ``n_boot`` GLMM fits.
    """
    from casemix.core.glmm import fit_glmm_binomial

    rng = np.random.default_rng(seed)
    K = len(modes)
    eta0 = X @ coef
    trials = np.rint(m).astype(np.int64)
    weights = trials.astype(float)
    base_e = np.bincount(units, weights=weights * expit(eta0), minlength=K)
    estimate = np.bincount(units, weights=m * expit(eta0 + modes[units]), minlength=K) / (
        np.bincount(units, weights=m * expit(eta0), minlength=K))
    errors = np.empty((n_boot, K))
    for b in range(n_boot):
        u_star = rng.normal(0.0, sigma, K)
        y_star = rng.binomial(trials, expit(eta0 + u_star[units])).astype(float)
        true = np.bincount(units, weights=weights * expit(eta0 + u_star[units]),
                           minlength=K) / base_e
        fit = fit_glmm_binomial(X, units, y_star, weights, n_units=K, n_agq=n_agq,
                                hessian="approximate", start=coef)
        eta = X @ fit.coef
        est = np.bincount(units, weights=weights * expit(eta + fit.modes[units]),
                          minlength=K) / np.bincount(units, weights=weights * expit(eta),
                                                     minlength=K)
        errors[b] = np.log(est) - np.log(true)
    return estimate[None, :] * np.exp(-errors)
