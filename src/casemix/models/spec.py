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
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from casemix._params import check_in_range
from casemix.core.design import Term
from casemix.exceptions import CasemixWarning, SpecError
from casemix.indicators import DEFAULT_INDICATORS, DefinitionSettings
from casemix.models.methods import METHOD_NAMES
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
             "weights", "stratify", "ses", "interactions", "adjust", "definitions",
             "confidence_level"}
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
    definitions: DefinitionSettings = field(default_factory=DefinitionSettings)
    confidence_level: float = 0.95
    description: str = ""

    def __post_init__(self) -> None:
        if not self.adjusters:
            raise SpecError(f"Spec {self.name!r} has no adjusters; add [[adjust]] tables.")
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
        terms = []
        for i, t in enumerate(d["adjust"]):
            bad = set(t) - _TERM_KEYS
            if bad or "column" not in t:
                raise SpecError(f"{source}: [[adjust]] #{i + 1} has unknown key(s) {sorted(bad)} "
                                f"or no 'column'; allowed keys: {sorted(_TERM_KEYS)}.")
            terms.append(Term(
                column=t["column"], kind=t.get("type", "categorical"),
                reference=None if t.get("reference") is None else str(t["reference"]),
                levels=tuple(map(str, t["levels"])) if "levels" in t else None,
                knots=tuple(map(float, t["knots"])) if "knots" in t else None,
                n_knots=int(t.get("n_knots", 5)), missing=t.get("missing"),
                breaks=tuple(map(float, t["breaks"])) if "breaks" in t else None,
                labels=tuple(map(str, t["labels"])) if "labels" in t else None))
        try:
            definitions = DefinitionSettings.from_dict(d.get("definitions", {}))
        except (TypeError, ValueError) as exc:
            raise SpecError(f"{source}: [definitions]: {exc}") from exc
        levels = tuple(d.get("levels", ("vsv",)))
        odd = [lv for lv in levels if lv not in UNIT_LEVELS]
        if odd:
            warnings.warn(f"{source}: unit level(s) {odd} are not canonical unit columns "
                          f"({', '.join(UNIT_LEVELS)}); they must be columns of the data.",
                          CasemixWarning, stacklevel=2)
        return cls(
            name=str(d["name"]), outcome=str(d["outcome"]), adjusters=tuple(terms),
            interactions=tuple(tuple(p) for p in d.get("interactions", ())),  # type: ignore[misc]
            levels=levels, stratify=tuple(d.get("stratify", ())), ses=tuple(d.get("ses", ())),
            years=tuple(d["years"]) if d.get("years") else None,
            by_year=bool(d.get("by_year", False)), method=str(d.get("method", "pooled")),
            weights=d.get("weights") or None, definitions=definitions,
            confidence_level=float(d.get("confidence_level", 0.95)),
            description=str(d.get("description", "")))


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
