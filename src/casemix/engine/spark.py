"""Spark: validates and groups the births of a Spark DataFrame where its partitions live.

Every partition runs the package's batch logic (:func:`casemix.engine.batches.run_batch`) on
its Arrow batches and sums them; it yields the grouped rows of every model, with the model's
columns as text, and one row with its counts as JSON. Spark sums the births of equal rows, so
only the distinct rows travel to the driver, which restores each column's type from a small
local sample run through the same code.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from casemix.engine.batches import (
    Accumulator,
    BatchPlan,
    Partial,
    combine,
    id_column,
    raise_for_ids,
    run_batch,
)
from casemix.exceptions import DataError, ParameterError
from casemix.models.grouped import BIRTHS, OUTCOME
from casemix.records import Problem

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame

__all__ = ["SAMPLE_ROWS", "spark_partial"]

#: Births of the local sample whose grouped frames give each column's type.
SAMPLE_ROWS = 1000

SPEC = "_spec"
META = "_meta"
_CSV = {".csv": ",", ".txt": ",", ".tsv": "\t"}

#: Spec name -> column -> dtype of its grouped frame (without the births).
Layout = dict[str, dict[str, Any]]


def spark_partial(data: Any, plan: BatchPlan) -> tuple[Partial, str]:
    """Validate and group the births of a Spark DataFrame (or files read by Spark).

    Parameters
    ----------
    data : pyspark.sql.DataFrame or str or pathlib.Path
        Births in the source's raw columns, or a Parquet file, folder or glob (a ``.csv``
        path is read as text, every column a string) read by the active SparkSession.
    plan : BatchPlan

    Returns
    -------
    Partial
        The sums over all partitions, with each spec's grouped births in the types of the
        pandas path.
    str
        The path, or ``"spark DataFrame"``.

    Raises
    ------
    DataError
        Missing or duplicated birth ids anywhere in the data, or fatal problems of a
        partition (as :func:`casemix.load_births` names them).
    """
    df, given = _frame(data)
    _check_ids(df, plan)
    layout = _layout(df, plan)
    columns = list(dict.fromkeys(c for cols in layout.values() for c in cols if c != OUTCOME))
    rows = _grouped_rows(df, plan, columns)
    return _assemble(rows, layout), given


def _frame(data: Any) -> tuple[DataFrame, str]:
    """The Spark DataFrame of ``data`` and how it was given."""
    from pyspark.sql import DataFrame, SparkSession

    if isinstance(data, DataFrame):
        return data, "spark DataFrame"
    if not isinstance(data, str | Path):
        raise ParameterError("engine 'pyspark' reads a Spark DataFrame or a path; got "
                             f"{type(data).__name__}.")
    text = str(data)
    spark = SparkSession.builder.getOrCreate()
    sep = _CSV.get(Path(text).suffix.lower())
    if sep is not None:
        return spark.read.csv(text, header=True, inferSchema=False, sep=sep), text
    return spark.read.parquet(text), text


def _check_ids(df: DataFrame, plan: BatchPlan) -> None:
    """Missing or duplicated birth ids over all partitions (ids compared after trimming
    spaces), with the wording of a table read whole."""
    from pyspark.sql import functions as sf

    column = id_column(df.columns, plan.mapping)
    if column is None:
        return  # validation names the missing required column
    if column not in df.columns:
        raise DataError(f"Column {column!r} (birth_id) is not in the Spark DataFrame.")
    trimmed = sf.trim(df[column].cast("string"))
    ident = sf.when(trimmed == "", None).otherwise(trimmed).alias("id")
    counts = df.select(ident).groupBy("id").count()
    shared = sf.col("id").isNotNull() & (sf.col("count") > 1)
    row = counts.agg(sf.sum(sf.when(sf.col("id").isNull(), sf.col("count"))),
                     sf.sum(sf.when(shared, sf.col("count"))),
                     sf.sum(sf.when(shared, sf.lit(1)))).collect()[0]
    missing, rows, ids = (int(v or 0) for v in row)
    examples = []
    if rows:
        examples = [r["id"] for r in counts.filter(shared).orderBy("id").limit(5).collect()]
    raise_for_ids(missing, rows, ids, examples)


def _layout(df: DataFrame, plan: BatchPlan) -> Layout:
    """Each spec's grouped columns and their types, from a local sample of the births."""
    sample = df.limit(SAMPLE_ROWS).toPandas()
    if not len(sample):
        return {}
    part = run_batch(sample, plan)
    return {name: {c: part.dtypes[name].get(c, frame[c].dtype) for c in frame.columns
                   if c != BIRTHS} for name, frame in part.grouped.items()}


def _arrow_schema(columns: list[str]) -> pa.Schema:
    import pyarrow as pa

    return pa.schema([(SPEC, pa.string()), (META, pa.string()),
                      *[(c, pa.string()) for c in columns],
                      (OUTCOME, pa.int32()), (BIRTHS, pa.int64())])


def _grouped_rows(df: DataFrame, plan: BatchPlan, columns: list[str]) -> pd.DataFrame:
    """Every partition's grouped rows and counts, births summed over equal rows by Spark."""
    from pyspark.sql import functions as sf
    from pyspark.sql.pandas.types import from_arrow_schema

    schema = from_arrow_schema(_arrow_schema(columns))
    out = df.mapInArrow(partial(_partition, plan=plan, columns=columns), schema)
    keys = [SPEC, META, *columns, OUTCOME]
    return out.groupBy(*keys).agg(sf.sum(BIRTHS).alias(BIRTHS)).toPandas()


def _partition(batches: Iterator[pa.RecordBatch], plan: BatchPlan, columns: list[str]
               ) -> Iterator[pa.RecordBatch]:
    """One partition: its batches validated, grouped and summed; its grouped rows (columns as
    text) and one row of counts (JSON in :data:`META`)."""
    import pyarrow as pa
    from pyspark import TaskContext

    acc, error = Accumulator(), None
    try:
        for batch in batches:
            if batch.num_rows:
                acc.add(run_batch(batch.to_pandas(), plan))
    except DataError as exc:
        error = str(exc)
    part = acc.result()
    schema = _arrow_schema(columns)
    for name, frame in part.grouped.items():
        yield pa.RecordBatch.from_pandas(_encode(frame, name, columns), schema=schema,
                                         preserve_index=False)
    context = TaskContext.get()
    meta = _meta(part, context.partitionId() if context is not None else 0, error)
    row = {SPEC: [None], META: [meta], **{c: [None] for c in columns},
           OUTCOME: [0], BIRTHS: [0]}
    yield pa.RecordBatch.from_pydict(row, schema=schema)


def _encode(frame: pd.DataFrame, name: str, columns: list[str]) -> pd.DataFrame:
    """A grouped frame in the output schema: the model's columns as text (missing: null)."""
    n = len(frame)
    out = {SPEC: [name] * n, META: [None] * n}
    for c in columns:
        out[c] = _to_text(frame[c]) if c in frame.columns else [None] * n
    return pd.DataFrame({**out, OUTCOME: frame[OUTCOME].to_numpy(dtype=np.int32),
                         BIRTHS: frame[BIRTHS].to_numpy(dtype=np.int64)})


def _to_text(s: pd.Series) -> list[str | None]:
    """Values as text that :func:`_from_text` reads back exactly (floats by ``repr``)."""
    exact = pd.api.types.is_float_dtype(s.dtype) and not isinstance(s.dtype, pd.CategoricalDtype)
    text = (lambda v: repr(float(v))) if exact else str
    return [None if missing else text(v) for v, missing in zip(s.astype(object), s.isna(),
                                                               strict=True)]


def _from_text(values: pd.Series, dtype: Any) -> pd.Series:
    """Text of :func:`_to_text` (missing: None) back in ``dtype``."""
    values = values.reset_index(drop=True)
    if isinstance(dtype, pd.CategoricalDtype):
        lookup = {str(c): c for c in dtype.categories}
        return pd.Series(pd.Categorical(values.map(lookup), dtype=dtype))
    if pd.api.types.is_bool_dtype(dtype):
        return values.map({"True": True, "False": False}).astype(dtype)
    if pd.api.types.is_integer_dtype(dtype):
        return pd.Series(values, dtype="string").astype(dtype)
    if pd.api.types.is_float_dtype(dtype):
        return values.map(lambda v: np.nan if v is None else float(v)).astype(dtype)
    return pd.Series(values, dtype=dtype)


def _meta(part: Partial, partition: int, error: str | None) -> str:
    """A partition's counts as JSON."""
    return json.dumps({
        "partition": partition, "error": error, "n_input": part.n_input,
        "n_kept": part.n_kept, "problems": [asdict(p) for p in part.problems],
        "exclusions": part.exclusions, "model_exclusions": part.model_exclusions,
        "renamed": part.renamed,
    })


def _from_meta(meta: dict[str, Any]) -> Partial:
    """A partition's :class:`Partial` without its grouped rows."""
    return Partial(int(meta["n_input"]), int(meta["n_kept"]),
                   [Problem(**p) for p in meta["problems"]], list(meta["exclusions"]),
                   model_exclusions=dict(meta["model_exclusions"]),
                   renamed=dict(meta["renamed"]))


def _assemble(rows: pd.DataFrame, layout: Layout) -> Partial:
    """The partitions' counts combined (in partition order), and each spec's grouped births
    in the types of the sample."""
    metas = sorted((json.loads(m) for m in rows.loc[rows[META].notna(), META]),
                   key=lambda m: m["partition"])
    errors = [m["error"] for m in metas if m["error"]]
    if errors:
        raise DataError(errors[0])
    part = combine([_from_meta(m) for m in metas])
    if part.n_input == 0:
        return part  # no rows: reported by the caller
    data = rows[rows[META].isna()]
    for name, dtypes in layout.items():
        sub = data[data[SPEC] == name]
        frame = pd.DataFrame({c: _from_text(sub[c], dt) for c, dt in dtypes.items()
                              if c != OUTCOME})
        frame[OUTCOME] = sub[OUTCOME].to_numpy().astype(dtypes[OUTCOME])
        frame[BIRTHS] = sub[BIRTHS].to_numpy().astype(np.int64)
        part.grouped[name] = frame
    return part
