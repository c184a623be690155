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
from scipy.stats import rankdata

from casemix._params import check_in_range
from casemix.core.logistic import fit_logistic
from casemix.exceptions import DataError

__all__ = ["CalibrationStatistics", "c_statistic", "calibration_statistics", "lowess_curve"]

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
    ranks = rankdata(p)
    v10 = (ranks[pos] - rankdata(p[pos])) / n0
    v01 = 1 - (ranks[neg] - rankdata(p[neg])) / n1
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
    curve = lowess_curve(p, y)
    diff = np.abs(curve - p)
    brier = float(np.mean((y - p) ** 2))
    ybar = float(y.mean())
    c, c_se, c_lo, c_hi = c_statistic(p, y, level=level)
    num = np.sum((y - p) * (1 - 2 * p))
    den = np.sqrt(np.sum((1 - 2 * p) ** 2 * p * (1 - p)))
    z = float(num / den)
    return CalibrationStatistics(
        n=len(p), events=int(y.sum()), mean_predicted=float(p.mean()), mean_observed=ybar,
        citl=float(citl.coef[0]), citl_se=float(citl.std_error[0]),
        recalibration_intercept=float(recal.coef[0]),
        recalibration_intercept_se=float(recal.std_error[0]),
        slope=float(recal.coef[1]), slope_se=float(recal.std_error[1]),
        ici=float(diff.mean()), e50=float(np.median(diff)),
        e90=float(np.quantile(diff, 0.9)), emax=float(diff.max()),
        brier=brier, brier_scaled=1 - brier / (ybar * (1 - ybar)),
        c=c, c_se=c_se, c_lower=c_lo, c_upper=c_hi,
        spiegelhalter_z=z, spiegelhalter_p=float(2 * ndtr(-abs(z))),
    )
