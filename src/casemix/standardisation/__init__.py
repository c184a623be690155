"""Indirect (and direct) standardisation: O/E ratios, intervals, tests, unit comparison."""

from casemix.standardisation.indirect import UNIT_COLUMNS, flag, unit_comparison
from casemix.standardisation.intervals import (
    Interval,
    PoissonTestResult,
    poisson_ratio_interval,
    poisson_ratio_test,
    proportion_interval,
)

__all__ = [
    "UNIT_COLUMNS",
    "Interval",
    "PoissonTestResult",
    "flag",
    "poisson_ratio_interval",
    "poisson_ratio_test",
    "proportion_interval",
    "unit_comparison",
]
