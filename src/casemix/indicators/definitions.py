"""Declarative, versioned indicator definitions.

An indicator is a *rule* for the event, a *population* (all births or live births) and a label.
Rules are small building blocks (``Below``, ``IsTrue``, ``InSet``, ``AnyOf``, ``SmallForAge``)
that evaluate to three-valued booleans (true, false, undefined); undefined rows leave the
denominator and are counted by reason. Adding an indicator is one entry, e.g.::

    Indicator("low_apgar", "Apgar score < 7 at 5 minutes", Below("apgar_5min", 7),
              population="live_births")

Definition choices that differ between publications (minimum gestational age, neonatal window
of perinatal mortality, multiples in or out, source of SGA) live in :class:`DefinitionSettings`
and are recorded with every result.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from casemix._params import check_in_range, check_one_of
from casemix.indicators.growth_charts import GA_MAX_DAYS, GA_MIN_DAYS, birthweight_threshold

__all__ = [
    "DEFAULT_INDICATORS",
    "AnyOf",
    "Below",
    "DefinitionSettings",
    "InSet",
    "Indicator",
    "IsTrue",
    "NeonatalDeath",
    "RuleResult",
    "SmallForAge",
]

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class DefinitionSettings:
    """Definition choices that vary between publications; recorded with every result.

    Parameters
    ----------
    version : str
        Label of this definition set (appears in outputs and manifests).
    min_gestational_age_days : int, default 168
        Births below this gestational age are outside every indicator (168 = 24+0 weeks, the
        current registry minimum; 154 = 22+0 weeks reproduces older publications).
    perinatal_neonatal_days : {7, 28}, default 7
        Neonatal window of perinatal mortality (deaths on day 0-6, or day 0-27).
    plurality : {"all", "singletons"}, default "all"
        Whether multiple births are in the population.
    sga_source : {"auto", "weight", "percentile"}, default "auto"
        SGA from birthweight against the Hoftiezer p10 table, or from a supplied percentile
        column; ``auto`` uses the weight column when present, else the percentile column.
    sga_outside_reference : {"exclude", "nearest"}, default "exclude"
        Rule for births outside the reference range (161..294 days): SGA undefined (counted
        exclusion), or use the nearest tabulated day.
    """

    version: str = "casemix-2026.1"
    min_gestational_age_days: int = 168
    perinatal_neonatal_days: int = 7
    plurality: Literal["all", "singletons"] = "all"
    sga_source: Literal["auto", "weight", "percentile"] = "auto"
    sga_outside_reference: Literal["exclude", "nearest"] = "exclude"

    def __post_init__(self) -> None:
        owner = "DefinitionSettings"
        check_in_range("min_gestational_age_days", self.min_gestational_age_days, 140, 259,
                       owner=owner)
        check_one_of("perinatal_neonatal_days", self.perinatal_neonatal_days, (7, 28),
                     owner=owner)
        check_one_of("plurality", self.plurality, ("all", "singletons"), owner=owner)
        check_one_of("sga_source", self.sga_source, ("auto", "weight", "percentile"),
                     owner=owner)
        check_one_of("sga_outside_reference", self.sga_outside_reference,
                     ("exclude", "nearest"), owner=owner)

    def to_dict(self) -> dict[str, object]:
        """Plain dict (for manifests)."""
        return asdict(self)

    @property
    def min_gestational_age_label(self) -> str:
        """Minimum gestational age as weeks+days, e.g. ``24+0``."""
        weeks, days = divmod(self.min_gestational_age_days, 7)
        return f"{weeks}+{days}"


@dataclass
class RuleResult:
    """Three-valued outcome of a rule: ``value`` where ``defined``; reasons for undefined rows."""

    value: BoolArray
    defined: BoolArray
    undefined_reasons: dict[str, BoolArray] = field(default_factory=dict)


class Rule(Protocol):
    """A building block that evaluates an event on a births table."""

    @property
    def requires(self) -> tuple[str, ...]: ...

    def evaluate(
        self, births: pd.DataFrame, done: dict[str, RuleResult], settings: DefinitionSettings
    ) -> RuleResult: ...


def _column(births: pd.DataFrame, name: str) -> tuple[npt.NDArray[np.float64], BoolArray]:
    """Numeric values and the missing mask of a column."""
    values = births[name].to_numpy(dtype="float64", na_value=np.nan)
    return values, np.isnan(values)


@dataclass(frozen=True)
class Below:
    """Event ``column < threshold`` (strictly below); undefined where the column is missing."""

    column: str
    threshold: float

    @property
    def requires(self) -> tuple[str, ...]:
        return (self.column,)

    def evaluate(self, births, done, settings):  # type: ignore[no-untyped-def]
        values, missing = _column(births, self.column)
        return RuleResult(np.less(values, self.threshold, where=~missing, out=np.zeros_like(
            missing)), ~missing, {f"{self.column} missing": missing})


@dataclass(frozen=True)
class IsTrue:
    """Event ``column is true``; undefined where the column is missing."""

    column: str

    @property
    def requires(self) -> tuple[str, ...]:
        return (self.column,)

    def evaluate(self, births, done, settings):  # type: ignore[no-untyped-def]
        col = births[self.column].astype("boolean")
        missing = col.isna().to_numpy()
        return RuleResult(col.fillna(False).to_numpy(bool), ~missing,
                          {f"{self.column} missing": missing})


@dataclass(frozen=True)
class InSet:
    """Event ``column in values`` for a categorical column; a missing value means "not in set".

    Use ``missing_is_false=False`` when a missing label should make the event undefined.
    """

    column: str
    values: tuple[str, ...]
    missing_is_false: bool = True

    @property
    def requires(self) -> tuple[str, ...]:
        return (self.column,)

    def evaluate(self, births, done, settings):  # type: ignore[no-untyped-def]
        col = births[self.column]
        missing = col.isna().to_numpy()
        value = col.isin(self.values).to_numpy(bool)
        if self.missing_is_false:
            return RuleResult(value, np.ones_like(value))
        return RuleResult(value, ~missing, {f"{self.column} missing": missing})


@dataclass(frozen=True)
class AnyOf:
    """Event "any of these parts", with Kleene logic.

    Parts are names of indicators evaluated earlier in the list, or rules. The event is true as
    soon as one part is true; false only when every part is defined and false; undefined
    otherwise (e.g. a term birth with unknown birthweight for Big2).
    """

    parts: tuple[str | Rule, ...]

    @property
    def requires(self) -> tuple[str, ...]:
        return tuple(c for p in self.parts if not isinstance(p, str) for c in p.requires)

    def evaluate(self, births, done, settings):  # type: ignore[no-untyped-def]
        parts = [done[p] if isinstance(p, str) else p.evaluate(births, done, settings)
                 for p in self.parts]
        value = np.logical_or.reduce([p.value & p.defined for p in parts])
        all_defined = np.logical_and.reduce([p.defined for p in parts])
        reasons: dict[str, BoolArray] = {}
        for p in parts:
            for reason, mask in p.undefined_reasons.items():
                reasons[reason] = reasons.get(reason, np.zeros_like(mask)) | (mask & ~value)
        return RuleResult(value, all_defined | value, reasons)


@dataclass(frozen=True)
class SmallForAge:
    """Small for gestational age: birthweight strictly below p10 of Hoftiezer et al. (2019).

    Notes
    -----
    With ``sga_source="weight"``: SGA if ``birthweight_g < p10(sex, gestational day)``; a weight
    exactly at p10 is not SGA. Undefined when weight or sex is missing, or when the gestational
    age is outside 161..294 days (unless ``sga_outside_reference="nearest"``, which uses day 161
    or 294). With ``sga_source="percentile"``: SGA if ``birthweight_percentile < 10``.
    """

    @property
    def requires(self) -> tuple[str, ...]:
        return ()

    @staticmethod
    def source(births: pd.DataFrame, settings: DefinitionSettings) -> str:
        """Which column SGA is derived from under ``settings``."""
        if settings.sga_source == "auto":
            return "weight" if "birthweight_g" in births else "percentile"
        return settings.sga_source

    def evaluate(self, births, done, settings):  # type: ignore[no-untyped-def]
        if self.source(births, settings) == "percentile":
            return Below("birthweight_percentile", 10.0).evaluate(births, done, settings)
        weight, w_missing = _column(births, "birthweight_g")
        ga, _ = _column(births, "gestational_age_days")
        sex = births["infant_sex"]
        s_missing = ~sex.isin(["female", "male"]).to_numpy(dtype=bool)
        outside = (ga < GA_MIN_DAYS) | (ga > GA_MAX_DAYS)
        if settings.sga_outside_reference == "nearest":
            ga = np.clip(ga, GA_MIN_DAYS, GA_MAX_DAYS)
            outside = np.zeros_like(outside)
        p10 = birthweight_threshold(sex, ga, 10)
        defined = ~(w_missing | s_missing | outside)
        value = np.less(weight, p10, where=defined, out=np.zeros_like(defined))
        reasons = {
            "birthweight_g missing": w_missing,
            "infant_sex missing": s_missing & ~w_missing,
            f"gestational age outside the reference range ({GA_MIN_DAYS}..{GA_MAX_DAYS} days)":
                outside & ~w_missing & ~s_missing,
        }
        return RuleResult(value, defined, reasons)

    def required_columns(self, births: pd.DataFrame, settings: DefinitionSettings) -> tuple[
            str, ...]:
        """Columns needed under ``settings`` for this table."""
        if self.source(births, settings) == "percentile":
            return ("birthweight_percentile",)
        return ("birthweight_g", "infant_sex")


@dataclass(frozen=True)
class NeonatalDeath:
    """Death of a live-born infant within the first ``days`` days (7: day 0-6; 28: day 0-27)."""

    days: int | None = None  # None: the perinatal window of the settings

    @property
    def requires(self) -> tuple[str, ...]:
        return ("fetal_death", "neonatal_death_period")

    def evaluate(self, births, done, settings):  # type: ignore[no-untyped-def]
        days = self.days or settings.perinatal_neonatal_days
        periods = ("early",) if days == 7 else ("early", "late")
        return InSet("neonatal_death_period", periods).evaluate(births, done, settings)


@dataclass(frozen=True)
class Indicator:
    """One indicator: event rule, population and labels.

    Parameters
    ----------
    name : str
        snake_case identifier used in every output.
    label : str
        Human-readable label for reports.
    event : Rule
        When the event happened (three-valued).
    population : {"all_births", "live_births"}
        Denominator population before definition-independent exclusions.
    """

    name: str
    label: str
    event: Rule
    population: Literal["all_births", "live_births"] = "all_births"

    def required_columns(self, births: pd.DataFrame, settings: DefinitionSettings) -> tuple[
            str, ...]:
        """Columns the indicator needs in ``births`` under ``settings``."""
        cols = list(getattr(self.event, "requires", ()))
        if isinstance(self.event, SmallForAge):
            cols += self.event.required_columns(births, settings)
        if self.population == "live_births":
            cols.append("fetal_death")
        return tuple(dict.fromkeys(cols))


DEFAULT_INDICATORS: tuple[Indicator, ...] = (
    Indicator("preterm", "Preterm birth (< 37+0 weeks)", Below("gestational_age_days", 259)),
    Indicator("very_preterm", "Very preterm birth (< 32+0 weeks)",
              Below("gestational_age_days", 224)),
    Indicator("sga", "Small for gestational age (< p10, Hoftiezer 2019)", SmallForAge()),
    Indicator("big2", "Big2: preterm and/or SGA", AnyOf(("preterm", "sga"))),
    Indicator("fetal_death", "Fetal death (stillbirth)", IsTrue("fetal_death")),
    Indicator("neonatal_death_7d", "Neonatal death, day 0-6 (per live birth)",
              NeonatalDeath(7), population="live_births"),
    Indicator("neonatal_death_28d", "Neonatal death, day 0-27 (per live birth)",
              NeonatalDeath(28), population="live_births"),
    Indicator("perinatal_mortality", "Perinatal mortality: fetal death plus neonatal death",
              AnyOf((IsTrue("fetal_death"), NeonatalDeath()))),
)
