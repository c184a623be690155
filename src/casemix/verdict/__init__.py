"""The verdict on a unit: is it unusual beyond the normal variation between units?

Over-dispersion-aware flags for every method, all resting on one robust between-unit
spread (:mod:`casemix.verdict.spread`): the over-dispersed funnel for methods without
shrinkage, the mixed predictive p-value (:mod:`casemix.verdict.mixed_predictive`) for the
shrinkage methods.
"""

from casemix.verdict.mixed_predictive import FAMILIES, mixed_predictive
from casemix.verdict.spread import SPREAD_SETTINGS, Spread, between_unit_spread
from casemix.verdict.verdict import (
    VERDICT_COLUMNS,
    VERDICT_FAMILIES,
    UnitVerdict,
    describe_verdict,
    unit_verdict,
)

__all__ = ["FAMILIES", "SPREAD_SETTINGS", "VERDICT_COLUMNS", "VERDICT_FAMILIES", "Spread",
           "UnitVerdict", "between_unit_spread", "describe_verdict", "mixed_predictive",
           "unit_verdict"]
