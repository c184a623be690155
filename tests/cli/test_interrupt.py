"""Interrupted and refused runs on the command line (issue 16): `casemix fit` stopped by Ctrl-C
at any moment leaves either no run folder or a complete one, never a half-written folder; the
output folder is checked before the data are read; incomplete runs are refused by every
command that reads them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from casemix.cli import app
from casemix.models.runs import MANIFEST, is_staging_folder, load_run

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "models" / "big2.toml"
runner = CliRunner()

#: Runs ``casemix fit`` and sends itself SIGINT at an exact moment of the writing:
#: ``csv N`` before the N-th table is written, ``before-rename`` once the temporary folder is
#: complete, ``after-rename`` once the run folder is in place.
HOOKED_FIT = """
import os, signal, sys
signal.signal(signal.SIGINT, signal.default_int_handler)
import pandas as pd
import casemix.models.runs as runs

where, n = sys.argv[1], int(sys.argv[2])

def interrupt():
    os.kill(os.getpid(), signal.SIGINT)

if where == "csv":
    calls, to_csv = [], pd.DataFrame.to_csv

    def counted(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == n:
            interrupt()
        return to_csv(self, *args, **kwargs)

    pd.DataFrame.to_csv = counted
else:
    publish = runs._publish

    def hooked(staging, out):
        if where == "before-rename":
            interrupt()
        publish(staging, out)
        if where == "after-rename":
            interrupt()

    runs._publish = hooked

from casemix.cli.main import app
sys.argv = ["casemix", *sys.argv[3:]]
app()
"""


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    path = tmp_path_factory.mktemp("interrupt") / "cohort.parquet"
    result = runner.invoke(app, ["simulate", "--out", str(path), "--n-births", "4000",
                                 "--seed", "3"])
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture(scope="module")
def complete(cohort):
    """An uninterrupted run: the files every complete run folder holds."""
    out = cohort.parent / "complete"
    result = runner.invoke(app, ["fit", str(SPEC), "--data", str(cohort), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


#: ``casemix`` with Ctrl-C raising KeyboardInterrupt even where the test runner was started
#: with SIGINT ignored (a background job of a shell without job control), which a child
#: process inherits.
CASEMIX = ("import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
           "runpy.run_module('casemix.cli', run_name='__main__')")


def _env() -> dict[str, str]:
    path = os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path}


def _names(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def _assert_all_or_nothing(out: Path, complete: Path) -> None:
    """No temporary folder left, and no run folder or a complete one that load_run reads."""
    assert not [p.name for p in out.parent.iterdir() if is_staging_folder(p)]
    if out.exists():
        assert _names(out) == _names(complete)  # judged without the package's own check
        assert load_run(out).folder == out


def _fit_args(cohort: Path, out: Path) -> list[str]:
    return ["fit", str(SPEC), "--data", str(cohort), "--out", str(out)]


posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


@posix_only
@pytest.mark.parametrize("delay", [0.2, 1.0, 2.0, 3.0, 4.0])
def test_ctrl_c_at_any_moment_leaves_all_or_nothing(cohort, complete, tmp_path, delay):
    """Delays span importing, reading, fitting and writing (about 3 s in all)."""
    out = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-c", CASEMIX, *_fit_args(cohort, out)],
                               env=_env(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    process.wait(timeout=120)
    _assert_all_or_nothing(out, complete)
    if delay < 0.5:  # still importing: surely interrupted
        assert process.returncode != 0 and not out.exists()


@posix_only
@pytest.mark.parametrize("where,n", [("csv", 1), ("csv", 6), ("csv", 14),
                                     ("before-rename", 0), ("after-rename", 0)])
def test_ctrl_c_while_writing_leaves_all_or_nothing(cohort, complete, tmp_path, where, n):
    out = tmp_path / "run"
    process = subprocess.run([sys.executable, "-c", HOOKED_FIT, where, str(n),
                              *_fit_args(cohort, out)], env=_env(), capture_output=True,
                             text=True, timeout=120)
    assert process.returncode != 0, process.stderr
    _assert_all_or_nothing(out, complete)
    assert out.exists() == (where == "after-rename")


def test_fit_refuses_an_existing_folder_before_reading_the_data(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = runner.invoke(app, ["fit", str(SPEC), "--data", str(tmp_path / "absent.parquet"),
                                 "--out", str(out)])
    assert result.exit_code == 2
    assert "never overwritten" in result.output and "absent" not in result.output
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_fit_and_refit_refuse_an_unwritable_folder_before_reading_the_data(tmp_path):
    (tmp_path / "some_file").write_text("x")  # nothing can ever be created below a file
    absent = str(tmp_path / "absent.parquet")
    fit = runner.invoke(app, ["fit", str(SPEC), "--data", absent, "--out",
                              str(tmp_path / "some_file" / "out")])
    refit = runner.invoke(app, ["refit", "--year", "2024", "--data", absent, "--out",
                                str(tmp_path / "some_file" / "runs")])
    for result, target in ((fit, "out"), (refit, "runs")):
        message = " ".join(result.output.split())  # unwrapped
        assert result.exit_code == 2
        assert f"some_file/{target}: " in message and "some_file is a file" in message
        assert "absent" not in message


@pytest.fixture
def incomplete(complete, tmp_path):
    """A copy of a complete run without direct.csv."""
    copy = tmp_path / "incomplete"
    copy.mkdir()
    for path in complete.iterdir():
        if path.name != "direct.csv":
            (copy / path.name).write_bytes(path.read_bytes())
    assert (copy / MANIFEST).is_file()
    return copy


@pytest.mark.parametrize("command", ["report", "score", "align", "export"])
def test_commands_refuse_an_incomplete_run(cohort, incomplete, tmp_path, command):
    options = {"report": ["--out", str(tmp_path / "report.html")],
               "score": ["--data", str(cohort), "--out", str(tmp_path / "scores.csv")],
               "align": ["--reference", str(tmp_path / "ref.csv")],
               "export": ["--out", str(tmp_path / "export")]}[command]
    result = runner.invoke(app, [command, str(incomplete), *options])
    message = " ".join(result.output.split())
    assert result.exit_code == 2
    assert "Incomplete run folder" in message and "(missing: direct.csv)" in message
    assert not [p for p in tmp_path.iterdir() if p.name != "incomplete"]
