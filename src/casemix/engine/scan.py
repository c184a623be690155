"""From a births source to each model's grouped births, by the engine the data live in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from casemix.calibration.groups import DERIVED_GROUPS
from casemix.engine.batches import (
    BatchPlan,
    Partial,
    RatesPlan,
    check_rows,
    count_rates,
    finish_problems,
    group_births,
    id_column,
    id_problems,
    raise_problems,
    restore_types,
)
from casemix.engine.sources import Source, resolve_source
from casemix.exceptions import DataError, ParameterError
from casemix.models.grouped import BIRTHS, GroupedBirths, files_fingerprint, subgroup_key
from casemix.models.spec import ModelSpec
from casemix.records import ColumnMapping, ExclusionLog, Problem, ValidationReport, load_births
from casemix.records.mapping import PRESETS
from casemix.records.sniffing import ReadAssumptions, sniff_csv

if TYPE_CHECKING:
    import duckdb

__all__ = ["ENGINES", "Rates", "RatesPlan", "Scan", "scan_births"]

#: Engines of :func:`scan_births`.
ENGINES = ("duckdb", "pandas", "pyspark")
Engine = Literal["duckdb", "pandas", "pyspark"]


@dataclass
class Rates:
    """Indicator counts per unit of a whole source (``casemix indicators``).

    Attributes
    ----------
    counts : pandas.DataFrame
        ``level, unit, indicator, numerator, denominator`` in the order of
        :func:`casemix.indicators.indicator_counts` (national first, units sorted).
    log : ExclusionLog
        Indicator denominators and births without a unit code.
    unit_pairs : pandas.DataFrame or None
        Distinct combinations of the unit levels (their nesting is public).
    skipped : dict
        Indicators not derived, with the reason.
    years_seen : tuple of int
        Years in the source; ``other_years``: births of years not asked for.
    """

    counts: pd.DataFrame
    log: ExclusionLog
    unit_pairs: pd.DataFrame | None
    skipped: dict[str, str]
    years_seen: tuple[int, ...]
    other_years: int


def _rates(part: Partial, plan: RatesPlan) -> Rates:
    table = part.rates if part.rates is not None else pd.DataFrame(
        columns=["level", "unit", "indicator", "numerator", "denominator"])
    level_rank = {lv: i for i, lv in enumerate(["national", *plan.levels])}
    national = table.loc[table["level"] == "national", "indicator"]
    indicator_rank = {name: i for i, name in enumerate(dict.fromkeys(national))}
    order = pd.DataFrame({"l": table["level"].map(level_rank), "u": table["unit"].astype(str),
                          "i": table["indicator"].map(indicator_rank)})
    table = table.iloc[order.sort_values(["l", "u", "i"], kind="mergesort").index]
    return Rates(table.reset_index(drop=True), ExclusionLog(part.rates_log), part.unit_pairs,
                 part.skipped, tuple(sorted(part.years_seen)), part.other_years)


@dataclass
class Scan:
    """A births source validated and grouped for one or more models.

    Attributes
    ----------
    validation : ValidationReport
        Rows read and kept, problems and exclusions of the whole source (``births`` is
        empty unless the engine is ``pandas``).
    grouped : dict
        Spec name -> :class:`~casemix.models.grouped.GroupedBirths`.
    engine : str
    source : Source or None
        The files (None for a table in memory or a Spark DataFrame).
    rates : Rates or None
        Indicator counts per unit, when asked for (``rates=``).
    """

    validation: ValidationReport
    grouped: dict[str, GroupedBirths]
    engine: str
    source: Source | None = None
    rates: Rates | None = None

    def __getitem__(self, name: str) -> GroupedBirths:
        return self.grouped[name]


def _mapping(mapping: str | Path | ColumnMapping | None) -> ColumnMapping | None:
    if mapping is None or isinstance(mapping, ColumnMapping):
        return mapping
    if str(mapping) in PRESETS:
        return ColumnMapping.preset(str(mapping))
    return ColumnMapping.from_toml(mapping)


def scan_births(
    data: str | Path | pd.DataFrame | Any,
    specs: Sequence[ModelSpec] = (),
    *,
    engine: Engine = "duckdb",
    mapping: str | Path | ColumnMapping | None = None,
    invalid: str = "exclude",
    sep: str | None = None,
    decimal: str | None = None,
    encoding: str | None = None,
    batch_rows: int | None = None,
    workers: int | None = None,
    errors: Literal["raise", "report"] = "raise",
    rates: RatesPlan | None = None,
) -> Scan:
    """Validate a births source and group the births of each model, out of core.

    Parameters
    ----------
    data : path, pandas.DataFrame or pyspark.sql.DataFrame
        A file (``.parquet``, ``.csv``), a folder of Parquet files, a glob pattern, a table
        in memory (engine ``pandas``) or a Spark DataFrame (engine ``pyspark``).
    specs : sequence of ModelSpec
        Models whose grouped births to build (none: validation only).
    engine : {"duckdb", "pandas", "pyspark"}
        ``duckdb`` (default) streams the files in batches on this machine; ``pyspark``
        runs the batches where a Spark DataFrame (or files read by Spark) lives and sums
        them there; ``pandas`` reads the table whole.
    mapping, invalid, sep, decimal, encoding
        As for :func:`casemix.load_births`.
    batch_rows, workers : int, optional
        Engine ``duckdb``: births per batch and processes (default: one process and batches
        of 1M births for a source of at most 2.5M, else 500,000 births per batch and a
        process per core, :mod:`casemix.engine.duck`).
    errors : {"raise", "report"}
        Raise on fatal problems, or return them in ``scan.validation`` (every batch is read,
        so the report counts the whole source; nothing is grouped).
    rates : RatesPlan, optional
        Also count indicator numerators and denominators per unit (``scan.rates``).

    Returns
    -------
    Scan

    Raises
    ------
    DataError
        Fatal problems (as :func:`casemix.load_births` raises them; duplicated birth ids are
        found across batches), or a spec that needs case weights (engine ``pandas`` only).

    Notes
    -----
    Each batch goes through the package's one implementation of validation, column mapping,
    indicator derivation and model exclusions; the engine reads, distributes and sums
    (:mod:`casemix.engine.batches`). The grouped births are sorted, so every engine gives
    the same table, and a fit on it the same cells, coefficients and ``units.csv`` as a fit
    on the births in memory (tests/engine/test_engines.py).
    """
    if engine not in ENGINES:
        raise ParameterError(f"engine must be one of {', '.join(ENGINES)}; got {engine!r}.")
    specs = tuple(specs)
    for spec in specs:
        if spec.weights is not None:
            raise DataError(f"{spec.source}: case weights ({spec.weights!r}) need the births "
                            "in memory; use engine 'pandas'.")
    resolved = _mapping(mapping)
    plan = BatchPlan(specs, resolved, invalid, errors=errors, rates=rates)
    if engine == "pandas":
        return _pandas(data, plan, sep=sep, decimal=decimal, encoding=encoding)
    if engine == "pyspark":
        from casemix.engine.spark import spark_partial

        part, given = spark_partial(data, plan)
        return _finish(part, plan, engine, None, None, given)
    source = resolve_source(data)
    read = _sniff(source, sep, decimal, encoding)
    if read is not None:
        plan = BatchPlan(specs, resolved, invalid, read.decimal, errors, rates)
    from casemix.engine.duck import batch_size

    try:
        part, id_problems = _duckdb(source, plan, read, batch_size(source, batch_rows, workers,
                                                                   read), workers)
    except DataError:
        raise
    except Exception as exc:  # a CSV file the stream cannot parse: the whole-file reader
        if source.kind != "csv":  # explains it (line numbers, hints) or reads it after all
            raise
        return _unstreamable(source, exc, plan, sep=sep, decimal=decimal, encoding=encoding)
    part.problems = [*part.problems, *id_problems]
    scan = _finish(part, plan, engine, source, read, source.given)
    del part
    return_freed_memory()
    return scan


def return_freed_memory() -> None:
    """Give the memory freed by the batches back to the operating system (glibc only).

    Notes
    -----
    The regrouped partials free many arrays of a few megabytes, which glibc's allocator keeps
    in its heap for reuse (its mmap threshold rises with such frees); ``malloc_trim`` returns
    them: about 220 MB of the main process after scanning 50M births, memory the fit that
    follows would not otherwise get back below its peak.
    """
    import contextlib
    import ctypes
    import ctypes.util

    # not glibc (macOS, Windows, musl): nothing to do
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)


def _unstreamable(source: Source, exc: Exception, plan: BatchPlan, **read: Any) -> Scan:
    """A CSV file that cannot be streamed (a ragged line, an encoding that changes further
    on): read whole by the package's CSV reader, whose error names the lines and the fix."""
    if len(source.files) != 1:
        raise DataError(f"{source.given} cannot be read as CSV: {exc}") from exc
    scan = _pandas(source.files[0], plan, **read)
    scan.validation.problems.append(Problem(
        "info", "", f"{source.files[0].name} could not be streamed ({type(exc).__name__}); "
        "read whole instead."))
    return scan


def _sniff(source: Source, sep: str | None, decimal: str | None, encoding: str | None
           ) -> ReadAssumptions | None:
    if source.kind != "csv":
        given = [n for n, v in (("sep", sep), ("decimal", decimal), ("encoding", encoding))
                 if v is not None]
        if given:
            raise ParameterError(f"{', '.join(given)} applies to CSV files only; leave it out.")
        return None
    return sniff_csv(source.files[0], sep=sep, decimal=decimal, encoding=encoding)


def _duckdb(source: Source, plan: BatchPlan, read: ReadAssumptions | None, batch_rows: int,
            workers: int | None) -> tuple[Partial, list[Problem]]:
    """The batches of ``source`` summed by :func:`~casemix.engine.duck.duckdb_partial`, and
    the problems of its birth ids (:func:`_check_ids`).

    Notes
    -----
    When worker processes are started the ids are checked first, so that the query's memory
    (1.4 GB at 50M births) does not add to theirs. A source scanned in this process alone
    has its ids checked in a thread while the batches are validated: DuckDB runs the query
    without holding the GIL, on the core that validation leaves idle (0.15-0.3 s for 1M
    births, hidden). Fatal id problems are still raised before a batch's own.
    """
    from concurrent.futures import ThreadPoolExecutor

    from casemix.engine.duck import _connect, duckdb_partial, worker_count

    raise_ = plan.errors == "raise"
    con = _connect()
    if worker_count(source, batch_rows, workers, read) > 1:
        try:
            problems = _check_ids(source, read, plan.mapping, con, raise_=raise_)
        finally:
            con.close()  # else the connection keeps the query's memory while workers run
        return duckdb_partial(source, plan, read=read, batch_rows=batch_rows,
                              workers=workers), problems
    with ThreadPoolExecutor(1) as pool:
        ids = pool.submit(_check_ids, source, read, plan.mapping, con.cursor(), raise_=raise_)
        try:
            part = duckdb_partial(source, plan, read=read, batch_rows=batch_rows, workers=1,
                                  con=con)
        except DataError:
            ids.result()  # fatal id problems first, as when the ids are checked first
            raise
        return part, ids.result()


def _check_ids(source: Source, read: ReadAssumptions | None,
               mapping: ColumnMapping | None, con: duckdb.DuckDBPyConnection, *,
               raise_: bool) -> list[Problem]:
    """Missing or duplicated birth ids anywhere in the source, queried on ``con``: fatal, as
    in a table read whole (batches cannot see ids shared between them)."""
    from casemix.engine.duck import _relation, duplicate_ids

    columns = _relation(con, source, [str(f) for f in source.files], read).columns
    column = id_column(columns, mapping)
    if column is None:
        return []  # validation of the first batch names the missing required column
    problems = id_problems(*duplicate_ids(source, column, read, con))
    if raise_:
        raise_problems(problems)
    return problems


def _pandas(data: Any, plan: BatchPlan, *, sep: str | None, decimal: str | None,
            encoding: str | None) -> Scan:
    report = load_births(data, mapping=plan.mapping, invalid=plan.invalid,  # type: ignore[arg-type]
                         sep=sep, decimal=decimal, encoding=encoding,
                         errors=plan.errors)  # type: ignore[arg-type]
    part = Partial(report.n_input, len(report.births), list(report.problems),
                   list(report.exclusions.entries), renamed=dict(report.renamed))
    if not report.ok:
        return Scan(report, {}, "pandas", None)
    group_births(report.births, plan.specs, part)
    if plan.rates is not None:
        count_rates(report.births, plan.rates, part)
    given = "" if isinstance(data, pd.DataFrame) else str(data)
    scan = _finish(part, plan, "pandas", None, report.read_assumptions, given)
    scan.validation = report
    if given:
        for grouped in scan.grouped.values():
            grouped.validation = report
            grouped.source_sha256 = files_fingerprint([Path(given)])
    return scan


def _finish(part: Partial, plan: BatchPlan, engine: str, source: Source | None,
            read: ReadAssumptions | None, given: str) -> Scan:
    if plan.errors == "raise":
        check_rows(part)
    problems = finish_problems(part)
    if part.n_input == 0:
        problems.append(Problem("error", "", "The births table has no rows; there is nothing "
                                "to validate or analyse. Check that the export holds the "
                                "births, not only the column names."))
    if any(p.severity == "error" for p in problems):  # as validation refuses a table
        part.n_kept = 0
        logged = sum(int(e["n_rows"]) for e in part.exclusions if e["scope"] == "all")
        fatal = "; ".join(sorted({p.column for p in problems if p.severity == "error"}))
        part.exclusions = [*part.exclusions, {
            "stage": "validation", "scope": "all", "n_rows": part.n_input - logged,
            "reason": f"not usable: fatal problem(s) in {fatal} (see the problems)"}]
    if engine != "pandas" and source is not None:
        if read is None:  # Parquet: what load_births says of a Parquet file
            name = source.files[0].name if len(source.files) == 1 else source.given
            read = ReadAssumptions(str(name), "parquet")
        problems = [Problem("info", "", read.describe()), *problems]
    validation = ValidationReport(pd.DataFrame(), problems, ExclusionLog(part.exclusions),
                                  part.n_input, part.renamed, read, n_kept=part.n_kept)
    grouped: dict[str, GroupedBirths] = {}
    if not validation.ok:
        return Scan(validation, grouped, engine, source)
    rates = None if plan.rates is None else _rates(part, plan.rates)
    fingerprint = None if source is None or not plan.specs else source.fingerprint()
    for spec in plan.specs:
        frame = part.grouped.get(spec.name)
        if frame is None:
            raise DataError(f"{spec.source}: no births were read.")
        frame = restore_types(_in_order(part, spec.name), part.dtypes.get(spec.name, {}))
        grouped[spec.name] = GroupedBirths(
            frame, validation,
            ExclusionLog(part.model_exclusions.get(spec.name, [])), engine, given,
            None if source is None else fingerprint, _notes(part),
            _subgroup_tables(part, spec.name))
    return Scan(validation, grouped, engine, source, rates)


def _subgroup_tables(part: Partial, name: str) -> dict[str, pd.DataFrame]:
    """The grouped tables of the calibration subgroups of spec ``name``, sorted and typed."""
    out = {}
    for key in part.grouped:
        spec, _, column = key.partition(subgroup_key("", ""))
        if spec == name and column:
            out[column] = restore_types(_in_order(part, key), part.dtypes.get(key, {}))
    return out


def _notes(part: Partial) -> list[str]:
    """What a run of grouped births leaves out (docs/engine.md)."""
    notes = ["calibration.csv: ICI, E50, E90 and Emax (lowess over the births) are not "
             "computed on grouped births; fit with --engine pandas for them."]
    source = DERIVED_GROUPS.get("neighbourhood_ses_quintile", ("", 0))[0]
    if source in part.columns:
        notes.append("calibration_neighbourhood_ses_quintile.csv is not written: the quintiles "
                     "need every birth's value before grouping; fit with --engine pandas for "
                     "it.")
    return notes


def _in_order(part: Partial, key: str) -> pd.DataFrame:
    """Grouped table ``key`` of ``part`` sorted (:func:`sort_grouped`); a table already in
    that order (one batch, ``part.ordered``) as it is, without sorting it again (0.11 s for
    the 1M grouped rows of the bench model)."""
    frame = part.grouped[key]
    if key in part.ordered:
        return frame.reset_index(drop=True).assign(**{BIRTHS: frame[BIRTHS].astype("int64")})
    return sort_grouped(frame)


def sort_grouped(frame: pd.DataFrame) -> pd.DataFrame:
    """Grouped births in the order of their values (missing last), whatever the engine."""
    keys = [c for c in frame.columns if c != BIRTHS]
    out = frame.sort_values(keys, na_position="last", kind="mergesort", ignore_index=True)
    out[BIRTHS] = out[BIRTHS].astype("int64")
    return out
