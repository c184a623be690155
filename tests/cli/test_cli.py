"""The command line: every command has help, runs end to end, and fails clearly."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from casemix.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def cohort_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "cohort.parquet"
    result = runner.invoke(app, ["simulate", "--out", str(path), "--n-births", "4000",
                                 "--seed", "3"])
    assert result.exit_code == 0, result.output
    return path


@pytest.mark.parametrize("command", ["simulate", "validate", "indicators", "fit", "score"])
def test_help(command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output


def test_simulate_writes_truth_beside_data(cohort_file):
    births = pd.read_parquet(cohort_file)
    assert len(births) == 4000
    truth = pd.read_csv(cohort_file.with_name("cohort_truth.csv"))
    assert {"level", "unit", "indicator", "true_log_odds", "true_oe"} <= set(truth.columns)
    assert cohort_file.with_name("cohort_simulation.json").is_file()


def test_validate_ok(cohort_file):
    result = runner.invoke(app, ["validate", str(cohort_file)])
    assert result.exit_code == 0, result.output
    assert "4,000 rows read" in result.output


def test_validate_fatal_exit_code(tmp_path):
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"birth_id": ["a", "a"], "year": [2024, 2024],
                  "gestational_age_days": [280, 281]}).to_csv(bad, index=False)
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 1
    assert "birth_id" in result.output


def test_validate_missing_file(tmp_path):
    result = runner.invoke(app, ["validate", str(tmp_path / "nope.csv")])
    assert result.exit_code == 2
    assert "not found" in result.output


def test_indicators_csv_interface(cohort_file, tmp_path):
    out = tmp_path / "ind.csv"
    result = runner.invoke(app, ["indicators", str(cohort_file), "--by", "vsv", "--by",
                                 "ggd_region", "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert list(table.columns) == ["level", "unit", "indicator", "numerator", "denominator",
                                   "rate", "suppressed", "definitions"]
    assert set(table["definitions"]) == {"monitor-2022"}
    assert set(table["level"]) == {"national", "vsv", "ggd_region"}
    shown = table.dropna(subset=["numerator"])
    assert (shown["numerator"] >= 10).all()
    assert ((shown["denominator"] - shown["numerator"]) >= 10).all()
    log = pd.read_csv(out.with_name("ind_exclusions.csv"))
    assert {"stage", "scope", "reason", "n_rows"} <= set(log.columns)


def test_indicators_unknown_indicator(cohort_file):
    result = runner.invoke(app, ["indicators", str(cohort_file), "--indicator", "apgar"])
    assert result.exit_code == 2
    assert "apgar" in result.output


def test_fit_and_score(cohort_file, tmp_path):
    from pathlib import Path

    spec = Path(__file__).resolve().parents[2] / "models" / "big2.toml"
    run = tmp_path / "run"
    result = runner.invoke(app, ["fit", str(spec), "--data", str(cohort_file), "--out", str(run)])
    assert result.exit_code == 0, result.output
    files = {p.name for p in run.iterdir()}
    assert files == {"model.json", "units.csv", "direct.csv", "coefficients.csv",
                     "exclusions.csv", "manifest.json", "calibration.csv", "funnel_vsv.csv",
                     "suppression_log.csv", "geography.csv",
                     "funnel_municipality.csv", *(f"calibration_{c}.csv" for c in (
                         "income_quintile", "migration_background", "education", "parity",
                         "plurality", "urbanisation"))}
    notes = json.loads((run / "manifest.json").read_text("utf-8"))["notes"]
    assert any("neighbourhood_ses_quintile" in n and "--engine pandas" in n for n in notes)
    memory = tmp_path / "memory"  # the births in memory: also the SES-quintile calibration
    result = runner.invoke(app, ["fit", str(spec), "--data", str(cohort_file), "--out",
                                 str(memory), "--engine", "pandas"])
    assert result.exit_code == 0, result.output
    assert {p.name for p in memory.iterdir()} == {
        *files, "calibration_neighbourhood_ses_quintile.csv"}
    funnel = pd.read_csv(run / "funnel_vsv.csv")
    assert funnel.loc[~funnel["suppressed"], "observed"].ge(10).all()
    assert funnel.loc[funnel["suppressed"], "value"].isna().all()
    units = pd.read_csv(run / "units.csv")
    shown = units[~units["suppressed"]]
    assert (shown["observed"] >= 10).all()
    assert units.loc[units["suppressed"], "oe"].isna().all()
    again = runner.invoke(app, ["fit", str(spec), "--data", str(cohort_file), "--out", str(run)])
    assert again.exit_code == 2 and "never overwritten" in again.output
    scores = tmp_path / "scores.parquet"
    result = runner.invoke(app, ["score", str(run), "--data", str(cohort_file), "--out",
                                 str(scores)])
    assert result.exit_code == 0, result.output
    scored = pd.read_parquet(scores)
    assert list(scored.columns) == ["birth_id", "expected_risk"]
    assert scored["expected_risk"].between(0, 1).all()


def test_fit_without_ses_and_fixed(cohort_file, tmp_path):
    from pathlib import Path

    spec = Path(__file__).resolve().parents[2] / "models" / "big2.toml"
    result = runner.invoke(app, ["fit", str(spec), "--data", str(cohort_file), "--out",
                                 str(tmp_path / "r"), "--without-ses", "--method", "fixed"])
    assert result.exit_code == 0, result.output
    coefs = pd.read_csv(tmp_path / "r" / "coefficients.csv")
    assert not coefs["term"].str.startswith(("income_quintile", "education")).any()


@pytest.mark.parametrize("method", ["glmm", "eb", "fay-herriot"])
def test_fit_shrinkage_methods(cohort_file, tmp_path, method):
    from pathlib import Path

    spec = Path(__file__).resolve().parents[2] / "models" / "big2.toml"
    out = tmp_path / method
    result = runner.invoke(app, ["fit", str(spec), "--data", str(cohort_file), "--out",
                                 str(out), "--method", method])
    assert result.exit_code == 0, result.output
    units = pd.read_csv(out / "units.csv")
    cols = ["shrunk_oe", "shrunk_lower", "shrunk_upper", "prob_above", "rank", "rank_lower",
            "rank_upper"]
    assert set(cols) <= set(units.columns)
    shown = units[~units["suppressed"] & (units["level"] == "vsv")]
    assert shown["shrunk_oe"].notna().all()
    assert (shown["shrunk_lower"] <= shown["shrunk_upper"]).all()
    assert units.loc[units["suppressed"], "shrunk_oe"].isna().all()


def test_align_command(cohort_file, tmp_path):
    from pathlib import Path

    from casemix import load_births
    from casemix.alignment.align import _crude

    spec = Path(__file__).resolve().parents[2] / "models" / "big2.toml"
    run = tmp_path / "run"
    assert runner.invoke(app, ["fit", str(spec), "--data", str(cohort_file), "--out",
                               str(run), "--no-diagnostics"]).exit_code == 0
    births = load_births(cohort_file).births
    from casemix import DefinitionSettings
    from casemix.workflow.audit import audit_files

    ref = _crude(births, "vsv", ["preterm", "neonatal_death_7d", "neonatal_death_28d"],
                 DefinitionSettings())
    ref.loc[0, "numerator"] += 2
    ref.to_csv(tmp_path / "ref.csv", index=False)
    out = tmp_path / "export" / "align.csv"
    out.parent.mkdir()
    result = runner.invoke(app, ["align", str(run), "--reference", str(tmp_path / "ref.csv"),
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"{len(ref) - 1} of {len(ref)} reference rows agree" in result.output
    assert "unexplained" in result.output and "Closest definitions" in result.output
    table = pd.read_csv(out)
    assert {"explained_by", "presets", "numerator_residual", "agrees",
            "suppressed"} <= set(table.columns)
    combos = pd.read_csv(out.with_name("align_combinations.csv"))
    assert set(combos["indicator"]) == {"preterm", "neonatal_death_7d", "neonatal_death_28d"}
    audit = audit_files([out.parent])  # both files leave the secure environment
    assert audit.ok, audit.findings


def test_small_threshold_needs_explicit_override(cohort_file, tmp_path):
    import json
    from pathlib import Path

    spec = Path(__file__).resolve().parents[2] / "models" / "big2.toml"
    args = ["fit", str(spec), "--data", str(cohort_file), "--no-diagnostics", "--threshold",
            "5"]
    refused = runner.invoke(app, [*args, "--out", str(tmp_path / "a")])
    assert refused.exit_code == 2 and "--allow-small-counts" in refused.output
    ok = runner.invoke(app, [*args, "--out", str(tmp_path / "b"), "--allow-small-counts"])
    assert ok.exit_code == 0, ok.output
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["disclosure"] == {"threshold": 5, "override": True, "suppression_log":
                                      "suppression_log.csv (stays inside the secure "
                                      "environment)"}
    log = pd.read_csv(tmp_path / "b" / "suppression_log.csv")
    assert list(log.columns) == ["table", "group", "unit", "reason"]


def test_report_command_with_alignment(cohort_file, tmp_path):
    from pathlib import Path

    from casemix import DefinitionSettings, load_births
    from casemix.alignment.align import _crude

    spec = Path(__file__).resolve().parents[2] / "models" / "big2.toml"
    run = tmp_path / "run"
    assert runner.invoke(app, ["fit", str(spec), "--data", str(cohort_file), "--out",
                               str(run), "--no-diagnostics"]).exit_code == 0
    ref = _crude(load_births(cohort_file).births, "vsv", ["big2"], DefinitionSettings())
    ref.loc[0, "numerator"] += 5
    ref.to_csv(tmp_path / "ref.csv", index=False)
    out = tmp_path / "report.html"
    result = runner.invoke(app, ["report", str(run), "--out", str(out), "--lang", "en",
                                 "--reference", str(tmp_path / "ref.csv")])
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert 'id="alignment"' in html and "unexplained" in html
    assert f"{len(ref) - 1} of {len(ref)} reference rows agree" in html
    # route 8 of issue 13: rows read minus births analysed would give the excluded count
    assert "births analysed" in html and "4000 births read" not in html


def test_refit_and_compare_runs_commands(tmp_path):
    from pathlib import Path

    from casemix import simulate_cohort

    models = tmp_path / "models"
    models.mkdir()
    spec = (Path(__file__).resolve().parents[2] / "models" / "big2.toml").read_text()
    (models / "big2.toml").write_text(spec.replace('levels = ["vsv", "municipality"]',
                                                   'levels = ["vsv"]'))
    data = tmp_path / "births.parquet"
    simulate_cohort(12_000, years=(2023, 2024), seed=5).births.to_parquet(data)
    for year in (2023, 2024):
        result = runner.invoke(app, ["refit", "--year", str(year), "--data", str(data),
                                     "--out", str(tmp_path / "runs"), "--models",
                                     str(models)])
        assert result.exit_code == 0, result.output
    old, new = tmp_path / "runs" / "2023" / "big2", tmp_path / "runs" / "2024" / "big2"
    result = runner.invoke(app, ["compare-runs", str(old), str(new), "--out",
                                 str(tmp_path / "cmp.html")])
    assert result.exit_code == 0, result.output
    assert "coefficients drifted" in result.output and "Old model on new data" in result.output
    assert "Coefficient drift" in (tmp_path / "cmp.html").read_text()


def test_indicators_breakdown_command(cohort_file, tmp_path):
    """--breakdown writes the breakdown and inequality tables beside the indicator table;
    the three files (with exclusions and geography) pass the audit together."""
    from casemix.workflow.audit import audit_files

    out = tmp_path / "export" / "ind.csv"
    result = runner.invoke(app, ["indicators", str(cohort_file), "--by", "vsv",
                                 "--breakdown", "education,income_quintile", "--out",
                                 str(out)])
    assert result.exit_code == 0, result.output
    assert "big2 by education, national" in result.output
    table = pd.read_csv(out.with_name("ind_breakdowns.csv"))
    assert set(table["breakdown"]) == {"education", "income_quintile"}
    assert set(table["indicator"]) == {"big2", "preterm", "sga"}
    assert set(table["definitions"]) == {"monitor-2022"}
    ineq = pd.read_csv(out.with_name("ind_inequality.csv"))
    assert {"rate_difference", "rate_ratio", "sii", "rii"} <= set(ineq["measure"])
    audit = audit_files([out.parent])
    assert audit.ok, audit.findings
    bad = runner.invoke(app, ["indicators", str(cohort_file), "--breakdown", "religion"])
    assert bad.exit_code != 0 and "Unknown breakdown" in bad.output
