"""Engine ``pyspark`` in local mode: the grouped births of a Spark DataFrame or of Parquet
files read by Spark give the fit of the births in memory, to the last digit."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import casemix
from casemix import CaseMixModel, load_births
from casemix.engine import scan_births
from casemix.exceptions import DataError
from casemix.models.disclosed import disclose_run
from casemix.simulation import simulate_cohort

if shutil.which("java") is None:
    pytest.skip("engine pyspark needs Java (no `java` on PATH)", allow_module_level=True)
pytest.importorskip("pyspark", reason="engine pyspark needs pyspark (pip install casemix[spark])")

ROOT = Path(__file__).resolve().parents[2]
SRC = Path(casemix.__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    """A local SparkSession whose Python workers run this interpreter and this casemix."""
    from pyspark.sql import SparkSession

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYSPARK_PYTHON", sys.executable)
        mp.setenv("PYTHONPATH", os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]))
        session = (SparkSession.builder.master("local[2]").appName("casemix-test")
                   .config("spark.ui.enabled", "false")
                   .config("spark.ui.showConsoleProgress", "false")
                   .config("spark.sql.shuffle.partitions", "4")
                   .config("spark.driver.host", "127.0.0.1")
                   .config("spark.driver.bindAddress", "127.0.0.1")
                   .getOrCreate())
        session.sparkContext.setLogLevel("ERROR")
        yield session
        session.stop()


@pytest.fixture(scope="module")
def births() -> pd.DataFrame:
    return simulate_cohort(20_000, seed=5).births


@pytest.fixture(scope="module")
def folder(births: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The births as three Parquet files."""
    out = tmp_path_factory.mktemp("births")
    for i, rows in enumerate(np.array_split(np.arange(len(births)), 3)):
        births.iloc[rows].to_parquet(out / f"part-{i}.parquet", index=False)
    return out


@pytest.fixture(scope="module")
def spec() -> casemix.ModelSpec:
    return casemix.load_spec(ROOT / "models" / "big2.toml")


def _fit(spec: casemix.ModelSpec, data: object) -> tuple[object, pd.DataFrame]:
    return CaseMixModel(spec).fit(data), getattr(data, "frame", data)


def test_spark_fits_equal_duckdb_and_pandas(spark, births, folder, spec):
    files = sorted(folder.glob("*.parquet"))
    frame = spark.read.parquet(str(files[0]))
    for file in files[1:]:  # a partition (or more) per file, without a shuffle
        frame = frame.union(spark.read.parquet(str(file)))
    assert frame.rdd.getNumPartitions() > 1
    scans = {"spark frame": scan_births(frame, [spec], engine="pyspark"),
             "spark path": scan_births(str(folder), [spec], engine="pyspark"),
             "duckdb": scan_births(folder, [spec], engine="duckdb")}
    fits = {name: _fit(spec, scan[spec.name]) for name, scan in scans.items()}
    fits["pandas"] = _fit(spec, load_births(births).births)
    units = {name: disclose_run(result, data).units.to_csv(index=False)
             for name, (result, data) in fits.items()}
    reference, _ = fits["pandas"]
    for name, (result, _) in fits.items():
        assert units[name] == units["pandas"], name
        pd.testing.assert_frame_equal(result.coefficients, reference.coefficients,
                                      check_exact=True)
        pd.testing.assert_frame_equal(result.exclusions.to_frame(),
                                      reference.exclusions.to_frame())
    for name, scan in scans.items():
        pd.testing.assert_frame_equal(scan.validation.exclusions.to_frame(),
                                      scans["duckdb"].validation.exclusions.to_frame())
        assert scan.validation.n_input == len(births), name
        assert scan[spec.name].engine == scan.engine
    assert scans["spark frame"][spec.name].source == "spark DataFrame"
    pd.testing.assert_frame_equal(scans["spark frame"][spec.name].frame,
                                  scans["duckdb"][spec.name].frame, check_exact=True)


def test_birth_id_shared_by_two_partitions_is_an_error(spark, births, spec, tmp_path):
    head, tail = births.iloc[:3_000].copy(), births.iloc[3_000:6_000].copy()
    tail.iloc[0, tail.columns.get_loc("birth_id")] = head["birth_id"].iloc[0]
    head.to_parquet(tmp_path / "a.parquet", index=False)
    tail.to_parquet(tmp_path / "b.parquet", index=False)
    frame = spark.read.parquet(str(tmp_path / "a.parquet")).union(
        spark.read.parquet(str(tmp_path / "b.parquet")))  # a partition (or more) per file
    assert frame.rdd.getNumPartitions() > 1
    with pytest.raises(DataError, match="birth_id must be unique; 2 rows share 1 ids"):
        scan_births(frame, [spec], engine="pyspark")


def test_csv_path_read_as_text_groups_as_duckdb(spark, births, spec, tmp_path):
    path = tmp_path / "births.csv"
    births.iloc[:5_000].to_csv(path, index=False)
    ours = scan_births(str(path), [spec], engine="pyspark")
    theirs = scan_births(path, [spec], engine="duckdb")
    pd.testing.assert_frame_equal(ours[spec.name].frame, theirs[spec.name].frame,
                                  check_exact=True)
    pd.testing.assert_frame_equal(ours[spec.name].exclusions.to_frame(),
                                  theirs[spec.name].exclusions.to_frame())
    assert ours[spec.name].source == str(path)


def test_fatal_problem_of_a_later_partition_is_a_data_error(spark, births, spec, tmp_path):
    head, tail = births.iloc[:3_000], births.iloc[3_000:6_000].copy()
    tail.iloc[5, tail.columns.get_loc("birthweight_g")] = 99_999  # not in the local sample
    head.to_parquet(tmp_path / "a.parquet", index=False)
    tail.to_parquet(tmp_path / "b.parquet", index=False)
    frame = spark.read.parquet(str(tmp_path / "a.parquet")).union(
        spark.read.parquet(str(tmp_path / "b.parquet")))
    with pytest.raises(DataError, match="birthweight_g outside"):
        scan_births(frame, [spec], engine="pyspark", invalid="error")
