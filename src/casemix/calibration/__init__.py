"""Calibration and discrimination: overall, per unit and per subgroup; curves and plots.

All functions take plain arrays of predicted probabilities and 0/1 outcomes, so they check any
model's predictions, not only this package's.
"""

from typing import TYPE_CHECKING

from casemix._lazy import lazy_exports

if TYPE_CHECKING:
    from casemix.calibration.curve import calibration_curve, plot_calibration
    from casemix.calibration.groups import (
        DERIVED_GROUPS,
        GroupCalibration,
        calibration_by_group,
        calibration_by_group_cells,
        group_codes,
        with_derived_groups,
    )
    from casemix.calibration.metrics import (
        CalibrationStatistics,
        c_statistic,
        c_statistic_cells,
        calibration_statistics,
        calibration_statistics_cells,
        curve_errors,
        lowess_curve,
    )

#: The modules of the public names, imported on first use (:mod:`casemix._lazy`).
_EXPORTS = {
    "casemix.calibration.curve": ("calibration_curve", "plot_calibration"),
    "casemix.calibration.groups": (
        "DERIVED_GROUPS", "GroupCalibration", "calibration_by_group", "calibration_by_group_cells",
        "group_codes", "with_derived_groups",
    ),
    "casemix.calibration.metrics": (
        "CalibrationStatistics", "c_statistic", "c_statistic_cells", "calibration_statistics",
        "calibration_statistics_cells", "curve_errors", "lowess_curve",
    ),
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "DERIVED_GROUPS",
    "CalibrationStatistics",
    "GroupCalibration",
    "c_statistic",
    "c_statistic_cells",
    "calibration_by_group",
    "calibration_by_group_cells",
    "calibration_curve",
    "calibration_statistics",
    "calibration_statistics_cells",
    "curve_errors",
    "group_codes",
    "lowess_curve",
    "plot_calibration",
    "with_derived_groups",
]
