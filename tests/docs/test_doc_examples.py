"""Every Python example in the documentation and the README runs (from the repository root,
in a fresh namespace)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import matplotlib
import pytest

ROOT = Path(__file__).resolve().parents[2]
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"```python\n(.*?)```", re.S)
EXAMPLES = [(f"{path.name}#{i}", code) for path in FILES
            for i, code in enumerate(BLOCK.findall(path.read_text()))]


@pytest.mark.parametrize(("where", "code"), EXAMPLES, ids=[w for w, _ in EXAMPLES])
def test_example_runs(where, code, monkeypatch):
    matplotlib.use("Agg")
    monkeypatch.chdir(ROOT)
    exec(compile(code, where, "exec"), {"__name__": "__doc_example__"})


def test_examples_found():
    assert len(EXAMPLES) >= 6
    assert os.path.exists(ROOT / "mkdocs.yml")
