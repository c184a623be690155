"""Declarative model specifications (one TOML file per indicator in ``models/``).

Example (``models/big2.toml``)::

    name = "big2"
    outcome = "big2"                 # an indicator, or any 0/1 column of the data
    levels = ["vsv", "municipality"] # unit levels compared
    method = "pooled"                # default method of `casemix fit`
    ses = ["income_quintile", "education"]   # adjusters that measure SES (policy choice)

    [[adjust]]
    column = "maternal_age"
    type = "spline"
    knots = [20, 27, 31, 35, 41]

    [[adjust]]
    column = "parity"
    breaks = [1]
    labels = ["nulliparous", "multiparous"]
"""

from __future__ import annotations

import hashlib
import json
import tomllib
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from casemix._params import check_in_range
from casemix.core.design import Term
from casemix.exceptions import CasemixWarning, SpecError
from casemix.indicators import DEFAULT_INDICATORS, DefinitionSettings
from casemix.records.schema import UNIT_LEVELS

__all__ = ["MediatorWarning", "ModelSpec", "load_spec"]

_INDICATORS = {i.name for i in DEFAULT_INDICATORS}
_MORTALITY = {"fetal_death", "neonatal_death_7d", "neonatal_death_28d", "perinatal_mortality"}
#: Variables on the causal path (or defining the outcome): adjusting for them hides differences
#: in quality of care.
MEDIATORS: dict[str, frozenset[str]] = {
    **{o: frozenset({"gestational_age_days", "birthweight_g", "birthweight_percentile",
                     "level_of_care", "care_level_start_labour", "preterm", "sga", "big2"})
       for o in _MORTALITY},
    "preterm": frozenset({"gestational_age_days", "birthweight_g", "level_of_care",
                          "care_level_start_labour"}),
    "very_preterm": frozenset({"gestational_age_days", "birthweight_g", "level_of_care"}),
    "sga": frozenset({"birthweight_g", "birthweight_percentile", "gestational_age_days",
                      "level_of_care"}),
    "big2": frozenset({"gestational_age_days", "birthweight_g", "birthweight_percentile",
                       "level_of_care"}),
}
_TOP_KEYS = {"name", "description", "outcome", "levels", "years", "by_year", "method",
             "weights", "weights_kind", "stratify", "ses", "interactions", "adjust",
             "definitions",
             "confidence_level"}
#: Meanings of case weights (:attr:`ModelSpec.weights_kind`).
WEIGHTS_KINDS = ("sampling", "frequency")
_TERM_KEYS = {"column", "type", "reference", "levels", "knots", "n_knots", "missing", "breaks",
              "labels"}


class MediatorWarning(CasemixWarning):
    """An adjuster lies on the causal path between unit and outcome (e.g. gestational age for
    mortality): adjusting for it can hide differences in quality of care."""


@dataclass(frozen=True)
class ModelSpec:
    """A case-mix model for one indicator.

    Parameters
    ----------
    name : str
        Name of the spec (used for run folders).
    outcome : str
        Indicator name (derived from the births) or any 0/1 column of the data.
    adjusters : tuple of Term
        Case-mix variables and how they enter the model.
    interactions : tuple of (str, str)
        Pairs of adjusters whose interaction is added.
    levels : tuple of str
        Unit levels compared (``vsv``, ``municipality``, ``ggd_region``, ``care_office_region``
        or any column of unit codes).
    stratify : tuple of str
        Variables that are not adjusted for; the unit comparison is also reported per stratum.
    ses : tuple of str
        Adjusters that measure socio-economic status; :meth:`without_ses` drops them.
    years : tuple of int, optional
        Years pooled in the fit (default: all years in the data).
    by_year : bool
        Also report the unit comparison per year.
    method : str
        Default case-mix method of the spec, one of
        :data:`casemix.models.methods.METHOD_NAMES` (see :class:`casemix.CaseMixModel`).
    weights : str, optional
        Column of case weights (fractional assignment, non-response weights).
    weights_kind : {"sampling", "frequency"}
        What the weights mean for the variance of a unit's weighted count: ``sampling``
        (default), a non-response, design or assignment weight: the variance of a weighted
        sum ($\\sum w^2 p(1-p)$; intervals and tests use the effective sample size);
        ``frequency``, a weight $w$ stands for $w$ identical births
        ($\\sum w p(1-p)$).
    definitions : DefinitionSettings
        Indicator definition choices.
    confidence_level : float
        Level of the O/E intervals (the 95% and 99.8% flags are always computed).
    """

    name: str
    outcome: str
    adjusters: tuple[Term, ...]
    interactions: tuple[tuple[str, str], ...] = ()
    levels: tuple[str, ...] = ("vsv",)
    stratify: tuple[str, ...] = ()
    ses: tuple[str, ...] = ()
    years: tuple[int, ...] | None = None
    by_year: bool = False
    method: str = "pooled"
    weights: str | None = None
    weights_kind: str = "sampling"
    definitions: DefinitionSettings = field(default_factory=DefinitionSettings)
    confidence_level: float = 0.95
    description: str = ""
    #: Where the spec was read from (for messages; not part of the spec or its fingerprint).
    source: str = field(default="spec", compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.adjusters:
            raise SpecError(f"Spec {self.name!r} has no adjusters; add [[adjust]] tables.")
        if self.weights_kind not in WEIGHTS_KINDS:
            raise SpecError(f"The 'weights_kind' of spec {self.name!r} must be one of "
                            f"{', '.join(WEIGHTS_KINDS)}. Got {self.weights_kind!r} instead.")
        from casemix.models.methods import METHOD_NAMES  # the risk models: not for a scan

        if self.method not in METHOD_NAMES:
            raise SpecError(f"The 'method' of spec {self.name!r} must be one of "
                            f"{', '.join(METHOD_NAMES)}. Got {self.method!r} instead.")
        columns = [t.column for t in self.adjusters]
        dup = {c for c in columns if columns.count(c) > 1}
        if dup:
            raise SpecError(f"Spec {self.name!r} lists adjuster(s) {sorted(dup)} twice.")
        for a, b in self.interactions:
            if a not in columns or b not in columns:
                raise SpecError(f"Spec {self.name!r}: interaction ({a}, {b}) needs both "
                                "variables as adjusters.")
        if self.outcome in columns:
            raise SpecError(f"Spec {self.name!r} adjusts for its own outcome {self.outcome!r}.")
        unknown_ses = set(self.ses) - set(columns)
        if unknown_ses:
            raise SpecError(f"Spec {self.name!r}: ses lists {sorted(unknown_ses)}, which are not "
                            "adjusters.")
        if not self.levels:
            raise SpecError(f"Spec {self.name!r} names no unit levels to compare.")
        check_in_range("confidence_level", self.confidence_level, 0.5, 0.9999,
                       owner=f"spec {self.name!r}")
        self._warn_mediators(columns)

    def _warn_mediators(self, columns: list[str]) -> None:
        mediators = sorted(set(columns) & MEDIATORS.get(self.outcome, frozenset()))
        if mediators:
            warnings.warn(
                f"Spec {self.name!r} adjusts {self.outcome!r} for {mediators}, which lie on the "
                "causal path (or define the outcome): adjusting for them can hide differences "
                "in quality of care. Use them in 'stratify' instead unless this is intended.",
                MediatorWarning, stacklevel=3)

    @property
    def is_indicator(self) -> bool:
        """Whether the outcome is a derived indicator (rather than a 0/1 data column)."""
        return self.outcome in _INDICATORS

    def without_ses(self) -> ModelSpec:
        """The same spec without its SES adjusters (the 'without SES' view)."""
        keep = tuple(t for t in self.adjusters if t.column not in self.ses)
        inter = tuple(p for p in self.interactions if not set(p) & set(self.ses))
        return replace(self, name=f"{self.name}_without_ses", adjusters=keep,
                       interactions=inter, ses=())

    def to_dict(self) -> dict[str, Any]:
        """The spec in the layout of its TOML file (``from_dict`` reads it back)."""
        kind = {"kind": "type"}
        adjust = [{kind.get(k, k): (list(v) if isinstance(v, tuple) else v)
                   for k, v in asdict(t).items()
                   if v is not None and not (k == "n_knots" and t.kind != "spline")}
                  for t in self.adjusters]
        d: dict[str, Any] = {
            "name": self.name, "description": self.description, "outcome": self.outcome,
            "levels": list(self.levels), "method": self.method, "by_year": self.by_year,
            "stratify": list(self.stratify), "ses": list(self.ses),
            "interactions": [list(p) for p in self.interactions], "adjust": adjust,
            "definitions": self.definitions.to_dict(),
            "confidence_level": self.confidence_level,
        }
        if self.years is not None:
            d["years"] = list(self.years)
        if self.weights is not None:
            d["weights"] = self.weights
        if self.weights is not None:  # specs without weights keep their fingerprints
            d["weights_kind"] = self.weights_kind
        return d

    def fingerprint(self) -> str:
        """SHA-256 of the canonical JSON of the spec."""
        text = json.dumps(self.to_dict(), sort_keys=True, default=list)
        return hashlib.sha256(text.encode()).hexdigest()

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, source: str = "spec") -> ModelSpec:
        """Build a spec from the parsed TOML structure; unknown keys are errors."""
        unknown = set(d) - _TOP_KEYS
        if unknown:
            raise SpecError(f"{source}: unknown key(s) {sorted(unknown)}; allowed: "
                            f"{sorted(_TOP_KEYS)}.")
        for key in ("name", "outcome", "adjust"):
            if key not in d:
                raise SpecError(f"{source}: required key {key!r} is missing.")
        if not isinstance(d["adjust"], list):
            raise SpecError(f"{source}: 'adjust' must be [[adjust]] tables, one per adjuster.")
        terms = [_term(t, f"{source}: [[adjust]] #{i + 1}") for i, t in enumerate(d["adjust"])]
        try:
            definitions = DefinitionSettings.from_dict(d.get("definitions", {}))
        except (TypeError, ValueError) as exc:
            raise SpecError(f"{source}: [definitions]: {exc}") from exc
        levels = tuple(_strings(d.get("levels", ["vsv"]), f"{source}: key 'levels'"))
        odd = [lv for lv in levels if lv not in UNIT_LEVELS]
        if odd:
            warnings.warn(f"{source}: unit level(s) {odd} are not canonical unit columns "
                          f"({', '.join(UNIT_LEVELS)}); they must be columns of the data.",
                          CasemixWarning, stacklevel=2)
        years = d.get("years")
        try:
            return cls(
                name=str(d["name"]), outcome=str(d["outcome"]), adjusters=tuple(terms),
                interactions=_pairs(d.get("interactions", []), source),
                levels=levels, stratify=tuple(_strings(d.get("stratify", []),
                                                       f"{source}: key 'stratify'")),
                ses=tuple(_strings(d.get("ses", []), f"{source}: key 'ses'")),
                years=tuple(int(y) for y in _numbers(years, f"{source}: key 'years'"))
                if years else None,
                by_year=bool(d.get("by_year", False)), method=str(d.get("method", "pooled")),
                weights=d.get("weights") or None,
                weights_kind=str(d.get("weights_kind", "sampling")), definitions=definitions,
                confidence_level=_number(d.get("confidence_level", 0.95),
                                         f"{source}: key 'confidence_level'"),
                description=str(d.get("description", "")), source=source)
        except SpecError as exc:
            text = str(exc)
            raise SpecError(text if text.startswith(source) else f"{source}: {text}") from None

    def check_data(self, columns: Sequence[str]) -> None:
        """Check, before any fitting, that the data have every column the spec needs.

        Parameters
        ----------
        columns : sequence of str
            Columns of the (validated) births.

        Raises
        ------
        SpecError
            Naming the spec file, the key (``levels``, ``[[adjust]]``, ``outcome``,
            ``stratify``, ``weights``) and the missing columns, with how to fix it.
        """
        have = set(columns)
        needs = [("levels", list(self.levels)), ("stratify", list(self.stratify)),
                 ("[[adjust]] column", [t.column for t in self.adjusters]),
                 ("weights", [self.weights] if self.weights else [])]
        if not self.is_indicator:
            needs.append(("outcome", [self.outcome]))
        for key, wanted in needs:
            absent = [c for c in wanted if c not in have]
            if absent:
                raise SpecError(
                    f"{self.source}: {key} {absent} not in the data (its columns: "
                    f"{', '.join(sorted(have)[:25])}{', ...' if len(have) > 25 else ''}). "
                    "Map the column with --mapping, or change the spec.")
        if self.is_indicator:
            frame = pd.DataFrame(columns=list(columns))
            absent = [c for c in _indicator_columns(self.outcome, frame, self.definitions)
                      if c not in have]
            if absent:
                raise SpecError(
                    f"{self.source}: outcome {self.outcome!r} needs column(s) {absent}, "
                    "which the data do not have. Map them with --mapping.")


def _indicator_columns(name: str, frame: pd.DataFrame, settings: DefinitionSettings
                       ) -> list[str]:
    """Data columns indicator ``name`` needs (through the indicators it is built from), and
    the gestational age that decides the scope of every indicator."""
    by_name = {i.name: i for i in DEFAULT_INDICATORS}
    out = ["gestational_age_days"] + (["plurality"] if settings.plurality == "singletons"
                                      else [])
    for column in by_name[name].required_columns(frame, settings):
        built_from = column in by_name and column != name  # fetal_death reads fetal_death
        out += _indicator_columns(column, frame, settings) if built_from else [column]
    return list(dict.fromkeys(out))


def _term(t: Any, where: str) -> Term:
    """One ``[[adjust]]`` table as a Term; every value type-checked against its key."""
    if not isinstance(t, dict):
        raise SpecError(f"{where}: must be a table with 'column' and options.")
    bad = set(t) - _TERM_KEYS
    if bad or "column" not in t:
        raise SpecError(f"{where} has unknown key(s) {sorted(bad)} or no 'column'; allowed "
                        f"keys: {sorted(_TERM_KEYS)}.")
    where = f"{where} ({t['column']})"
    try:
        return Term(
            column=str(t["column"]), kind=t.get("type", "categorical"),
            reference=None if t.get("reference") is None else str(t["reference"]),
            levels=tuple(_strings(t["levels"], f"{where} key 'levels'"))
            if "levels" in t else None,
            knots=tuple(_numbers(t["knots"], f"{where} key 'knots'")) if "knots" in t else None,
            n_knots=int(_number(t.get("n_knots", 5), f"{where} key 'n_knots'")),
            missing=t.get("missing"),
            breaks=tuple(_numbers(t["breaks"], f"{where} key 'breaks'"))
            if "breaks" in t else None,
            labels=tuple(_strings(t["labels"], f"{where} key 'labels'"))
            if "labels" in t else None)
    except SpecError as exc:
        text = str(exc)
        raise SpecError(text if text.startswith(where) else f"{where}: {text}") from None


def _pairs(value: Any, source: str) -> tuple[tuple[str, str], ...]:
    """``interactions = [["a", "b"], ...]``: pairs of adjuster names."""
    where = f"{source}: key 'interactions'"
    pairs = [_strings(p, where) for p in _list(value, where)]
    if any(len(p) != 2 for p in pairs):
        raise SpecError(f'{where} must hold pairs, e.g. [["parity", "maternal_age"]].')
    return tuple((a, b) for a, b in pairs)


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise SpecError(f"{where} must be a list; got {value!r} ({type(value).__name__}).")
    return list(value)


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SpecError(f"{where} must be a number, e.g. 5; got {value!r} "
                        f"({type(value).__name__}).")
    return float(value)


def _numbers(value: Any, where: str) -> list[float]:
    """A TOML list of numbers (``knots = [20, 27, 31]``), not a string such as "20,27,31"."""
    if not isinstance(value, list):
        raise SpecError(f"{where} must be a list of numbers, e.g. [20, 27, 31, 35, 41]; got "
                        f"{value!r} ({type(value).__name__}).")
    return [_number(v, where) for v in value]


def _strings(value: Any, where: str) -> list[str]:
    """A TOML list of names (``levels = ["vsv", "municipality"]``)."""
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise SpecError(f'{where} must be a list, e.g. ["vsv", "municipality"]; got '
                        f"{value!r} ({type(value).__name__}).")
    return [str(v) for v in value]


def load_spec(path: str | Path) -> ModelSpec:
    """Read a model specification from a TOML file."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"Model spec file not found: {path}")
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"Model spec {path} is not valid TOML: {exc}") from exc
    return ModelSpec.from_dict(raw, source=str(path))
