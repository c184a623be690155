"""Calibration and discrimination of predicted probabilities (any model's predictions).

Everything works on plain arrays of predicted probabilities and 0/1 outcomes and scales to a
million rows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import logit, ndtr, ndtri

from casemix._params import check_in_range
from casemix.core.logistic import LogisticFit, fit_logistic
from casemix.core.ranks import average_ranks
from casemix.exceptions import DataError

__all__ = ["CalibrationStatistics", "c_statistic", "c_statistic_cells", "calibration_statistics",
           "calibration_statistics_cells", "curve_errors", "lowess_curve"]

FloatArray = npt.NDArray[np.float64]


def _inputs(predicted: npt.ArrayLike, observed: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    p = np.asarray(predicted, dtype=float)
    y = np.asarray(observed, dtype=float)
    if p.shape != y.shape or p.ndim != 1:
        raise DataError("predicted and observed must be 1-d arrays of the same length; got "
                        f"{p.shape} and {y.shape}.")
    bad_p = ~((p > 0) & (p < 1))
    if bad_p.any():
        raise DataError(f"predicted must be probabilities strictly between 0 and 1; "
                        f"{int(bad_p.sum())} values are not (e.g. {p[bad_p][:3].tolist()}).")
    bad_y = ~np.isin(y, (0.0, 1.0))
    if bad_y.any():
        raise DataError(f"observed must be 0/1; {int(bad_y.sum())} values are not (e.g. "
                        f"{y[bad_y][:3].tolist()}).")
    return p, y


def c_statistic(predicted: npt.ArrayLike, observed: npt.ArrayLike, *, level: float = 0.95
                ) -> tuple[float, float, float, float]:
    """C-statistic (area under the ROC curve) with DeLong's standard error and interval.

    Returns
    -------
    (c, se, lower, upper)

    Notes
    -----
    With $R_i$ the mid-rank of unit $i$ among all predictions and $R^+_i$,
    $R^-_j$ mid-ranks within events and non-events, the structural components are
    $V_{10}(i) = (R_i - R^+_i)/n_0$ for events and
    $V_{01}(j) = 1 - (R_j - R^-_j)/n_1$ for non-events; $C$ is their mean and
    $\\mathrm{Var}(C) = s^2_{10}/n_1 + s^2_{01}/n_0$ (DeLong ER, DeLong DM,
    Clarke-Pearson DL. Biometrics 1988;44:837-845; the mid-rank algorithm of Sun X, Xu W. IEEE
    Signal Process Lett 2014;21:1389-1393). The interval is $C \\pm z\\,\\mathrm{SE}$ as in
    ``pROC::ci.auc(method = "delong")``.
    """
    p, y = _inputs(predicted, observed)
    pos, neg = y == 1, y == 0
    n1, n0 = int(pos.sum()), int(neg.sum())
    if n1 == 0 or n0 == 0:
        raise DataError("The C-statistic needs both events and non-events.")
    ranks = average_ranks(p)
    v10 = (ranks[pos] - average_ranks(p[pos])) / n0
    v01 = 1 - (ranks[neg] - average_ranks(p[neg])) / n1
    c = float(v10.mean())
    se = float(np.sqrt(v10.var(ddof=1) / n1 + v01.var(ddof=1) / n0))
    z = ndtri(0.5 + level / 2)
    return c, se, c - z * se, c + z * se


def lowess_curve(predicted: FloatArray, observed: FloatArray, *, frac: float = 2 / 3
                 ) -> FloatArray:
    """Smoothed observed risk at each prediction: ``lowess(p, y, iter = 0)`` as in
    ``rms::val.prob`` (R's default span 2/3 and ``delta = 0.01 * range``)."""
    from statsmodels.nonparametric.smoothers_lowess import lowess

    delta = 0.01 * float(np.ptp(predicted))
    fitted = lowess(observed, predicted, frac=frac, it=0, delta=delta, return_sorted=False)
    return np.asarray(fitted, dtype=float)


@dataclass(frozen=True)
class CalibrationStatistics:
    """Overall calibration and discrimination.

    Attributes
    ----------
    n, events : int
    mean_predicted, mean_observed : float
    citl, citl_se : float
        Calibration-in-the-large: intercept of ``y ~ offset(logit p)`` (0 when calibrated).
    recalibration_intercept, recalibration_intercept_se : float
        Intercept of ``y ~ logit p`` with the slope free (``Intercept`` of ``rms::val.prob``).
    slope, slope_se : float
        Calibration slope of ``y ~ logit p`` (1 when calibrated).
    ici, e50, e90, emax : float
        Mean, median, 90th percentile and maximum of the absolute difference between the
        smoothed calibration curve and the predictions (ICI = Eavg of ``val.prob``).
    brier, brier_scaled : float
        Brier score and $1 - \\mathrm{Brier}/(\\bar y(1-\\bar y))$.
    c, c_se, c_lower, c_upper : float
        C-statistic with DeLong's standard error and interval.
    spiegelhalter_z, spiegelhalter_p : float
        Spiegelhalter's z-test of calibration and its two-sided p-value.
    """

    n: int
    events: int
    mean_predicted: float
    mean_observed: float
    citl: float
    citl_se: float
    recalibration_intercept: float
    recalibration_intercept_se: float
    slope: float
    slope_se: float
    ici: float
    e50: float
    e90: float
    emax: float
    brier: float
    brier_scaled: float
    c: float
    c_se: float
    c_lower: float
    c_upper: float
    spiegelhalter_z: float
    spiegelhalter_p: float

    def to_frame(self) -> pd.DataFrame:
        """One-row DataFrame."""
        return pd.DataFrame([asdict(self)])


def calibration_statistics(
    predicted: npt.ArrayLike, observed: npt.ArrayLike, *, level: float = 0.95,
) -> CalibrationStatistics:
    """Calibration-in-the-large, recalibration intercept and slope, ICI/E50/E90/Emax, Brier,
    C-statistic with DeLong interval, and Spiegelhalter's z.

    Parameters
    ----------
    predicted : array-like
        Predicted probabilities (strictly between 0 and 1).
    observed : array-like
        0/1 outcomes.
    level : float
        Level of the C-statistic interval.

    Returns
    -------
    CalibrationStatistics

    Notes
    -----
    Calibration-in-the-large (Steyerberg EW. Clinical Prediction Models, 2nd ed., 2019,
    chapter 15) and the recalibration intercept are named apart: the first fixes the slope at
    1 (``glm(y ~ offset(qlogis(p)))``), the second frees it (``glm(y ~ qlogis(p))``, the
    ``Intercept`` of ``rms::val.prob``). ICI, E50, E90, Emax follow Austin PC, Steyerberg EW.
    Stat Med 2019;38:4051-4065 with the lowess smoother of ``val.prob``. Spiegelhalter:
    $z = \\sum (y - p)(1 - 2p) / \\sqrt{\\sum (1-2p)^2 p(1-p)}$ (Stat Med 1986;5:421).
    Checked against ``rms::val.prob`` and pROC/DeLong computations in R
    (tests/fixtures/calibration).
    """
    check_in_range("level", level, 0.5, 0.9999, owner="calibration_statistics")
    p, y = _inputs(predicted, observed)
    lp = logit(p)
    ones = np.ones(len(p))
    citl = fit_logistic(ones[:, None], y, ones, offset=lp)
    recal = fit_logistic(np.column_stack([ones, lp]), y, ones)
    brier = float(np.mean((y - p) ** 2))
    ybar = float(y.mean())
    num = np.sum((y - p) * (1 - 2 * p))
    den = np.sqrt(np.sum((1 - 2 * p) ** 2 * p * (1 - p)))
    return _statistics(len(p), float(y.sum()), float(p.mean()), ybar, citl, recal, brier,
                       float(num / den), c_statistic(p, y, level=level), curve_errors(p, y))


def _statistics(n: int, events: float, mean_predicted: float, ybar: float,
                citl: LogisticFit, recal: LogisticFit, brier: float, z: float,
                c: tuple[float, float, float, float],
                errors: tuple[float, float, float, float]) -> CalibrationStatistics:
    return CalibrationStatistics(
        n=n, events=int(events), mean_predicted=mean_predicted, mean_observed=ybar,
        citl=float(citl.coef[0]), citl_se=float(citl.std_error[0]),
        recalibration_intercept=float(recal.coef[0]),
        recalibration_intercept_se=float(recal.std_error[0]),
        slope=float(recal.coef[1]), slope_se=float(recal.std_error[1]),
        ici=errors[0], e50=errors[1], e90=errors[2], emax=errors[3],
        brier=brier, brier_scaled=1 - brier / (ybar * (1 - ybar)),
        c=c[0], c_se=c[1], c_lower=c[2], c_upper=c[3],
        spiegelhalter_z=z, spiegelhalter_p=float(2 * ndtr(-abs(z))),
    )


def curve_errors(predicted: npt.ArrayLike, observed: npt.ArrayLike
                 ) -> tuple[float, float, float, float]:
    """ICI, E50, E90 and Emax: the mean, median, 90th percentile and maximum of
    $|\\hat c(p_i) - p_i|$ over the births, $\\hat c$ the lowess curve of
    :func:`lowess_curve` (Austin PC, Steyerberg EW. Stat Med 2019;38:4051-4065)."""
    p, y = _inputs(predicted, observed)
    diff = np.abs(lowess_curve(p, y) - p)
    return (float(diff.mean()), float(np.median(diff)), float(np.quantile(diff, 0.9)),
            float(diff.max()))


def _cell_inputs(risk: npt.ArrayLike, events: npt.ArrayLike, births: npt.ArrayLike
                 ) -> tuple[FloatArray, FloatArray, FloatArray]:
    r = np.asarray(risk, dtype=float)
    a = np.asarray(events, dtype=float)
    m = np.asarray(births, dtype=float)
    if not (r.ndim == 1 and r.shape == a.shape == m.shape):
        raise DataError("risk, events and births must be 1-d arrays of the same length; got "
                        f"{r.shape}, {a.shape} and {m.shape}.")
    if not ((r > 0) & (r < 1)).all():
        raise DataError("risk must be probabilities strictly between 0 and 1.")
    if not ((a >= 0) & (a <= m) & (m % 1 == 0) & (a % 1 == 0)).all():
        raise DataError("events and births must be whole counts with 0 <= events <= births.")
    keep = m > 0
    return r[keep], a[keep], m[keep]


def c_statistic_cells(risk: npt.ArrayLike, events: npt.ArrayLike, births: npt.ArrayLike, *,
                      level: float = 0.95) -> tuple[float, float, float, float]:
    """:func:`c_statistic` from cells of births that share one predicted risk.

    Parameters
    ----------
    risk : array-like
        Predicted risk of the births of each cell (e.g. a covariate pattern).
    events, births : array-like
        Events and births per cell (whole counts).
    level : float
        Level of the interval.

    Returns
    -------
    (c, se, lower, upper)

    Notes
    -----
    Exact, not an approximation: tied predictions get mid-ranks, so every event of a cell has
    the same DeLong placement value $V_{10} = (N^-_{<r} + N^-_{=r}/2)/n_0$ and every
    non-event $V_{01} = (N^+_{>r} + N^+_{=r}/2)/n_1$, with $N^\\pm$ counted over the
    distinct risks (cells with equal risk pooled). $C$, $s^2_{10}$ and $s^2_{01}$ are then
    event- and non-event-weighted means and variances (``ddof=1``) of these values; see
    :func:`c_statistic` for the references.
    """
    r, a, m = _cell_inputs(risk, events, births)
    distinct, idx = np.unique(r, return_inverse=True)
    pos = np.bincount(idx, weights=a, minlength=len(distinct))
    neg = np.bincount(idx, weights=m - a, minlength=len(distinct))
    n1, n0 = float(pos.sum()), float(neg.sum())
    if n1 == 0 or n0 == 0:
        raise DataError("The C-statistic needs both events and non-events.")
    v10 = (np.cumsum(neg) - neg / 2) / n0  # non-events below + half the ties
    v01 = (n1 - np.cumsum(pos) + pos / 2) / n1  # events above + half the ties
    c = float(np.sum(pos * v10) / n1)
    s10 = np.sum(pos * (v10 - c) ** 2) / (n1 - 1)
    s01 = np.sum(neg * (v01 - np.sum(neg * v01) / n0) ** 2) / (n0 - 1)
    se = float(np.sqrt(s10 / n1 + s01 / n0))
    z = ndtri(0.5 + level / 2)
    return c, se, c - z * se, c + z * se


def calibration_statistics_cells(
    risk: npt.ArrayLike, events: npt.ArrayLike, births: npt.ArrayLike, *,
    errors: tuple[float, float, float, float], level: float = 0.95,
) -> CalibrationStatistics:
    """:func:`calibration_statistics` from cells of births that share one predicted risk
    (covariate patterns), in time proportional to the cells, not the births.

    Parameters
    ----------
    risk : array-like
        Predicted risk of the births of each cell.
    events, births : array-like
        Events and births per cell (whole counts; cells without births are ignored).
    errors : tuple of float
        ``(ici, e50, e90, emax)`` from :func:`curve_errors` on the births: the lowess
        smoother is not a function of the cells (see Notes).
    level : float
        Level of the C-statistic interval.

    Returns
    -------
    CalibrationStatistics

    Notes
    -----
    Every birth of a cell has the same prediction, so the per-birth statistics are sums over
    cells: the two recalibration fits are binomial GLMs on the cells (same likelihood, so the
    same estimates and standard errors as on births), Brier
    $= \\sum_k [a_k (1 - r_k)^2 + (m_k - a_k) r_k^2] / n$, Spiegelhalter
    $z = \\sum_k (a_k - m_k r_k)(1 - 2 r_k) / \\sqrt{\\sum_k m_k (1-2r_k)^2 r_k(1-r_k)}$
    and the C-statistic with DeLong's interval from :func:`c_statistic_cells`. They equal the
    per-birth values to rounding (tests/calibration/test_cells.py: 1e-10 relative).
    ICI, E50, E90 and Emax are not: lowess picks a window of the nearest ``frac * n`` births
    by their order among tied predictions, so they are taken as given (computed on births).
    """
    check_in_range("level", level, 0.5, 0.9999, owner="calibration_statistics_cells")
    r, a, m = _cell_inputs(risk, events, births)
    lp = logit(r)
    ones = np.ones(len(r))
    citl = fit_logistic(ones[:, None], a, m, offset=lp)
    recal = fit_logistic(np.column_stack([ones, lp]), a, m)
    n = float(m.sum())
    brier = float(np.sum(a * (1 - r) ** 2 + (m - a) * r**2) / n)
    num = np.sum((a - m * r) * (1 - 2 * r))
    den = np.sqrt(np.sum(m * (1 - 2 * r) ** 2 * r * (1 - r)))
    return _statistics(int(n), float(a.sum()), float(np.sum(m * r) / n), float(a.sum()) / n,
                       citl, recal, brier, float(num / den),
                       c_statistic_cells(r, a, m, level=level), errors)
