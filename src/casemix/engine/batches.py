"""The row logic of one batch of births, and the sums that combine batches.

Validation, column mapping, indicator derivation (Hoftiezer lookup, Big2, mortality windows)
and the model's exclusions are the package's one implementation
(:func:`casemix.load_births`, :func:`casemix.models.prepare_model_data`), applied to each
batch as it streams past. What crosses rows is a sum: rows read and kept, exclusions by
reason, problems by kind, and the births of each distinct row of the model's columns. Sums
of batches are the sums of the file, so the cells and the exclusion log of a file read in
batches, by any engine, equal those of the file read whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from pandas.api.types import union_categoricals

from casemix.core.cells import integer_offsets
from casemix.exceptions import DataError
from casemix.indicators import DefinitionSettings
from casemix.indicators.derive import derive_indicators
from casemix.indicators.rates import indicator_counts
from casemix.models.data import prepare_model_data
from casemix.models.grouped import (
    BIRTHS,
    OUTCOME,
    model_columns,
    pattern_columns,
    subgroup_columns,
    subgroup_key,
)
from casemix.models.spec import ModelSpec
from casemix.records import ColumnMapping, Problem, load_births
from casemix.records.schema import COLUMNS, column_key

__all__ = ["Accumulator", "BatchPlan", "Partial", "RatesPlan", "combine", "count_rates",
           "group_births", "id_column", "id_problems", "raise_for_ids", "raise_problems",
           "restore_types", "run_batch"]


@dataclass(frozen=True)
class RatesPlan:
    """Indicator counts per unit (``casemix indicators``).

    Attributes
    ----------
    levels : tuple of str
        Unit levels (the national row comes first anyway).
    indicators : tuple of str or None
        Indicators (None: all the columns allow).
    settings : DefinitionSettings or None
        Definition choices.
    years : tuple of int or None
        Only these years (the births of other years are counted, not silently dropped).
    """

    levels: tuple[str, ...] = ()
    indicators: tuple[str, ...] | None = None
    settings: DefinitionSettings | None = None
    years: tuple[int, ...] | None = None


@dataclass(frozen=True)
class BatchPlan:
    """What to do with every batch.

    Attributes
    ----------
    specs : tuple of ModelSpec
        The models whose grouped births to build (none: validation counts only).
    mapping : ColumnMapping or None
        Column mapping of the source columns.
    invalid : {"exclude", "missing", "error"}
        Policy for impossible values (:func:`casemix.records.validate_births`).
    decimal : str or None
        Decimal mark of a CSV source read as text (``","``: numbers get a point).
    errors : {"raise", "report"}
        A batch with fatal problems raises, or adds its problems to the report (which then
        fails as a whole: nothing is grouped).
    rates : RatesPlan or None
        Also count indicator numerators and denominators per unit.
    """

    specs: tuple[ModelSpec, ...] = ()
    mapping: ColumnMapping | None = None
    invalid: str = "exclude"
    decimal: str | None = None
    errors: str = "raise"
    rates: RatesPlan | None = None


@dataclass
class Partial:
    """Sums over the batches seen so far.

    Attributes
    ----------
    n_input, n_kept : int
        Rows read, rows kept by validation.
    problems : list of Problem
        One per kind of problem, its rows summed.
    exclusions : list of dict
        Validation exclusions (``stage, scope, reason, n_rows``), summed by reason.
    grouped : dict
        Spec name -> distinct rows of the model's columns and outcome with their births; and
        :func:`~casemix.models.grouped.subgroup_key` -> those of a calibration subgroup
        outside the model (pattern columns, subgroup, outcome).
    model_exclusions : dict
        Spec name -> the model's exclusions, summed by reason.
    renamed : dict
        Columns renamed to their canonical names.
    rates : pandas.DataFrame or None
        Indicator counts ``level, unit, indicator, numerator, denominator``.
    rates_log : list of dict
        Indicator and comparison exclusions, summed by reason.
    unit_pairs : pandas.DataFrame or None
        Distinct combinations of the unit levels (for their public nesting).
    skipped : dict
        Indicators the columns do not allow, with the reason.
    years_seen : set of int
        Years in the births; ``other_years``: births outside ``RatesPlan.years``.
    dtypes : dict
        Spec name -> the types of the grouped columns in the validated births (the grouped
        rows hold them as categoricals, 1-2 bytes a value, until :func:`restore_types`).
    ordered : set of str
        Keys of ``grouped`` whose rows are already in the order of
        :func:`casemix.engine.scan.sort_grouped` (the table of a single batch).
    """

    n_input: int = 0
    n_kept: int = 0
    problems: list[Problem] = field(default_factory=list)
    exclusions: list[dict[str, Any]] = field(default_factory=list)
    grouped: dict[str, pd.DataFrame] = field(default_factory=dict)
    model_exclusions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    renamed: dict[str, str] = field(default_factory=dict)
    rates: pd.DataFrame | None = None
    rates_log: list[dict[str, Any]] = field(default_factory=list)
    unit_pairs: pd.DataFrame | None = None
    skipped: dict[str, str] = field(default_factory=dict)
    years_seen: set[int] = field(default_factory=set)
    other_years: int = 0
    columns: set[str] = field(default_factory=set)
    dtypes: dict[str, dict[str, Any]] = field(default_factory=dict)
    ordered: set[str] = field(default_factory=set)


def _point_decimals(raw: pd.DataFrame, decimal: str | None) -> pd.DataFrame:
    """Numbers read as text with a decimal comma get a point (as the CSV reader does)."""
    if decimal != ",":
        return raw
    numeric = [c for c in raw.columns if (col := COLUMNS.get(column_key(str(c)))) is not None
               and col.kind in ("int", "float")]
    return raw.assign(**{c: raw[c].str.replace(",", ".", regex=False) for c in numeric})


def run_batch(raw: pd.DataFrame, plan: BatchPlan) -> Partial:
    """Validate one batch, derive each spec's outcome and group its births.

    Raises
    ------
    DataError
        The batch has fatal problems (named as :func:`casemix.load_births` names them), or a
        spec cannot be fitted on it (e.g. an outcome column with values other than 0/1).
    """
    # the ids of the whole source are checked in one query (casemix.engine.scan)
    report = load_births(_point_decimals(raw, plan.decimal), mapping=plan.mapping,
                         invalid=plan.invalid, errors="report",  # type: ignore[arg-type]
                         check_ids=False)
    if plan.errors == "raise":
        report.raise_for_errors()
    part = Partial(report.n_input, len(report.births), list(report.problems),
                   list(report.exclusions.entries), renamed=dict(report.renamed),
                   columns=set(report.births.columns))
    if report.ok:
        group_births(report.births, plan.specs, part)
        if plan.rates is not None:
            count_rates(report.births, plan.rates, part)
    return part


def count_rates(births: pd.DataFrame, plan: RatesPlan, part: Partial) -> None:
    """Add the indicator counts per unit of validated ``births`` to ``part``."""
    if "year" in births:
        part.years_seen |= {int(y) for y in births["year"].dropna().unique()}
        if plan.years:
            keep = births["year"].isin(plan.years)
            part.other_years += int((~keep).sum())
            births = births[keep].reset_index(drop=True)
    flags = derive_indicators(births, list(plan.indicators) if plan.indicators else None,
                              settings=plan.settings)
    table, log = indicator_counts(births, plan.levels, flags)
    part.rates = table
    part.rates_log = list(log.entries)
    part.unit_pairs = births[list(plan.levels)].drop_duplicates() if plan.levels else None
    part.skipped = dict(flags.skipped)


def group_births(births: pd.DataFrame, specs: tuple[ModelSpec, ...], part: Partial) -> None:
    """Add each spec's grouped births and model exclusions of validated ``births`` to
    ``part``."""
    for spec in specs:
        spec.check_data(list(births.columns))
        data = prepare_model_data(births, spec)
        names = list(births.columns)
        outcome = data.y.astype(np.int8)
        tables = {spec.name: model_columns(spec, names)}
        for column in subgroup_columns(spec, names):
            tables[subgroup_key(spec.name, column)] = [*pattern_columns(spec, names), column]
        # the model's columns of the analysed rows are data.frame; only the subgroups'
        # columns are taken from the births (not ids, dates, ...)
        extra = [c for columns in tables.values() for c in columns if c not in data.frame]
        analysed = data.frame.assign(**{
            c: births[c].iloc[data.rows].reset_index(drop=True) for c in dict.fromkeys(extra)})
        for key, columns in tables.items():
            frame = analysed[columns].assign(**{OUTCOME: outcome})
            part.dtypes[key] = {c: frame[c].dtype for c in columns}
            part.grouped[key], in_order = _group_compact(frame)
            if in_order:
                part.ordered.add(key)
        part.model_exclusions[spec.name] = list(data.exclusions.entries)


def _compact(frame: pd.DataFrame) -> pd.DataFrame:
    """Grouped rows with every column as a categorical of its sorted values: the integer
    codes take 1-2 bytes a row where nullable integers and strings take 9-16 (the grouped
    rows of 50M births are held, pickled between processes and regrouped in this form)."""
    for c in frame.columns:
        if c not in (OUTCOME, BIRTHS) and not isinstance(frame[c].dtype, pd.CategoricalDtype):
            frame[c] = frame[c].astype("category")
    return frame


def _group_compact(frame: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """``_compact(_group(frame))`` in one pass, its rows in the order of their values when
    the second value is True (as :func:`casemix.engine.scan.sort_grouped` orders them).

    Notes
    -----
    Every column but the outcome is made a categorical of its sorted values first. Its
    categories are its distinct values, which the grouped rows hold all of, so they equal
    those of the grouped column made categorical afterwards. The rows are grouped on the
    categoricals' codes (missing last) combined in mixed radix, whose sorted distinct values
    (one sort, :func:`_sorted_groups`, as fast as ``pd.factorize`` here) are
    the order of ``sort_values`` on the columns, which orders categoricals by code: the
    final sort is then not needed. Grouping on the codes saves factorising each column twice
    (once to group, once to compact) and taking the rows of 12 typed columns: 180 -> 93 ms
    per batch of 500,000 births of the bench model (min of 7, /tmp/scan/gc.py).
    """
    if not len(frame):
        return _compact(_group(frame)), False
    typed = {c: frame[c] if c == OUTCOME or isinstance(frame[c].dtype, pd.CategoricalDtype)
             else frame[c].astype("category") for c in frame.columns}
    in_order = all(isinstance(v.dtype, pd.CategoricalDtype) or not v.hasnans
                   for v in typed.values())
    combined, in_order = _mixed_radix((_sort_codes(v) for v in typed.values()), len(frame),
                                      ordered=in_order)
    if in_order:
        first, births = _sorted_groups(combined)
    else:
        group, seen = pd.factorize(combined)
        first, births = _first_rows(group, len(seen)), np.bincount(group, minlength=len(seen))
    out = pd.DataFrame({c: _take_rows(v, first) for c, v in typed.items()})
    out[BIRTHS] = births.astype(np.int64)
    return out, in_order


def _sorted_groups(combined: npt.NDArray[np.int64]
                   ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """The first row and the rows of each distinct value of ``combined``, in ascending
    order of the values.

    One sort of the rows; the groups are its runs of equal values, whose smallest row is
    their first: the same as ``np.unique(..., return_inverse=True)`` followed by the first
    rows and a count of the inverse, without writing the inverse (86-92 against 96-108 ms
    for the 1M bench rows, min of 7, /tmp/scan2/uq.py).
    """
    order = np.argsort(combined)
    values = combined[order]
    starts = np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))
    first = np.minimum.reduceat(order, starts).astype(np.intp)
    return first, np.diff(np.append(starts, len(values)))


def _sort_codes(values: pd.Series) -> tuple[npt.NDArray[np.int64], int]:
    """Codes of a column in its sort order: a categorical's codes with missing last, other
    columns as :func:`_column_codes` (integers: their offsets, in order)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy().astype(np.int64)
        size = len(values.cat.categories) + 1
        return np.where(codes < 0, size - 1, codes), size
    return _column_codes(values)


def _take_rows(values: pd.Series, rows: npt.NDArray[np.intp]) -> Any:
    """``values.iloc[rows]`` as an array: categoricals by their codes."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return pd.Categorical.from_codes(values.cat.codes.to_numpy()[rows], dtype=values.dtype)
    return values.to_numpy()[rows]


def _first_rows(group: npt.NDArray[np.intp], n_groups: int) -> npt.NDArray[np.intp]:
    """The first row of each group."""
    first = np.empty(n_groups, dtype=np.intp)
    first[group[::-1]] = np.arange(len(group) - 1, -1, -1)
    return first


def restore_types(frame: pd.DataFrame, dtypes: dict[str, Any]) -> pd.DataFrame:
    """Grouped rows in the types of the validated births (``Partial.dtypes``)."""
    changed = {c: _uncompact(frame[c], t) for c, t in dtypes.items()
               if c in frame and frame[c].dtype != t}
    return frame.assign(**changed) if changed else frame


def _uncompact(values: pd.Series, dtype: Any) -> pd.Series:
    """A categorical column back in ``dtype``: its categories taken by code (missing: -1),
    10x faster than ``astype`` for strings."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        taken = values.cat.categories.take(values.cat.codes.to_numpy(), allow_fill=True,
                                           fill_value=None)
        values = pd.Series(taken, index=values.index)
    return values if values.dtype == dtype else values.astype(dtype)


class Accumulator:
    """Sums of partials, regrouped whenever the rows held double (amortised linear time)."""

    def __init__(self) -> None:
        self.parts: list[Partial] = []
        self._rows = 0
        self._limit = 1_000_000

    def add(self, part: Partial) -> None:
        """Add a partial; regroup when the held rows pass the limit."""
        self.parts.append(part)
        self._rows += sum(len(g) for g in part.grouped.values())
        if self._rows > self._limit and len(self.parts) > 1:
            self.parts = [combine(self.parts)]
            self._rows = sum(len(g) for g in self.parts[0].grouped.values())
            self._limit = max(self._limit, 2 * self._rows)

    def result(self) -> Partial:
        """The sum of everything added."""
        return combine(self.parts) if self.parts else Partial()


def _group(frame: pd.DataFrame, counts: pd.Series | None = None) -> pd.DataFrame:
    """Distinct rows of ``frame`` with their births (``counts`` summed, or rows counted), in
    the order of their first row.

    Each column is factorised (missing values form a code of their own, as in a pandas
    group-by with ``dropna=False``) and the codes are combined into one integer per row,
    whose distinct values are the groups. Written here because pandas' multi-column
    group-by is about 5x slower on the nullable and categorical columns of validated births
    (0.3 s against 0.06 s for 500,000 births by 11 columns).
    """
    keys = [c for c in frame.columns if c != BIRTHS]
    if not len(frame):
        return frame.assign(**{BIRTHS: np.zeros(0, dtype=np.int64)})
    group, n_groups = _row_codes(frame, keys)
    first = _first_rows(group, n_groups)
    if counts is None:
        births = np.bincount(group, minlength=n_groups)
    else:  # counts are whole numbers below 2**53: float sums are exact
        births = np.bincount(group, weights=counts.to_numpy(dtype=float), minlength=n_groups)
    out = frame[keys].iloc[first].reset_index(drop=True)
    out[BIRTHS] = births.astype(np.int64)
    return out


def _row_codes(frame: pd.DataFrame, keys: list[str]) -> tuple[npt.NDArray[np.intp], int]:
    """Group code of every row of ``frame[keys]`` (0..n-1, in order of first appearance):
    the columns' codes combined in mixed radix (:func:`_mixed_radix`), then factorised."""
    combined, _ = _mixed_radix((_column_codes(frame[key]) for key in keys), len(frame),
                               ordered=False)
    group, seen = pd.factorize(combined)
    return group.astype(np.intp), len(seen)


def _mixed_radix(columns: Iterable[tuple[npt.NDArray[np.int64], int]], n: int, *,
                 ordered: bool) -> tuple[npt.NDArray[np.int64], bool]:
    """The codes of the columns combined in mixed radix, one integer per row, and whether
    their order is still that of the codes (not when the combinations pass int64 and are
    renumbered on the way)."""
    combined = np.zeros(n, dtype=np.int64)
    radix = 1
    for codes, size in columns:
        if radix * size >= 2**62:  # renumber the combinations so far, to stay in int64
            combined, seen = pd.factorize(combined)
            radix = len(seen)
            ordered = False
        combined = combined * size + codes
        radix *= size
    return combined, ordered


def _column_codes(values: pd.Series) -> tuple[npt.NDArray[np.int64], int]:
    """Codes 1.. of the distinct values of a column (0: missing) and their number + 1.

    Categoricals give their codes and integers of a small range their offset from the
    minimum, without hashing (a third of the cost of grouping a batch); other columns are
    factorised.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy(dtype=np.int64) + 1, len(values.cat.categories) + 1
    if pd.api.types.is_integer_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        offsets = integer_offsets(values, 2**20)
        if offsets is not None:
            return offsets
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes.astype(np.int64) + 1, len(uniques) + 1


def combine(parts: list[Partial]) -> Partial:
    """The sums of several partials (batches, workers or partitions)."""
    out = Partial()
    for part in parts:
        out.n_input += part.n_input
        out.n_kept += part.n_kept
        out.problems = _merge_problems(out.problems, part.problems)
        out.exclusions = _merge_entries(out.exclusions, part.exclusions)
        out.renamed.update(part.renamed)
        for name, entries in part.model_exclusions.items():
            out.model_exclusions[name] = _merge_entries(out.model_exclusions.get(name, []),
                                                        entries)
        out.rates_log = _merge_entries(out.rates_log, part.rates_log)
        out.skipped.update(part.skipped)
        out.years_seen |= part.years_seen
        out.columns |= part.columns
        for name, types in part.dtypes.items():
            out.dtypes.setdefault(name, types)
    if len(parts) == 1:  # its tables are kept as they are (regroup of one table)
        out.ordered = set(parts[0].ordered)
        out.other_years += part.other_years
    _combine_rates(out, parts)
    names = dict.fromkeys(n for p in parts for n in p.grouped)
    for name in names:
        frames = [p.grouped[name] for p in parts if name in p.grouped]
        out.grouped[name] = regroup(frames)
    return out


def _combine_rates(out: Partial, parts: list[Partial]) -> None:
    """Sum the indicator counts of ``parts`` per (level, unit, indicator)."""
    tables = [p.rates for p in parts if p.rates is not None]
    if tables:
        both = pd.concat(tables, ignore_index=True)
        keys = ["level", "unit", "indicator"]
        out.rates = both.groupby(keys, sort=False, dropna=False)[
            ["numerator", "denominator"]].sum().reset_index()
    pairs = [p.unit_pairs for p in parts if p.unit_pairs is not None]
    if pairs:
        out.unit_pairs = pd.concat(pairs, ignore_index=True).drop_duplicates()


def regroup(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate grouped frames and sum the births of equal rows (categoricals with
    different categories are joined on the sorted union of their categories)."""
    if len(frames) == 1:
        return frames[0]
    columns = {}
    for c in frames[0].columns:
        parts = [f[c] for f in frames]
        if isinstance(parts[0].dtype, pd.CategoricalDtype) and any(
                p.dtype != parts[0].dtype for p in parts[1:]):
            columns[c] = pd.Series(union_categoricals(parts, sort_categories=True))
        else:
            columns[c] = pd.concat(parts, ignore_index=True)
    both = pd.DataFrame(columns)
    return _group(both.drop(columns=BIRTHS), both[BIRTHS])


def _merge_entries(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Exclusion entries summed by (stage, scope, reason), in order of first appearance."""
    out = {(e["stage"], e["scope"], e["reason"]): dict(e) for e in a}
    for e in b:
        key = (e["stage"], e["scope"], e["reason"])
        if key in out:
            out[key]["n_rows"] = int(out[key]["n_rows"]) + int(e["n_rows"])
        else:
            out[key] = dict(e)
    return list(out.values())


_NUMBER = re.compile(r"\d[\d,.]*")


def _kind(p: Problem) -> tuple[str, str, str]:
    """A problem's kind: severity, column and message with its numbers and examples blanked
    (the same finding in two batches differs only in its counts and examples)."""
    text = _NUMBER.sub("#", p.message.split(" e.g. ")[0].split(", e.g.")[0])
    return (p.severity, p.column, text)


def _merge_problems(a: list[Problem], b: list[Problem]) -> list[Problem]:
    """Problems of two partials, one per kind: rows summed, and the count in the message
    (written as the batch wrote it) replaced by the sum; examples are the first batch's."""
    out = {_kind(p): p for p in a}
    for p in b:
        key = _kind(p)
        if key not in out:
            out[key] = p
            continue
        q = out[key]
        total = q.n_rows + p.n_rows
        message = q.message
        if q.n_rows:
            message = message.replace(f"{q.n_rows:,}", f"{total:,}", 1)
        out[key] = Problem(q.severity, q.column, message, total)
    return list(out.values())


_SHARE = re.compile(r"\((\d+(\.\d+)?)%\)")


def finish_problems(part: Partial) -> list[Problem]:
    """The merged problems with their shares of the kept rows recomputed (a message such as
    ``missing in 1,234 rows (0.7%)`` carries a batch's share until then)."""
    out = []
    for p in part.problems:
        if p.n_rows and part.n_kept and _SHARE.search(p.message):
            p = Problem(p.severity, p.column,
                        _SHARE.sub(f"({p.n_rows / part.n_kept:.1%})", p.message, count=1),
                        p.n_rows)
        out.append(p)
    return out


def check_rows(part: Partial) -> None:
    """A source without rows is an error (as for a file read whole)."""
    if part.n_input == 0:
        raise DataError("The births table has no rows; there is nothing to validate or "
                        "analyse.")


def id_problems(missing: int, rows: int, ids: int, examples: Sequence[str]) -> list[Problem]:
    """The problems of missing and duplicated birth ids counted over a whole source, worded
    as validation words them for a table read whole."""
    problems = []
    if missing:
        problems.append(Problem("error", "birth_id", f"birth_id is missing in {missing:,} rows; "
                                "every child needs an id.", missing))
    if rows:
        problems.append(Problem("error", "birth_id", f"birth_id must be unique; {rows:,} rows "
                                f"share {ids:,} ids, e.g. {', '.join(map(repr, examples))}.",
                                rows))
    return problems


def raise_problems(problems: list[Problem]) -> None:
    """Raise :class:`DataError` listing fatal ``problems`` (as a report does)."""
    if problems:
        lines = "\n".join(f"- {p.message}" for p in problems)
        raise DataError(f"The births table has {len(problems)} fatal problem(s):\n{lines}")


def raise_for_ids(missing: int, rows: int, ids: int, examples: Sequence[str]) -> None:
    """Raise :class:`DataError` when birth ids are missing or shared (:func:`id_problems`)."""
    raise_problems(id_problems(missing, rows, ids, examples))


def id_column(columns: Sequence[str], mapping: ColumnMapping | None) -> str | None:
    """The source column that becomes ``birth_id``: the one mapped to it, else the one whose
    normalised name is ``birth_id`` (None: validation names the missing column)."""
    if mapping is not None:
        for source, target in mapping.columns.items():
            if target == "birth_id":
                return source
    return next((c for c in columns if column_key(c) == "birth_id"), None)
