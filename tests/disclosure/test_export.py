"""``casemix export``: only what may leave, audited together; refused when the audit fails."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from casemix.cli import app
from casemix.workflow.audit import audit_files

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _run(tmp_path: Path) -> tuple[Path, Path]:
    cohort = tmp_path / "cohort.parquet"
    assert runner.invoke(app, ["simulate", "--out", str(cohort), "--n-births", "30000",
                               "--seed", "5"]).exit_code == 0
    spec = (ROOT / "models" / "big2.toml").read_text().replace(
        'levels = ["vsv", "municipality"]', 'levels = ["vsv"]')
    (tmp_path / "big2.toml").write_text(spec)
    run = tmp_path / "run"
    result = runner.invoke(app, ["fit", str(tmp_path / "big2.toml"), "--data", str(cohort),
                                 "--out", str(run), "--method", "eb"])
    assert result.exit_code == 0, result.output
    return run, cohort


def test_export_copies_only_what_may_leave_and_passes(tmp_path):
    run, _ = _run(tmp_path)
    out = tmp_path / "export"
    result = runner.invoke(app, ["export", str(run), "--out", str(out)])
    assert result.exit_code == 0, result.output
    names = {p.name for p in out.iterdir()}
    assert {"units.csv", "direct.csv", "audit.json", "README.md", "funnel_vsv.csv"} <= names
    assert not names & {"model.json", "manifest.json", "suppression_log.csv", "posterior"}
    assert "Not exported" in (out / "README.md").read_text()
    assert audit_files([out]).ok


def test_export_refuses_a_leak_and_writes_nothing(tmp_path):
    run, _ = _run(tmp_path)
    units = pd.read_csv(run / "units.csv", dtype={"unit": str, "period": str})
    row = units.index[units["observed"].isna()][0]
    units.loc[row, "oe"] = 0.42  # a value computed from the suppressed count, put back
    units.to_csv(run / "units.csv", index=False)
    out = tmp_path / "export"
    result = runner.invoke(app, ["export", str(run), "--out", str(out)])
    assert result.exit_code == 1 and "refused" in result.output
    assert not out.exists() and not list(tmp_path.glob(".export*"))


def test_indicator_tables_are_audited(tmp_path):
    """Routes 4 and 6 on an indicator table: a unit count that equals the national row minus
    the published units is found."""
    table = pd.DataFrame({
        "level": ["national", "vsv", "vsv", "vsv"], "unit": ["national", "A", "B", "C"],
        "indicator": "big2", "numerator": [130, 60, 66, None],
        "denominator": [1000, 400, 400, 200], "rate": [0.13, 0.15, 0.165, None],
        "suppressed": [False, False, False, True]})
    path = tmp_path / "indicators.csv"
    table.to_csv(path, index=False)
    findings = audit_files([path]).findings
    assert findings["route"].str.contains("differencing").any()  # C = 130 - 60 - 66 = 4
    table.loc[1, ["numerator", "rate", "suppressed"]] = [None, None, True]
    table.to_csv(path, index=False)
    assert audit_files([path]).ok  # A and C hidden together: 64 split between them


def test_export_takes_indicator_tables_with_their_logs(tmp_path):
    """Indicator tables leave with their exclusion log and geography, audited with the run."""
    run, cohort = _run(tmp_path)
    rates = tmp_path / "rates.csv"
    result = runner.invoke(app, ["indicators", str(cohort), "--by", "municipality", "--by",
                                 "ggd_region", "--out", str(rates)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "export"
    result = runner.invoke(app, ["export", str(run), "--out", str(out), "--indicators",
                                 str(rates)])
    assert result.exit_code == 0, result.output
    names = {p.name for p in out.iterdir()}
    assert {"indicators_rates.csv", "indicators_rates_exclusions.csv",
            "indicators_rates_geography.csv"} <= names
    assert audit_files([out]).ok


def test_export_with_the_report_audits_its_tables_and_text(tmp_path):
    """Routes 8 and 11: the report leaves only with the run it belongs to and passes the
    audit (its tables get the row checks of the CSV files); put back, a small exclusion
    count in its text is found."""
    run, _ = _run(tmp_path)
    report = tmp_path / "report.html"
    result = runner.invoke(app, ["report", str(run), "--out", str(report)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "export"
    result = runner.invoke(app, ["export", str(run), "--out", str(out), "--report",
                                 str(report)])
    assert result.exit_code == 0, result.output
    assert (out / "report.html").is_file() and audit_files([out]).ok
    html = report.read_text()
    planted = tmp_path / "planted.html"
    planted.write_text(html.replace("</h2>", "</h2><p>3 excluded at validation.</p>", 1))
    findings = audit_files([planted]).findings
    assert findings["route"].str.contains("count in the text").any()
    other = tmp_path / "other.html"
    other.write_text(re.sub(r"<code>([0-9a-f]{16})</code>", r"<code>x\1</code>", html, count=1))
    result = runner.invoke(app, ["export", str(run), "--out", str(tmp_path / "e2"),
                                 "--report", str(other)])
    assert result.exit_code != 0 and "not a report of" in result.output


def test_report_marks_units_by_precision(tmp_path):
    """Issue 14 (small units): the mark follows the width of the 95% O/E interval, read back
    from the report's own unit table, not the quarter of units with the fewest births."""
    from casemix.workflow.html_tables import read_report

    run, _ = _run(tmp_path)
    report = tmp_path / "report.html"
    assert runner.invoke(app, ["report", str(run), "--out", str(report)]).exit_code == 0
    tables, _ = read_report(report.read_text())
    units = next(t for t in tables if "small_unit" in t.columns)
    width = units["oe_upper"] - units["oe_lower"]
    marked = units["small_unit"].eq("onnauwkeurig")  # "imprecise" in the Dutch report
    assert marked.tolist() == (width > 1.0).tolist()
    assert units.loc[units["observed"].isna(), "small_unit"].isna().all()
