"""Every ``casemix`` command has its page in the "Command line" section, and every page
shows a worked example that ``docs/examples/run_examples.py`` runs, with the output that
the script stored for it."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest
import typer

from casemix.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
PAGES = ROOT / "docs" / "cli"
SCRIPT = ROOT / "docs" / "examples" / "run_examples.py"
COMMANDS = sorted(typer.main.get_command(app).commands)
SNIPPET = re.compile(r'^--8<-- "cli/output/(?P<file>[\w-]+\.txt)"$', re.M)


def _script():
    spec = importlib.util.spec_from_file_location("run_examples", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


EXAMPLES = _script().examples()


def _outputs(name: str) -> list[Path]:
    """The output files that the page of ``name`` includes."""
    page = (PAGES / f"{name}.md").read_text(encoding="utf-8")
    return [PAGES / "output" / m["file"] for m in SNIPPET.finditer(page)]


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_its_page(name):
    page = PAGES / f"{name}.md"
    assert page.is_file(), f"docs/cli/{name}.md is missing: write the page of `casemix {name}`"
    text = page.read_text(encoding="utf-8")
    assert text.startswith(f"# `casemix {name}`")
    assert f"<!-- casemix-cli: options {name} -->" in text
    assert f"cli/{name}.md" in (ROOT / "mkdocs.yml").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", COMMANDS)
def test_every_page_shows_an_example_of_the_script(name):
    """The page includes at least one output file; each begins with the command line of an
    example of the script for this command, and the script writes that file."""
    outputs = _outputs(name)
    assert outputs, f"docs/cli/{name}.md includes no example output"
    by_slug = {e.slug: e for e in EXAMPLES}
    for path in outputs:
        assert path.is_file(), f"{path.name}: run python docs/examples/run_examples.py"
        first = path.read_text(encoding="utf-8").splitlines()[0]
        example = by_slug.get(path.stem)
        assert example is not None, f"{path.name} is not written by {SCRIPT.name}"
        assert example.name == name
        assert first == f"$ {example.command}", (
            f"{path.name} is out of date: run python docs/examples/run_examples.py")


def test_every_stored_output_is_shown():
    shown = {p.name for name in COMMANDS for p in _outputs(name)}
    stored = {p.name for p in (PAGES / "output").glob("*.txt")}
    written = {f"{e.slug}.txt" for e in EXAMPLES if e.slug is not None}
    assert stored == written
    assert written <= shown
