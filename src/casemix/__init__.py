"""casemix: case-mix adjustment and fair comparison of Dutch birth-outcome indicators."""

from casemix.exceptions import (
    CasemixError,
    CasemixWarning,
    ConvergenceError,
    DataError,
    DataWarning,
    MappingError,
    MethodSwitchWarning,
    SpecError,
)
from casemix.indicators import (
    DEFAULT_INDICATORS,
    DefinitionSettings,
    Indicator,
    birthweight_threshold,
    derive_indicators,
    indicator_rates,
)
from casemix.records import ColumnMapping, ValidationReport, load_births, validate_births

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_INDICATORS",
    "CasemixError",
    "CasemixWarning",
    "ColumnMapping",
    "ConvergenceError",
    "DataError",
    "DataWarning",
    "DefinitionSettings",
    "Indicator",
    "MappingError",
    "MethodSwitchWarning",
    "SpecError",
    "ValidationReport",
    "__version__",
    "birthweight_threshold",
    "derive_indicators",
    "indicator_rates",
    "load_births",
    "validate_births",
]
