"""Indirect (and direct) standardisation: O/E ratios, intervals, tests, unit comparison."""

from casemix.standardisation.indirect import UNIT_COLUMNS, flag, unit_comparison
from casemix.standardisation.intervals import (
    Interval,
    PoissonTestResult,
    poisson_ratio_interval,
    poisson_ratio_test,
    proportion_interval,
)
from casemix.standardisation.poisson_binomial import (
    PoissonBinomialUnits,
    poisson_binomial_ratio_interval,
    poisson_binomial_test,
    poisson_binomial_units,
)

__all__ = [
    "UNIT_COLUMNS",
    "Interval",
    "PoissonBinomialUnits",
    "PoissonTestResult",
    "flag",
    "poisson_binomial_ratio_interval",
    "poisson_binomial_test",
    "poisson_binomial_units",
    "poisson_ratio_interval",
    "poisson_ratio_test",
    "proportion_interval",
    "unit_comparison",
]
