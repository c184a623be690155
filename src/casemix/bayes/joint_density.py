"""Compiled log posterior and gradient of the one-stage model, for sampling with nutpie.

The one-stage model is the package's only Bayesian model whose likelihood runs over every
cell of the data (about 146,000 at municipality level on the 170,000-birth demo cohort, for
24,000 covariate patterns), so its gradient sets the run time. On one thread this loop is
only a little faster than PyMC's compiled graph of the same density (3.2 against 4.2 ms per
log density and gradient at municipality level, 2.8 against 3.6 ms at VSV level), but it
computes the logistic terms once per cell and scatters the residuals in the same pass,
without the graph's cell-length temporaries; with two chains sampling in parallel on two
cores, an iteration takes 48 ms against 82 ms for the graph (same settings, demo cohort,
municipality level), because the chains no longer compete for memory bandwidth. Measured
with ``benchmarks/bench_bayes_joint.py`` and the sampler runs noted on issue 14.
:func:`casemix.bayes.joint.joint_model` stays the reference (the test suite checks that
both give the same density and gradient) and is what PyMC's own sampler runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import numpy.typing as npt

from casemix.bayes.settings import Priors

__all__ = ["JointDensity"]


@numba.njit(nogil=True, cache=False)
def _loglik_grad(beta: np.ndarray, u: np.ndarray, X: np.ndarray, pattern: np.ndarray,
                 unit: np.ndarray, y: np.ndarray, m: np.ndarray
                 ) -> tuple[float, np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """Binomial kernel sum_c y_c eta_c - m_c log(1 + exp(eta_c)) and its gradient."""
    xb = X @ beta
    g_xb = np.zeros(X.shape[0])
    g_u = np.zeros(u.shape[0])
    total = 0.0
    for c in range(pattern.shape[0]):
        j, k = pattern[c], unit[c]
        eta = xb[j] + u[k]
        e = np.exp(-abs(eta))
        if eta >= 0:  # stable softplus and logistic from one exponential
            softplus, prob = eta + np.log1p(e), 1.0 / (1.0 + e)
        else:
            softplus, prob = np.log1p(e), e / (1.0 + e)
        total += y[c] * eta - m[c] * softplus
        r = y[c] - m[c] * prob
        g_xb[j] += r
        g_u[k] += r
    return total, X.T @ g_xb, g_u


@numba.njit(nogil=True, cache=False)
def _log_posterior(x: np.ndarray, mode: np.ndarray, chol: np.ndarray, X: np.ndarray,
                   pattern: np.ndarray, unit: np.ndarray, y: np.ndarray, m: np.ndarray,
                   prior_var: np.ndarray, tau_sd: float, gamma_a: float, gamma_b: float
                   ) -> tuple[float, np.ndarray]:  # pragma: no cover - compiled
    n, p = mode.shape[0], X.shape[1]
    params = mode + chol @ x[:n]
    s = x[n]  # log tau
    beta, u = params[:p], params[p:]
    total, g_beta, g_u = _loglik_grad(beta, u, X, pattern, unit, y, m)
    tau2 = np.exp(2.0 * s)
    uu = (u * u).sum()
    k = u.shape[0]
    total += -0.5 * (beta * beta / prior_var).sum() - 0.5 * uu / tau2 - k * s
    g_s = uu / tau2 - k
    if gamma_a > 0:  # 1/tau^2 ~ Gamma(a, b): log density of s = -2as - b exp(-2s) + const
        total += -2.0 * gamma_a * s - gamma_b / tau2
        g_s += -2.0 * gamma_a + 2.0 * gamma_b / tau2
    else:  # tau ~ Half-Normal(tau_sd), with the Jacobian of tau = exp(s)
        total += -0.5 * tau2 / tau_sd ** 2 + s
        g_s += -tau2 / tau_sd ** 2 + 1.0
    g_params = np.empty(n)
    g_params[:p] = g_beta - beta / prior_var
    g_params[p:] = g_u - u / tau2
    grad = np.empty(n + 1)
    grad[:n] = chol.T @ g_params
    grad[n] = g_s
    return total, grad


@dataclass(frozen=True)
class JointDensity:
    """Log posterior of the one-stage model in the sampler's coordinates.

    The coordinates are $x = (z, s)$ with $(\\beta, u) = \\hat m + L z$ (the
    Laplace preconditioning of :func:`casemix.bayes.joint.laplace_start`) and
    $s = \\log\\tau$.

    Parameters
    ----------
    X, pattern, unit, y, m
        Cells as in :func:`casemix.bayes.joint.joint_model`.
    mode, chol : ndarray
        Laplace mode and Cholesky factor.
    prior_var : ndarray
        Prior variances of the coefficients (intercept first).
    tau_sd, gamma_a, gamma_b : float
        Prior of $\tau$: half-normal SD, or, when ``gamma_a > 0``, the gamma prior of
        the precision (:class:`casemix.bayes.settings.Priors`).

    Notes
    -----
    The density equals that of :func:`casemix.bayes.joint.joint_model` up to an additive
    constant: binomial kernel, $\\beta_0 \\sim N(0, 5^2)$, $\\beta_j \\sim
    N(0, 2.5^2)$, $u_k \\sim N(0, \\tau^2)$ and the prior of $\\tau$ (half-normal,
    or gamma on the precision), with the log-Jacobian of $\\tau = e^s$.
    """

    X: npt.NDArray[np.float64]
    pattern: npt.NDArray[np.int64]
    unit: npt.NDArray[np.int64]
    y: npt.NDArray[np.float64]
    m: npt.NDArray[np.float64]
    mode: npt.NDArray[np.float64]
    chol: npt.NDArray[np.float64]
    prior_var: npt.NDArray[np.float64]
    tau_sd: float
    gamma_a: float
    gamma_b: float

    @classmethod
    def build(cls, X: npt.ArrayLike, pattern: npt.ArrayLike, unit: npt.ArrayLike,
              y: npt.ArrayLike, m: npt.ArrayLike, mode: npt.ArrayLike, chol: npt.ArrayLike,
              priors: Priors | None = None) -> JointDensity:
        """Density with its arrays in the contiguous types the compiled loop needs and the
        priors as numbers (computed once, not per gradient)."""
        def f64(a: npt.ArrayLike) -> npt.NDArray[np.float64]:
            return np.ascontiguousarray(a, dtype=np.float64)

        pr = priors or Priors()
        X = f64(X)
        prior_var = np.r_[pr.intercept_sd ** 2, np.full(X.shape[1] - 1, pr.coef_sd ** 2)]
        a, b = pr.tau_precision_gamma or (0.0, 0.0)
        return cls(X, np.ascontiguousarray(pattern, dtype=np.int64),
                   np.ascontiguousarray(unit, dtype=np.int64), f64(y), f64(m), f64(mode),
                   f64(chol), prior_var, float(pr.tau_sd), float(a), float(b))

    @property
    def n_coef(self) -> int:
        return int(self.X.shape[1])

    @property
    def ndim(self) -> int:
        """Dimension of the sampler's coordinates."""
        return len(self.mode) + 1

    def __call__(self, x: npt.NDArray[np.float64]) -> tuple[float, npt.NDArray[np.float64]]:
        """Log density and its gradient at ``x``."""
        lp, grad = _log_posterior(np.ascontiguousarray(x, dtype=np.float64), self.mode,
                                  self.chol, self.X, self.pattern, self.unit, self.y, self.m,
                                  self.prior_var, self.tau_sd, self.gamma_a, self.gamma_b)
        return float(lp), grad

    def expand(self, x: npt.NDArray[np.float64]) -> dict[str, npt.NDArray[np.float64]]:
        """``beta``, ``u`` and ``tau`` at ``x``."""
        params = self.mode + self.chol @ x[:-1]
        return {"beta": params[:self.n_coef], "u": params[self.n_coef:],
                "tau": np.asarray(np.exp(x[-1]))}

    def start(self, sigma: float) -> npt.NDArray[np.float64]:
        """The Laplace mode, with $\\tau$ at the GLMM estimate ``sigma``."""
        return np.r_[np.zeros(len(self.mode)), np.log(max(sigma, 1e-2))]
