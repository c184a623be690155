"""The README tour runs as written, from a fresh demo folder.

The demo folder is built by the Makefile's own ``demo`` recipe (``make demo`` with this
environment's venv and ``DEMO`` in a temporary folder, beside links to ``models/`` and the
venv, so that the tour's ``../models`` and ``../.venv`` resolve). Then the ``bash`` blocks of
the README's "A short tour" section run in order, as one bash script with ``set -e``, from the
folder that holds ``demo_output/``: every command must succeed. (The section's Python block is
run by ``test_doc_examples.py``.) The tour's outputs must be ignored by git, and no committed
file may be.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(sys.prefix)
BASH = re.compile(r"```bash\n(.*?)```", re.S)
#: Births per cohort of the test's demo (the demo's default is 170,000; fewer births make the
#: fits faster but the disclosure control of the breakdowns slower).
BIRTHS = int(os.environ.get("CASEMIX_TOUR_BIRTHS", "100000"))


def _section(text: str, title: str) -> str:
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else None]


def tour_blocks(path: Path = ROOT / "README.md", title: str = "A short tour") -> list[str]:
    """The bash blocks of the tour section, in order."""
    return BASH.findall(_section(path.read_text("utf-8"), title))


def commands(blocks: list[str]) -> list[str]:
    """The command lines of the blocks, without comments and blank lines."""
    lines = (re.sub(r"\s+#\s.*$", "", line).strip() for b in blocks for line in b.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _env() -> dict[str, str]:
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=str(ROOT / "src"),
               PATH=f"{VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("VIRTUAL_ENV", None)
    return env


def _run(args: list[str], cwd: Path, log: Path) -> subprocess.CompletedProcess[str]:
    with log.open("w") as out:
        return subprocess.run(args, cwd=cwd, env=_env(), stdout=out, stderr=subprocess.STDOUT,
                              text=True, timeout=900, check=False)


def _tail(log: Path, n: int = 40) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-n:])


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """A folder holding a fresh ``demo_output/`` (made by ``make demo``), ``models`` and
    ``.venv``."""
    if shutil.which("make") is None or shutil.which("bash") is None:
        pytest.skip("make and bash are needed to build the demo folder")
    home = tmp_path_factory.mktemp("tour")
    (home / "models").symlink_to(ROOT / "models", target_is_directory=True)
    (home / ".venv").symlink_to(VENV, target_is_directory=True)
    log = home / "make_demo.log"
    done = _run(["make", "-C", str(ROOT), "demo", f"VENV={VENV}", f"DEMO={home / 'demo_output'}",
                 f"DEMO_BIRTHS={BIRTHS}", "-o", str(VENV / ".installed")],  # -o: no install
                ROOT, log)
    assert done.returncode == 0, f"make demo failed:\n{_tail(log)}"
    assert "== 1/5" in log.read_text(), "make demo shows its steps"
    return home


def test_the_tour_is_found():
    cmds = commands(tour_blocks())
    assert cmds[:2] == ["cd demo_output", "source ../.venv/bin/activate"]
    assert sum(c.startswith("casemix ") for c in cmds) >= 15


def test_docs_tour_is_part_of_the_readme_tour():
    """docs/index.md shows some of the tour's commands, in the same order (so this test runs
    them too)."""
    readme = commands(tour_blocks())
    shown = commands(tour_blocks(ROOT / "docs" / "index.md", "A tour"))
    positions = [readme.index(c) for c in shown]
    assert positions == sorted(positions)


@pytest.mark.slow
def test_every_tour_command_runs(demo):
    script = demo / "tour.sh"
    script.write_text("set -eo pipefail\ntrap 'echo \"FAILED: $BASH_COMMAND\" >&2' ERR\n"
                      + "\n".join(tour_blocks()))
    log = demo / "tour.log"
    done = _run(["bash", str(script)], demo, log)
    assert done.returncode == 0, f"the README tour failed:\n{_tail(log)}"
    out = demo / "demo_output"
    for made in ("report.html", "alignment.csv", "export_big2/audit.json", "scores.parquet",
                 "runs/2025/big2/units.csv", "compare_big2.html"):
        assert (out / made).exists(), made
    _check_ignored(out)


def _git(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=ROOT, input=stdin, capture_output=True, text=True,
                          check=False)


def _check_ignored(out: Path) -> None:
    """Every file of the demo and the tour, as demo_output/... or at the repository root (as
    if written there), is ignored by git."""
    if shutil.which("git") is None or _git("rev-parse").returncode != 0:
        return
    files = [p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()]
    names = [n for n in [f"demo_output/{f}" for f in files] + files
             if not n.endswith("README.md")]  # an export folder's README (export*/ anyway)
    ignored = set(_git("check-ignore", "--no-index", "--stdin",
                       stdin="\n".join(names)).stdout.split())
    assert not set(names) - ignored, sorted(set(names) - ignored)[:10]


def test_no_committed_file_is_ignored():
    if shutil.which("git") is None or _git("rev-parse").returncode != 0:
        pytest.skip("not a git checkout")
    tracked = _git("ls-files").stdout
    ignored = _git("check-ignore", "--no-index", "--stdin", stdin=tracked).stdout.split()
    assert ignored == []
