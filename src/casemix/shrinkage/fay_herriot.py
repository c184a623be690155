"""Fay-Herriot area-level model: EBLUP of unit effects with MSE estimates.

Used on :math:`y_k = \\log(O_k/E_k)` with sampling variance :math:`v_k \\approx 1/O_k`, it
shrinks noisy O/E ratios of small units towards the (covariate-dependent) national level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import linalg, optimize
from scipy.special import ndtr, ndtri

from casemix._params import check_in_range, check_one_of
from casemix.core.ranks import rank_summary
from casemix.exceptions import DataError

__all__ = ["FH_METHODS", "FayHerriotFit", "fay_herriot"]

FloatArray = npt.NDArray[np.float64]
FH_METHODS = ("reml", "ml", "fh")


@dataclass(frozen=True)
class FayHerriotFit:
    """Result of :func:`fay_herriot`.

    Attributes
    ----------
    variance : float
        Between-unit variance :math:`\\hat A` (``tau2`` of a random-effects meta-regression).
    variance_se : float
        Asymptotic standard error of :math:`\\hat A`.
    coef, std_error : ndarray
        GLS regression coefficients and their standard errors.
    units : pandas.DataFrame
        ``direct``, ``sampling_variance``, ``shrinkage`` (:math:`\\gamma_k`), ``eblup``,
        ``mse``, ``g1``, ``g2``, ``g3``, ``lower``, ``upper``, ``prob_above``
        (P(effect > 0)), ``rank``, ``rank_lower``, ``rank_upper``.
    method : str
    """

    variance: float
    variance_se: float
    coef: FloatArray
    std_error: FloatArray
    units: pd.DataFrame
    method: str
    draws: FloatArray


def _gls(y: FloatArray, X: FloatArray, V: FloatArray) -> tuple[FloatArray, FloatArray]:
    """GLS coefficients and :math:`(X^T V^{-1} X)^{-1}` for diagonal V."""
    Xw = X / V[:, None]
    cov = linalg.inv(X.T @ Xw)
    return cov @ (Xw.T @ y), cov


def _neg_loglik(A: float, y: FloatArray, X: FloatArray, D: FloatArray, reml: bool) -> float:
    V = A + D
    beta, cov = _gls(y, X, V)
    r = y - X @ beta
    value = np.log(V).sum() + (r**2 / V).sum()
    if reml:
        value -= np.linalg.slogdet(cov)[1]  # + log|X' V^-1 X|
    return 0.5 * float(value)


def _fh_moment(y: FloatArray, X: FloatArray, D: FloatArray) -> float:
    """Fay-Herriot (1979) moment estimator: sum r^2/(A+D) = m - p, truncated at 0."""
    m, p = X.shape

    def f(A: float) -> float:
        beta, _ = _gls(y, X, A + D)
        return float((((y - X @ beta) ** 2) / (A + D)).sum() - (m - p))

    if f(0.0) <= 0:
        return 0.0
    upper = max(1.0, float(np.var(y)) * 10)
    while f(upper) > 0:
        upper *= 10
    return float(optimize.brentq(f, 0.0, upper, xtol=1e-14, rtol=1e-14))


def _estimate_variance(y: FloatArray, X: FloatArray, D: FloatArray, method: str) -> float:
    if method == "fh":
        return _fh_moment(y, X, D)
    reml = method == "reml"
    upper = max(1.0, float(np.var(y)) * 10)
    res = optimize.minimize_scalar(_neg_loglik, bounds=(0.0, upper), args=(y, X, D, reml),
                                   method="bounded", options={"xatol": 1e-12})
    A = float(res.x)
    # the bounded search never returns exactly 0: compare with the boundary
    if _neg_loglik(0.0, y, X, D, reml) <= _neg_loglik(A, y, X, D, reml):
        return 0.0
    return A


def _mse(A: float, X: FloatArray, D: FloatArray, cov: FloatArray, method: str) -> dict[
        str, FloatArray | float]:
    """MSE of the EBLUP: Prasad-Rao (REML, FH moment) and Datta-Lahiri (ML) forms."""
    V = A + D
    g1 = A * D / V
    g2 = (D / V) ** 2 * np.einsum("ij,jk,ik->i", X, cov, X)
    s2 = (1 / V**2).sum()
    s1 = (1 / V).sum()
    m = len(D)
    if method == "fh":
        var_A = 2 * m / s1**2
        bias = 2 * (m * s2 - s1**2) / s1**3
    else:
        var_A = 2 / s2
        XV2X = (X / V[:, None] ** 2).T @ X
        # the ML estimator of A is biased downwards by tr[(X'V^-1 X)^-1 X'V^-2 X] / sum V^-2
        bias = -float(np.trace(cov @ XV2X)) / s2 if method == "ml" else 0.0
    g3 = D**2 / V**3 * var_A
    mse = g1 + g2 + 2 * g3 - bias * (D / V) ** 2
    return {"g1": g1, "g2": g2, "g3": g3, "mse": mse, "var_A": var_A}


def fay_herriot(
    direct: npt.ArrayLike,
    sampling_variance: npt.ArrayLike,
    *,
    covariates: npt.ArrayLike | None = None,
    method: str = "reml",
    units: npt.ArrayLike | None = None,
    level: float = 0.95,
    n_draws: int = 4000,
    seed: int = 20261123,
) -> FayHerriotFit:
    """Fit the Fay-Herriot model and compute EBLUPs with their MSE.

    Parameters
    ----------
    direct : array-like, shape (K,)
        Direct estimates :math:`y_k` (e.g. log O/E).
    sampling_variance : array-like, shape (K,)
        Known sampling variances :math:`D_k > 0`.
    covariates : array-like, shape (K, q), optional
        Area-level covariates (an intercept is added).
    method : {"reml", "ml", "fh"}, default "reml"
        Estimator of the between-area variance :math:`A`: restricted or full maximum
        likelihood, or the Fay-Herriot moment estimator.
    level : float
        Level of the intervals ``eblup +/- z sqrt(mse)``.

    Returns
    -------
    FayHerriotFit

    Notes
    -----
    :math:`y_k = x_k^T\\beta + v_k + e_k`, :math:`v_k \\sim N(0, A)`, :math:`e_k \\sim N(0, D_k)`.
    EBLUP :math:`\\hat\\theta_k = x_k^T\\hat\\beta + \\gamma_k (y_k - x_k^T\\hat\\beta)` with
    :math:`\\gamma_k = \\hat A/(\\hat A + D_k)`. MSE (Rao JNK, Molina I. Small Area Estimation,
    2nd ed., Wiley 2015, section 6.2): :math:`g_{1k} + g_{2k} + 2 g_{3k}` (Prasad & Rao 1990)
    with :math:`g_{1k} = \\gamma_k D_k`,
    :math:`g_{2k} = (1-\\gamma_k)^2 x_k^T (X^T V^{-1} X)^{-1} x_k`,
    :math:`g_{3k} = D_k^2 (A + D_k)^{-3} \\bar V(\\hat A)`; for REML
    :math:`\\bar V(\\hat A) = 2/\\sum_j (A+D_j)^{-2}`; for ML the Datta-Lahiri (2000) bias term
    :math:`b_{ML}(\\hat A) (1-\\gamma_k)^2` is subtracted, with
    :math:`b_{ML} = -\\mathrm{tr}[(X^TV^{-1}X)^{-1} X^T V^{-2} X]/\\sum_j (A+D_j)^{-2}`; for the
    FH moment estimator :math:`\\bar V(\\hat A) = 2m/(\\sum_j (A+D_j)^{-1})^2` and the bias term
    of Datta, Rao & Smith (2005).
    """
    check_one_of("method", method, FH_METHODS, owner="fay_herriot")
    check_in_range("level", level, 0.5, 0.9999, owner="fay_herriot")
    y = np.asarray(direct, dtype=float)
    D = np.asarray(sampling_variance, dtype=float)
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(D)) and np.all(D > 0)):
        raise DataError("fay_herriot needs finite direct estimates and sampling variances > 0; "
                        f"{int((~np.isfinite(y)).sum())} direct and "
                        f"{int((~(D > 0)).sum())} variances are not.")
    X = np.ones((len(y), 1)) if covariates is None else np.column_stack(
        [np.ones(len(y)), np.asarray(covariates, dtype=float)])
    A = _estimate_variance(y, X, D, method)
    beta, cov = _gls(y, X, A + D)
    gamma = A / (A + D)
    eblup = X @ beta + gamma * (y - X @ beta)
    parts = _mse(A, X, D, cov, method)
    se = np.sqrt(np.asarray(parts["mse"]))
    z = ndtri(0.5 + level / 2)
    draws = np.random.default_rng(seed).normal(eblup, se, size=(n_draws, len(y)))
    table = pd.DataFrame({
        "unit": np.arange(len(y)) if units is None else np.asarray(units),
        "direct": y, "sampling_variance": D, "shrinkage": gamma, "eblup": eblup,
        "mse": parts["mse"], "g1": parts["g1"], "g2": parts["g2"], "g3": parts["g3"],
        "lower": eblup - z * se, "upper": eblup + z * se, "prob_above": ndtr(eblup / se),
    })
    table = pd.concat([table, rank_summary(eblup, draws, level=level)], axis=1)
    return FayHerriotFit(A, float(np.sqrt(parts["var_A"])), beta, np.sqrt(np.diag(cov)), table,
                         method, draws)
