"""Column mappings: translate a registry extract to the canonical birth-record columns.

A mapping is a TOML file (see ``resources/mapping_perined.toml`` for the built-in preset)::

    name = "my_extract"
    extends = "perined"          # optional: start from a preset or another file

    [columns]                    # source column -> canonical column or intermediate field
    zwduur_weken = "gestational_age_weeks"

    [values.infant_sex]          # canonical column -> source value -> canonical label
    "M" = "male"

    [mortality_codes]            # value of the column mapped to 'mortality_code'
    "1" = "fetal_death"
    missing = "alive"
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from casemix.exceptions import MappingError
from casemix.records.schema import COLUMNS
from casemix.records.validation import Problem

__all__ = ["PRESETS", "ColumnMapping"]

PRESETS: tuple[str, ...] = ("perined",)
INTERMEDIATE = ("gestational_age_weeks", "gestational_age_extra_days", "mortality_code")
MORTALITY_OUTCOMES = ("alive", "fetal_death", "neonatal_death_early", "neonatal_death_late",
                      "post_neonatal_death", "unknown")


def _listed_codes(keys: pd.Series, threshold: int = 10) -> str:
    """Codes with their row counts, counts of 1..threshold-1 shown as ``<threshold`` (the
    message may be copied out of the secure environment)."""
    counts = keys.value_counts()
    shown = counts.head(8)
    listed = ", ".join(f"{k!r} ({n:,} rows)" if n >= threshold else f"{k!r} (<{threshold} rows)"
                       for k, n in shown.items())
    if len(counts) > len(shown):
        listed += f" and {len(counts) - len(shown)} more"
    return listed


def _count(n: int, threshold: int = 10) -> str:
    return f"{n:,}" if n >= threshold or n == 0 else f"<{threshold}"


def _code_key(values: pd.Series) -> pd.Series:
    """String keys for code lookup: 1, 1.0 and "1" all become "1"; missing stays missing."""
    num = pd.to_numeric(values, errors="coerce")
    as_int = num.notna() & (num == np.round(num))
    keys = values.astype("object").where(values.isna(), values.astype(str).str.strip())
    keys = keys.mask(as_int, num[as_int].astype("int64").astype(str))
    return keys


@dataclass(frozen=True)
class ColumnMapping:
    """Translation of source columns and codes to canonical columns.

    Attributes
    ----------
    name : str
        Name of the mapping (for logs and manifests).
    columns : dict
        Source column name -> canonical column or intermediate field.
    values : dict
        Canonical column -> {source value: canonical label}.
    mortality_codes : dict
        Source code -> one of ``alive, fetal_death, neonatal_death_early,
        neonatal_death_late, post_neonatal_death, unknown``; key ``missing`` gives the meaning
        of an empty code (otherwise an empty code is an error). ``unknown`` leaves the vital
        status missing, and the definitions decide (``unknown_vital_status``).
    """

    name: str = "identity"
    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    mortality_codes: dict[str, str] = field(default_factory=dict)

    @classmethod
    def preset(cls, name: str) -> ColumnMapping:
        """Built-in mapping by name (one of :data:`PRESETS`)."""
        if name not in PRESETS:
            raise MappingError(
                f"Unknown mapping preset {name!r}; available presets: {', '.join(PRESETS)}."
            )
        text = files("casemix.resources").joinpath(f"mapping_{name}.toml").read_text("utf-8")
        return cls.from_dict(tomllib.loads(text))

    @classmethod
    def from_toml(cls, path: str | Path) -> ColumnMapping:
        """Read a mapping file; ``extends`` names a preset or a file relative to this one."""
        path = Path(path)
        if not path.is_file():
            raise MappingError(f"Column mapping file not found: {path}")
        try:
            spec = tomllib.loads(path.read_text("utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise MappingError(f"Column mapping {path} is not valid TOML: {exc}") from exc
        base = spec.get("extends")
        if base is None:
            return cls.from_dict(spec)
        parent = (
            cls.preset(base) if base in PRESETS else cls.from_toml(path.parent / base)
        )
        return parent.merged(cls.from_dict(spec, check=False))

    @classmethod
    def from_dict(cls, spec: dict[str, Any], *, check: bool = True) -> ColumnMapping:
        """Build a mapping from the parsed TOML structure."""
        unknown = set(spec) - {"name", "description", "extends", "columns", "values",
                               "mortality_codes"}
        if unknown:
            raise MappingError(f"Column mapping has unknown top-level keys: {sorted(unknown)}.")
        mapping = cls(
            name=str(spec.get("name", "custom")),
            columns={str(k): str(v) for k, v in spec.get("columns", {}).items()},
            values={str(c): {str(k): str(v) for k, v in t.items()}
                    for c, t in spec.get("values", {}).items()},
            mortality_codes={str(k): str(v) for k, v in spec.get("mortality_codes", {}).items()},
        )
        if check:
            mapping.check()
        return mapping

    def merged(self, other: ColumnMapping) -> ColumnMapping:
        """This mapping overridden by ``other`` (tables merge key by key)."""
        values = {c: dict(t) for c, t in self.values.items()}
        for c, t in other.values.items():
            values.setdefault(c, {}).update(t)
        merged = ColumnMapping(
            name=other.name,
            columns={**{s: t for s, t in self.columns.items()
                        if t not in set(other.columns.values())}, **other.columns},
            values=values,
            mortality_codes={**self.mortality_codes, **other.mortality_codes},
        )
        merged.check()
        return merged

    def check(self) -> None:
        """Raise :class:`MappingError` when targets or codes are not canonical."""
        targets = set(COLUMNS) | set(INTERMEDIATE)
        bad = {s: t for s, t in self.columns.items() if t not in targets}
        if bad:
            raise MappingError(
                f"Column mapping {self.name!r} maps to unknown columns {bad}; targets must be "
                f"canonical columns or one of {', '.join(INTERMEDIATE)}."
            )
        seen: dict[str, str] = {}
        for source, target in self.columns.items():
            if target in seen:
                raise MappingError(
                    f"Column mapping {self.name!r} maps both {seen[target]!r} and {source!r} "
                    f"to {target!r}."
                )
            seen[target] = source
        for column in self.values:
            if column not in COLUMNS:
                raise MappingError(f"[values.{column}]: {column!r} is not a canonical column.")
        bad_codes = {k: v for k, v in self.mortality_codes.items() if v not in MORTALITY_OUTCOMES}
        if bad_codes:
            raise MappingError(
                f"[mortality_codes] has unknown outcomes {bad_codes}; allowed: "
                f"{', '.join(MORTALITY_OUTCOMES)}."
            )

    def apply(self, data: pd.DataFrame) -> tuple[pd.DataFrame, list[Problem]]:
        """Rename and recode ``data`` to canonical columns.

        Returns
        -------
        (pandas.DataFrame, list of Problem)
            The translated table (unmapped columns kept as they are) and notes about what was
            translated (e.g. how many empty mortality codes were read as alive).

        Raises
        ------
        MappingError
            When a code has no translation; the message names the column, the values and the
            number of rows.
        """
        notes: list[Problem] = []
        present = {s: t for s, t in self.columns.items() if s in data.columns and s != t}
        absent = [s for s in self.columns if s not in data.columns and self.columns[s] not in data]
        if absent:
            notes.append(Problem("info", "", f"Mapping {self.name!r}: source columns not in the "
                                 f"file (skipped): {', '.join(absent)}."))
        clash = [t for t in present.values() if t in data.columns]
        if clash:
            raise MappingError(
                f"The file already has column(s) {clash} and the mapping would create them again "
                f"from {[s for s, t in present.items() if t in clash]}."
            )
        out = data.rename(columns=present)
        for column, table in self.values.items():
            if column in out:
                out[column] = self._recode(out[column], column, table)
        out = self._gestational_age(out)
        source = next((s for s, t in present.items() if t == "mortality_code"),
                      "mortality_code")
        out = self._mortality(out, notes, source)
        return out, notes

    def _recode(self, values: pd.Series, column: str, table: dict[str, str]) -> pd.Series:
        keys = _code_key(values)
        allowed = set(COLUMNS[column].categories or ())
        recoded = keys.map(table)
        # labels that are already canonical pass through
        passthrough = recoded.isna() & keys.astype(str).str.lower().isin(allowed)
        recoded = recoded.mask(passthrough, keys.astype(str).str.lower())
        unknown = recoded.isna() & keys.notna()
        if unknown.any():
            raise MappingError(
                f"Column '{column}' (mapped by {self.name!r}) has codes without a translation in "
                f"{_count(int(unknown.sum()))} rows: {_listed_codes(keys[unknown])}. Known "
                f"codes: {sorted(table)}. Add them to [values.{column}] in the mapping."
            )
        return recoded

    def _gestational_age(self, out: pd.DataFrame) -> pd.DataFrame:
        if "gestational_age_weeks" not in out:
            return out
        if "gestational_age_days" in out:
            raise MappingError("The file has both gestational_age_days and a weeks column "
                               "mapped to gestational_age_weeks; map only one.")
        weeks = self._numbers(out.pop("gestational_age_weeks"), "gestational_age_weeks")
        extra = self._numbers(out.pop("gestational_age_extra_days"),
                              "gestational_age_extra_days") \
            if "gestational_age_extra_days" in out else 0
        out["gestational_age_days"] = weeks * 7 + extra
        return out

    def _numbers(self, values: pd.Series, field_name: str) -> pd.Series:
        """Numbers of a weeks/days field; text that is not a number is a MappingError."""
        source = next((s for s, t in self.columns.items() if t == field_name), field_name)
        num = pd.to_numeric(values, errors="coerce")
        text = values.astype("string").str.strip()
        bad = num.isna() & values.notna() & text.ne("").fillna(False).astype(bool)
        if bad.any():
            raise MappingError(
                f"Column {source!r} (mapped to {field_name}) has values that are not numbers "
                f"in {_count(int(bad.sum()))} rows: {_listed_codes(values[bad].astype(str))}. "
                "Correct or blank them in the extract.")
        return num

    def _mortality(self, out: pd.DataFrame, notes: list[Problem], source: str) -> pd.DataFrame:
        if "mortality_code" not in out:
            return out
        keys = _code_key(out.pop("mortality_code"))
        table = {k: v for k, v in self.mortality_codes.items() if k != "missing"}
        outcome = keys.map(table)
        missing = keys.isna()
        if missing.any():
            if "missing" not in self.mortality_codes:
                raise MappingError(
                    f"Mortality code is empty in {_count(int(missing.sum()))} rows and the mapping "
                    f"{self.name!r} does not say what an empty code means ([mortality_codes] "
                    "missing = \"alive\")."
                )
            outcome = outcome.mask(missing, self.mortality_codes["missing"])
            meaning = self.mortality_codes["missing"]
            notes.append(Problem("info", "mortality_code", f"Mortality code empty or "
                                 f"user-missing in {_count(int(missing.sum()))} rows: read as "
                                 f"{meaning!r} by the mapping"
                                 + (" (the definitions' unknown_vital_status rule decides)"
                                    if meaning == "unknown" else "") + ".",
                                 int(missing.sum())))
        unknown = outcome.isna()
        if unknown.any():
            raise MappingError(
                f"Column {source!r} (mortality code) has unknown codes in "
                f"{_count(int(unknown.sum()))} rows: {_listed_codes(keys[unknown])}. Known "
                f"codes: {sorted(table)}; add them to [mortality_codes]."
            )
        out["fetal_death"] = outcome.eq("fetal_death").astype("boolean").mask(
            outcome.eq("unknown"))
        period = outcome.map({"neonatal_death_early": "early", "neonatal_death_late": "late",
                              "post_neonatal_death": "post_neonatal"})
        out["neonatal_death_period"] = period
        return out
