"""The engine path (births -> grouped births in batches) against the births in memory.

References: the in-memory path of the package (``load_births`` + ``CaseMixModel.fit`` on the
births), which the rest of the suite checks against R; here every exported number of a run
must be the same to the last digit, whatever the engine, the batch size, the number of
workers or files, and the order of the births. Counts of planted problems are worked out by
hand from what was planted.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from casemix import CaseMixModel, load_births, load_spec
from casemix.disclosure.tables import nesting_of
from casemix.engine import RatesPlan, scan_births
from casemix.engine.duck import duplicate_ids
from casemix.engine.sources import resolve_source
from casemix.exceptions import DataError
from casemix.indicators import indicator_rates
from casemix.indicators.rates import rates_from_counts
from casemix.models.data import prepare_model_data
from casemix.models.runs import load_run, reproduce_run, save_run
from casemix.simulation import simulate_cohort

ROOT = Path(__file__).resolve().parents[2]
BIG2 = ROOT / "models" / "big2.toml"

SPLINE_SPEC = """
name = "preterm_free_knots"
outcome = "preterm"
levels = ["vsv"]
[[adjust]]
column = "maternal_age"
type = "spline"
n_knots = 4
[[adjust]]
column = "neighbourhood_ses"
type = "linear"
[[adjust]]
column = "parity"
breaks = [1]
"""


def _planted(births: pd.DataFrame) -> pd.DataFrame:
    """Births with problems spread over the whole table: impossible gestational ages
    (excluded), missing birthweights (out of the SGA and Big2 denominators), missing SES
    values (a fill value), and a shuffled row order."""
    b = births.copy()
    b.loc[b.index % 997 == 5, "gestational_age_days"] = 100  # outside 140..315
    b["birthweight_g"] = b["birthweight_g"].astype("Int64")
    b.loc[b.index % 401 == 7, "birthweight_g"] = pd.NA
    b.loc[b.index % 211 == 3, "neighbourhood_ses"] = np.nan
    return b.sample(frac=1.0, random_state=3).reset_index(drop=True)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | pd.DataFrame]:
    births = _planted(simulate_cohort(24_000, years=(2023, 2024), seed=11).births)
    folder = tmp_path_factory.mktemp("engine")
    parts = folder / "parts"
    parts.mkdir()
    for i, chunk in enumerate(np.array_split(np.arange(len(births)), 3)):
        births.iloc[chunk].to_parquet(parts / f"part-{i}.parquet", index=False)
    births.to_parquet(folder / "births.parquet", index=False)
    births.to_csv(folder / "births.csv", sep=";", decimal=",", index=False)
    (folder / "spline.toml").write_text(SPLINE_SPEC, "utf-8")
    return {"births": births, "folder": folder, "parts": parts}


def _run(result, births, out: Path, validation=None) -> dict[str, str]:
    save_run(result, out, births=births, validation=validation)
    return {p.name: p.read_text("utf-8") for p in sorted(out.glob("*.csv"))}


def _memory(cohort, spec, out: Path) -> dict[str, str]:
    report = load_births(cohort["births"])
    return _run(CaseMixModel(spec).fit(report.births), report.births, out, report)


def _engine(source, spec, out: Path, **options) -> dict[str, str]:
    scan = scan_births(source, [spec], **options)
    return _run(CaseMixModel(spec).fit(scan[spec.name]), scan[spec.name], out)


#: Files of a run that an engine run writes too, identical to the last digit.
SAME = ["coefficients.csv", "direct.csv", "exclusions.csv", "funnel_municipality.csv",
        "funnel_vsv.csv", "units.csv", "calibration_education.csv",
        "calibration_income_quintile.csv", "calibration_migration_background.csv",
        "calibration_parity.csv", "calibration_plurality.csv", "calibration_urbanisation.csv"]


@pytest.mark.parametrize("source, options", [
    ("parts", {"batch_rows": 5_000, "workers": 2}),
    ("glob", {"batch_rows": 7_000, "workers": 1}),
    ("births.parquet", {"batch_rows": 4_000, "workers": 2}),
    # one batch per worker: this process takes the first, one worker process the second
    ("births.parquet", {"batch_rows": 12_000, "workers": 2}),
    ("births.csv", {"batch_rows": 6_000, "workers": 1}),
])
def test_duckdb_run_equals_memory_run(cohort, tmp_path, source, options):
    spec = load_spec(BIG2)
    path = {"parts": cohort["parts"], "glob": cohort["parts"] / "part-*.parquet"}.get(
        source, cohort["folder"] / source)
    memory = _memory(cohort, spec, tmp_path / "memory")
    engine = _engine(str(path), spec, tmp_path / "engine", **options)
    for name in SAME:
        assert engine[name] == memory[name], name
    calibration = [pd.read_csv(io) for io in (tmp_path / "engine" / "calibration.csv",
                                              tmp_path / "memory" / "calibration.csv")]
    lowess = ["ici", "e50", "e90", "emax"]  # smoothed over births: not on grouped births
    assert calibration[0][lowess].isna().all(axis=None)
    pd.testing.assert_frame_equal(calibration[0].drop(columns=lowess),
                                  calibration[1].drop(columns=lowess), check_exact=True)


def test_counts_and_exclusions_equal_memory(cohort):
    spec = load_spec(BIG2)
    report = load_births(cohort["births"])
    scan = scan_births(str(cohort["parts"]), [spec], batch_rows=3_000, workers=2)
    b = cohort["births"]
    assert scan.validation.n_input == len(b)
    planted = int((b["gestational_age_days"] == 100).sum())
    assert scan.validation.n_excluded == planted > 0
    pd.testing.assert_frame_equal(scan.validation.exclusions.to_frame(),
                                  report.exclusions.to_frame())
    ours = {(p.severity, p.column, p.message, p.n_rows) for p in scan.validation.problems}
    theirs = {(p.severity, p.column, p.message, p.n_rows) for p in report.problems[1:]}
    assert theirs <= ours  # the same findings, counts and shares (and the source read)
    grouped = scan[spec.name]
    result = CaseMixModel(spec).fit(report.births)
    pd.testing.assert_frame_equal(grouped.exclusions.to_frame(),
                                  result.exclusions.to_frame().iloc[:len(grouped.exclusions)])
    assert grouped.n_analysed == result.n_analysed


def test_learned_knots_and_fill_values_equal_memory(cohort, tmp_path):
    spec = load_spec(cohort["folder"] / "spline.toml")
    report = load_births(cohort["births"])
    memory = CaseMixModel(spec).fit(report.births)
    scan = scan_births(str(cohort["parts"]), [spec], batch_rows=5_000, workers=1)
    engine = CaseMixModel(spec).fit(scan[spec.name])
    assert engine.encoding.to_dict() == memory.encoding.to_dict()
    age = next(t for t in memory.encoding.terms if t.column == "maternal_age")
    analysed = report.births.iloc[memory.rows]
    assert age.knots == tuple(np.quantile(analysed["maternal_age"].to_numpy(float),
                                          [0.05, 0.35, 0.65, 0.95]))
    ses = next(t for t in memory.encoding.terms if t.column == "neighbourhood_ses")
    assert ses.fill_value == float(np.nanmedian(analysed["neighbourhood_ses"].to_numpy(float)))
    np.testing.assert_array_equal(engine.coef, memory.coef)


def test_duplicate_ids_across_files_are_fatal(tmp_path):
    births = simulate_cohort(3_000, seed=2).births
    births.iloc[:1500].to_parquet(tmp_path / "a.parquet", index=False)
    other = births.iloc[1500:].copy()
    other.iloc[0, other.columns.get_loc("birth_id")] = births["birth_id"].iloc[10]
    other.iloc[1, other.columns.get_loc("birth_id")] = births["birth_id"].iloc[10]
    other.to_parquet(tmp_path / "b.parquet", index=False)
    with pytest.raises(DataError, match=r"birth_id must be unique; 3 rows share 1 ids"):
        scan_births(str(tmp_path), [load_spec(BIG2)])
    report = scan_births(str(tmp_path), errors="report").validation
    assert not report.ok and report.n_excluded == 3_000


def test_duplicate_ids_counts_as_a_table_read_whole(tmp_path):
    # reference: pandas on the ids trimmed, empty as missing; the ids are spread over two
    # files, shared within and across them, with spaces, empty strings and nulls
    rng = np.random.default_rng(12)
    ids = pd.Series([f"b{i}" for i in rng.integers(0, 4_000, 6_000)], dtype=object)
    ids[rng.random(6_000) < 0.05] = None
    ids[rng.random(6_000) < 0.03] = "  "
    spaced = rng.random(6_000) < 0.1
    ids[spaced] = " " + ids[spaced].fillna("") + " "
    frame = pd.DataFrame({"birth_id": ids, "x": 1})
    frame.iloc[:2_500].to_parquet(tmp_path / "a.parquet", index=False)
    frame.iloc[2_500:].to_parquet(tmp_path / "b.parquet", index=False)
    clean = ids.str.strip().replace("", None)
    counts = clean.dropna().value_counts()
    shared = counts[counts > 1]
    missing, rows, n_ids, examples = duplicate_ids(resolve_source(str(tmp_path)), "birth_id")
    assert (missing, rows, n_ids) == (int(clean.isna().sum()), int(shared.sum()), len(shared))
    assert examples == sorted(shared.index)[:5]
    unique = pd.DataFrame({"birth_id": [f"u{i}" for i in range(3_000)]})
    unique.to_parquet(tmp_path / "unique.parquet", index=False)
    assert duplicate_ids(resolve_source(str(tmp_path / "unique.parquet")), "birth_id") == (
        0, 0, 0, [])


def test_fatal_problem_in_one_batch_is_reported_for_the_source(tmp_path):
    births = simulate_cohort(4_000, seed=4).births
    births["education"] = births["education"].astype(object)
    births.loc[[5, 3_500, 3_600], "education"] = "unknown-code"
    births.to_parquet(tmp_path / "b.parquet", index=False)
    with pytest.raises(DataError, match="education"):
        scan_births(str(tmp_path / "b.parquet"), [load_spec(BIG2)], batch_rows=1_000)
    report = scan_births(str(tmp_path / "b.parquet"), batch_rows=1_000,
                         errors="report").validation
    memory = load_births(births, errors="report")
    ours = [p for p in report.errors if p.column == "education"]
    theirs = [p for p in memory.errors if p.column == "education"]
    assert [p.n_rows for p in ours] == [p.n_rows for p in theirs] == [3]


def test_indicator_counts_equal_memory(cohort):
    births = load_births(cohort["births"]).births
    expected, log = indicator_rates(births, ["vsv"])
    scan = scan_births(str(cohort["parts"]), rates=RatesPlan(("vsv",)),
                       batch_rows=5_000)
    rates = scan.rates
    got = rates_from_counts(rates.counts, rates.log, ["vsv"],
                            nesting=nesting_of(rates.unit_pairs, ["vsv"]))
    assert got.to_csv(index=False) == expected.to_csv(index=False)
    pd.testing.assert_frame_equal(rates.log.to_frame(), log.to_frame())


def test_engine_run_folder_reproduces_and_records_its_source(cohort, tmp_path):
    spec = load_spec(BIG2)
    path = cohort["folder"] / "births.parquet"
    scan = scan_births(str(path), [spec], batch_rows=10_000)
    result = CaseMixModel(spec).fit(scan[spec.name])
    save_run(result, tmp_path / "run", births=scan[spec.name], data_file=path)
    run = load_run(tmp_path / "run")
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text("utf-8"))
    assert manifest["engine"] == "duckdb" and manifest["source_sha256"]
    assert manifest["rows"]["analysed"] == result.n_analysed
    again = reproduce_run(run)  # reads the file into memory: the same units.csv
    assert again.n_analysed == result.n_analysed


def test_pandas_engine_and_weights(cohort):
    spec = load_spec(BIG2)
    scan = scan_births(cohort["births"], [spec], engine="pandas")
    assert scan[spec.name].n_analysed == CaseMixModel(spec).fit(
        load_births(cohort["births"]).births).n_analysed
    weighted = spec.__class__(**{**spec.__dict__, "weights": "w"})
    with pytest.raises(DataError, match="case weights"):
        scan_births(str(cohort["parts"]), [weighted])


def test_subgroups_outside_the_model_get_a_table_of_their_own(cohort):
    # urbanisation is a calibration subgroup but no adjuster of the spline spec: it does not
    # multiply the grouped rows; its table holds the analysed births by pattern columns,
    # urbanisation and outcome (reference: pandas counts of the births read whole)
    spec = load_spec(cohort["folder"] / "spline.toml")
    grouped = scan_births(str(cohort["parts"]), [spec], batch_rows=5_000, workers=1)[spec.name]
    assert "urbanisation" not in grouped.frame.columns
    table = grouped.subgroups["urbanisation"]
    assert "vsv" not in table.columns and "urbanisation" in table.columns
    births = load_births(cohort["births"]).births
    data = prepare_model_data(births, spec)
    analysed = births.iloc[data.rows].assign(_outcome=data.y)
    expected = analysed.groupby(["urbanisation", "_outcome"], dropna=False).size()
    got = table.groupby(["urbanisation", "_outcome"], dropna=False)["_births"].sum()
    pd.testing.assert_series_equal(got, expected, check_names=False, check_dtype=False,
                                   check_index_type=False)


def test_small_sources_are_scanned_without_worker_processes(tmp_path):
    # the rule of casemix.engine.duck.SERIAL_ROWS: no worker up to that many births unless
    # workers are asked for; beyond it the cores, at most the batches (as before the rule)
    from casemix.engine import duck

    assert duck._workers(duck.SERIAL_ROWS, 500_000, None) == 1
    assert duck._workers(duck.SERIAL_ROWS + 1, 500_000, None) == min(os.cpu_count() or 1, 6)
    assert duck._workers(50_000_000, 500_000, None) == min(os.cpu_count() or 1, 100)
    assert duck._workers(10_000, 4_000, 2) == 2
    births = simulate_cohort(3_000, seed=6).births
    births.to_parquet(tmp_path / "b.parquet", index=False)
    source = resolve_source(str(tmp_path / "b.parquet"))
    assert duck._rows(source, [str(f) for f in source.files], None) == len(births)
    assert duck.worker_count(source, 1_000) == 1
    assert duck.batch_size(source) == duck.SERIAL_BATCH_ROWS  # one process: 1M a batch
    assert duck.batch_size(source, 700) == 700
    assert duck.batch_size(source, workers=2) == duck.DEFAULT_BATCH_ROWS


def test_duplicated_ids_are_raised_before_a_batch_problem_in_process(tmp_path):
    # scanned in this process, the ids are checked in a thread while the batches run; the
    # id problem must still be the one raised, as when they were checked first
    births = simulate_cohort(4_000, seed=7).births
    births["education"] = births["education"].astype(object)
    births.loc[[5, 3_500], "education"] = "unknown-code"
    births.loc[3_900, "birth_id"] = births.loc[10, "birth_id"]
    births.to_parquet(tmp_path / "b.parquet", index=False)
    with pytest.raises(DataError, match="birth_id must be unique; 2 rows share 1 ids"):
        scan_births(str(tmp_path / "b.parquet"), [load_spec(BIG2)], batch_rows=1_000)
    report = scan_births(str(tmp_path / "b.parquet"), batch_rows=1_000,
                         errors="report").validation
    assert {p.column for p in report.errors} == {"birth_id", "education"}


def test_grouped_batch_counts_equal_pandas_groupby():
    # reference: pandas' group-by of the validated births (missing a value of its own and
    # last, categoricals in the order of their categories); every column but the outcome a
    # categorical of sorted values, the rows in that order
    from casemix.engine.batches import _group_compact

    births = load_births(simulate_cohort(6_000, seed=8).births).births
    births.loc[::7, "parity"] = pd.NA
    births.loc[::11, "education"] = pd.NA
    columns = ["maternal_age", "parity", "education", "neighbourhood_ses", "vsv", "year"]
    frame = births[columns].assign(_outcome=(births["birthweight_g"] < 3_000).astype(np.int8))
    got, in_order = _group_compact(frame)
    assert in_order
    expected = frame.groupby([*columns, "_outcome"], dropna=False, sort=True,
                             observed=True).size()
    assert got["_births"].tolist() == expected.tolist()
    assert len(got) == len(expected) and got["_births"].sum() == len(frame)
    for c in [*columns, "_outcome"]:
        values = got[c].astype(object).where(got[c].notna(), None).tolist()
        want = [None if pd.isna(v) else v for v in expected.index.get_level_values(c)]
        assert values == want, c
    for c in columns:
        assert isinstance(got[c].dtype, pd.CategoricalDtype)
        if c != "education":  # validation's categorical keeps its schema order
            assert list(got[c].cat.categories) == sorted(frame[c].dropna().unique())
    assert got["_outcome"].dtype == np.int8
