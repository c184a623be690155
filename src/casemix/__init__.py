"""casemix: case-mix adjustment and fair comparison of Dutch birth-outcome indicators."""

from typing import TYPE_CHECKING

from casemix._lazy import lazy_exports
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

if TYPE_CHECKING:
    from casemix.core import Term
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

#: The modules of the public names, imported on first use (:mod:`casemix._lazy`).
_EXPORTS = {
    "casemix.core": ("Term",),
    "casemix.indicators": (
        "DEFAULT_INDICATORS", "DefinitionSettings", "Indicator", "birthweight_threshold",
        "derive_indicators", "indicator_rates",
    ),
    "casemix.models": (
        "CaseMixModel", "CaseMixResult", "ModelSpec", "UnitTable", "load_run", "load_spec",
        "save_run",
    ),
    "casemix.records": ("ColumnMapping", "ValidationReport", "load_births", "validate_births"),
    "casemix.simulation": ("simulate_cohort",),
    "casemix.standardisation": ("unit_comparison",),
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

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
