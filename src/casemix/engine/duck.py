"""DuckDB: reads Parquet files, folders and globs lazily, in batches, and checks birth ids
across the whole source."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from casemix.engine.batches import Accumulator, BatchPlan, Partial, run_batch
from casemix.engine.sources import Source
from casemix.exceptions import DataError
from casemix.records.sniffing import ReadAssumptions

if TYPE_CHECKING:
    import duckdb

__all__ = ["DEFAULT_BATCH_ROWS", "SERIAL_BATCH_ROWS", "SERIAL_ROWS", "batch_size",
           "duckdb_partial", "duplicate_ids", "worker_count"]

#: Births per batch: about 1 GB of pandas working memory per worker at the peak of validation.
DEFAULT_BATCH_ROWS = 500_000

#: Sources of at most this many births are scanned in this process, batch after batch, unless
#: ``workers`` is given. A spawned worker spends about 0.7 s importing before it reads, and its
#: grouped births are pickled back and regrouped (about 0.3 s for 1M grouped rows); the
#: batches cost this process about 0.4 s per 500,000 births (reading, validation, grouping).
#: With 2 workers a scan takes about ``1.0 s + rows * cost / 2`` against ``rows * cost`` here,
#: so a worker pays only beyond ``2 * 1.0 s / cost``, about 2.5M births. Measured at 1M births
#: (cProfile of scan_births, 3 runs): 1.35-1.68 s here against 3.30-3.39 s with a worker.
#: Larger sources are shared out as before.
SERIAL_ROWS = 2_500_000

#: Births per batch of a source scanned in this process by default (at most
#: :data:`SERIAL_ROWS`): one batch of 1M births peaks at 0.91 GB of this process, where two
#: processes of a 500,000-birth batch each peaked at 0.63 GB (1.3 GB in all), and a 1M source
#: is then read in one batch, without a regroup of two (0.14 s) or the fixed costs of a
#: second batch. Larger sources keep :data:`DEFAULT_BATCH_ROWS`.
SERIAL_BATCH_ROWS = 1_000_000


def _connect() -> duckdb.DuckDBPyConnection:
    import duckdb

    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = true")
    return con


def _relation(con: duckdb.DuckDBPyConnection, source: Source, files: list[str],
              read: ReadAssumptions | None) -> duckdb.DuckDBPyRelation:
    """The source as a DuckDB relation: Parquet as stored; CSV streamed by pyarrow's reader
    with the sniffed delimiter, decimal mark and encoding (the parser of the in-memory path),
    every column as text (validation parses numbers itself)."""
    if source.kind == "parquet":
        return con.read_parquet(files, union_by_name=True)
    return con.from_arrow(_csv_stream(files, read))


def _csv_stream(files: list[str], read: ReadAssumptions | None) -> Any:
    """A pyarrow record-batch stream of CSV files, all columns as strings."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    from casemix.records.csv_files import _arrow_encoding

    encoding = _arrow_encoding((read.encoding if read is not None else None) or "utf-8")
    sep = (read.sep if read is not None else None) or ","

    def streams() -> Any:
        for path in files:
            with open(path, "rb") as fh:
                header = pa_csv.open_csv(
                    fh, read_options=pa_csv.ReadOptions(encoding=encoding),
                    parse_options=pa_csv.ParseOptions(delimiter=sep)).schema.names
            reader = pa_csv.open_csv(
                path, read_options=pa_csv.ReadOptions(encoding=encoding, block_size=1 << 24),
                parse_options=pa_csv.ParseOptions(delimiter=sep),
                convert_options=pa_csv.ConvertOptions(
                    column_types={n: pa.string() for n in header}, strings_can_be_null=True))
            yield from reader

    first = next(iter(streams()))
    return pa.RecordBatchReader.from_batches(first.schema, streams())


def _batches(source: Source, files: list[str], read: ReadAssumptions | None,
             batch_rows: int, part: int = 0, parts: int = 1,
             con: duckdb.DuckDBPyConnection | None = None,
             dictionaries: bool = False) -> Iterator[pd.DataFrame]:
    """The rows of ``files`` in batches (every ``parts``-th batch from ``part``), read on
    ``con`` (default: a new connection with one thread, one core per worker); a single
    Parquet file of one batch by :func:`_whole_file` (``dictionaries``: its label and unit
    code columns as categoricals)."""
    whole = _whole_file(source, files, batch_rows, dictionaries, parts)
    if whole is not None:
        yield whole
        return
    if con is None:
        con = _connect()
        con.execute("SET threads = 1")  # one core per worker: the other runs another worker
    reader = _relation(con, source, files, read).to_arrow_reader(batch_rows)
    for i, batch in enumerate(reader):
        if i % parts == part:
            yield batch.to_pandas()


#: Arrow types that DuckDB and pyarrow turn into the same pandas column (:func:`_whole_file`).
_PLAIN_TYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                "uint64", "float", "double", "string", "large_string")


def _whole_file(source: Source, files: list[str], batch_rows: int, dictionaries: bool,
                parts: int) -> pd.DataFrame | None:
    """A single Parquet file of one row group and at most one batch, read by pyarrow; None:
    read by DuckDB.

    Notes
    -----
    pyarrow reads the file as DuckDB's one batch of it would give it (same columns, order
    and pandas types), for the plain types of :data:`_PLAIN_TYPES` only, and without the
    file's pandas metadata (which DuckDB ignores: an index or extension types). It reads
    the strings of dictionary-encoded columns once each, where DuckDB writes out every row:
    with ``dictionaries`` the label and unit code columns of the canonical schema (names
    matched as validation matches them) come as categoricals, which validation factorises
    without hashing their strings. 1M births of the bench: read 0.30-0.35 s -> 0.13 s, and
    validation of those 7 columns 0.31 s -> 0.10 s (labels 45 -> 7 ms, unit codes 50 -> 20 ms
    a column), min of 5. Other sources keep DuckDB's batches (their problems show the first
    batch's examples, so the batch boundaries must not move); DuckDB makes a batch of each
    row group at most, so a file of one row group is its one batch."""
    if source.kind != "parquet" or len(files) != 1 or parts != 1:
        return None
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(files[0])
    schema = meta.schema_arrow
    if (meta.metadata.num_rows > batch_rows or meta.metadata.num_row_groups != 1
            or len(set(schema.names)) < len(schema)
            or any(str(f.type) not in _PLAIN_TYPES for f in schema)):
        return None
    labels = [f.name for f in schema if dictionaries and _is_label(f.name)
              and str(f.type) in ("string", "large_string")]
    table = pq.read_table(files[0], read_dictionary=labels or None)
    return table.replace_schema_metadata(None).to_pandas()


def _is_label(name: str) -> bool:
    """A column that validation reads as category labels or unit codes (by its name)."""
    from casemix.records.schema import COLUMNS, UNIT_LEVELS, column_key

    col = COLUMNS.get(name if name in COLUMNS else column_key(name))
    return col is not None and (col.kind == "category" or col.name in UNIT_LEVELS)


def _work(source: Source, files: list[str], read: ReadAssumptions | None, plan: BatchPlan,
          batch_rows: int, part: int, parts: int,
          con: duckdb.DuckDBPyConnection | None = None) -> Partial:
    acc = Accumulator()
    for raw in _batches(source, files, read, batch_rows, part, parts, con,
                        dictionaries=plan.mapping is None):
        acc.add(run_batch(raw, plan))
    return acc.result()


def worker_count(source: Source, batch_rows: int = DEFAULT_BATCH_ROWS,
                 workers: int | None = None, read: ReadAssumptions | None = None) -> int:
    """Processes that scan ``source``: ``workers`` (at most the batches); by default 1 for a
    source of at most :data:`SERIAL_ROWS` births (no worker is started), else the cores, at
    most the batches."""
    total = _rows(source, [str(f) for f in source.files], read)
    return _workers(total, batch_rows, workers)


def batch_size(source: Source, batch_rows: int | None = None, workers: int | None = None,
               read: ReadAssumptions | None = None) -> int:
    """Births per batch: ``batch_rows``; by default :data:`SERIAL_BATCH_ROWS` for a source
    that this process scans alone (:func:`worker_count`), else :data:`DEFAULT_BATCH_ROWS`."""
    if batch_rows:
        return batch_rows
    total = _rows(source, [str(f) for f in source.files], read)
    if workers is None and total <= SERIAL_ROWS:
        return SERIAL_BATCH_ROWS
    return DEFAULT_BATCH_ROWS


def _workers(total: int, batch_rows: int, workers: int | None) -> int:
    if workers is None and total <= SERIAL_ROWS:
        return 1  # starting a worker costs more than it saves (SERIAL_ROWS)
    batches = max(1, -(-total // batch_rows))
    return max(1, min(workers or os.cpu_count() or 1, batches))


def duckdb_partial(source: Source, plan: BatchPlan, *, read: ReadAssumptions | None = None,
                   batch_rows: int = DEFAULT_BATCH_ROWS, workers: int | None = None,
                   con: duckdb.DuckDBPyConnection | None = None) -> Partial:
    """Validate and group the births of ``source`` in batches, in ``workers`` processes.

    Parameters
    ----------
    source : Source
    plan : BatchPlan
    read : ReadAssumptions, optional
        How a CSV source is read (delimiter, decimal mark, encoding).
    batch_rows : int
        Births per batch.
    workers : int, optional
        Processes (default: :func:`worker_count`: none started for a source of at most
        :data:`SERIAL_ROWS` births, else the cores, at most the batches), this one among
        them when there is at most one batch per worker. Parquet files are shared out whole
        when there are at least as many as workers; otherwise every worker takes every
        ``workers``-th batch.
    con : duckdb.DuckDBPyConnection, optional
        The connection that reads the batches when they are read in this process alone.
    """
    files = [str(f) for f in source.files]
    total = _rows(source, files, read)
    batches = max(1, -(-total // batch_rows))
    workers = _workers(total, batch_rows, workers)
    if workers == 1:
        return _work(source, files, read, plan, batch_rows, 0, 1, con)
    if source.kind == "parquet" and len(files) >= workers:
        jobs = [(files[i::workers], 0, 1) for i in range(workers)]
    else:
        jobs = [(files, i, workers) for i in range(workers)]
    # a source of at most one batch per worker: this process takes the first batch itself
    # while the others start (a spawned worker spends 0.7 s importing before it reads)
    here = int(batches <= workers)
    with ProcessPoolExecutor(workers - here, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(_work, source, f, read, plan, batch_rows, i, n)
                   for f, i, n in jobs[here:]]
        parts = [_work(source, f, read, plan, batch_rows, i, n) for f, i, n in jobs[:here]]
        parts += [f.result() for f in futures]
    acc = Accumulator()
    for p in parts:
        acc.add(p)
    return acc.result()


def _rows(source: Source, files: list[str], read: ReadAssumptions | None) -> int:
    """Rows of the source: the row counts in the Parquet footers (no query); for CSV
    estimated from the lines in the first megabyte (it only decides how many workers to
    start, and counting would parse the whole file once more)."""
    if source.kind != "parquet":
        return sum(_csv_rows_estimate(Path(f)) for f in files)
    import pyarrow.parquet as pq

    return sum(pq.read_metadata(f).num_rows for f in files)


def _csv_rows_estimate(path: Path) -> int:
    """Lines of a CSV file, estimated from the bytes per line of its first megabyte."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(1 << 20)
    lines = head.count(b"\n")
    return size // max(1, len(head) // max(1, lines)) if lines else 1


def duplicate_ids(source: Source, column: str, read: ReadAssumptions | None = None,
                  con: duckdb.DuckDBPyConnection | None = None
                  ) -> tuple[int, int, int, list[str]]:
    """Birth ids over the whole source: ``(missing, rows sharing an id, ids shared,
    examples)``, as validation counts them in a table read whole (ids compared after
    trimming spaces); both queries run on ``con`` (default: a new connection).

    Notes
    -----
    One pass sorts the 64-bit hashes of the ids and compares each with the one before it:
    equal ids have equal hashes, so only ids whose hash occurs twice can be shared, and a
    second pass, run only when there are such hashes, counts those ids exactly (a hash
    collision of distinct ids is thereby not counted). Sorting the hashes takes half the
    time of grouping them and a third of the memory (50M ids: 4.7 s and 1.4 GB against
    8.6 s and 3 GB), as the group-by holds a table of every distinct id.
    """
    q = f'nullif(trim(CAST("{column.replace(chr(34), chr(34) * 2)}" AS VARCHAR)), \'\')'
    con = _connect() if con is None else con
    _register(con, source, read, column)
    rows = con.execute(
        "SELECT h, count(*) FROM (SELECT h, lag(h) OVER (ORDER BY h) AS before FROM "
        f"(SELECT CASE WHEN {q} IS NULL THEN NULL ELSE hash({q}) END AS h FROM births_source)"
        ") WHERE h IS NULL OR h = before GROUP BY h").fetchall()
    missing = sum(int(k) for h, k in rows if h is None)
    hashes = [int(h) for h, _ in rows if h is not None]
    if not hashes:
        return missing, 0, 0, []
    _register(con, source, read, column)  # anew: a CSV stream is read once
    con.register("shared_hashes", pd.DataFrame({"h": pd.array(hashes, dtype="UInt64")}))
    shared = con.execute(
        f"SELECT {q} AS id, count(*) AS k FROM births_source WHERE {q} IS NOT NULL AND "
        f"hash({q}) IN (SELECT h FROM shared_hashes) GROUP BY 1 HAVING count(*) > 1 "
        "ORDER BY 1").fetchall()
    return (missing, sum(int(k) for _, k in shared), len(shared),
            [str(i) for i, _ in shared[:5]])


def _register(con: duckdb.DuckDBPyConnection, source: Source, read: ReadAssumptions | None,
              column: str) -> None:
    """The source as view ``births_source`` of ``con``; its id ``column`` must exist."""
    rel = _relation(con, source, [str(f) for f in source.files], read)
    if column not in rel.columns:
        raise DataError(f"Column {column!r} (birth_id) is not in {source.given}.")
    con.register("births_source", rel)
