"""The polish of the command line (issue "the CLI"): --version, help and errors printed
literally (no console markup), metavars that help, a readable fit summary, progress on
long steps, no ``nan``/``None``/``True`` leaking out, and counts with thousands separators.
"""

from __future__ import annotations

import contextlib
import importlib
import re
import subprocess
import sys
import typing
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from casemix import simulate_cohort
from casemix.cli import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
BIG2 = ROOT / "models" / "big2.toml"


def test_version_prints_the_installed_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"casemix {metadata.version('casemix')}"


def test_python_dash_m_casemix_runs_the_cli():
    done = subprocess.run([sys.executable, "-m", "casemix", "--version"], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("casemix ")


# -- help and errors print bracketed text literally ---------------------------------------

def _commands() -> dict[str, Any]:
    """The click command of every casemix command, and the group itself under ``""``."""
    group = typer.main.get_command(app)
    return {"": group, **group.commands}


def _help_strings(command: Any) -> list[str]:
    """The help strings of a command as written in the source: its docstring (or help) and
    the help of every argument and option."""
    return [text for text in (command.help, *(getattr(p, "help", None) for p in
                                               command.params)) if text]


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize("name", list(_commands()))
def test_help_prints_every_bracketed_part_of_its_help_strings(name):
    command = _commands()[name]
    result = runner.invoke(app, [*([name] if name else []), "--help"],
                           env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    shown = _squeezed(result.output)
    for text in _help_strings(command):
        for part in re.findall(r"\[[^\[\]]*\]", text):
            assert _squeezed(part) in shown, (part, result.output)
    assert "\\[" not in result.output


def test_the_help_strings_do_hold_bracketed_text():
    """The test above is not empty: fit's --adjacency help holds ``[neighbours]``."""
    parts = [p for c in _commands().values() for t in _help_strings(c)
             for p in re.findall(r"\[[^\[\]]*\]", t)]
    assert "[neighbours]" in parts
    fit = runner.invoke(app, ["fit", "--help"], env={"COLUMNS": "80"})
    assert "{region: [neighbours]}" in " ".join(fit.output.split())


def test_summaries_are_whole_first_paragraphs():
    """``casemix --help`` lists each command with its first paragraph, not a sentence cut
    at "e.g." or after 45 characters."""
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "80"})
    listing = " ".join(result.output.split("Commands:")[1].split())
    assert "Apply a saved model to new births (e.g. a new year on a frozen standard)." in listing
    assert "..." not in listing.replace("Big2 denominator, ...)", "")


@pytest.fixture(scope="module")
def unmapped(tmp_path_factory) -> Path:
    """A registry extract (Perined names) with a sex code the mapping does not know."""
    births = simulate_cohort(600, seed=8).births
    extract = births.rename(columns={"birth_id": "kind_id", "year": "jaar",
                                     "infant_sex": "geslacht"})
    extract["geslacht"] = extract["geslacht"].map({"male": "1", "female": "2"})
    extract.loc[:2, "geslacht"] = "9"
    path = tmp_path_factory.mktemp("mapping") / "extract.csv"
    extract.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("command", ["validate", "indicators", "fit"])
def test_a_mapping_error_prints_its_bracketed_table_name(command, unmapped, tmp_path):
    argv = {"validate": ["validate", str(unmapped)],
            "indicators": ["indicators", str(unmapped)],
            "fit": ["fit", str(BIG2), "--data", str(unmapped), "--out", str(tmp_path / "r")]}
    result = runner.invoke(app, [*argv[command], "--mapping", "perined"])
    text = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    assert "Add them to [values.infant_sex] in the mapping." in text


# -- metavars only where they help ----------------------------------------------------------

#: What an option's value is: a file, a folder, a run folder, a number, a year, a name.
WORDS = {"FILE", "FOLDER", "SPEC", "RUN", "OLD", "NEW", "PATH", "PRESET|FILE", "N", "YEAR",
         "NAME", "CHAR"}
PATH_WORDS = {"FILE", "FOLDER", "SPEC", "RUN", "OLD", "NEW", "PATH"}
CHOICES = re.compile(r"^\[[^\[\]|]+(\|[^\[\]|]+)*\]$")


def _parameters() -> list[tuple[str, str, type, Any]]:
    """(command, parameter, base type, typer's Option/Argument info) of every parameter of
    every command and of the group."""
    infos = [(c.name or c.callback.__name__.replace("_", "-"), c.callback)
             for c in app.registered_commands]
    infos.append(("", app.registered_callback.callback))
    out = []
    for name, callback in infos:
        for param, hint in typing.get_type_hints(callback, include_extras=True).items():
            if param == "return":
                continue
            base, info = typing.get_args(hint)[0], typing.get_args(hint)[1]
            types = [t for t in (typing.get_args(base) or (base,)) if t is not type(None)]
            element = typing.get_args(types[0])[0] if typing.get_origin(types[0]) else types[0]
            out.append((name, param, element, info))
    return out


@pytest.mark.parametrize(("command", "param", "kind", "info"), _parameters(),
                         ids=[f"{c or 'casemix'}-{p}" for c, p, _, _ in _parameters()])
def test_metavars_say_what_the_value_is(command, param, kind, info):
    """Flags show none; paths FILE, FOLDER (or what the argument is: SPEC, RUN, ...);
    numbers N (years YEAR, a pair of bounds LOWER UPPER); fixed values their choices."""
    if kind is bool:
        assert not info.metavar
    elif kind is Path:
        assert info.metavar in PATH_WORDS
    elif kind in (int, float):
        assert info.metavar in ("N", "YEAR", "LOWER UPPER")
    else:
        assert info.metavar in WORDS or CHOICES.match(info.metavar), info.metavar


@pytest.mark.parametrize("name", list(_commands()))
def test_help_shows_no_type_names(name):
    """No typer type labels (<bool>, <path>, <int>, INTEGER, TEXT...) in any help."""
    result = runner.invoke(app, [*([name] if name else []), "--help"])
    assert result.exit_code == 0, result.output
    assert not re.search(r"<(bool|path|int|float|str|list)|\b(INTEGER|FLOAT|TEXT|BOOLEAN)\b",
                         result.output), result.output
    assert not re.search(r"--(help|debug|version|json|without-ses|allow-small-counts) \S",
                         result.output), result.output


def test_choices_are_the_packages_own():
    from casemix.bayes.trend import TRENDS
    from casemix.cli import main
    from casemix.inequality import BREAKDOWNS
    from casemix.report.i18n import LANGUAGES
    from casemix.workflow.publish import FORMATS

    assert main.TRENDS == TRENDS
    assert main.LANGUAGES == LANGUAGES
    assert main.PUBLISH_FORMATS == FORMATS
    assert tuple(BREAKDOWNS) == main.BREAKDOWN_NAMES
    fit = " ".join(runner.invoke(app, ["fit", "--help"]).output.split())
    assert "--method [pooled|fixed|glmm|eb|fay-herriot|bayes|bayes-joint|bym2]" in fit
    assert "-o, --out FOLDER" in fit and "-d, --data FILE" in fit and "--seed N" in fit
    assert "[OPTIONS] {SPEC}" in fit and "SPEC Model specification" in fit


# -- the fit summary ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Path:
    """20,000 simulated births (two years, so that compare-runs has two runs to compare)."""
    path = tmp_path_factory.mktemp("polish") / "cohort.parquet"
    result = runner.invoke(app, ["simulate", "--out", str(path), "--n-births", "20000",
                                 "--year", "2023", "--year", "2024", "--seed", "11"])
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture(scope="module")
def fitted(cohort) -> tuple[Path, str]:
    """A pooled big2 run of the cohort and what ``casemix fit`` printed."""
    run = cohort.parent / "run"
    result = runner.invoke(app, ["fit", str(BIG2), "--data", str(cohort), "--out", str(run),
                                 "--no-diagnostics"])
    assert result.exit_code == 0, result.output
    return run, result.output


@pytest.fixture(scope="module")
def refitted(cohort) -> tuple[Path, Path]:
    """Runs of 2023 and 2024 (``casemix refit``, both levels)."""
    root = cohort.parent / "runs"
    models = cohort.parent / "models"
    models.mkdir()
    (models / "big2.toml").write_text(BIG2.read_text("utf-8"), "utf-8")
    for year in (2023, 2024):
        result = runner.invoke(app, ["refit", "--year", str(year), "--data", str(cohort),
                                     "--models", str(models), "--out", str(root)])
        assert result.exit_code == 0, result.output
    return root / "2023" / "big2", root / "2024" / "big2"


def test_fit_prints_a_table_per_level_not_a_repr(fitted):
    from casemix.models import verdict_counts
    from casemix.models.runs import load_run

    run, output = fitted
    assert "<CaseMixResult" not in output and "cells=" not in output
    loaded = load_run(run)
    counts = verdict_counts(loaded.units().main()).set_index("level")
    manifest = loaded.manifest
    assert f"big2 (pooled): {manifest['rows']['analysed']:,} births analysed" in output
    rows = {}
    for line in output.splitlines():
        rows.setdefault(line.split()[0] if line.strip() else "", line.split())
    for level in ("vsv", "municipality"):
        c = counts.loc[level]
        spread = next(s for s in manifest["verdict"]["spread"] if s["level"] == level
                      and s["stratum"] == "all" and s["period"] == loaded.units().period)
        assert rows[level] == [level, f"{c['published']:,}", "of", f"{c['units']:,}",
                                *(str(c[k]) for k in ("above_95", "below_95", "above_998",
                                                      "below_998")),
                                f"{spread['phi']:.2f}", f"{spread['tau']:.3f}"]
    assert output.index("births analysed") < output.index("Verdict:") < output.index("Wrote")


def test_fit_notes_follow_the_table_and_print_literally(cohort, tmp_path, monkeypatch):
    """A warning while the run is written is a note after the table, bracketed text and
    all."""
    import warnings

    from casemix.cli import main
    from casemix.exceptions import CasemixWarning

    def save_run(*args, **kwargs):
        warnings.warn("direct.csv: add the level to [levels] of the spec.", CasemixWarning,
                      stacklevel=2)
        return real(*args, **kwargs)

    real = main.save_run
    monkeypatch.setattr(main, "save_run", save_run)
    result = runner.invoke(app, ["fit", str(BIG2), "--data", str(cohort), "--out",
                                 str(tmp_path / "r"), "--no-diagnostics", "--method", "eb"])
    assert result.exit_code == 0, result.output
    text = result.output
    assert "big2 (eb)" in text
    note = "note: direct.csv: add the level to [levels] of the spec."
    assert note in text
    assert text.index("births analysed") < text.index(note) < text.index("Wrote")


# -- progress on every long step --------------------------------------------------------------

#: The slow work of the commands, by module (or class) and name: each must run inside a
#: ``_step`` spinner (refit's specs run under its own progress bar, the samplers of the
#: Bayesian methods show their own).
HEAVY = [("casemix.simulation", "simulate_cohort"),  # imported by the command when it runs
         ("casemix.cli.main", "write_table"),
         ("casemix.cli.main", "load_births"), ("casemix.cli.main", "derive_indicators"),
         ("casemix.cli.main", "indicator_rates"), ("casemix.cli.main", "save_run"),
         ("casemix.cli.main", "reproduce_run"), ("casemix.cli.main", "geography_table"),
         ("casemix.models.CaseMixModel", "fit"), ("casemix.models.runs.FrozenModel", "score"),
         ("casemix.alignment", "align"), ("casemix.report", "build_report"),
         ("casemix.inequality", "indicator_breakdowns"), ("casemix.workflow", "compare_runs"),
         ("casemix.workflow.audit", "audit_files"), ("casemix.workflow.export", "export_run"),
         ("casemix.workflow.publish", "publish_run")]


def _owner(dotted: str) -> Any:
    try:
        return importlib.import_module(dotted)
    except ModuleNotFoundError:
        module, name = dotted.rsplit(".", 1)
        return getattr(importlib.import_module(module), name)


@pytest.fixture
def steps(monkeypatch) -> dict[str, list[str]]:
    """Record the spinner steps entered and every slow call made outside one."""
    from casemix.cli import main

    log: dict[str, list[str]] = {"steps": [], "outside": [], "active": []}

    @contextlib.contextmanager
    def step(description: str):
        log["steps"].append(description)
        log["active"].append(description)
        try:
            yield
        finally:
            log["active"].pop()

    def watched(name: str, real: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            if not log["active"]:
                log["outside"].append(name)
            return real(*args, **kwargs)
        return call

    monkeypatch.setattr(main, "_step", step)
    for owner, name in HEAVY:
        target = _owner(owner)
        monkeypatch.setattr(target, name, watched(name, getattr(target, name)))
    return log


def test_every_slow_step_shows_progress(cohort, fitted, refitted, steps, tmp_path):
    """simulate, validate, indicators (with breakdowns), fit, score, align, report, publish,
    compare-runs, audit and export: no slow call outside a spinner."""
    from casemix import DefinitionSettings, load_births
    from casemix.alignment.align import _crude

    small = tmp_path / "small.parquet"
    ref = tmp_path / "ref.csv"
    births = load_births(cohort).births
    _crude(births[births["year"] == 2024], "vsv", ["preterm"], DefinitionSettings()).to_csv(
        ref, index=False)
    run, _ = fitted
    runs = refitted
    commands = [
        ["simulate", "--out", str(small), "--n-births", "3000", "--seed", "2"],
        ["validate", str(small)],
        ["indicators", str(small), "--by", "vsv", "--breakdown", "education", "--indicator",
         "preterm", "--out", str(tmp_path / "ind" / "ind.csv")],
        ["fit", str(BIG2), "--data", str(small), "--out", str(tmp_path / "run"),
         "--no-diagnostics"],
        ["score", str(run), "--data", str(small), "--out", str(tmp_path / "s.csv")],
        ["align", str(run), "--reference", str(ref), "--out", str(tmp_path / "al.csv")],
        ["report", str(tmp_path / "run"), "--out", str(tmp_path / "r.html")],
        ["publish", str(run), "--out", str(tmp_path / "statline.csv")],
        ["compare-runs", *map(str, runs), "--out", str(tmp_path / "cmp.html")],
        ["audit", str(run)],
        ["export", str(run), "--out", str(tmp_path / "export")],
    ]
    for argv in commands:
        result = runner.invoke(app, argv)
        assert result.exit_code in (0, 1), (argv, result.output)
        assert not steps["outside"], (argv, steps["outside"])
    said = " ".join(steps["steps"])
    for words in ("Simulating 3,000 births", "Deriving indicators", "protecting counts",
                  "Breaking down by education", "Fitting big2", "Scoring",
                  "alternative definitions", "Refitting the run", "statline table",
                  "Comparing the runs",
                  "Auditing", "auditing them together"):
        assert words in said, words


def test_no_spinner_line_on_a_pipe(cohort):
    """stderr that is not a terminal gets no spinner (and no blank line for it)."""
    result = runner.invoke(app, ["validate", str(cohort)])
    assert result.exit_code == 0, result.output
    assert not result.output.startswith("\n")
    assert "\n\n" not in result.output.split("Valid")[0]


# -- no nan, None, True or False; counts with thousands separators ----------------------

LEAKS = re.compile(r"\b(nan|NaN|None|True|False|NaT)\b|<NA>")
#: A number of 4 or more digits without separators (years and seeds aside), not part of a
#: decimal, a path or a name.
BARE = re.compile(r"(?<![\w.,/-])\d{4,}(?![\w,/])")


def _bare_counts(text: str) -> list[str]:
    return [m for m in BARE.findall(text) if not (1900 <= int(m) <= 2100)]


@pytest.fixture(scope="module")
def outputs(cohort, fitted, refitted, tmp_path_factory) -> dict[str, str]:
    """What every command prints on the 20,000 births (and a 3,000-birth breakdown)."""
    tmp = tmp_path_factory.mktemp("outputs")
    run, fit_output = fitted
    small = tmp / "small.parquet"
    argvs = {
        "simulate": ["simulate", "--out", str(small), "--n-births", "3000", "--seed", "2"],
        "validate": ["validate", str(cohort)],
        "indicators": ["indicators", str(cohort), "--by", "vsv",
                       "--year", "2024", "--out", str(tmp / "ind" / "ind.csv")],
        "breakdowns": ["indicators", str(small), "--by", "vsv", "--breakdown",
                       "education,migration_background", "--indicator", "big2"],
        "score": ["score", str(run), "--data", str(cohort), "--out", str(tmp / "s.csv")],
        "publish": ["publish", str(run), "--out", str(tmp / "statline.csv")],
        "compare-runs": ["compare-runs", *map(str, refitted), "--out", str(tmp / "cmp.html")],
        "audit": ["audit", str(run), str(tmp / "ind")],
        "audit-json": ["audit", str(run), "--json"],
        "export": ["export", str(run), "--out", str(tmp / "export")],
    }
    out = {"fit": fit_output}
    for name, argv in argvs.items():
        result = runner.invoke(app, argv)
        assert result.exit_code in (0, 1), (name, result.output)
        out[name] = result.output
    out["compare-runs.html"] = (tmp / "cmp.html").read_text("utf-8")
    return out


@pytest.mark.parametrize("name", ["simulate", "validate", "indicators", "breakdowns", "fit",
                                  "score", "publish", "compare-runs", "compare-runs.html",
                                  "audit", "export"])
def test_no_nan_none_true_or_false_is_printed(outputs, name):
    assert not LEAKS.search(outputs[name]), outputs[name]


def test_compare_runs_says_suppressed(outputs):
    """Units suppressed in one of the runs (municipalities with few births) show as such."""
    assert re.search(r"GM\d+: (suppressed -> \w+|\w+ -> suppressed)", outputs["compare-runs"])


def test_audit_json_is_valid_json(outputs):
    import json

    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} is not JSON")

    audit = json.loads(outputs["audit-json"], parse_constant=refuse)
    assert audit["findings"] and audit["findings"][0]["lower"] is None


@pytest.mark.parametrize("name", ["simulate", "validate", "indicators", "breakdowns", "fit",
                                  "score", "publish", "compare-runs", "audit", "export"])
def test_counts_have_thousands_separators(outputs, name):
    assert not _bare_counts(outputs[name]), outputs[name]


def test_separators_where_counts_are_large(outputs):
    assert "20,000 rows read" in outputs["validate"]
    assert re.search(r"\d,\d{3} births analysed", outputs["fit"])
    assert re.search(r"\d,\d{3} hidden counts checked", outputs["audit"])
