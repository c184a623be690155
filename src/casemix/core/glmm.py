"""Random-intercept logistic regression (GLMM) by Laplace and adaptive Gauss-Hermite quadrature.

Model: $\\mathrm{logit}\\, p_{ij} = x_{ij}^T \\beta + u_j$, $u_j \\sim N(0, \\sigma^2)$
for births $i$ in units $j$. With one random intercept per unit the marginal
likelihood is a product of one-dimensional integrals, one per unit, so every step here is a
vectorised operation over (compressed) rows plus per-unit sums: no sparse Cholesky is needed,
which is what makes national data (a million births) fast. Written here because no Python
library fits GLMMs by Laplace/AGQ (statsmodels offers only variational Bayes and PQL-like
approximations), and calling R is not an option inside the secure environment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import linalg
from scipy.special import expit, log_expit, roots_hermite

from casemix.core.logistic import (
    _SUBSAMPLE_ABOVE,
    _SUBSAMPLE_SIZE,
    _weighted_crossprod,
    fit_logistic,
)
from casemix.exceptions import ConvergenceError, ParameterError

__all__ = ["GLMMFit", "fit_glmm_binomial"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]


@dataclass(frozen=True)
class GLMMFit:
    """Result of :func:`fit_glmm_binomial`.

    Attributes
    ----------
    coef : ndarray
        Fixed effects $\\hat\\beta$.
    cov : ndarray
        Covariance of $\\hat\\beta$ (inverse of the observed information of the
        approximated marginal likelihood, the variance parameter profiled in when
        ``hessian="numeric"``; the penalised-IRLS information otherwise).
    sigma : float
        Standard deviation of the unit intercepts.
    modes : ndarray
        Conditional modes $\\hat u_j$ (the BLUP-like unit effects).
    mode_var : ndarray
        Conditional variances of the unit effects, $1 / D_j$.
    loglik : float
        Approximate marginal log-likelihood (kernel: without binomial coefficients).
    n_agq : int
        Quadrature nodes per unit (1 = Laplace).
    n_iter : int
        Outer Newton iterations.
    """

    coef: FloatArray
    cov: FloatArray
    sigma: float
    modes: FloatArray
    mode_var: FloatArray
    loglik: float
    n_agq: int
    n_iter: int

    @property
    def std_error(self) -> FloatArray:
        """Standard errors of the fixed effects."""
        return np.sqrt(np.diag(self.cov))


class _Data:
    """Cells with their unit index and per-unit summation as a sparse operator."""

    def __init__(self, X: FloatArray, units: IntArray, y: FloatArray, m: FloatArray, K: int):
        keep = m > 0
        self.X = np.asfortranarray(X if keep.all() else X[keep])
        self.units, self.y, self.m, self.K = units[keep], y[keep], m[keep], K
        self.buffer = np.empty_like(self.X, order="F")

    def unit_sum(self, values: FloatArray) -> FloatArray:
        """Per-unit sums of a vector, or of the columns of a (cells, p) matrix (one bincount
        per contiguous column of a Fortran-ordered matrix)."""
        if values.ndim == 1:
            return np.bincount(self.units, weights=values, minlength=self.K).astype(float)
        out = np.empty((self.K, values.shape[1]))
        for j in range(values.shape[1]):
            out[:, j] = np.bincount(self.units, weights=values[:, j], minlength=self.K)
        return out


def _loglik_rows(y: FloatArray, m: FloatArray, eta: FloatArray) -> FloatArray:
    """Binomial log-likelihood kernel per cell: y log p + (m - y) log(1 - p)."""
    return y * log_expit(eta) + (m - y) * log_expit(-eta)


def _modes(d: _Data, eta: FloatArray, sigma2: float, u: FloatArray) -> tuple[FloatArray,
                                                                              FloatArray]:
    """Conditional modes of the unit effects (vectorised damped Newton) and the curvature
    $D_j = \\sum_i m_i p_i (1 - p_i) + 1/\\sigma^2$ at the modes."""
    for _ in range(100):
        p = expit(eta + u[d.units])
        grad = d.unit_sum(d.y - d.m * p) - u / sigma2
        D = d.unit_sum(d.m * p * (1 - p)) + 1 / sigma2
        step = np.clip(grad / D, -5, 5)
        u = u + step
        if np.max(np.abs(step), initial=0) < 1e-11:
            break
    else:
        raise ConvergenceError("Conditional modes of the unit effects did not converge.")
    p = expit(eta + u[d.units])
    D = d.unit_sum(d.m * p * (1 - p)) + 1 / sigma2
    return u, D


@dataclass
class _State:
    """Everything evaluated at one parameter value."""

    beta: FloatArray
    tau: float  # log sigma
    u: FloatArray
    D: FloatArray
    loglik: float
    grad: FloatArray  # with respect to (beta, tau)
    info_beta: FloatArray  # penalised-IRLS information of beta (u profiled out)


def _laplace(d: _Data, beta: FloatArray, tau: float, u0: FloatArray, need: int = 2) -> _State:
    """Laplace approximation, its exact gradient, and the PIRLS information.

    ``need``: 0 the log-likelihood only (line searches), 1 also the gradient, 2 also the
    information (each level costs about as much as the previous ones together).

    Notes
    -----
    Per unit, $\\ell_j = h_j(\\hat u_j) - \\tfrac12 \\log(\\sigma^2 D_j)$ with
    $h_j(u) = \\sum_i \\log f(y_i \\mid u) - u^2 / (2\\sigma^2)$. Differentiating through
    $\\hat u_j$ ($d\\hat u_j/d\\beta = -B_j / D_j$, $B_j = \\sum_i w_i x_i$) gives
    $\\nabla_\\beta \\ell = X^T r - \\tfrac12 \\sum_j (S_j - T_j B_j / D_j) / D_j$ with
    $w_i = m_i p_i(1-p_i)$, $c_i = w_i (1 - 2p_i)$, $S_j = \\sum_i c_i x_i$,
    $T_j = \\sum_i c_i$.
    """
    sigma2 = np.exp(2 * tau)
    eta = d.X @ beta
    u, D = _modes(d, eta, sigma2, u0)
    full = eta + u[d.units]
    p = expit(full)
    ll = float(_loglik_rows(d.y, d.m, full).sum() - (u**2).sum() / (2 * sigma2)
               - 0.5 * np.log(sigma2 * D).sum())
    if need == 0:
        return _State(beta, tau, u, D, ll, np.empty(0), np.empty((0, 0)))
    w = d.m * p * (1 - p)
    c = w * (1 - 2 * p)
    B = d.unit_sum(np.multiply(d.X, w[:, None], out=d.buffer))
    S = d.unit_sum(np.multiply(d.X, c[:, None], out=d.buffer))
    T = d.unit_sum(c)
    g_beta = d.X.T @ (d.y - d.m * p) - 0.5 * (((S - (T / D)[:, None] * B) / D[:, None]).sum(0))
    dD_dsigma2 = -1 / sigma2**2 + T * u / (sigma2**2 * D)
    g_sigma2 = (u**2).sum() / (2 * sigma2**2) - 0.5 * (1 / sigma2 + dD_dsigma2 / D).sum()
    grad = np.r_[g_beta, 2 * sigma2 * g_sigma2]
    if need == 1:
        return _State(beta, tau, u, D, ll, grad, np.empty((0, 0)))
    info = _weighted_crossprod(d.X, w, d.buffer) - (B / D[:, None]).T @ B
    return _State(beta, tau, u, D, ll, grad, info)


def _agq(d: _Data, beta: FloatArray, tau: float, u0: FloatArray, n_agq: int, need: int = 2
         ) -> _State:
    """Adaptive Gauss-Hermite quadrature around the conditional modes.

    Notes
    -----
    $\\ell_j = \\log \\big( \\sqrt2 \\hat s_j \\sum_k w_k e^{z_k^2}
    e^{g_j(\\hat u_j + \\sqrt2 \\hat s_j z_k)} \\big)$ with
    $g_j(u) = \\sum_i \\log f(y_i \\mid u) + \\log \\phi(u; 0, \\sigma^2)$ and
    $\\hat s_j = D_j^{-1/2}$ (Liu & Pierce 1994; Pinheiro & Bates 1995); with one node it
    is the Laplace approximation. The gradient is the posterior expectation of the complete-data
    score, computed with the same nodes (Louis' identity); at the optimum it vanishes up to the
    quadrature error.
    """
    base = _laplace(d, beta, tau, u0, need=0 if need < 2 else 2)  # modes, curvature, info
    sigma2 = np.exp(2 * tau)
    z, wq = roots_hermite(n_agq)
    s = 1 / np.sqrt(base.D)
    eta = d.X @ beta
    nodes = base.u[:, None] + np.sqrt(2) * s[:, None] * z[None, :]  # (K, n_agq)
    log_terms = np.empty_like(nodes)
    scores = []
    for k in range(n_agq):
        full = eta + nodes[d.units, k]
        p = expit(full)
        log_terms[:, k] = (d.unit_sum(_loglik_rows(d.y, d.m, full)) - nodes[:, k] ** 2 / (
            2 * sigma2) - 0.5 * np.log(2 * np.pi * sigma2) + np.log(wq[k]) + z[k] ** 2)
        scores.append(d.y - d.m * p)
    top = log_terms.max(axis=1, keepdims=True)
    post = np.exp(log_terms - top)
    total = post.sum(axis=1, keepdims=True)
    ll_units = np.log(np.sqrt(2) * s) + top[:, 0] + np.log(total[:, 0])
    if need == 0:
        return _State(beta, tau, base.u, base.D, float(ll_units.sum()), np.empty(0),
                      np.empty((0, 0)))
    post /= total  # posterior weight of each node
    resid = sum(post[d.units, k] * scores[k] for k in range(n_agq))
    g_beta = d.X.T @ resid
    g_tau = (post * (nodes**2 / sigma2 - 1)).sum()
    return _State(beta, tau, base.u, base.D, float(ll_units.sum()), np.r_[g_beta, g_tau],
                  base.info_beta)


def _evaluate(d: _Data, beta: FloatArray, tau: float, u0: FloatArray, n_agq: int,
              need: int = 2) -> _State:
    if n_agq == 1:
        return _laplace(d, beta, tau, u0, need)
    return _agq(d, beta, tau, u0, n_agq, need)


def _hessian(d: _Data, state: _State, n_agq: int, full: bool) -> FloatArray:
    """Negative Hessian of the log-likelihood in (beta, tau).

    ``full=True``: central differences of the analytic gradient in every direction (the
    observed information). Otherwise the beta block is the PIRLS information and only the tau
    row/column is differenced forward from the current gradient (cheap; adequate for Newton
    steps).
    """
    k = len(state.beta) + 1
    H = np.zeros((k, k))
    H[:-1, :-1] = state.info_beta
    directions = range(k) if full else [k - 1]
    theta = np.r_[state.beta, state.tau]
    for j in directions:
        h = 1e-5 * max(1.0, abs(theta[j]))
        plus = theta.copy()
        plus[j] += h
        gp = _evaluate(d, plus[:-1], plus[-1], state.u, n_agq, need=1).grad
        if full:
            minus = theta.copy()
            minus[j] -= h
            gm = _evaluate(d, minus[:-1], minus[-1], state.u, n_agq, need=1).grad
            col = -(gp - gm) / (2 * h)
        else:
            col = -(gp - state.grad) / h
        H[:, j] = col
        H[j, :] = col
    return (H + H.T) / 2


def fit_glmm_binomial(
    X: FloatArray,
    units: IntArray,
    y: FloatArray,
    m: FloatArray,
    *,
    n_units: int | None = None,
    n_agq: int = 1,
    hessian: str = "auto",
    start: FloatArray | None = None,
    tol: float = 1e-7,
    max_iter: int = 100,
) -> GLMMFit:
    """Fit a random-intercept logistic model to grouped binomial data.

    Parameters
    ----------
    X : ndarray, shape (n_cells, p)
        Fixed-effects design with intercept column.
    units : ndarray of int
        Unit index 0..K-1 of each cell.
    y, m : ndarray
        Successes and trials per cell (weighted counts are allowed).
    n_units : int, optional
        Number of units K (default ``units.max() + 1``).
    n_agq : int, default 1
        Quadrature nodes per unit: 1 is the Laplace approximation (``lme4::glmer`` nAGQ = 1),
        more is adaptive Gauss-Hermite quadrature (odd numbers as in lme4, e.g. 25).
    hessian : {"auto", "numeric", "approximate"}
        Covariance of the fixed effects from the numerically differentiated analytic gradient
        (observed information, as lme4's default), or from the penalised-IRLS information
        (cheap, slightly smaller SEs); ``auto`` is numeric up to 50,000 cells.
    start : ndarray, optional
        Starting fixed effects (default: an ordinary logistic fit).
    tol : float
        Convergence when the Newton step in every parameter is below ``tol``.

    Returns
    -------
    GLMMFit

    Notes
    -----
    For fixed $(\\beta, \\sigma)$ the conditional modes $\\hat u_j$ are found by a
    vectorised Newton iteration over units. The approximate marginal log-likelihood (Laplace or
    AGQ) is maximised over $(\\beta, \\log\\sigma)$ by Newton steps with line search,
    using the exact gradient and a Hessian whose $\\beta$ block is the penalised-IRLS
    information $X^T W X - \\sum_j B_j B_j^T / D_j$. References: Pinheiro JC, Bates DM.
    Approximations to the log-likelihood function in the nonlinear mixed-effects model. J Comput
    Graph Stat 1995;4:12-35. Bates D et al. Fitting linear mixed-effects models using lme4.
    J Stat Softw 2015;67(1).
    """
    if n_agq < 1:
        raise ParameterError(f"The 'n_agq' parameter must be >= 1 (fit_glmm_binomial). Got "
                             f"{n_agq!r} instead.")
    K = int(n_units if n_units is not None else units.max() + 1)
    d = _Data(np.asarray(X, dtype=float), np.asarray(units), np.asarray(y, dtype=float),
              np.asarray(m, dtype=float), K)
    tau0 = np.log(0.3)
    if start is None:
        start = fit_logistic(d.X, d.y, d.m).coef
        if len(d.y) > _SUBSAMPLE_ABOVE:  # warm start from a systematic subsample of cells
            rows = np.arange(0, len(d.y), len(d.y) // _SUBSAMPLE_SIZE)
            try:
                sub = fit_glmm_binomial(d.X[rows], d.units[rows], d.y[rows], d.m[rows],
                                        n_units=K, n_agq=1, hessian="approximate",
                                        start=start, tol=1e-5)
                start, tau0 = sub.coef, float(np.log(max(sub.sigma, 0.05)))
            except ConvergenceError:
                pass
    state = _evaluate(d, np.asarray(start, dtype=float), tau0, np.zeros(K), n_agq)
    for it in range(1, max_iter + 1):  # noqa: B007 (reported as n_iter)
        H = _hessian(d, state, n_agq, full=False)
        try:
            step = linalg.solve(H, state.grad, assume_a="sym")
        except linalg.LinAlgError as exc:
            raise ConvergenceError("GLMM information matrix is singular.") from exc
        if not np.all(np.isfinite(step)) or step @ state.grad <= 0:
            step = state.grad / np.maximum(np.abs(np.diag(H)), 1e-8)  # gradient ascent
        step[-1] = np.clip(step[-1], -2, 2)
        for _ in range(40):
            trial = _evaluate(d, state.beta + step[:-1], state.tau + step[-1], state.u, n_agq,
                              need=0)
            if trial.loglik >= state.loglik - 1e-10 * abs(state.loglik):
                break
            step /= 2
        state = _evaluate(d, trial.beta, trial.tau, trial.u, n_agq)
        if np.max(np.abs(step)) < tol:
            break
        if state.tau < -12:  # variance on the boundary (sigma -> 0)
            break
    else:
        raise ConvergenceError(f"GLMM did not converge in {max_iter} iterations.")
    full = hessian == "numeric" or (hessian == "auto" and len(d.y) <= 50_000)
    H = _hessian(d, state, n_agq, full=full)
    cov_all = linalg.inv(H) if full else None
    cov = cov_all[:-1, :-1] if cov_all is not None else linalg.inv(state.info_beta)
    return GLMMFit(state.beta, cov, float(np.exp(state.tau)), state.u, 1 / state.D,
                   state.loglik, n_agq, it)
