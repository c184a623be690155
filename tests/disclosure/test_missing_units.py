"""Route 7 of issue 13: births without a unit code are shown as ``<10`` in ``exclusions.csv``;
the national n of ``calibration.csv`` minus the published unit n must not give them back."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from casemix.cli import app
from casemix.simulation import simulate_cohort
from casemix.workflow.audit import audit_files

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()
EXPORTED = ["units.csv", "calibration.csv", "exclusions.csv", "direct.csv", "funnel_vsv.csv"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("missing")
    births = simulate_cohort(n_births=20_000, seed=9).births
    births.loc[births.index[:4], "vsv"] = None  # four births without a VSV code
    births.to_parquet(folder / "cohort.parquet")
    spec = (ROOT / "models" / "big2.toml").read_text().replace(
        'levels = ["vsv", "municipality"]', 'levels = ["vsv"]')
    (folder / "spec.toml").write_text(spec)
    result = runner.invoke(app, ["fit", str(folder / "spec.toml"), "--data",
                                 str(folder / "cohort.parquet"), "--out", str(folder / "run")])
    assert result.exit_code == 0, result.output
    return folder / "run"


def test_missing_codes_are_masked_and_not_derivable(run):
    log = pd.read_csv(run / "exclusions.csv", dtype=str)
    row = log[(log["stage"] == "comparison") & (log["scope"] == "vsv")]
    assert row["n_rows"].tolist() == ["<10"]
    units = pd.read_csv(run / "units.csv", dtype={"period": str})
    main = units[units["level"].eq("vsv") & units["stratum"].eq("all")]
    national = pd.read_csv(run / "calibration.csv").iloc[0]["n"]
    # plain arithmetic, as an output checker would try it
    assert main["n"].isna().any() or not 0 < national - main["n"].sum() < 10
    assert audit_files([run / f for f in EXPORTED]).ok


def test_audit_finds_the_count_put_back(run, tmp_path):
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in EXPORTED:
        shutil.copy(run / name, copy / name)
    log = pd.read_csv(copy / "exclusions.csv", dtype=str)
    log.loc[(log["stage"] == "comparison") & (log["scope"] == "vsv"), "n_rows"] = "4"
    log.to_csv(copy / "exclusions.csv", index=False)
    findings = audit_files([copy]).findings
    assert findings["route"].str.contains("count below 10 shown").any()


def test_audit_refuses_internal_files(run):
    """Routes 8 and 13 put back: the manifest (rows read minus analysed), the model file and
    the suppression log stay inside; the audit of a whole run folder says so."""
    findings = audit_files([run]).findings
    internal = set(findings.loc[findings["route"].str.startswith("internal file"), "file"])
    assert {"model.json", "manifest.json", "suppression_log.csv"} <= internal


def test_audit_finds_exact_small_alignment_differences(tmp_path):
    """Route 14 put back: differences against published figures of 1..9 shown exactly."""
    table = pd.DataFrame({"level": "vsv", "unit": ["A", "B", "C"], "indicator": "big2",
                          "numerator_difference": ["+1..+9", "+15", "+3"],
                          "denominator_difference": ["0", "-230", "-9..-1"]})
    table.to_csv(tmp_path / "alignment.csv", index=False)
    findings = audit_files([tmp_path / "alignment.csv"]).findings
    assert findings[["row", "column"]].values.tolist() == [["vsv C", "numerator_difference"]]
