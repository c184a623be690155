"""Maximum-likelihood logistic regression on grouped (compressed) binomial data.

Births with identical covariate pattern (and unit) are collapsed into cells with a number of
trials ``m`` and successes ``y`` (sums of case weights). The binomial likelihood of the cells
has the same kernel as the Bernoulli likelihood of the rows, so the estimates, standard errors
and deviance are identical to a row-level fit while each iteration costs only as many rows as
there are cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import linalg
from scipy.special import expit, xlogy

from casemix.exceptions import ConvergenceError

__all__ = ["LogisticFit", "compress", "fit_logistic"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class LogisticFit:
    """Result of :func:`fit_logistic`.

    Attributes
    ----------
    coef : numpy.ndarray
        Estimated coefficients.
    cov : numpy.ndarray
        Inverse Fisher information at the estimate.
    loglik : float
        Bernoulli log-likelihood kernel :math:`\\sum w [y \\log p + (1-y) \\log(1-p)]`.
    deviance, null_deviance : float
        :math:`-2` times the log-likelihood of the model and of the intercept-only model (the
        row-level deviances that R's ``glm`` reports for 0/1 outcomes).
    n_iter : int
        Newton (IRLS) iterations.
    """

    coef: FloatArray
    cov: FloatArray
    loglik: float
    deviance: float
    null_deviance: float
    n_iter: int

    @property
    def std_error(self) -> FloatArray:
        """Standard errors (square roots of the diagonal of ``cov``)."""
        return np.sqrt(np.diag(self.cov))


def compress(keys: pd.DataFrame, successes: FloatArray, trials: FloatArray) -> tuple[
        pd.DataFrame, FloatArray, FloatArray, npt.NDArray[np.intp]]:
    """Collapse rows with identical ``keys`` into cells.

    Returns
    -------
    (cells, y, m, inverse)
        The unique key rows, summed successes and trials per cell, and for each input row the
        index of its cell.
    """
    codes, uniques = pd.MultiIndex.from_frame(keys).factorize()
    y = np.bincount(codes, weights=successes, minlength=len(uniques))
    m = np.bincount(codes, weights=trials, minlength=len(uniques))
    cells = uniques.to_frame(index=False)
    cells.columns = keys.columns
    return cells, y, m, codes


def _loglik(y: FloatArray, m: FloatArray, p: FloatArray) -> float:
    return float(np.sum(xlogy(y, p) + xlogy(m - y, 1 - p)))


def fit_logistic(
    X: FloatArray,
    y: FloatArray,
    m: FloatArray,
    *,
    offset: FloatArray | None = None,
    tol: float = 1e-10,
    max_iter: int = 50,
) -> LogisticFit:
    """Fit a logistic regression to grouped binomial data by Newton-Raphson (IRLS).

    Parameters
    ----------
    X : ndarray, shape (n_cells, p)
        Design matrix (with intercept column).
    y : ndarray
        Successes per cell (sum of case weights of births with the event).
    m : ndarray
        Trials per cell (sum of case weights).
    offset : ndarray, optional
        Fixed part of the linear predictor.
    tol : float
        Convergence when the largest absolute change in a coefficient is below ``tol``.
    max_iter : int
        Maximum number of iterations.

    Returns
    -------
    LogisticFit

    Notes
    -----
    Newton step :math:`\\beta \\leftarrow \\beta + (X^T W X)^{-1} X^T (y - m p)` with
    :math:`W = \\mathrm{diag}(m p (1-p))`, halving the step while the log-likelihood decreases.
    The covariance is :math:`(X^T W X)^{-1}` evaluated at the final estimate. Case weights act
    as frequency weights (as ``weights`` in R's ``glm``).
    """
    off = np.zeros(len(y)) if offset is None else np.asarray(offset, dtype=float)
    keep = m > 0
    X, y, m, off = X[keep], y[keep], m[keep], off[keep]
    p0 = np.clip(y.sum() / m.sum(), 1e-12, 1 - 1e-12)
    null_ll = _loglik(y, m, np.full_like(m, p0)) if offset is None else np.nan
    beta = np.zeros(X.shape[1])
    eta = X @ beta + off
    p = expit(eta)
    ll = _loglik(y, m, p)
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 (reported as n_iter)
        w = m * p * (1 - p)
        info = (X * w[:, None]).T @ X
        score = X.T @ (y - m * p)
        try:
            step = linalg.solve(info, score, assume_a="pos")
        except (linalg.LinAlgError, ValueError) as exc:
            raise ConvergenceError(
                "The information matrix is singular: some design columns are collinear or a "
                "category has no births; check the model terms."
            ) from exc
        for _ in range(30):
            new_beta = beta + step
            new_p = expit(X @ new_beta + off)
            new_ll = _loglik(y, m, new_p)
            if new_ll >= ll - 1e-9 * abs(ll):
                break
            step /= 2
        beta, p, ll = new_beta, new_p, new_ll
        if np.max(np.abs(step)) < tol:
            break
    else:
        raise ConvergenceError(
            f"Logistic regression did not converge in {max_iter} iterations (largest "
            f"coefficient change {np.max(np.abs(step)):.2e}); possible separation."
        )
    w = m * p * (1 - p)
    cov = linalg.inv((X * w[:, None]).T @ X)
    return LogisticFit(beta, cov, ll, -2 * ll, -2 * null_ll, it)
