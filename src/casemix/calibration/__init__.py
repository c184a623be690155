"""Calibration and discrimination: overall, per unit and per subgroup; curves and plots.

All functions take plain arrays of predicted probabilities and 0/1 outcomes, so they check any
model's predictions, not only this package's.
"""

from casemix.calibration.curve import calibration_curve, plot_calibration
from casemix.calibration.groups import (
    DERIVED_GROUPS,
    GroupCalibration,
    calibration_by_group,
    with_derived_groups,
)
from casemix.calibration.metrics import (
    CalibrationStatistics,
    c_statistic,
    calibration_statistics,
    lowess_curve,
)

__all__ = [
    "DERIVED_GROUPS",
    "CalibrationStatistics",
    "GroupCalibration",
    "c_statistic",
    "calibration_by_group",
    "calibration_curve",
    "calibration_statistics",
    "lowess_curve",
    "plot_calibration",
    "with_derived_groups",
]
