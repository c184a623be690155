"""Bad inputs a user may bring: each gives one clear line (what, where, how to fix) and its
exit code, never a traceback (issue 16).

Every case builds its files in a temporary folder and names the expected exit code (2: an
input the command cannot use; 1: a check that failed) and a regular expression the output
must match. The output must not contain ``Traceback``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from casemix import simulate_cohort
from casemix.cli import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
BIG2 = (ROOT / "models" / "big2.toml").read_text("utf-8")


@pytest.fixture(scope="module")
def births() -> pd.DataFrame:
    return simulate_cohort(3000, seed=4).births


@pytest.fixture(scope="module")
def data(births, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bad") / "cohort.csv"
    births.to_csv(path, index=False)
    return path


def _spec(tmp: Path, text: str) -> str:
    path = tmp / "spec.toml"
    path.write_text(text, "utf-8")
    return str(path)


def _csv(tmp: Path, frame: pd.DataFrame, name: str = "x.csv") -> str:
    path = tmp / name
    frame.to_csv(path, index=False)
    return str(path)


def _semicolon(tmp: Path, frame: pd.DataFrame) -> str:
    """A Dutch spreadsheet export: ';' and decimal commas, with a ragged line."""
    path = tmp / "nl.csv"
    frame.to_csv(path, sep=";", decimal=",", index=False)
    with path.open("a", encoding="utf-8") as f:
        f.write("1;2\n")
    return str(path)


def _models(tmp: Path, text: str) -> str:
    folder = tmp / "models"
    folder.mkdir()
    (folder / "nothing.toml").write_text(text, "utf-8")
    return str(folder)


def _ref(tmp: Path, rows: list[dict]) -> str:
    return _csv(tmp, pd.DataFrame(rows), "ref.csv")


Case = tuple[str, Callable[[Path, Path, pd.DataFrame], list[str]], int, str]

CASES: list[Case] = [
    ("missing data file", lambda t, d, b: ["indicators", str(t / "nope.csv")], 2,
     r"not found.*nope\.csv"),
    ("missing data file with markup in its name",
     lambda t, d, b: ["indicators", str(t / "[red]x[/].csv")], 2, r"\[red\]x\[/\]\.csv"),
    ("missing spec file", lambda t, d, b: ["fit", str(t / "nope.toml"), "--data", str(d),
                                           "--out", str(t / "run")], 2,
     r"spec file not found"),
    ("spec is not TOML", lambda t, d, b: ["fit", _spec(t, "name = \n"), "--data", str(d),
                                          "--out", str(t / "run")], 2, r"not valid TOML"),
    ("spec unknown top-level key",
     lambda t, d, b: ["fit", _spec(t, "colour = 'red'\n" + BIG2), "--data", str(d),
                      "--out", str(t / "run")], 2, r"spec\.toml: unknown key\(s\) \['colour'\]"),
    ("spec knots as a string",
     lambda t, d, b: ["fit", _spec(t, BIG2.replace("knots = [20, 27, 31, 35, 41]",
                                                   'knots = "20,27,31,35,41"')),
                      "--data", str(d), "--out", str(t / "run")], 2,
     r"spec\.toml: \[\[adjust\]\] #1 \(maternal_age\) key 'knots' must be a list of numbers"),
    ("spec knots with a text entry",
     lambda t, d, b: ["fit", _spec(t, BIG2.replace("knots = [20, 27, 31, 35, 41]",
                                                   'knots = [20, "27"]')),
                      "--data", str(d), "--out", str(t / "run")], 2,
     r"key 'knots' must be a number"),
    ("spec levels as a string",
     lambda t, d, b: ["fit", _spec(t, BIG2.replace('levels = ["vsv", "municipality"]',
                                                   'levels = "vsv"')),
                      "--data", str(d), "--out", str(t / "run")], 2,
     r"key 'levels' must be a list"),
    ("spec adjuster with an unknown key",
     lambda t, d, b: ["fit", _spec(t, BIG2.replace('column = "infant_sex"',
                                                   'column = "infant_sex"\ncolor = 1')),
                      "--data", str(d), "--out", str(t / "run")], 2,
     r"\[\[adjust\]\] #4 has unknown key\(s\) \['color'\]"),
    ("spec adjuster of an unknown type",
     lambda t, d, b: ["fit", _spec(t, BIG2.replace('type = "spline"', 'type = "cubic"')),
                      "--data", str(d), "--out", str(t / "run")], 2,
     r"\(maternal_age\).*kind must be categorical, linear or spline"),
    ("spec method unknown",
     lambda t, d, b: ["fit", _spec(t, BIG2.replace('method = "pooled"', 'method = "magic"')),
                      "--data", str(d), "--out", str(t / "run")], 2, r"spec\.toml:.*method"),
    ("spec confidence level as text",
     lambda t, d, b: ["fit", _spec(t, 'confidence_level = "95%"\n' + BIG2), "--data",
                      str(d), "--out", str(t / "run")], 2,
     r"key 'confidence_level' must be a number"),
    ("spec interactions not pairs",
     lambda t, d, b: ["fit", _spec(t, BIG2.replace('method = "pooled"',
                                                   'method = "pooled"\ninteractions = '
                                                   '[["parity"]]')),
                      "--data", str(d), "--out", str(t / "run")], 2, r"must hold pairs"),
    ("spec without adjusters",
     lambda t, d, b: ["fit", _spec(t, 'name = "x"\noutcome = "big2"\nadjust = []\n'),
                      "--data", str(d), "--out", str(t / "run")], 2, r"no adjusters"),
    ("spec level column not in the data",
     lambda t, d, b: ["fit", _spec(t, BIG2.replace('levels = ["vsv", "municipality"]',
                                                   'levels = ["vsv", "gemeente"]')),
                      "--data", str(d), "--out", str(t / "run")], 2,
     r"spec\.toml: levels \['gemeente'\] not in the data.*--mapping"),
    ("spec adjuster column not in the data",
     lambda t, d, b: ["fit", _spec(t, BIG2.replace('column = "infant_sex"',
                                                   'column = "sex_of_child"')),
                      "--data", str(d), "--out", str(t / "run")], 2,
     r"\[\[adjust\]\] column \['sex_of_child'\] not in the data"),
    ("spec outcome neither indicator nor column",
     lambda t, d, b: ["fit", _spec(t, BIG2.replace('outcome = "big2"', 'outcome = "cs"')),
                      "--data", str(d), "--out", str(t / "run")], 2, r"outcome \['cs'\]"),
    ("indicator without events nationally",
     lambda t, d, b: ["fit", _spec(t, BIG2.replace('outcome = "big2"', 'outcome = "never"')),
                      "--data", _csv(t, b.assign(never=0)), "--out", str(t / "run")], 2,
     r"spec\.toml: outcome 'never' has no events among the .* births analysed"),
    ("indicator with only events",
     lambda t, d, b: ["fit", _spec(t, BIG2.replace('outcome = "big2"', 'outcome = "always"')),
                      "--data", _csv(t, b.assign(always=1)), "--out", str(t / "run")], 2,
     r"outcome 'always' has only events"),
    ("outcome column with other codes",
     lambda t, d, b: ["fit", _spec(t, BIG2.replace('outcome = "big2"', 'outcome = "cs"')),
                      "--data", _csv(t, b.assign(cs=2)), "--out", str(t / "run")], 2,
     r"must be 0/1"),
    ("unknown fit method option",
     lambda t, d, b: ["fit", str(ROOT / "models" / "big2.toml"), "--data", str(d), "--out",
                      str(t / "run"), "--method", "magic"], 2, r"magic"),
    ("small threshold without the override",
     lambda t, d, b: ["indicators", str(d), "--threshold", "5"], 2, r"--allow-small-counts"),
    ("unknown indicator", lambda t, d, b: ["indicators", str(d), "--indicator", "apgar9"], 2,
     r"apgar9"),
    ("unknown definitions preset",
     lambda t, d, b: ["indicators", str(d), "--definitions", "monitor-1999"], 2,
     r"monitor-1999"),
    ("unknown breakdown", lambda t, d, b: ["indicators", str(d), "--breakdown", "religion"],
     2, r"Unknown breakdown"),
    ("unknown comparison level", lambda t, d, b: ["indicators", str(d), "--by", "gemeente"],
     2, r"Cannot compare by \['gemeente'\]"),
    ("year not in the file", lambda t, d, b: ["indicators", str(d), "--year", "1990"], 2,
     r"--year \[1990\]: the file holds the years"),
    ("unknown mapping preset",
     lambda t, d, b: ["validate", str(d), "--mapping", "lrn"], 2, r"lrn"),
    ("invalid --invalid value",
     lambda t, d, b: ["validate", str(d), "--invalid", "ignore"], 2, r"ignore"),
    ("required column missing",
     lambda t, d, b: ["validate", _csv(t, b[["birth_id", "year", "maternal_age"]])], 1,
     r"Required column\(s\) missing"),
    ("text in a numeric column",
     lambda t, d, b: ["validate", _csv(t, b.assign(
         maternal_age=b["maternal_age"].astype(object).where(b.index != 3, "abc")))], 1,
     r"'abc'"),
    ("unit label with markup",
     lambda t, d, b: ["indicators", _csv(t, b.assign(vsv="[/x]")), "--by", "vsv"], 0,
     r"\[/x\]|vsv: 1 units"),
    ("unit codes differing only in case",
     lambda t, d, b: ["validate", _csv(t, b.assign(vsv=b["vsv"].astype(str).where(
         b.index % 2 == 0, b["vsv"].astype(str).str.lower())))], 0,
     r"differ only in"),
    ("report on a folder that is not a run",
     lambda t, d, b: ["report", str(t)], 2, r"."),
    ("score with a folder that is not a run",
     lambda t, d, b: ["score", str(t), "--data", str(d), "--out", str(t / "s.csv")], 2,
     r"Incomplete run folder .*missing: manifest\.json"),
    ("audit of a missing folder", lambda t, d, b: ["audit", str(t / "nope")], 2, r"nope"),
    ("compare-runs with a missing folder",
     lambda t, d, b: ["compare-runs", str(t / "a"), str(t / "b")], 2, r"."),
    ("refit without specs",
     lambda t, d, b: ["refit", "--year", "2024", "--data", str(d), "--models", str(t),
                      "--out", str(t / "runs")], 2, r"No model specifications"),
    ("refit of a year without births",
     lambda t, d, b: ["refit", "--year", "1990", "--data", str(d), "--out",
                      str(t / "runs")], 2, r"no births of year 1990"),
    ("simulate with no births",
     lambda t, d, b: ["simulate", "--out", str(t / "c.parquet"), "--n-births", "0"], 2, r"."),
    ("header-only CSV",
     lambda t, d, b: ["validate", _csv(t, b.iloc[0:0])], 1, r"has no rows"),
    ("fit on a header-only CSV",
     lambda t, d, b: ["fit", str(ROOT / "models" / "big2.toml"), "--data",
                      _csv(t, b.iloc[0:0]), "--out", str(t / "run")], 2, r"has no rows"),
    ("ragged line with the wrong delimiter forced",
     lambda t, d, b: ["validate", _semicolon(t, b), "--sep", ","], 2,
     r"delimiter|--sep"),
    ("mis-cased column name",
     lambda t, d, b: ["validate", _csv(t, b.rename(columns={"birthweight_g":
                                                              "Birthweight_g"}))], 0,
     r"renamed|read as"),
    ("refit names the spec whose outcome has no events",
     lambda t, d, b: ["refit", "--year", str(int(b["year"].max())), "--data",
                      _csv(t, b.assign(never=0)), "--models", _models(t, BIG2.replace(
                          'outcome = "big2"', 'outcome = "never"')), "--out",
                      str(t / "runs")], 2, r"models/nothing.*outcome 'never' has no events"),
    ("several years pooled by indicators",
     lambda t, d, b: ["indicators", _csv(t, pd.concat([b.assign(year=2023),
                                                        b.assign(year=2024, birth_id=b[
                                                            "birth_id"].astype(str) + "b")]))],
     0, r"2 years \(2023\.\.2024\); they are pooled"),
    ("unknown command option",
     lambda t, d, b: ["indicators", str(d), "--colour"], 2, r"No such option"),
]


@pytest.mark.parametrize(("name", "argv", "code", "pattern"), CASES, ids=[c[0] for c in CASES])
def test_bad_input(name, argv, code, pattern, tmp_path, data, births):
    result = runner.invoke(app, argv(tmp_path, data, births))
    text = result.output
    assert result.exit_code == code, text
    assert "Traceback" not in text
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit), repr(result.exception)
    assert re.search(pattern, " ".join(text.split()), re.S), text


def test_there_are_at_least_40_cases():
    assert len(CASES) >= 40


def test_debug_shows_the_traceback(tmp_path):
    """With --debug the failure keeps its traceback (the exception reaches the runner)."""
    plain = runner.invoke(app, ["indicators", str(tmp_path / "nope.csv")])
    assert plain.exit_code == 2 and "Traceback" not in plain.output
    debug = runner.invoke(app, ["--debug", "indicators", str(tmp_path / "nope.csv")])
    assert debug.exit_code != 0
    assert "Traceback" in debug.output or debug.exception is not None


def test_a_table_without_units_or_outcome_columns_is_not_silently_valid(tmp_path, births):
    """The 3-column case of the issue: required columns only. It validates (nothing is
    wrong with its rows) but says what it cannot be used for."""
    path = tmp_path / "three.csv"
    births[["birth_id", "year", "gestational_age_days"]].to_csv(path, index=False)
    result = runner.invoke(app, ["validate", str(path)])
    text = " ".join(result.output.split())
    assert result.exit_code == 0, result.output
    assert "No unit column" in text and "only preterm" in text


def test_dutch_spreadsheet_export_is_read_and_said(tmp_path, births):
    """';' with decimal commas in cp1252 (accented names): sniffed and said; the same file
    with --sep ',' forced fails with a hint; a fit records how it read the file, so the run
    reads it again the same way."""
    import json

    from casemix.models.runs import load_run

    path = tmp_path / "export.csv"
    b = births.assign(municipality_name="Súdwest-Fryslân")
    b.to_csv(path, sep=";", decimal=",", index=False, encoding="cp1252")
    ok = runner.invoke(app, ["validate", str(path)])
    text = " ".join(ok.output.split())
    assert ok.exit_code == 0, ok.output
    assert "delimiter ';' (sniffed)" in text and "decimal mark ','" in text
    assert "cp1252" in text
    forced = runner.invoke(app, ["validate", str(path), "--sep", ","])
    assert forced.exit_code in (1, 2) and "Traceback" not in forced.output
    run = tmp_path / "run"
    fit = runner.invoke(app, ["fit", str(ROOT / "models" / "big2.toml"), "--data", str(path),
                              "--out", str(run), "--no-diagnostics", "--encoding", "cp1252"])
    assert fit.exit_code == 0, fit.output
    read = json.loads((run / "manifest.json").read_text())["read"]
    assert read == {"sep": ";", "decimal": ",", "encoding": "cp1252"}
    assert len(load_run(run).read_births().births) == len(births)


def test_score_reports_every_row_it_did_not_use(tmp_path, births, data):
    """4 rows with an impossible maternal age: rows read = used + excluded, with the reason,
    and the small count shown as <10."""
    run = tmp_path / "run"
    fit = runner.invoke(app, ["fit", str(ROOT / "models" / "big2.toml"), "--data", str(data),
                              "--out", str(run), "--no-diagnostics"])
    assert fit.exit_code == 0, fit.output
    bad = births.copy()
    bad.loc[:3, "maternal_age"] = 7
    path = _csv(tmp_path, bad)
    result = runner.invoke(app, ["score", str(run), "--data", path, "--out",
                                 str(tmp_path / "scores.csv")])
    text = " ".join(result.output.split())
    assert result.exit_code == 0, result.output
    assert f"{len(births):,} rows read = {len(births) - 4:,} used + 4 excluded" in text
    assert "excluded: <10 rows" in text
