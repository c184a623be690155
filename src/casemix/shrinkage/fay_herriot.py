"""Fay-Herriot area-level model: EBLUP of unit effects with MSE estimates.

Used on $y_k = \\log(O_k/E_k)$ with sampling variance $v_k = 1/E_k$ (or
$V_k/E_k^2$, see :func:`casemix.shrinkage.log_ratio_direct`), it shrinks noisy O/E ratios
of small units towards the (covariate-dependent) national level. :func:`log_backtransform`
returns the bias-corrected ratio $\\exp(\\hat\\theta_k + g_{1k}/2)$ (Slud & Maiti 2006),
:func:`fay_herriot_by_year` the two-level model for unit x year rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import linalg, optimize
from scipy.special import ndtr, ndtri

from casemix._params import check_in_range, check_one_of
from casemix.core.ranks import rank_summary
from casemix.exceptions import DataError

__all__ = ["FH_BACKTRANSFORMS", "FH_METHODS", "FayHerriotFit", "FayHerriotYearFit", "fay_herriot",
           "fay_herriot_by_year", "log_backtransform"]

FloatArray = npt.NDArray[np.float64]
FH_METHODS = ("reml", "ml", "fh")
FH_BACKTRANSFORMS = ("bc_sm", "bc_crude", "naive")


@dataclass(frozen=True)
class FayHerriotFit:
    """Result of :func:`fay_herriot`.

    Attributes
    ----------
    variance : float
        Between-unit variance $\\hat A$ (``tau2`` of a random-effects meta-regression).
    variance_se : float
        Asymptotic standard error of $\\hat A$.
    coef, std_error : ndarray
        GLS regression coefficients and their standard errors.
    units : pandas.DataFrame
        ``direct``, ``sampling_variance``, ``shrinkage`` ($\\gamma_k$), ``eblup``,
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
    """GLS coefficients and $(X^T V^{-1} X)^{-1}$ for diagonal V."""
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
        Direct estimates $y_k$ (e.g. log O/E).
    sampling_variance : array-like, shape (K,)
        Known sampling variances $D_k > 0$.
    covariates : array-like, shape (K, q), optional
        Area-level covariates (an intercept is added).
    method : {"reml", "ml", "fh"}, default "reml"
        Estimator of the between-area variance $A$: restricted or full maximum
        likelihood, or the Fay-Herriot moment estimator.
    level : float
        Level of the intervals ``eblup +/- z sqrt(mse)``.

    Returns
    -------
    FayHerriotFit

    Notes
    -----
    $y_k = x_k^T\\beta + v_k + e_k$, $v_k \\sim N(0, A)$, $e_k \\sim N(0, D_k)$.
    EBLUP $\\hat\\theta_k = x_k^T\\hat\\beta + \\gamma_k (y_k - x_k^T\\hat\\beta)$ with
    $\\gamma_k = \\hat A/(\\hat A + D_k)$. MSE (Rao JNK, Molina I. Small Area Estimation,
    2nd ed., Wiley 2015, section 6.2): $g_{1k} + g_{2k} + 2 g_{3k}$ (Prasad & Rao 1990)
    with $g_{1k} = \\gamma_k D_k$,
    $g_{2k} = (1-\\gamma_k)^2 x_k^T (X^T V^{-1} X)^{-1} x_k$,
    $g_{3k} = D_k^2 (A + D_k)^{-3} \\bar V(\\hat A)$; for REML
    $\\bar V(\\hat A) = 2/\\sum_j (A+D_j)^{-2}$; for ML the Datta-Lahiri (2000) bias term
    $b_{ML}(\\hat A) (1-\\gamma_k)^2$ is subtracted, with
    $b_{ML} = -\\mathrm{tr}[(X^TV^{-1}X)^{-1} X^T V^{-2} X]/\\sum_j (A+D_j)^{-2}$; for the
    FH moment estimator $\\bar V(\\hat A) = 2m/(\\sum_j (A+D_j)^{-1})^2$ and the bias term
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


def log_backtransform(fit: FayHerriotFit, method: str = "bc_sm") -> FloatArray:
    """Ratio scale estimate $\\exp(\\cdot)$ of a Fay-Herriot fit on a log scale.

    Parameters
    ----------
    fit : FayHerriotFit
        Fit on log direct estimates (e.g. $\\log O_k/E_k$).
    method : {"bc_sm", "bc_crude", "naive"}, default "bc_sm"
        ``bc_sm``: $\\exp(\\hat\\theta_k + \\tfrac12 \\hat A (1-\\hat\\gamma_k))$,
        $\\hat A(1-\\hat\\gamma_k) = \\hat\\gamma_k D_k = g_{1k}$ (Slud ES, Maiti T.
        Mean-squared error estimation in transformed Fay-Herriot models. JRSS B 2006;68:239-257);
        ``bc_crude``: $\\exp(\\hat\\theta_k + \\tfrac12 \\mathrm{mse}_k)$; ``naive``:
        $\\exp(\\hat\\theta_k)$.

    Notes
    -----
    ``bc_sm`` and ``bc_crude`` are the point estimates of ``emdi::fh(..., transformation = "log",
    backtransformation = "bc_sm" | "bc_crude")`` (functions ``bc_sm`` and ``bc_crude`` in emdi's
    ``R/back_transformation.R``; emdi's $\\gamma = A/(A + D)$ as here). ``bc_sm`` is the
    conditional mean $E[e^{\\theta_k} \\mid y_k]$ when $\\theta_k \\mid y_k \\sim
    N(\\hat\\theta_k, g_{1k})$ at the estimated $(\\beta, A)$.
    """
    check_one_of("method", method, FH_BACKTRANSFORMS, owner="log_backtransform")
    t = fit.units
    eblup = t["eblup"].to_numpy(dtype=float)
    if method == "bc_sm":
        return np.exp(eblup + 0.5 * t["g1"].to_numpy(dtype=float))
    if method == "bc_crude":
        return np.exp(eblup + 0.5 * t["mse"].to_numpy(dtype=float))
    return np.exp(eblup)


@dataclass(frozen=True)
class FayHerriotYearFit:
    """Result of :func:`fay_herriot_by_year`.

    Attributes
    ----------
    variance_unit, variance_year : float
        Between-unit variance $A$ and between-year (within-unit) variance $B$.
    coef, std_error : float
        Intercept $\\beta$ (GLS) and its standard error.
    units : pandas.DataFrame
        One row per unit-year, in input order: ``unit``, ``direct``, ``sampling_variance``,
        ``eblup`` (conditional mean of $\\theta_{kt}$), ``cond_var`` (its conditional
        variance), ``g2``, ``mse`` (``cond_var + g2``), ``lower``, ``upper``, ``prob_above``.
    draws : ndarray, shape (n_draws, n)
        Draws of $\\theta_{kt}$ from $N(\\mathrm{eblup}, \\mathrm{mse})$.
    """

    variance_unit: float
    variance_year: float
    coef: float
    std_error: float
    units: pd.DataFrame
    draws: FloatArray


def _year_sums(A: float, B: float, y: FloatArray, D: FloatArray, group: npt.NDArray[np.intp],
               k: int) -> dict[str, npt.NDArray[Any]]:
    d = B + D
    s1 = np.bincount(group, 1 / d, minlength=k)
    return {"d": d, "s1": s1, "h": 1 + A * s1,
            "sy": np.bincount(group, y / d, minlength=k),
            "syy": np.bincount(group, y * y / d, minlength=k),
            "logd": np.bincount(group, np.log(d), minlength=k)}


def _year_beta(A: float, s: dict[str, npt.NDArray[Any]]) -> tuple[float, float]:
    """GLS intercept and $\\sum_k 1^T\\Sigma_k^{-1}1$."""
    info = float((s["s1"] / s["h"]).sum())
    return float((s["sy"] / s["h"]).sum()) / info, info


def _year_neg_loglik(params: FloatArray, y: FloatArray, D: FloatArray,
                     group: npt.NDArray[np.intp], k: int, reml: bool) -> float:
    A, B = float(params[0]), float(params[1])
    s = _year_sums(A, B, y, D, group, k)
    beta, info = _year_beta(A, s)
    sr = s["sy"] - beta * s["s1"]
    srr = s["syy"] - 2 * beta * s["sy"] + beta**2 * s["s1"]
    quad = srr - A * sr**2 / s["h"]
    value = (s["logd"] + np.log(s["h"]) + quad).sum()
    if reml:
        value += np.log(info)
    return 0.5 * float(value)


def fay_herriot_by_year(
    direct: npt.ArrayLike,
    sampling_variance: npt.ArrayLike,
    units: npt.ArrayLike,
    *,
    method: str = "reml",
    level: float = 0.95,
    n_draws: int = 4000,
    seed: int = 20261123,
) -> FayHerriotYearFit:
    """Two-level Fay-Herriot model for unit x year direct estimates.

    Parameters
    ----------
    direct, sampling_variance : array-like, shape (n,)
        Direct estimates $y_{kt}$ (e.g. $\\log O_{kt}/E_{kt}$) and their known
        sampling variances $D_{kt} > 0$, one per unit-year.
    units : array-like, shape (n,)
        Unit of each row (rows of a unit are its years).
    method : {"reml", "ml"}
        Estimator of $(A, B)$.

    Returns
    -------
    FayHerriotYearFit

    Notes
    -----
    $y_{kt} = \\theta_{kt} + e_{kt}$, $\\theta_{kt} = \\beta + u_k + w_{kt}$,
    $u_k \\sim N(0, A)$, $w_{kt} \\sim N(0, B)$, $e_{kt} \\sim N(0, D_{kt})$.
    Marginally $y_k \\sim N(\\beta 1, \\Sigma_k)$, $\\Sigma_k = A 11^T +
    \\mathrm{diag}(B + D_{kt})$; $(A, B)$ maximise the (restricted) likelihood with
    $\\beta$ profiled out by GLS (L-BFGS-B on $A, B \\ge 0$). The predictor is the
    conditional mean given all of the unit's years, each year entering once:
    $\\hat\\theta_{kt} = y_{kt} - D_{kt}(\\Sigma_k^{-1}(y_k - \\hat\\beta 1))_t$, with
    conditional variance $c_{kt} = D_{kt} - D_{kt}^2 (\\Sigma_k^{-1})_{tt}$; equivalently the
    year is shrunk towards the unit's level estimated from its *other* years (a leave-year-out
    prior $N(m_{k,-t}, P_{k,-t})$, $\\hat\\theta_{kt} = m_{k,-t} +
    P_{k,-t}/(P_{k,-t} + D_{kt}) (y_{kt} - m_{k,-t})$). With $\\Sigma_k^{-1} = d^{-1} -
    A\\, d^{-1}1 1^T d^{-1}/(1 + A\\sum_t d_t^{-1})$, $d_t = B + D_{kt}$, all of this is
    closed form. ``mse`` adds the uncertainty of $\\hat\\beta$:
    $g_{2,kt} = (D_{kt}(\\Sigma_k^{-1}1)_t)^2 / \\sum_j 1^T\\Sigma_j^{-1}1$; the uncertainty
    of $(\\hat A, \\hat B)$ (a $g_3$ term) is left out.
    """
    check_one_of("method", method, ("reml", "ml"), owner="fay_herriot_by_year")
    check_in_range("level", level, 0.5, 0.9999, owner="fay_herriot_by_year")
    y = np.asarray(direct, dtype=float)
    D = np.asarray(sampling_variance, dtype=float)
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(D)) and np.all(D > 0)):
        raise DataError("fay_herriot_by_year needs finite direct estimates and sampling "
                        "variances > 0.")
    labels = np.asarray(units)
    codes, group = np.unique(labels, return_inverse=True)
    group = group.astype(np.intp)
    k = len(codes)
    reml = method == "reml"
    upper = max(1.0, float(np.var(y)) * 10)
    start = np.full(2, max(float(np.var(y) - np.mean(D)), 0.01) / 2)
    best = optimize.minimize(_year_neg_loglik, start, args=(y, D, group, k, reml),
                             method="L-BFGS-B", bounds=[(0.0, upper), (0.0, upper)],
                             options={"ftol": 1e-14, "gtol": 1e-10, "maxiter": 500})
    A, B = (float(v) for v in best.x)
    s = _year_sums(A, B, y, D, group, k)
    beta, info = _year_beta(A, s)
    d, h = s["d"], s["h"][group]
    sr = (s["sy"] - beta * s["s1"])[group]
    sigma_inv_r = (y - beta) / d - A * sr / (d * h)
    eblup = y - D * sigma_inv_r
    cond_var = D - D**2 * (1 / d - A / (d**2 * h))
    g2 = (D / (d * h)) ** 2 / info
    mse = cond_var + g2
    se = np.sqrt(mse)
    z = ndtri(0.5 + level / 2)
    draws = np.random.default_rng(seed).normal(eblup, se, size=(n_draws, len(y)))
    table = pd.DataFrame({
        "unit": labels, "direct": y, "sampling_variance": D, "eblup": eblup,
        "cond_var": cond_var, "g2": g2, "mse": mse, "lower": eblup - z * se,
        "upper": eblup + z * se, "prob_above": ndtr(eblup / se)})
    return FayHerriotYearFit(A, B, beta, float(np.sqrt(1 / info)), table, draws)
