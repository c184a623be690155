"""Birth-record data layer: canonical schema, column mappings, readers and validation."""

from casemix.records.exclusions import ExclusionLog
from casemix.records.mapping import PRESETS, ColumnMapping
from casemix.records.readers import load_births, read_table
from casemix.records.schema import COLUMNS, REQUIRED_COLUMNS, UNIT_LEVELS, Column
from casemix.records.shares import Shares, read_shares, shares_from_episodes
from casemix.records.sniffing import ReadAssumptions, sniff_csv
from casemix.records.validation import Problem, ValidationReport, validate_births
from casemix.records.writers import write_table

__all__ = [
    "COLUMNS",
    "PRESETS",
    "REQUIRED_COLUMNS",
    "UNIT_LEVELS",
    "Column",
    "ColumnMapping",
    "ExclusionLog",
    "Problem",
    "ReadAssumptions",
    "Shares",
    "ValidationReport",
    "load_births",
    "read_shares",
    "read_table",
    "shares_from_episodes",
    "sniff_csv",
    "validate_births",
    "write_table",
]
