"""From a births source to each model's grouped births, by the engine the data live in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from casemix.engine.batches import (
    BatchPlan,
    Partial,
    check_rows,
    finish_problems,
    group_births,
    id_column,
    raise_for_ids,
)
from casemix.engine.sources import Source, resolve_source
from casemix.exceptions import DataError, ParameterError
from casemix.models.grouped import BIRTHS, GroupedBirths
from casemix.models.spec import ModelSpec
from casemix.records import ColumnMapping, ExclusionLog, Problem, ValidationReport, load_births
from casemix.records.mapping import PRESETS
from casemix.records.sniffing import ReadAssumptions, sniff_csv

__all__ = ["ENGINES", "Scan", "scan_births"]

#: Engines of :func:`scan_births`.
ENGINES = ("duckdb", "pandas", "pyspark")
Engine = Literal["duckdb", "pandas", "pyspark"]


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
    """

    validation: ValidationReport
    grouped: dict[str, GroupedBirths]
    engine: str
    source: Source | None = None

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
        Engine ``duckdb``: births per batch and processes.

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
    plan = BatchPlan(specs, resolved, invalid)
    if engine == "pandas":
        return _pandas(data, plan, sep=sep, decimal=decimal, encoding=encoding)
    if engine == "pyspark":
        from casemix.engine.spark import spark_partial

        part, given = spark_partial(data, plan)
        return _finish(part, plan, engine, None, None, given)
    source = resolve_source(data)
    read = _sniff(source, sep, decimal, encoding)
    if read is not None:
        plan = BatchPlan(specs, resolved, invalid, read.decimal)
    _check_ids(source, read, resolved)
    from casemix.engine.duck import DEFAULT_BATCH_ROWS, duckdb_partial

    part = duckdb_partial(source, plan, read=read, batch_rows=batch_rows or DEFAULT_BATCH_ROWS,
                          workers=workers)
    return _finish(part, plan, engine, source, read, source.given)


def _sniff(source: Source, sep: str | None, decimal: str | None, encoding: str | None
           ) -> ReadAssumptions | None:
    if source.kind != "csv":
        given = [n for n, v in (("sep", sep), ("decimal", decimal), ("encoding", encoding))
                 if v is not None]
        if given:
            raise ParameterError(f"{', '.join(given)} applies to CSV files only; leave it out.")
        return None
    return sniff_csv(source.files[0], sep=sep, decimal=decimal, encoding=encoding)


def _check_ids(source: Source, read: ReadAssumptions | None,
               mapping: ColumnMapping | None) -> None:
    """Missing or duplicated birth ids anywhere in the source: fatal, as in a table read
    whole (batches cannot see ids shared between them)."""
    from casemix.engine.duck import _connect, _relation, duplicate_ids

    columns = _relation(_connect(), source, [str(f) for f in source.files], read).columns
    column = id_column(columns, mapping)
    if column is None:
        return  # validation of the first batch names the missing required column
    raise_for_ids(*duplicate_ids(source, column, read))


def _pandas(data: Any, plan: BatchPlan, *, sep: str | None, decimal: str | None,
            encoding: str | None) -> Scan:
    report = load_births(data, mapping=plan.mapping, invalid=plan.invalid,  # type: ignore[arg-type]
                         sep=sep, decimal=decimal, encoding=encoding)
    part = Partial(report.n_input, len(report.births), list(report.problems),
                   list(report.exclusions.entries), renamed=dict(report.renamed))
    group_births(report.births, plan.specs, part)
    given = "" if isinstance(data, pd.DataFrame) else str(data)
    scan = _finish(part, plan, "pandas", None, report.read_assumptions, given)
    scan.validation = report
    return scan


def _finish(part: Partial, plan: BatchPlan, engine: str, source: Source | None,
            read: ReadAssumptions | None, given: str) -> Scan:
    check_rows(part)
    problems = finish_problems(part)
    if engine != "pandas" and source is not None:
        if read is None:  # Parquet: what load_births says of a Parquet file
            name = source.files[0].name if len(source.files) == 1 else source.given
            read = ReadAssumptions(str(name), "parquet")
        problems = [Problem("info", "", read.describe()), *problems]
    validation = ValidationReport(pd.DataFrame(), problems, ExclusionLog(part.exclusions),
                                  part.n_input, part.renamed, read, n_kept=part.n_kept)
    grouped = {}
    fingerprint = None if source is None or not plan.specs else source.fingerprint()
    for spec in plan.specs:
        frame = part.grouped.get(spec.name)
        if frame is None:
            raise DataError(f"{spec.source}: no births were read.")
        grouped[spec.name] = GroupedBirths(
            sort_grouped(frame), validation,
            ExclusionLog(part.model_exclusions.get(spec.name, [])), engine, given,
            None if source is None else fingerprint)
    return Scan(validation, grouped, engine, source)


def sort_grouped(frame: pd.DataFrame) -> pd.DataFrame:
    """Grouped births in the order of their values (missing last), whatever the engine."""
    keys = [c for c in frame.columns if c != BIRTHS]
    out = frame.sort_values(keys, na_position="last", kind="mergesort", ignore_index=True)
    out[BIRTHS] = out[BIRTHS].astype("int64")
    return out
