"""casemix: case-mix adjustment and fair comparison of Dutch birth-outcome indicators."""

from casemix.core import Term
from casemix.exceptions import (
    CasemixError,
    CasemixWarning,
    ConvergenceError,
    DataError,
    DataWarning,
    MappingError,
    MethodSwitchWarning,
    ParameterError,
    RunFolderError,
    SamplingWarning,
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
from casemix.models import (
    CaseMixModel,
    CaseMixResult,
    ModelSpec,
    UnitTable,
    load_run,
    load_spec,
    save_run,
)
from casemix.records import ColumnMapping, ValidationReport, load_births, validate_births
from casemix.simulation import simulate_cohort
from casemix.standardisation import unit_comparison

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_INDICATORS",
    "CaseMixModel",
    "CaseMixResult",
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
    "ModelSpec",
    "ParameterError",
    "RunFolderError",
    "SamplingWarning",
    "SpecError",
    "Term",
    "UnitTable",
    "ValidationReport",
    "__version__",
    "birthweight_threshold",
    "derive_indicators",
    "indicator_rates",
    "load_births",
    "load_run",
    "load_spec",
    "save_run",
    "simulate_cohort",
    "unit_comparison",
    "validate_births",
]
