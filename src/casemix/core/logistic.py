"""Maximum-likelihood logistic regression on grouped (compressed) binomial data.

Births with identical covariate pattern (and unit) are collapsed into cells with a number of
trials ``m`` and successes ``y`` (sums of case weights). The binomial likelihood of the cells
has the same kernel as the Bernoulli likelihood of the rows, so the estimates, standard errors
and deviance are identical to a row-level fit while each iteration costs only as many rows as
there are cells.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
import numpy.typing as npt
from scipy import linalg, sparse
from scipy.special import expit, xlogy

from casemix.core.cells import sorted_sums, stable_order
from casemix.exceptions import ConvergenceError

__all__ = ["FixedEffectsFit", "LogisticFit", "fit_logistic",
           "fit_logistic_fixed_effects"]

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
        Bernoulli log-likelihood kernel $\\sum w [y \\log p + (1-y) \\log(1-p)]$.
    deviance, null_deviance : float
        $-2$ times the log-likelihood of the model and of the intercept-only model (the
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


def _loglik(y: FloatArray, m: FloatArray, p: FloatArray) -> float:
    return float(np.sum(xlogy(y, p) + xlogy(m - y, 1 - p)))


_SUBSAMPLE_ABOVE = 200_000
_SUBSAMPLE_SIZE = 100_000


def _weighted_crossprod(X: FloatArray, w: FloatArray, buffer: FloatArray | None = None
                        ) -> FloatArray:
    """$X^T \\mathrm{diag}(w) X$ as one symmetric rank-k update (BLAS ``syrk``).

    With a Fortran-ordered ``X`` and a reusable ``buffer`` of its shape, no large temporary is
    allocated (allocation dominates the cost at a million rows).
    """
    Z = np.multiply(X, np.sqrt(w)[:, None], out=buffer)
    upper = linalg.blas.dsyrk(1.0, Z, trans=1)
    return np.triu(upper) + np.triu(upper, 1).T


def _start(X: FloatArray, y: FloatArray, m: FloatArray, off: FloatArray) -> FloatArray:
    """Zeros, or the estimate on a systematic subsample of large data (a warm start)."""
    n = len(y)
    if n <= _SUBSAMPLE_ABOVE:
        return np.zeros(X.shape[1])
    rows = np.arange(0, n, n // _SUBSAMPLE_SIZE)
    # taken along the columns of the transpose: the subsample comes out in Fortran order
    # (fit_logistic's) without the copy that asfortranarray makes of X[rows] (15 ms instead
    # of 43-90 ms for half of 221,373 rows x 38 columns)
    sub_X = np.take(X.T, rows, axis=1).T
    # the Newton steps alone: the subsample's covariance and null log-likelihood, which
    # fit_logistic would compute, are not used (a crossproduct and an inverse fewer)
    try:
        beta, *_ = _newton(sub_X, y[rows], m[rows], off[rows], np.zeros(X.shape[1]),
                           tol=1e-6, max_iter=50, buffer=np.empty_like(sub_X, order="F"))
    except ConvergenceError:  # e.g. a rare category absent from the subsample
        return np.zeros(X.shape[1])
    return beta


def fit_logistic(
    X: FloatArray,
    y: FloatArray,
    m: FloatArray,
    *,
    offset: FloatArray | None = None,
    start: FloatArray | None = None,
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
    start : ndarray, optional
        Starting coefficients. By default, data with more than 200,000 cells start from a fit
        on a systematic 1-in-k subsample (k so that ~100,000 cells remain), so that only two or
        three Newton steps are needed on the full data; the estimate is the full-data MLE.
    tol : float
        Convergence when the largest absolute change in a coefficient is below ``tol``.
    max_iter : int
        Maximum number of iterations.

    Returns
    -------
    LogisticFit

    Notes
    -----
    Newton step $\\beta \\leftarrow \\beta + (X^T W X)^{-1} X^T (y - m p)$ with
    $W = \\mathrm{diag}(m p (1-p))$, halving the step while the log-likelihood decreases.
    The covariance is $(X^T W X)^{-1}$ evaluated at the final estimate. Case weights act
    as frequency weights (as ``weights`` in R's ``glm``).
    """
    off = np.zeros(len(y)) if offset is None else np.asarray(offset, dtype=float)
    keep = m > 0
    X = np.asfortranarray(X if keep.all() else X[keep])
    y, m, off = y[keep], m[keep], off[keep]
    buffer = np.empty_like(X, order="F")
    p0 = np.clip(y.sum() / m.sum(), 1e-12, 1 - 1e-12)
    null_ll = _loglik(y, m, np.full_like(m, p0)) if offset is None else np.nan
    beta = _start(X, y, m, off) if start is None else np.asarray(start, dtype=float)
    beta, p, ll, it = _newton(X, y, m, off, beta, tol=tol, max_iter=max_iter, buffer=buffer)
    w = m * p * (1 - p)
    cov = linalg.inv(_weighted_crossprod(X, w, buffer))
    return LogisticFit(beta, cov, ll, -2 * ll, -2 * null_ll, it)


def _newton(X: FloatArray, y: FloatArray, m: FloatArray, off: FloatArray, beta: FloatArray, *,
            tol: float, max_iter: int, buffer: FloatArray
            ) -> tuple[FloatArray, FloatArray, float, int]:
    """The Newton steps of :func:`fit_logistic` from ``beta`` (cells with births only,
    Fortran-ordered ``X`` and a ``buffer`` of its shape): the estimate, its risks,
    log-likelihood and the number of iterations."""
    eta = X @ beta + off
    p = expit(eta)
    ll = _loglik(y, m, p)
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 (reported as n_iter)
        w = m * p * (1 - p)
        info = _weighted_crossprod(X, w, buffer)
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
    return beta, p, ll, it


def _sums(index: npt.NDArray[np.intp], v: FloatArray, n: int) -> FloatArray:
    """Sums of ``v`` per value of ``index`` (0..n-1)."""
    return cast(FloatArray, np.bincount(index, weights=v, minlength=n))  # float64 with weights


def _unit_sums(X: FloatArray, w: FloatArray, rows: _CellRows) -> FloatArray:
    """Per-unit sums of ``w * X``, shape (n_units, p): one contiguous reduction per column of
    the Fortran-ordered ``X`` (each column contiguous; 4x faster than a sparse indicator
    product, which copies ``X`` to C order on every call, at 2M cells x 25 columns)."""
    return np.column_stack([rows.per_unit_sum(X[:, j] * w)
                            for j in range(X.shape[1])]).reshape(rows.n_units, X.shape[1])


#: Largest |linear predictor| for which risks are products of exponentials (``_CellRows``).
_EXP_RANGE = 300.0


class _CellRows:
    """The design rows of cells sorted by unit, either one row per cell or an index into the
    rows of distinct covariate patterns (``pattern``), which are then never copied per cell.

    With patterns, the sums over cells that the Newton steps need are sums over patterns of
    the cells' summed weights: $X^T W X = \\sum_j (\\sum_{i: j(i) = j} w_i) x_j x_j^T$,
    $B_{k\\cdot} = \\sum_j (\\sum_{i \\in k, j(i) = j} w_i) x_j$ (a sparse unit x pattern
    weight matrix, stored by pattern, times the pattern design) and
    $X^T r = \\sum_j (\\sum_{i: j(i)=j} r_i) x_j$:
    each step costs $O(n + P p^2)$ for $n$ cells and $P$ patterns instead of $O(n p^2)$, and
    memory holds the $P \\times p$ design once. With the cells sorted by unit, per-unit sums
    are contiguous reductions (``np.add.reduceat``, ~10x faster than ``bincount``) and a
    per-unit value reaches its cells by ``np.repeat``.
    """

    def __init__(self, X: FloatArray, pattern: npt.NDArray[np.intp] | None,
                 units: npt.NDArray[np.intp], n_units: int) -> None:
        assert len(units) < 2 or bool(np.all(units[1:] >= units[:-1]))  # sorted by unit
        self.pattern, self.units, self.n_units = pattern, units, n_units
        self.X = np.asfortranarray(X)
        self.buffer = np.empty_like(self.X, order="F")
        self.sizes = np.bincount(units, minlength=n_units)
        if pattern is not None:
            self.Xc = np.ascontiguousarray(X)
            # the unit x pattern weights stored by pattern (compressed columns), so that
            # their product with the pattern design reads each pattern's row once, in order:
            # 4.7x faster than stored by unit (70 passes over the design) for 780,000 cells,
            # and the same sums in the same order (cells of a unit ascend in pattern)
            self.by_pattern = np.argsort(pattern, kind="stable")  # then by unit
            colptr = np.r_[0, np.cumsum(np.bincount(pattern, minlength=X.shape[0]))]
            self.weights = sparse.csc_matrix(
                (np.zeros(len(units)), units[self.by_pattern], colptr),
                shape=(n_units, X.shape[0]))

    def per_unit_sum(self, v: FloatArray) -> FloatArray:
        """Sum of ``v`` over the cells of each unit."""
        return sorted_sums(v, self.sizes)

    def on_cells(self, per_unit: FloatArray) -> FloatArray:
        """A per-unit value on each of the unit's cells."""
        return np.repeat(per_unit, self.sizes)

    def per_row(self, v: FloatArray) -> FloatArray:
        """Sums of a per-cell ``v`` per row of ``X`` (itself without patterns)."""
        return v if self.pattern is None else _sums(self.pattern, v, self.X.shape[0])

    def to_cells(self, per_row: FloatArray) -> FloatArray:
        """A value per row of ``X`` on each cell."""
        return per_row if self.pattern is None else per_row[self.pattern]

    def crossprod(self, w: FloatArray) -> FloatArray:
        """$X^T \\mathrm{diag}(w) X$ over the cells."""
        return _weighted_crossprod(self.X, self.per_row(w), self.buffer)

    def unit_sums(self, w: FloatArray) -> FloatArray:
        """Per-unit sums of $w_i x_i$, shape (units, p)."""
        if self.pattern is None:
            return _unit_sums(self.X, w, self)
        self.weights.data = w[self.by_pattern]  # duplicate (unit, pattern) entries are summed
        return np.asarray(self.weights @ self.Xc)

    def score(self, r: FloatArray) -> FloatArray:
        """$X^T r$ over the cells."""
        return self.X.T @ self.per_row(r)

    def risks(self, beta: FloatArray, alpha: FloatArray, y: FloatArray, m: FloatArray
              ) -> tuple[FloatArray, float]:
        """Risk of every cell, $p_i = \\mathrm{expit}(x_i^T\\beta + \\alpha_{k(i)})$, and
        the log-likelihood kernel.

        Notes
        -----
        With $t_i = e^{x_i^T\\beta} e^{\\alpha_k}$ (one exponential per row of ``X`` and
        per unit, not per cell), $p_i = t_i / (1 + t_i)$ and
        $\\ell = \\sum_i y_i \\log p_i + (m_i - y_i) \\log(1 - p_i)
        = \\sum_j Y_j\\,x_j^T\\beta + \\sum_k O_k \\alpha_k - \\sum_i m_i \\log(1 + t_i)$:
        one logarithm per cell instead of an exponential and two logarithms. Beyond
        |300| on the log scale (where the exponentials could overflow) the risks are
        computed directly.
        """
        lp = self.X @ beta
        if max(np.abs(lp).max(initial=0.0), np.abs(alpha).max(initial=0.0)) > _EXP_RANGE:
            p = expit(self.to_cells(lp) + self.on_cells(alpha))
            return p, _loglik(y, m, p)
        t = self.to_cells(np.exp(lp))
        t *= self.on_cells(np.exp(alpha))
        if "y_row" not in self.__dict__:  # the event sums per row and per unit, once
            self.y_row, self.y_unit = self.per_row(y), self.per_unit_sum(y)
        linear = float(self.y_row @ lp + self.y_unit @ alpha)
        p = 1.0 + t
        np.divide(t, p, out=p)  # t / (1 + t) in the buffer of 1 + t: one cell array less
        return p, linear - float(m @ np.log1p(t, out=t))


@dataclass(frozen=True)
class FixedEffectsFit:
    """Result of :func:`fit_logistic_fixed_effects`.

    Attributes
    ----------
    coef : numpy.ndarray
        Case-mix coefficients (the columns of ``X``; ``X`` has no intercept).
    cov : numpy.ndarray
        Covariance of ``coef`` (inverse Fisher information, unit intercepts profiled out).
    unit_intercepts : numpy.ndarray
        Intercept per unit (``-inf`` / ``+inf`` for units without events / without non-events).
    unit_intercept_se : numpy.ndarray
        Standard error of each unit intercept (NaN where not identifiable).
    unit_intercept_se_conditional : numpy.ndarray
        Standard error of each unit intercept given the case-mix coefficients,
        $1/\\sqrt{D_{kk}}$ (the precision of the unit's own level at its case-mix).
    loglik : float
        Log-likelihood kernel.
    n_iter : int
    """

    coef: FloatArray
    cov: FloatArray
    unit_intercepts: FloatArray
    unit_intercept_se: FloatArray
    unit_intercept_se_conditional: FloatArray
    loglik: float
    n_iter: int


def fit_logistic_fixed_effects(
    X: FloatArray,
    units: npt.NDArray[np.intp],
    y: FloatArray,
    m: FloatArray,
    *,
    n_units: int | None = None,
    pattern: npt.NDArray[np.intp] | None = None,
    start: tuple[FloatArray, FloatArray] | None = None,
    tol: float = 1e-10,
    max_iter: int = 50,
) -> FixedEffectsFit:
    """Logistic regression with one intercept per unit, exploiting the block structure.

    Parameters
    ----------
    X : ndarray, shape (n_cells, p) or (n_patterns, p)
        Case-mix design **without** intercept column: one row per cell, or, with
        ``pattern``, one row per covariate pattern.
    units : ndarray of int
        Unit index (0..K-1) per cell.
    y, m : ndarray
        Successes and trials per cell.
    pattern : ndarray of int, optional
        Row of ``X`` of each cell (cells are pattern x unit); the per-cell design is never
        built, and each Newton step costs $O(n + P p^2)$ for $P$ patterns.
    start : tuple of ndarray, optional
        Starting case-mix coefficients and unit intercepts (those of units without events
        or non-events are not used), e.g. from a fit of the same case-mix without unit
        terms. By default, zero coefficients and each unit's logit rate, or the estimate on
        a subsample of more than 200,000 cells.

    Returns
    -------
    FixedEffectsFit

    Notes
    -----
    The information matrix is $\\begin{pmatrix} A & B^T \\\\ B & D \\end{pmatrix}$ with
    $A = X^T W X$, $B_{k\\cdot} = \\sum_{i \\in k} w_i x_i$ and diagonal
    $D_{kk} = \\sum_{i \\in k} w_i$. Each Newton step solves the Schur complement
    $(A - B^T D^{-1} B)\\,\\delta_\\beta = s_\\beta - B^T D^{-1} s_\\alpha$, then
    $\\delta_\\alpha = D^{-1}(s_\\alpha - B \\delta_\\beta)$: cost $O(n p^2 + K p^2)$
    instead of $O(n (p+K)^2)$ for the dense problem (written here because no library
    offers this for binomial GLMs; with 340 municipalities it is two orders of magnitude faster).
    Units whose outcomes are all 0 (or all 1) have an infinite intercept and contribute nothing
    to the score of $\\beta$; they are left out of the iterations and reported with
    intercept $\\mp\\infty$.
    """
    K = int(n_units if n_units is not None else units.max() + 1)
    o_unit, n_unit = _sums(units, y, K), _sums(units, m, K)
    ident = (o_unit > 0) & (o_unit < n_unit)
    if pattern is not None and X.shape[0] >= len(units):  # no fewer patterns than cells
        X, pattern = X[pattern], None
    # the identified cells, sorted by unit (then pattern)
    used = ident[units] & (m > 0)
    if pattern is not None and used.all() and _sorted_by_unit(units, pattern):
        uk, yk, mk, pk = units, y, m, pattern  # as given: no cell-sized copies
        rows = _CellRows(X, pk, uk, K)
    else:
        cells = np.flatnonzero(used)
        cells = cells[_by_unit(units[cells], None if pattern is None else pattern[cells], K)]
        uk, yk, mk = units[cells], y[cells], m[cells]
        rows = _CellRows(X[cells] if pattern is None else X, None if pattern is None
                         else pattern[cells], uk, K)
    del used
    beta, alpha = (_fixed_effects_start(rows, yk, mk, ident, o_unit, n_unit) if start is None
                   else (np.asarray(start[0], dtype=float),
                         np.where(ident, np.asarray(start[1], dtype=float), 0.0)))
    beta, alpha, p, ll, it = _fixed_effects_newton(rows, yk, mk, ident, beta, alpha, tol,
                                                   max_iter)
    w = mk * p
    w *= 1 - p
    B = rows.unit_sums(w)
    D = np.where(ident, rows.per_unit_sum(w), 1.0)
    cov = linalg.inv(rows.crossprod(w) - (B / D[:, None])[ident].T @ B[ident])
    BD = B / D[:, None]
    var_alpha = 1 / D + np.einsum("kp,pq,kq->k", BD, cov, BD)
    alpha = np.where(ident, alpha, np.where(o_unit == 0, -np.inf, np.inf))
    se_alpha = np.where(ident, np.sqrt(var_alpha), np.nan)
    se_cond = np.where(ident, 1 / np.sqrt(D), np.nan)
    return FixedEffectsFit(beta, cov, alpha, se_alpha, se_cond, ll, it)


def _fixed_effects_newton(rows: _CellRows, yk: FloatArray, mk: FloatArray,
                          ident: npt.NDArray[np.bool_], beta: FloatArray, alpha: FloatArray,
                          tol: float, max_iter: int, *, singular: bool = False
                          ) -> tuple[FloatArray, FloatArray, FloatArray, float, int]:
    """Newton steps on the Schur complement until the largest step is below ``tol``.

    ``singular``: a singular case-mix information (a category absent from a subsample) takes
    the minimum-norm step, which leaves such coefficients where they are (for a start only).
    """
    p, ll = rows.risks(beta, alpha, yk, mk)
    for it in range(1, max_iter + 1):
        w, r = _weights_and_residuals(yk, mk, p)
        B = rows.unit_sums(w)
        D_safe = np.where(ident, rows.per_unit_sum(w), 1.0)
        s_alpha = rows.per_unit_sum(r)
        BD = (B / D_safe[:, None])[ident]
        schur = rows.crossprod(w) - BD.T @ B[ident]
        rhs = rows.score(r) - BD.T @ s_alpha[ident]
        d_beta = _schur_step(schur, rhs, singular=singular)
        d_alpha = np.where(ident, (s_alpha - B @ d_beta) / D_safe, 0.0)
        for _ in range(30):
            new_p, new_ll = rows.risks(beta + d_beta, alpha + d_alpha, yk, mk)
            if new_ll >= ll - 1e-9 * abs(ll):
                break
            d_beta, d_alpha = d_beta / 2, d_alpha / 2
        beta, alpha, p, ll = beta + d_beta, alpha + d_alpha, new_p, new_ll
        if max(np.max(np.abs(d_beta), initial=0), np.max(np.abs(d_alpha))) < tol:
            return beta, alpha, p, ll, it
    raise ConvergenceError(f"Fixed-effects logistic regression did not converge in "
                           f"{max_iter} iterations.")


def _weights_and_residuals(y: FloatArray, m: FloatArray, p: FloatArray
                           ) -> tuple[FloatArray, FloatArray]:
    """$w = m p (1 - p)$ and $r = y - m p$ per cell, with two cell-sized temporaries fewer
    than the plain expressions (the same operations in the same order: identical values)."""
    w = m * p
    r = np.subtract(y, w)
    w *= 1 - p
    return w, r


def _schur_step(schur: FloatArray, rhs: FloatArray, *, singular: bool) -> FloatArray:
    try:
        return cast(FloatArray, linalg.solve(schur, rhs, assume_a="pos"))
    except (linalg.LinAlgError, ValueError) as exc:
        if singular and np.isfinite(schur).all():
            return cast(FloatArray, linalg.lstsq(schur, rhs, cond=1e-10)[0])
        raise ConvergenceError("The case-mix design is singular within units; check the "
                               "model terms.") from exc


def _sorted_by_unit(units: npt.NDArray[np.intp], pattern: npt.NDArray[np.intp]) -> bool:
    """Cells already in the order of :func:`_by_unit` (unit, then pattern)."""
    if len(units) < 2:
        return True
    du = units[1:] - units[:-1]
    return bool(np.all((du > 0) | ((du == 0) & (pattern[1:] >= pattern[:-1]))))


def _by_unit(units: npt.NDArray[np.intp], pattern: npt.NDArray[np.intp] | None, K: int
             ) -> npt.NDArray[np.intp]:
    """Order of the cells by unit, then pattern (stable)."""
    return stable_order(units, K) if pattern is None else np.lexsort((pattern, units))


def _fixed_effects_start(rows: _CellRows, yk: FloatArray, mk: FloatArray,
                         ident: npt.NDArray[np.bool_], o_unit: FloatArray, n_unit: FloatArray
                         ) -> tuple[FloatArray, FloatArray]:
    """Starting values: zero coefficients and each unit's logit rate, or, for more than
    200,000 cells, the estimate on a systematic subsample (as in :func:`fit_logistic`)."""
    rate = np.where(ident, o_unit / np.where(n_unit > 0, n_unit, 1), 0.5)
    beta, alpha = np.zeros(rows.X.shape[1]), np.log(rate / (1 - rate))
    if len(yk) <= _SUBSAMPLE_ABOVE:
        return beta, alpha
    sub = np.arange(0, len(yk), len(yk) // _SUBSAMPLE_SIZE)
    o_sub, n_sub = _sums(rows.units[sub], yk[sub], rows.n_units), _sums(rows.units[sub], mk[sub],
                                                                        rows.n_units)
    ident_sub = (o_sub > 0) & (o_sub < n_sub)
    cells = sub[ident_sub[rows.units[sub]]]  # still sorted by unit
    if rows.pattern is None:
        sub_rows = _CellRows(rows.X[cells], None, rows.units[cells], rows.n_units)
    else:  # only the subsample's patterns
        used, inverse = np.unique(rows.pattern[cells], return_inverse=True)
        sub_rows = _CellRows(rows.X[used], inverse.ravel(), rows.units[cells], rows.n_units)
    start = np.where(ident_sub, np.log(np.where(ident_sub, o_sub, 1) / np.where(
        ident_sub, n_sub - o_sub, 1)), alpha)
    try:
        sub_beta, sub_alpha, *_ = _fixed_effects_newton(
            sub_rows, yk[cells], mk[cells], ident_sub, beta, start, 1e-6, 50, singular=True)
    except ConvergenceError:
        return beta, alpha
    return sub_beta, np.where(ident_sub, sub_alpha, alpha)
