"""A single Parquet file of one batch, read by pyarrow (``casemix.engine.duck._whole_file``),
against the same file read by DuckDB as the batch path read it before.

Reference: DuckDB's batch of the file (``read_parquet(...).to_arrow_reader``), validated by
``load_births``; the validated births, problems (messages and counts) and exclusions must be
the same to the last character, also for messy labels and unit codes (case, spaces, unknown
labels, missing values) and for files whose types or pandas metadata DuckDB reads otherwise.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from casemix import load_births
from casemix.engine.duck import _connect, _relation, _whole_file
from casemix.engine.sources import resolve_source
from casemix.simulation import simulate_cohort


def _duckdb_batch(path: Path) -> pd.DataFrame:
    source = resolve_source(path)
    con = _connect()
    reader = _relation(con, source, [str(f) for f in source.files], None).to_arrow_reader(
        1_000_000)
    return next(iter(reader)).to_pandas()


def _messy(n: int = 4000) -> pd.DataFrame:
    births = simulate_cohort(n, seed=19).births.copy()
    births["vsv"] = births["vsv"].astype(object)
    births.loc[births.index % 13 == 1, "vsv"] = births["vsv"].str.lower()  # merged, warned
    births.loc[births.index % 17 == 2, "vsv"] = "  " + births["vsv"] + " "
    births.loc[births.index % 29 == 3, "vsv"] = None
    births["municipality"] = births["municipality"].astype(object)
    births.loc[births.index % 31 == 4, "municipality"] = ""
    births["education"] = births["education"].astype(object)
    births.loc[births.index % 7 == 5, "education"] = " HIGH "
    births.loc[births.index % 37 == 6, "education"] = None
    births["infant_sex"] = births["infant_sex"].astype(object)
    births.loc[births.index % 19 == 7, "infant_sex"] = "Male"
    return births


def _validated(raw: pd.DataFrame) -> tuple[pd.DataFrame, list[dict[str, object]], list[object]]:
    report = load_births(raw, check_ids=False, errors="report")
    return report.births, [vars(p) for p in report.problems], report.exclusions.entries


def _assert_same(old: pd.DataFrame, new: pd.DataFrame) -> None:
    a_births, a_problems, a_log = _validated(old)
    b_births, b_problems, b_log = _validated(new)
    pd.testing.assert_frame_equal(a_births, b_births, check_exact=True)
    for c in a_births.columns:
        assert type(a_births[c].array) is type(b_births[c].array), c
    assert a_problems == b_problems
    assert a_log == b_log


def _whole(path: Path, dictionaries: bool = True) -> pd.DataFrame | None:
    source = resolve_source(path)
    return _whole_file(source, [str(f) for f in source.files], 1_000_000, dictionaries, 1)


def test_plain_read_equals_duckdb_batch(tmp_path):
    path = tmp_path / "b.parquet"
    _messy().to_parquet(path, index=False)
    new = _whole(path, dictionaries=False)
    assert new is not None
    pd.testing.assert_frame_equal(_duckdb_batch(path), new, check_exact=True)


def test_label_dictionaries_validate_as_strings(tmp_path):
    path = tmp_path / "b.parquet"
    _messy().to_parquet(path, index=False)
    new = _whole(path)
    assert new is not None and isinstance(new["vsv"].dtype, pd.CategoricalDtype)
    assert isinstance(new["education"].dtype, pd.CategoricalDtype)
    assert not isinstance(new["birth_id"].dtype, pd.CategoricalDtype)
    _assert_same(_duckdb_batch(path), new)


def test_unknown_labels_are_reported_as_for_strings(tmp_path):
    births = _messy()
    births.loc[births.index % 11 == 0, "migration_background"] = "martian"
    path = tmp_path / "b.parquet"
    births.to_parquet(path, index=False)
    new = _whole(path)
    assert new is not None
    _assert_same(_duckdb_batch(path), new)
    problems = _validated(new)[1]
    assert any("martian" in str(p["message"]) for p in problems)


def test_index_and_extension_types_are_read_as_duckdb_reads_them(tmp_path):
    births = _messy().set_index("birth_id")  # the index is stored as a column
    births["parity"] = births["parity"].astype("Int64")  # pandas metadata: Int64
    births.loc[births["parity"] > 3, "parity"] = pd.NA
    path = tmp_path / "b.parquet"
    births.to_parquet(path)
    new = _whole(path)
    assert new is not None and "birth_id" in new.columns
    _assert_same(_duckdb_batch(path), new)


@pytest.mark.parametrize("kind", ["categorical", "date", "too_many_rows", "duplicated_name",
                                  "row_groups"])
def test_other_files_are_left_to_duckdb(tmp_path, kind):
    births = _messy(200)
    path = tmp_path / "b.parquet"
    if kind == "categorical":
        births["vsv"] = births["vsv"].astype("category")
    if kind == "date":
        births["date"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(200), "D")
    if kind == "duplicated_name":
        table = pa.Table.from_pandas(births, preserve_index=False)
        table = pa.Table.from_arrays([*table.columns, table.column("vsv")],
                                     names=[*table.column_names, "vsv"])
        pq.write_table(table, path)
    elif kind == "row_groups":  # DuckDB reads a batch per row group: 2 batches
        pq.write_table(pa.Table.from_pandas(births, preserve_index=False), path,
                       row_group_size=150)
    else:
        births.to_parquet(path, index=False)
    source = resolve_source(path)
    rows = 100 if kind == "too_many_rows" else 1_000_000
    assert _whole_file(source, [str(f) for f in source.files], rows, True, 1) is None
