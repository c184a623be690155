"""The polish of the command line (issue "the CLI"): --version, help and errors printed
literally (no console markup), metavars that help, a readable fit summary, progress on
long steps, no ``nan``/``None``/``True`` leaking out, and counts with thousands separators.
"""

from __future__ import annotations

import re
import subprocess
import sys
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
