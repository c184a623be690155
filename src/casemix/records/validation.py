"""Validation of a births table against the canonical schema.

Structural problems (missing required columns, values that cannot be parsed, unknown category
labels, duplicated birth ids) are *errors*: the table cannot be used until the extract or the
column mapping is fixed. Row-level problems (impossible values) are handled by a policy and
every affected row is counted in the exclusion log; nothing is dropped silently.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from casemix._params import check_one_of
from casemix.exceptions import DataError, DataWarning
from casemix.records.exclusions import ExclusionLog
from casemix.records.schema import COLUMNS, REQUIRED_COLUMNS, UNIT_LEVELS, Column, column_key
from casemix.records.sniffing import ReadAssumptions

__all__ = ["Problem", "ValidationReport", "validate_births"]

InvalidPolicy = Literal["exclude", "missing", "error"]
_TRUE = {"true", "t", "yes", "y", "1", "ja", "j", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "nee", "0.0"}
_MAX_EXAMPLES = 5
_MAX_EXACT = 2.0**53  # floats represent every whole number up to here


@dataclass(frozen=True)
class Problem:
    """One validation finding.

    Attributes
    ----------
    severity : {"error", "warning", "info"}
    column : str
        The column concerned ("" for table-wide problems).
    message : str
        Human-readable description naming values, counts and the fix.
    n_rows : int
        Number of rows affected.
    """

    severity: Literal["error", "warning", "info"]
    column: str
    message: str
    n_rows: int = 0


@dataclass
class ValidationReport:
    """Outcome of :func:`validate_births`.

    Attributes
    ----------
    births : pandas.DataFrame
        The typed, canonical table with excluded rows removed (empty if there were errors).
    problems : list of Problem
        Errors, warnings and information, in the order found.
    exclusions : ExclusionLog
        Rows excluded from all analyses, by reason.
    n_input : int
        Number of rows read.
    renamed : dict
        Columns renamed to their canonical name because they matched it only up to case and
        spaces (source name -> canonical name), e.g. ``{"Birthweight_g": "birthweight_g"}``.
    read_assumptions : ReadAssumptions or None
        How the file was read (format; for CSV the delimiter, decimal mark and encoding, each
        sniffed or given), set by :func:`~casemix.records.readers.load_births`; ``None`` for a
        DataFrame.
    n_kept : int or None
        Rows kept when ``births`` is not held (a file validated batch by batch by
        :mod:`casemix.engine`); ``None``: ``len(births)``.
    """

    births: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    exclusions: ExclusionLog = field(default_factory=ExclusionLog)
    n_input: int = 0
    renamed: dict[str, str] = field(default_factory=dict)
    read_assumptions: ReadAssumptions | None = None
    n_kept: int | None = None

    @property
    def kept(self) -> int:
        """Rows kept for analysis."""
        return len(self.births) if self.n_kept is None else self.n_kept

    @property
    def errors(self) -> list[Problem]:
        """Fatal problems."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """Non-fatal problems that deserve attention."""
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when there are no fatal problems."""
        return not self.errors

    @property
    def n_excluded(self) -> int:
        """Rows excluded from all analyses."""
        return self.n_input - self.kept if self.ok else self.n_input

    def raise_for_errors(self) -> None:
        """Raise :class:`~casemix.exceptions.DataError` listing every fatal problem."""
        if self.errors:
            lines = "\n".join(f"- {p.message}" for p in self.errors)
            raise DataError(f"The births table has {len(self.errors)} fatal problem(s):\n{lines}")

    def to_frame(self) -> pd.DataFrame:
        """Problems as a DataFrame with columns ``severity, column, message, n_rows``."""
        return pd.DataFrame(
            [vars(p) for p in self.problems], columns=["severity", "column", "message", "n_rows"]
        )

    def __str__(self) -> str:
        status = "OK" if self.ok else f"FAILED ({len(self.errors)} error(s))"
        lines = [
            f"Validation {status}: {self.n_input:,} rows read, "
            f"{self.n_excluded:,} excluded, {self.kept:,} kept"
            if self.ok
            else f"Validation {status}: {self.n_input:,} rows read"
        ]
        for p in self.problems:
            lines.append(f"  {p.severity.upper():7s} {p.message}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<ValidationReport ok={self.ok} rows={self.n_input} "
            f"errors={len(self.errors)} warnings={len(self.warnings)} "
            f"excluded={self.n_excluded}>"
        )


def _examples(values: pd.Series) -> str:
    """Format the most frequent offending values with their counts."""
    counts = values.astype("object").value_counts(dropna=False).head(_MAX_EXAMPLES)
    return ", ".join(f"{v!r} ({n:,} rows)" for v, n in counts.items())


def _coerce_numeric(
    col: Column, raw: pd.Series, problems: list[Problem]
) -> pd.Series:
    """Parse a numeric column; unparseable or fractional integers are errors."""
    if col.kind == "int" and isinstance(raw.dtype, np.dtype) and raw.dtype.kind in "iu" and (
            not len(raw) or max(-int(raw.min()), int(raw.max())) < _MAX_EXACT):
        return raw.astype("Int64")  # whole, finite and exact: nothing to parse or check
    if col.kind == "int" and raw.dtype == np.float64:
        whole = _whole_floats(raw)
        if whole is not None:
            return whole
    if pd.api.types.is_bool_dtype(raw.dtype):
        raw = raw.astype("Int64")
    num = pd.to_numeric(raw, errors="coerce")
    bad = num.isna() & raw.notna()
    if bad.any() and not pd.api.types.is_numeric_dtype(raw.dtype):
        bad &= raw.astype("string").str.strip().ne("").fillna(False).astype(bool)
    if bad.any():
        problems.append(Problem(
            "error", col.name,
            f"Column '{col.name}' must be numeric ({col.kind}); {int(bad.sum()):,} rows have "
            f"values that are not numbers: {_examples(raw[bad])}. Fix the extract or map the "
            "codes in the column mapping.", int(bad.sum())))
    num = _finite(col, num.astype("float64"), raw, problems)
    if col.kind == "int":
        frac = num.notna() & (num != np.round(num))
        if frac.any():
            problems.append(Problem(
                "error", col.name,
                f"Column '{col.name}' must hold whole numbers; {int(frac.sum()):,} rows have "
                f"fractional values: {_examples(num[frac])}.", int(frac.sum())))
            num = num.where(~frac)
        return num.astype("Int64")
    return num


def _whole_floats(raw: pd.Series) -> pd.Series | None:
    """Floats that are all whole, finite and below 2**53 where present (an integer column
    with missing values, as Parquet and DuckDB give it) as ``Int64``; None otherwise (the
    general path then names the problems).

    The same column as ``to_numeric`` and the checks of :func:`_coerce_numeric` give, with
    a few passes over the values: 8-10 against 24-45 ms per column of 1M births (min of 7,
    /tmp/scan2/val.py).
    """
    values = raw.to_numpy()
    missing = np.isnan(values)
    filled = np.where(missing, 0.0, values)
    if len(filled) and not np.abs(filled).max() < _MAX_EXACT:  # also infinite values
        return None
    whole = filled.astype(np.int64)
    if not (whole == filled).all():  # exact below 2**53: unequal only for fractions
        return None
    return pd.Series(pd.arrays.IntegerArray(whole, missing), index=raw.index)


def _finite(col: Column, num: pd.Series, raw: pd.Series, problems: list[Problem]) -> pd.Series:
    """Infinite numbers, and whole numbers too large to store exactly (beyond 2**53), are an
    error; they are set to missing so that the other checks still run."""
    bad = np.isinf(num) | ((num.abs() >= _MAX_EXACT) if col.kind == "int" else False)
    bad = bad.fillna(False).astype(bool)
    if not bad.any():
        return num
    problems.append(Problem(
        "error", col.name,
        f"Column '{col.name}' has infinite or impossibly large numbers in {int(bad.sum()):,} "
        f"rows: {_examples(raw[bad])}. Correct or blank these values in the extract.",
        int(bad.sum())))
    return num.where(~bad)


def _coerce_bool(col: Column, raw: pd.Series, problems: list[Problem]) -> pd.Series:
    """Parse a boolean column from booleans, 0/1 or yes/no words."""
    if pd.api.types.is_bool_dtype(raw.dtype):
        return raw.astype("boolean")
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    labels = pd.Index(uniques).astype(str).str.strip().str.lower()
    mapped = np.array(
        [True if lab in _TRUE else False if lab in _FALSE else None for lab in labels],
        dtype=object,
    )
    unknown = np.array([m is None for m in mapped], dtype=bool)
    if unknown.any():
        bad = np.isin(codes, np.flatnonzero(unknown))
        problems.append(Problem(
            "error", col.name,
            f"Column '{col.name}' must be boolean (true/false, 1/0, yes/no); "
            f"{int(bad.sum()):,} rows have other values: {_examples(raw[bad])}.",
            int(bad.sum())))
    values = cast("npt.NDArray[Any]",  # the stubs take None for x/y as the 1-argument form
                  np.where(codes >= 0, mapped[np.clip(codes, 0, None)] if len(mapped) else None,
                           None))
    values = np.where(values == None, pd.NA, values)  # noqa: E711
    return pd.Series(values, index=raw.index, dtype="boolean")


def _coerce_category(col: Column, raw: pd.Series, problems: list[Problem]) -> pd.Series:
    """Normalise labels (trimmed, lower case); unknown labels are an error."""
    allowed = col.categories or ()
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)  # labels handled once each
    clean = pd.Index(uniques, dtype=object).astype(str).str.strip().str.lower()
    normalised = np.asarray(clean, dtype=object)
    normalised[np.asarray(clean == "")] = None
    known = np.array([lab is None or lab in allowed for lab in normalised], dtype=bool)
    if not known.all():
        bad = np.isin(codes, np.flatnonzero(~known))
        problems.append(Problem(
            "error", col.name,
            f"Column '{col.name}' has unknown labels in {int(bad.sum()):,} rows: "
            f"{_examples(raw[bad])}. Allowed: {', '.join(allowed)} (or missing). "
            "Recode them in the column mapping ([values] table).", int(bad.sum())))
    target = np.array([allowed.index(lab) if lab in allowed else -1 for lab in normalised] + [-1],
                      dtype=np.int64)  # the appended -1 serves missing (code -1)
    new_codes = target[codes]
    return pd.Series(pd.Categorical.from_codes(new_codes, categories=list(allowed)),
                     index=raw.index)


def _coerce_id(col: Column, raw: pd.Series) -> pd.Series:
    """Identifiers are strings; numeric codes keep no trailing '.0' (whole numbers up to 2**53,
    beyond which a float holds no exact integer)."""
    if pd.api.types.is_float_dtype(raw.dtype):
        exact = ((raw % 1 == 0) & (raw.abs() < _MAX_EXACT)).to_numpy(bool)
        whole = raw.where(exact).astype("Int64").astype("string")
        raw = whole.where(exact, raw.astype("string"))
    return raw.astype("string").str.strip().replace("", pd.NA)


def _unit_codes(col: Column, codes: pd.Series, problems: list[Problem]) -> pd.Series:
    """Unit codes normalised as identifiers (:func:`_coerce_id`, on the distinct codes):
    surrounding spaces removed and inner runs of spaces made one; codes that then differ only
    in case (``vsv01``, ``VSV01``) are one unit, written as its most frequent spelling (ties:
    the first in sorted order), with a warning listing the codes that were merged. Names keep
    their case (``Súdwest-Fryslân``)."""
    # string operations on the distinct codes only (a few hundred), not on every birth:
    # measurably faster at national scale (3.7 s -> 0.1 s for 1,000,000 births and 4 levels)
    index, uniques = pd.factorize(codes)
    ids = _coerce_id(col, pd.Series(uniques))
    spaced = ids.str.replace(r"\s+", " ", regex=True).str.strip()
    keys = spaced.str.casefold()
    counts = np.bincount(index[index >= 0], minlength=len(uniques))
    chosen, merged = _spellings(keys, spaced, counts)
    if not chosen:  # every code missing (or blank)
        return pd.Series(pd.NA, index=codes.index, dtype="string")
    if merged:
        rows = sum(n for spellings in merged.values() for n in spellings.values())
        shown = "; ".join(f"{' / '.join(sorted(merged[k]))} -> {chosen[k]}"
                          for k in sorted(merged)[:5])
        problems.append(Problem(
            "warning", col.name, n_rows=rows, message=
            f"{len(merged)} unit code(s) differ only in case or spaces and are taken as one "
            f"unit, written as their most frequent spelling: {shown}"
            f"{'; ...' if len(merged) > 5 else ''}."))
    written = [None if pd.isna(k) else chosen[k] for k in keys]
    # a categorical (a Parquet dictionary, casemix.engine.duck) is written by the take below:
    # its astype("string") goes through Python objects (120 ms against 10 ms per 1M births)
    if not isinstance(codes.dtype, pd.CategoricalDtype) and all(
            isinstance(u, str) and u == w for u, w in zip(uniques, written, strict=True)):
        # every code is written as given (the usual case): the column itself, as text
        # (zero-copy for Arrow strings; the take below costs 10 ms per 500,000 births)
        return codes.astype("string")
    # the spellings of the distinct codes, then one take per birth (missing: the appended NA)
    table = pd.Series([*written, None], dtype="string")
    out = table.take(np.where(index >= 0, index, len(table) - 1))
    return out.set_axis(codes.index)


def _spellings(keys: pd.Series, spaced: pd.Series, counts: npt.NDArray[np.int64]
               ) -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    """The spelling of every unit key (its most frequent spelling; ties: the first in sorted
    order) and the keys written in several spellings, with the births of each spelling.

    A loop over the distinct codes (a few hundred): about 0.1 ms against 10 ms for the same
    choice by pandas group-by and sorts of these small tables, per column and batch.
    """
    births: dict[str, dict[str, int]] = {}
    for key, spelling, n in zip(keys, spaced, counts.tolist(), strict=True):
        if pd.isna(key):
            continue
        per_key = births.setdefault(key, {})
        per_key[spelling] = per_key.get(spelling, 0) + n
    chosen = {key: min(per_key, key=lambda s, per_key=per_key: (-per_key[s], s))  # type: ignore[misc]
              for key, per_key in births.items()}
    merged = {key: per_key for key, per_key in births.items() if len(per_key) > 1}
    return chosen, merged


def _coerce(col: Column, raw: pd.Series, problems: list[Problem]) -> pd.Series:
    if col.kind in ("int", "float"):
        return _coerce_numeric(col, raw, problems)
    if col.kind == "bool":
        return _coerce_bool(col, raw, problems)
    if col.kind == "category":
        return _coerce_category(col, raw, problems)
    if col.name in UNIT_LEVELS:
        return _unit_codes(col, raw, problems)
    return _coerce_id(col, raw)


def _derive_death_period(births: pd.DataFrame, problems: list[Problem]) -> None:
    """Fill ``neonatal_death_period`` from ``neonatal_death_day`` (day 0-6 early, 7-27 late)."""
    if "neonatal_death_day" not in births:
        return
    day = births["neonatal_death_day"]
    days = day.to_numpy(dtype=float, na_value=np.nan)
    categories = list(COLUMNS["neonatal_death_period"].categories or ())
    # codes, not labels: a Categorical of 500,000 label strings costs 10x more
    codes = np.full(len(days), -1, dtype=np.int8)
    known = ~np.isnan(days)
    codes[known] = categories.index("post_neonatal")
    codes[known & (days < 28)] = categories.index("late")
    codes[known & (days < 7)] = categories.index("early")
    derived = pd.Series(pd.Categorical.from_codes(codes, categories=categories),
                        index=births.index)
    if "neonatal_death_period" in births:
        given = births["neonatal_death_period"]
        clash = given.notna() & derived.notna() & (given.astype(object) != derived.astype(object))
        if clash.any():
            problems.append(Problem(
                "error", "neonatal_death_period",
                f"'neonatal_death_period' contradicts 'neonatal_death_day' in "
                f"{int(clash.sum()):,} rows: " + _examples(pd.Series([
                    f"day {d} with period {p!r}" for d, p in zip(
                        day[clash], given[clash].astype(object), strict=True)]))
                + " (period must be early for day 0-6, late for 7-27).",
                int(clash.sum())))
        births["neonatal_death_period"] = given.where(given.notna(), derived)
    else:
        births["neonatal_death_period"] = derived


def _row_rules(births: pd.DataFrame) -> list[tuple[str, str, pd.Series]]:
    """Row-level impossibilities: (column, reason, mask)."""
    rules: list[tuple[str, str, pd.Series]] = []
    for name, col in COLUMNS.items():
        if name not in births or col.plausible is None:
            continue
        lo, hi = col.plausible
        values = births[name]
        mask = (values.lt(lo) | values.gt(hi)).fillna(False).astype(bool)
        lo_s, hi_s = f"{lo:g}", f"{hi:g}"
        rules.append((name, f"{name} outside {lo_s}..{hi_s}", mask))
    for name in ("gestational_age_days", "year"):
        if name in births:
            rules.append((name, f"{name} missing", births[name].isna().to_numpy(bool)))
    if "fetal_death" in births and "neonatal_death_period" in births:
        both = births["fetal_death"].fillna(False).astype(bool) & births[
            "neonatal_death_period"
        ].notna()
        rules.append(("fetal_death", "fetal death with a neonatal death recorded", both))
    return rules


def _apply_row_rules(
    births: pd.DataFrame, invalid: InvalidPolicy, problems: list[Problem], log: ExclusionLog
) -> pd.DataFrame:
    """Apply the invalid-value policy; count every affected row under its first reason."""
    excluded = np.zeros(len(births), dtype=bool)
    for name, reason, mask in _row_rules(births):
        mask = np.asarray(mask, dtype=bool)
        n_hit = int(mask.sum())
        if not n_hit:
            continue
        nullable = COLUMNS[name].nullable and not reason.endswith("missing")
        nullable = nullable and name != "fetal_death"
        examples = _examples(births.loc[mask, name])
        if invalid == "error":
            problems.append(Problem("error", name, f"{reason} in {n_hit:,} rows: {examples}.",
                                    n_hit))
        elif invalid == "missing" and nullable:
            births.loc[mask, name] = pd.NA
            log.add("validation", name, f"{reason}: value set to missing", n_hit)
            problems.append(Problem("warning", name,
                                    f"{reason} in {n_hit:,} rows ({examples}); set to missing.",
                                    n_hit))
        else:
            new = mask & ~excluded
            excluded |= mask
            log.add("validation", "all", reason, int(new.sum()))
            problems.append(Problem(
                "warning", name,
                f"{reason} in {n_hit:,} rows ({examples}); {int(new.sum()):,} rows excluded "
                "(rows failing an earlier rule are counted there).", n_hit))
    return births.loc[~excluded].reset_index(drop=True)


def _report_missing_covariates(births: pd.DataFrame, problems: list[Problem]) -> None:
    """Missing linked covariates stay in the data as an explicit missing category."""
    for name in ("income_quintile", "education", "migration_background", "neighbourhood_ses",
                 "maternal_age", "parity", "infant_sex", "birthweight_g"):
        if name in births:
            n_missing = int(births[name].isna().sum())
            if n_missing:
                share = n_missing / max(len(births), 1)
                problems.append(Problem(
                    "info", name,
                    f"{name} missing in {n_missing:,} rows ({share:.1%}); kept as an explicit "
                    "missing category, never dropped.", n_missing))
    for level in UNIT_LEVELS:
        if level in births:
            n_missing = int(births[level].isna().sum())
            if n_missing:
                problems.append(Problem(
                    "warning", level,
                    f"{level} missing in {n_missing:,} rows; these births are counted nationally "
                    f"but excluded (and counted) from comparisons by {level}.", n_missing))
    if not any(level in births for level in UNIT_LEVELS):
        problems.append(Problem(
            "warning", "", f"No unit column ({', '.join(UNIT_LEVELS)}): only national figures "
            "can be computed. Map the unit code column with --mapping.", len(births)))
    outcomes = {"birthweight_g", "birthweight_percentile", "fetal_death"}
    if not outcomes & set(births.columns):
        problems.append(Problem(
            "warning", "", "No birthweight, percentile or vital status column: only preterm "
            "birth can be derived (SGA, Big2 and mortality need them).", len(births)))


def _check_duplicates(births: pd.DataFrame, problems: list[Problem]) -> None:
    ids = births["birth_id"]
    if ids.isna().any():
        n = int(ids.isna().sum())
        problems.append(Problem("error", "birth_id",
                                f"birth_id is missing in {n:,} rows; every child needs an id.", n))
    dup = ids.duplicated(keep=False) & ids.notna()
    if dup.any():
        problems.append(Problem(
            "error", "birth_id",
            f"birth_id must be unique; {int(dup.sum()):,} rows share "
            f"{ids[dup].nunique():,} ids, e.g. {_examples(ids[dup])}.", int(dup.sum())))


def _refused(empty: pd.DataFrame, problems: list[Problem], log: ExclusionLog, n_input: int,
             renamed: dict[str, str] | None = None) -> ValidationReport:
    """The report of a table with fatal problems: no row is usable, and the exclusion log
    says so (rows read = rows kept + rows excluded holds in the log too)."""
    logged = sum(int(str(e["n_rows"])) for e in log.entries  # rows, not values set missing
                 if e["scope"] == "all")
    fatal = "; ".join(sorted({p.column for p in problems if p.severity == "error"}))
    log.add("validation", "all", f"not usable: fatal problem(s) in {fatal} (see the "
            "problems)", n_input - logged)
    return ValidationReport(empty, problems, log, n_input, renamed or {})


def _duplicate_names(data: pd.DataFrame, problems: list[Problem]) -> bool:
    """Column names that occur more than once are an error (which one holds the data?)."""
    names = pd.Series(data.columns.map(str))
    dup = names[names.duplicated(keep=False)].value_counts(sort=False)
    if dup.empty:
        return False
    listed = ", ".join(f"{n!r} ({k} times)" for n, k in dup.items())
    problems.append(Problem(
        "error", ",".join(dup.index),
        f"Column name(s) occur more than once: {listed}. Rename or drop the copies in the "
        "extract so that every column has its own name.", len(data)))
    return True


def _canonical_names(
    data: pd.DataFrame, problems: list[Problem]
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Rename columns that match a canonical name only up to case and spaces.

    Two columns that name the same canonical column (e.g. ``vsv`` and ``VSV``) are an error.
    """
    sources: dict[str, list[str]] = {}
    for name in data.columns:
        key = name if name in COLUMNS else column_key(name)
        if key in COLUMNS:
            sources.setdefault(key, []).append(name)
    renames: dict[str, str] = {}
    for target, names in sources.items():
        if len(names) > 1:
            listed = ", ".join(repr(n) for n in names[:-1]) + f" and {names[-1]!r}"
            problems.append(Problem(
                "error", target,
                f"Columns {listed} {'both' if len(names) == 2 else 'all'} name the canonical "
                f"column '{target}' (case and spaces are ignored in column names); keep one "
                "of them and drop or rename the others.", len(data)))
        elif names[0] != target:
            renames[names[0]] = target
    if renames:
        listed = ", ".join(f"{s!r} -> {t!r}" for s, t in renames.items())
        message = (f"Column(s) renamed to their canonical name (they matched it up to case and "
                   f"spaces): {listed}.")
        warnings.warn(message, DataWarning, stacklevel=3)
        problems.extend(Problem("warning", t, f"Column {s!r} read as {t!r} (canonical names "
                                "are lower case, without surrounding spaces).")
                        for s, t in renames.items())
    return data.rename(columns=renames), renames


def _check_columns(
    data: pd.DataFrame, problems: list[Problem]
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Names and rows: duplicated names, case-insensitive canonical names, required columns,
    an empty table. Errors are appended to ``problems``."""
    if _duplicate_names(data, problems):
        return data, {}
    data, renames = _canonical_names(data, problems)
    if len(data) == 0:
        problems.append(Problem(
            "error", "",
            f"The births table has no rows (columns: {', '.join(map(str, data.columns[:20]))}"
            "); there is nothing to validate or analyse. Check that the export holds the "
            "births, not only the column names."))
    missing = [c for c in REQUIRED_COLUMNS if c not in data.columns]
    if missing:
        problems.append(Problem(
            "error", ",".join(missing),
            f"Required column(s) missing: {', '.join(missing)}. Found: "
            f"{', '.join(map(str, data.columns[:20]))}. Supply a column mapping "
            "(--mapping FILE.toml) that names them.", len(data)))
    return data, renames


def validate_births(
    data: pd.DataFrame, *, invalid: InvalidPolicy = "exclude", extra_columns: bool = True,
    check_ids: bool = True,
) -> ValidationReport:
    """Check and type a births table in canonical columns.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per child, columns named as in :data:`casemix.records.schema.COLUMNS`.
    invalid : {"exclude", "missing", "error"}, default "exclude"
        What to do with impossible values (outside the plausible range of the column, e.g.
        gestational age outside 140..315 days): exclude the row from all analyses, set the value
        to missing (only for columns that may be missing), or treat it as a fatal error. Every
        affected row is counted in the report and the exclusion log.
    extra_columns : bool, default True
        Keep non-canonical columns (e.g. a weights column or an extra outcome) unchanged.
    check_ids : bool, default True
        Check that ``birth_id`` is present and unique. ``False`` only where the caller checks
        the ids of the whole source itself: :mod:`casemix.engine` validates a file in
        batches, which cannot see an id shared between two of them, and checks the ids of
        all batches in one query.

    Returns
    -------
    ValidationReport
        Typed table, problems, exclusion log. Call ``raise_for_errors()`` to stop on errors.

    Notes
    -----
    Column names are matched to the canonical names ignoring case and surrounding spaces
    (inner spaces count as underscores, :func:`~casemix.records.schema.column_key`): such a
    column is renamed with a :class:`~casemix.exceptions.DataWarning` and listed in
    ``report.renamed``.

    Errors (the table cannot be used): the table has no rows; a column name occurs twice, or
    two columns name the same canonical column up to case and spaces; a required column is
    missing; values cannot be parsed as the column's type; category labels outside the
    allowed set; missing or duplicated ``birth_id``. Missing linked covariates (income,
    education, migration background) are kept as explicit missing values and reported, never
    dropped.
    """
    check_one_of("invalid", invalid, ("exclude", "missing", "error"), owner="validate_births")
    problems: list[Problem] = []
    log = ExclusionLog()
    data, renamed = _check_columns(data, problems)
    if any(p.severity == "error" for p in problems):
        return _refused(data.iloc[0:0], problems, log, len(data), renamed)
    births = pd.DataFrame(index=pd.RangeIndex(len(data)))
    for name in data.columns:
        raw = data[name].reset_index(drop=True)
        if name in COLUMNS:
            births[name] = _coerce(COLUMNS[name], raw, problems)
        elif extra_columns:
            births[name] = raw
    if check_ids:
        _check_duplicates(births, problems)
    _derive_death_period(births, problems)
    if problems and any(p.severity == "error" for p in problems):
        return _refused(births.iloc[0:0], problems, log, len(data), renamed)
    births = _apply_row_rules(births, invalid, problems, log)
    if any(p.severity == "error" for p in problems):
        return _refused(births.iloc[0:0], problems, log, len(data), renamed)
    _report_missing_covariates(births, problems)
    return ValidationReport(births, problems, log, len(data), renamed)
