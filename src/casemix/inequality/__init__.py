"""Social breakdowns of indicators and the inequality measures of public-health monitoring."""

from casemix.inequality.breakdowns import (
    BREAKDOWN_COLUMNS,
    BREAKDOWNS,
    DEMOGRAPHIC_ADJUSTERS,
    MISSING_GROUP,
    BreakdownDimension,
    Breakdowns,
    indicator_breakdowns,
)
from casemix.inequality.measures import (
    SII_COLUMNS,
    VALUE_TYPES,
    ExtremeGroups,
    extreme_groups,
    sii_rii,
)
from casemix.inequality.summary import INEQUALITY_COLUMNS, inequality_measures

__all__ = [
    "BREAKDOWNS",
    "BREAKDOWN_COLUMNS",
    "DEMOGRAPHIC_ADJUSTERS",
    "INEQUALITY_COLUMNS",
    "MISSING_GROUP",
    "SII_COLUMNS",
    "VALUE_TYPES",
    "BreakdownDimension",
    "Breakdowns",
    "ExtremeGroups",
    "extreme_groups",
    "indicator_breakdowns",
    "inequality_measures",
    "sii_rii",
]
