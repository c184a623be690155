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

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from casemix._params import check_in_range, check_one_of
from casemix.exceptions import ParameterError
from casemix.indicators.growth_charts import GA_MAX_DAYS, GA_MIN_DAYS, birthweight_threshold

__all__ = [
    "DEFAULT_INDICATORS",
    "RULES",
    "AnyOf",
    "Below",
    "DefinitionSettings",
    "InSet",
    "Indicator",
    "IsTrue",
    "NeonatalDeath",
    "PretermOrSmall",
    "RuleResult",
    "SmallForAge",
]

BoolArray = npt.NDArray[np.bool_]


def _rule(doc: str, choices: tuple[object, ...] | None = None) -> Any:
    """Metadata of a definition field: its documentation and allowed values."""
    return {"doc": doc, "choices": choices}


#: Documentation and allowed values of every definition field (rendered in the report and
#: in ``docs/indicators.md``).
RULES: dict[str, dict[str, Any]] = {
    "min_gestational_age_days": _rule(
        "Births below this gestational age (completed days) are outside every indicator. "
        "168 = 24+0 weeks (the Kansrijke Start monitor and Perined since 2010s); 154 = 22+0 "
        "weeks (older publications). Births with unknown gestational age are outside too."),
    "perinatal_neonatal_days": _rule(
        "Neonatal window of perinatal mortality: deaths of live-born children on day 0-6 (7) "
        "or day 0-27 (28). DIAPER counts registry sterfte codes 1-4 (28 days).", (7, 28)),
    "neonatal_population": _rule(
        "Denominator of neonatal and infant mortality: live births (the epidemiological "
        "rate), or all births in scope, live and stillborn (DIAPER's tabulations).",
        ("live_births", "all_births")),
    "plurality": _rule("Multiple births in the population (all) or singletons only.",
                       ("all", "singletons")),
    "sga_source": _rule(
        "Where SGA comes from: 'auto' uses the registry's percentile column "
        "(birthweight_percentile, Perined 'hoftiezer') when the table has it and "
        "birthweight against the Hoftiezer p10 table otherwise; 'percentile' and 'weight' "
        "use only one source; 'percentile_then_weight' takes the percentile where it is "
        "recorded and the weight where it is not.",
        ("auto", "percentile", "weight", "percentile_then_weight")),
    "sga_unknown": _rule(
        "Births whose SGA status is unknown (percentile or weight missing, sex missing, "
        "outside the reference range): in the SGA denominator as not SGA (the monitor and "
        "DIAPER: denominator = all births from 24+0 weeks), or excluded from it.",
        ("not_sga", "exclude")),
    "big2_unknown_sga": _rule(
        "Term births with unknown SGA status in Big2: in the denominator as not Big2 (the "
        "monitor: denominator = all children born at 24+0 weeks or later), or excluded. A "
        "preterm birth is Big2 whatever its SGA status.", ("not_big2", "exclude")),
    "sga_outside_reference": _rule(
        "Births outside the reference range of the curves (161..294 days): SGA unknown, or "
        "read at the nearest tabulated day.", ("exclude", "nearest")),
    "unknown_vital_status": _rule(
        "Births without a registered vital status (empty or user-missing mortality code): "
        "survivors (registry practice: no death registered) or excluded from the mortality "
        "indicators.", ("alive", "exclude")),
}


@dataclass(frozen=True)
class DefinitionSettings:
    """Definition choices that vary between publications; recorded with every result.

    Start from a named, versioned preset (:meth:`preset`, :data:`casemix.indicators.PRESETS`)
    and override single rules; :meth:`overrides` lists what differs from the preset. The
    default is the ``monitor-2022`` preset (Kansrijke Start monitor definitions).

    Parameters
    ----------
    preset : str, default "monitor-2022"
        Name of the preset these settings start from (``custom`` when none).
    min_gestational_age_days : int, default 168
        See :data:`RULES` (as for every field below).
    perinatal_neonatal_days : {7, 28}, default 28
    neonatal_population : {"live_births", "all_births"}, default "live_births"
    plurality : {"all", "singletons"}, default "all"
    sga_source : {"auto", "percentile", "weight", "percentile_then_weight"}, default "auto"
    sga_unknown : {"not_sga", "exclude"}, default "not_sga"
    big2_unknown_sga : {"not_big2", "exclude"}, default "not_big2"
    sga_outside_reference : {"exclude", "nearest"}, default "exclude"
    unknown_vital_status : {"alive", "exclude"}, default "alive"
    """

    preset: str = "monitor-2022"
    min_gestational_age_days: int = 168
    perinatal_neonatal_days: int = 28
    neonatal_population: Literal["live_births", "all_births"] = "live_births"
    plurality: Literal["all", "singletons"] = "all"
    sga_source: Literal["auto", "percentile", "weight", "percentile_then_weight"] = "auto"
    sga_unknown: Literal["not_sga", "exclude"] = "not_sga"
    big2_unknown_sga: Literal["not_big2", "exclude"] = "not_big2"
    sga_outside_reference: Literal["exclude", "nearest"] = "exclude"
    unknown_vital_status: Literal["alive", "exclude"] = "alive"

    def __post_init__(self) -> None:
        owner = "DefinitionSettings"
        check_in_range("min_gestational_age_days", self.min_gestational_age_days, 140, 259,
                       owner=owner)
        for name, rule in RULES.items():
            if rule["choices"] is not None:
                check_one_of(name, getattr(self, name), rule["choices"], owner=owner)

    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> DefinitionSettings:
        """The settings of preset ``name`` (see :data:`casemix.indicators.PRESETS`), with
        ``overrides`` of single rules."""
        from casemix.indicators.presets import preset_rules

        unknown = sorted(set(overrides) - set(RULES))
        if unknown:
            raise ParameterError(f"Unknown definition rule(s) {unknown}; rules: "
                                 f"{', '.join(RULES)}.")
        return cls(preset=name, **{**preset_rules(name), **overrides})

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> DefinitionSettings:
        """Settings from a spec's ``[definitions]`` table or a manifest: ``preset`` (default
        ``monitor-2022``) plus overrides of single rules. A legacy dict with ``version`` and
        no ``preset`` (runs written before presets) starts from ``casemix-2026.1``."""
        d = dict(d)
        legacy = d.pop("version", None)
        name = d.pop("preset", None) or ("casemix-2026.1" if legacy else "monitor-2022")
        if name == "custom":
            return cls(preset="custom", **d)
        return cls.from_preset(str(name), **d)

    def to_dict(self) -> dict[str, object]:
        """Plain dict (for manifests): the preset and every rule."""
        return asdict(self)

    def overrides(self) -> dict[str, object]:
        """Rules that differ from the named preset (empty for an unmodified preset)."""
        from casemix.indicators.presets import PRESETS, preset_rules

        if self.preset not in PRESETS:
            return {}
        base = preset_rules(self.preset)
        return {k: getattr(self, k) for k in RULES if getattr(self, k) != base[k]}

    @property
    def version(self) -> str:
        """Label written into outputs: the preset name, with the overridden rules, e.g.
        ``monitor-2022`` or ``monitor-2022 + plurality=singletons``."""
        changes = self.overrides()
        if not changes:
            return self.preset
        return self.preset + " + " + ", ".join(f"{k}={v}" for k, v in changes.items())

    def describe(self) -> list[tuple[str, object, str]]:
        """``(rule, value, documentation)`` for every rule (report and CLI)."""
        return [(k, getattr(self, k), RULES[k]["doc"]) for k in RULES]

    @property
    def min_gestational_age_label(self) -> str:
        """Minimum gestational age as weeks+days, e.g. ``24+0``."""
        weeks, days = divmod(self.min_gestational_age_days, 7)
        return f"{weeks}+{days}"


@dataclass
class RuleResult:
    """Three-valued outcome of a rule: ``value`` where ``defined``; reasons for undefined
    rows; and ``assumed``: rows kept in the denominator as "no" by a definition rule although
    their status is unknown (e.g. unknown SGA under ``sga_unknown="not_sga"``), by reason."""

    value: BoolArray
    defined: BoolArray
    undefined_reasons: dict[str, BoolArray] = field(default_factory=dict)
    assumed: dict[str, BoolArray] = field(default_factory=dict)


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
    From birthweight: SGA if ``birthweight_g < p10(sex, gestational day)``; a weight exactly
    at p10 is not SGA. Unknown when weight or sex is missing, or when the gestational age is
    outside 161..294 days (unless ``sga_outside_reference="nearest"``, which uses day 161 or
    294). From the registry's percentile: SGA if ``birthweight_percentile < 10`` (DIAPER:
    ``hoftiezer < 10``); unknown when it is missing. ``sga_source`` chooses the source (see
    :data:`RULES`), ``sga_unknown`` whether unknown status leaves the denominator or counts
    as not SGA (logged as an assumption with its reason).
    """

    @property
    def requires(self) -> tuple[str, ...]:
        return ()

    @staticmethod
    def source(births: pd.DataFrame, settings: DefinitionSettings) -> str:
        """Which column(s) SGA is derived from under ``settings``: ``percentile``,
        ``weight`` or ``percentile_then_weight``."""
        if settings.sga_source == "auto":
            return "percentile" if "birthweight_percentile" in births else "weight"
        if settings.sga_source == "percentile_then_weight" and "birthweight_g" not in births:
            return "percentile"
        return settings.sga_source

    @staticmethod
    def _from_weight(births: pd.DataFrame, settings: DefinitionSettings) -> RuleResult:
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

    def evaluate(self, births, done, settings):  # type: ignore[no-untyped-def]
        source = self.source(births, settings)
        if source == "weight":
            result = self._from_weight(births, settings)
        else:
            result = Below("birthweight_percentile", 10.0).evaluate(births, done, settings)
        if source == "percentile_then_weight":
            known = result.defined
            weight = self._from_weight(births, settings)
            result = RuleResult(
                np.where(known, result.value, weight.value), known | weight.defined,
                {f"birthweight_percentile missing and {r}": m & ~known
                 for r, m in weight.undefined_reasons.items()})
        if settings.sga_unknown == "not_sga":
            assumed = {f"SGA unknown ({r}): counted as not SGA": m
                       for r, m in result.undefined_reasons.items() if m.any()}
            return RuleResult(result.value & result.defined, np.ones_like(result.defined),
                              {}, assumed)
        return result

    def required_columns(self, births: pd.DataFrame, settings: DefinitionSettings) -> tuple[
            str, ...]:
        """Columns needed under ``settings`` for this table."""
        source = self.source(births, settings)
        if source == "weight":
            return ("birthweight_g", "infant_sex")
        if source == "percentile_then_weight":
            return ("birthweight_percentile", "birthweight_g", "infant_sex")
        return ("birthweight_percentile",)


@dataclass(frozen=True)
class PretermOrSmall:
    """Big2: preterm birth and/or SGA (named indicators evaluated earlier).

    Notes
    -----
    A preterm birth is Big2 whatever its SGA status. A term birth with unknown SGA status
    (undefined, or counted as not SGA by ``sga_unknown``) is in the denominator as not Big2
    under ``big2_unknown_sga="not_big2"`` (the monitor: denominator = all children born at
    24+0 weeks or later), and excluded under ``"exclude"`` (complete cases).
    """

    preterm: str = "preterm"
    sga: str = "sga"

    @property
    def parts(self) -> tuple[str, str]:
        return (self.preterm, self.sga)

    @property
    def requires(self) -> tuple[str, ...]:
        return ()

    def evaluate(self, births, done, settings):  # type: ignore[no-untyped-def]
        pt, sga = done[self.preterm], done[self.sga]
        value = (pt.value & pt.defined) | (sga.value & sga.defined)
        unknown = {**{r: m & sga.defined for r, m in sga.assumed.items()},
                   **{r: m & ~sga.defined for r, m in sga.undefined_reasons.items()}}
        unknown = {r.replace(": counted as not SGA", ""): m & ~value & pt.defined
                   for r, m in unknown.items()}
        if settings.big2_unknown_sga == "not_big2":
            return RuleResult(value, pt.defined.copy(), dict(pt.undefined_reasons),
                              {f"{r} (term birth): counted as not Big2": m
                               for r, m in unknown.items() if m.any()})
        known = np.logical_not(np.logical_or.reduce([*unknown.values(), np.zeros_like(value)]))
        return RuleResult(value, pt.defined & (value | known), {**pt.undefined_reasons,
                                                                **unknown})


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
        Denominator population before definition-independent exclusions (``live_births``
        becomes all births under ``neonatal_population="all_births"``).
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
    Indicator("big2", "Big2: preterm and/or SGA", PretermOrSmall()),
    Indicator("fetal_death", "Fetal death (stillbirth)", IsTrue("fetal_death")),
    Indicator("neonatal_death_7d", "Neonatal death, day 0-6 (per live birth)",
              NeonatalDeath(7), population="live_births"),
    Indicator("neonatal_death_28d", "Neonatal death, day 0-27 (per live birth)",
              NeonatalDeath(28), population="live_births"),
    Indicator("infant_mortality", "Infant death in the first year (per live birth)",
              InSet("neonatal_death_period", ("early", "late", "post_neonatal")),
              population="live_births"),
    Indicator("perinatal_mortality", "Perinatal mortality: fetal death plus neonatal death",
              AnyOf((IsTrue("fetal_death"), NeonatalDeath()))),
)
