"""``casemix weights``: weights written beside the births, a report that passes the audit
(and fails it when a small count is planted in it)."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from casemix.cli import app
from casemix.simulation import simulate_cohort
from casemix.workflow.audit import audit_files

runner = CliRunner()
AGES = ["<25", "25-29", "30-34", "35+"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("weights")
    births = simulate_cohort(12_000, n_vsv=12, n_municipalities=340, seed=11).births
    data = tmp / "births.csv"
    births.to_csv(data, index=False)
    band = pd.cut(births["maternal_age"], [0, 25, 30, 35, 99], right=False,
                  labels=AGES).astype(str)
    by_vsv = births.groupby("vsv").size() * 1.2
    by_age = band.value_counts().reindex(AGES) / len(births) * by_vsv.sum()
    margins = pd.concat([
        pd.DataFrame({"margin": "vsv", "value": by_vsv.index, "total": by_vsv.to_numpy()}),
        pd.DataFrame({"margin": "maternal_age", "value": AGES,
                      "total": by_age.to_numpy() * [1.1, 1.0, 0.95, 0.9]
                      / (by_age.to_numpy() * [1.1, 1.0, 0.95, 0.9]).sum() * by_vsv.sum()})])
    path = tmp / "margins.csv"
    margins.to_csv(path, index=False)
    return tmp, data, path, births


def test_weights_command_writes_births_and_an_audited_report(files):
    tmp, data, margins, births = files
    out, report = tmp / "weighted.parquet", tmp / "weights_report.csv"
    result = runner.invoke(app, ["weights", str(data), "--margins", str(margins), "--out",
                                 str(out), "--report", str(report), "--trim", "0.5", "3"])
    assert result.exit_code == 0, result.output
    assert "design effect (Kish)" in result.output
    weighted = pd.read_parquet(out)
    assert len(weighted) == len(births) and "weight" in weighted
    assert weighted["weight"].sum() == pytest.approx(1.2 * len(births), rel=1e-9)
    table = pd.read_csv(report)
    assert {"design", "margin", "trimming"} <= set(table["table"])
    assert {"vsv", "municipality"} <= set(table["level"])
    audited = audit_files([report])
    assert audited.ok, audited.findings
    assert runner.invoke(app, ["audit", str(report)]).exit_code == 0


def test_the_audit_fails_on_a_small_count_planted_in_the_report(files, tmp_path):
    tmp, *_ = files
    table = pd.read_csv(tmp / "weights_report.csv")
    small = table[(table["table"] == "design") & table["n"].isna()]
    assert len(small), "the simulated municipalities include some below 10 births"
    row = small.index[0]
    planted = table.copy()
    planted.loc[row, "n"] = 7
    planted.to_csv(tmp_path / "weights_report.csv", index=False)
    findings = audit_files([tmp_path / "weights_report.csv"]).findings
    assert (findings["route"].str.contains("count below 10")).any()
    audited = runner.invoke(app, ["audit", str(tmp_path / "weights_report.csv")])
    assert audited.exit_code == 1 and "count below 10 shown" in audited.output
    # a value computed from a hidden count left on its row is found too
    leaked = table.copy()
    leaked.loc[row, "n_effective"] = 7.0
    leaked.to_csv(tmp_path / "weights_report.csv", index=False)
    findings = audit_files([tmp_path / "weights_report.csv"]).findings
    assert (findings["route"] == "value computed from a suppressed count").any()


def test_unprotected_report_fails_by_differencing(files, tmp_path):
    """Blank only the small count: the other units and the national total give it back."""
    tmp, *_ = files
    table = pd.read_csv(tmp / "weights_report.csv")
    hidden = table["n"].isna() & table["table"].eq("design")
    level = table.loc[hidden, "level"].iloc[0]
    rows = table["level"].eq(level) & table["table"].eq("design")
    # refill the level's hidden counts from the births, then hide just one small one
    _, _, _, births = files
    counts = births[level].fillna("<missing>").value_counts()
    table.loc[rows, "n"] = table.loc[rows, "unit"].map(counts).to_numpy()
    smallest = table.loc[rows, "n"].idxmin()
    table.loc[smallest, "n"] = None
    table.loc[rows & table.index.isin([smallest]), ["sum_weights", "deff", "n_effective",
                                                   "min_weight", "max_weight"]] = None
    table.to_csv(tmp_path / "weights_report.csv", index=False)
    findings = audit_files([tmp_path / "weights_report.csv"]).findings
    assert findings["route"].str.contains("differencing").any()


def test_unlisted_cells_are_an_input_error(files, tmp_path):
    _, data, margins, _ = files
    m = pd.read_csv(margins)
    m = m[m["value"] != m["value"].iloc[0]]
    m.to_csv(tmp_path / "m.csv", index=False)
    result = runner.invoke(app, ["weights", str(data), "--margins", str(tmp_path / "m.csv"),
                                 "--out", str(tmp_path / "w.csv")])
    assert result.exit_code == 2
    assert "does not list" in " ".join(result.output.split())


def test_base_weights_absolute_trimming_and_a_csv_report(files, tmp_path):
    _, _, margins, births = files
    data = tmp_path / "births.csv"
    births.assign(design_weight=1.0 + (births["parity"] == 0)).to_csv(data, index=False)
    out = tmp_path / "w.csv"
    result = runner.invoke(app, ["weights", str(data), "--margins", str(margins), "--out",
                                 str(out), "--base", "design_weight", "--trim", "0.6", "2.5",
                                 "--trim-absolute", "--column", "nr_weight"])
    assert result.exit_code == 0, result.output
    w = pd.read_csv(out)["nr_weight"]
    assert w.min() >= 0.6 - 1e-9 and w.max() <= 2.5 + 1e-9
    assert w.sum() == pytest.approx(1.2 * len(births), rel=1e-9)
    result = runner.invoke(app, ["weights", str(data), "--margins", str(margins), "--out",
                                 str(out), "--report", str(tmp_path / "r.json")])
    assert result.exit_code == 2 and "CSV" in result.output
