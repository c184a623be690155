"""Social breakdowns of indicators and the inequality measures of public-health monitoring."""

from casemix.inequality.measures import (
    SII_COLUMNS,
    VALUE_TYPES,
    ExtremeGroups,
    extreme_groups,
    sii_rii,
)

__all__ = [
    "SII_COLUMNS",
    "VALUE_TYPES",
    "ExtremeGroups",
    "extreme_groups",
    "sii_rii",
]
