"""Indicator definitions (Perined-aligned), derivation per birth, and crude rates per unit."""

from casemix.indicators.definitions import (
    DEFAULT_INDICATORS,
    AnyOf,
    Below,
    DefinitionSettings,
    Indicator,
    InSet,
    IsTrue,
    NeonatalDeath,
    PretermOrSmall,
    SmallForAge,
)
from casemix.indicators.derive import IndicatorFlags, derive_indicators
from casemix.indicators.growth_charts import (
    birthweight_at_percentile,
    birthweight_percentile,
    birthweight_reference,
    birthweight_threshold,
)
from casemix.indicators.presets import PRESETS, DefinitionPreset
from casemix.indicators.rates import indicator_rates

__all__ = [
    "DEFAULT_INDICATORS",
    "PRESETS",
    "AnyOf",
    "Below",
    "DefinitionPreset",
    "DefinitionSettings",
    "InSet",
    "Indicator",
    "IndicatorFlags",
    "IsTrue",
    "NeonatalDeath",
    "PretermOrSmall",
    "SmallForAge",
    "birthweight_at_percentile",
    "birthweight_percentile",
    "birthweight_reference",
    "birthweight_threshold",
    "derive_indicators",
    "indicator_rates",
]
