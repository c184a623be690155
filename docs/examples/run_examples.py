"""Run the worked examples of the command-line pages and store what they print.

    python docs/examples/run_examples.py

Every command of ``EXAMPLES`` runs, in this order, in a fresh folder ``casemix-example``
(under a temporary directory, with the repository's ``models/`` copied in) on a small
simulated cohort of 20,000 births. What a command prints on standard output is written to
``docs/cli/output/<slug>.txt``, below the command line itself; the pages of the "Command
line" section include these files, so building the site runs nothing. Rerun the script after
changing what a command prints, and commit the files it writes (a few minutes on 2 cores).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "docs" / "cli" / "output"
#: The folder the examples run in, as the pages show it.
SHOWN_FOLDER = "~/casemix-example"
#: Console width of the captured output (rich wraps tables and long lines to it).
COLUMNS = 100


@dataclass(frozen=True)
class Example:
    """One command line; ``slug`` names its output file (None: run, output not shown)."""

    command: str
    slug: str | None = None
    exit_code: int = 0
    #: Longer output is cut to its first ``max_lines`` lines and its last two.
    max_lines: int | None = None

    @property
    def name(self) -> str:
        """The casemix command (``fit``, ``compare-runs``, ...)."""
        return shlex.split(self.command)[1]


def write_reference(folder: Path) -> None:
    """``published.csv``: national counts of the cohort under the older 22-week definitions
    (``perined-22wk``), standing in for a registry publication that ``align`` explains."""
    sys.path.insert(0, str(ROOT / "src"))
    from casemix import load_births
    from casemix.indicators import DefinitionSettings, indicator_rates
    from casemix.indicators.derive import derive_indicators

    births = load_births(folder / "cohort.parquet").births
    settings = DefinitionSettings.from_preset("perined-22wk")
    flags = derive_indicators(births, ["preterm", "sga", "big2"], settings=settings)
    table, _ = indicator_rates(births, [], flags=flags)
    table.assign(year=2024)[["unit", "year", "indicator", "numerator", "denominator"]].to_csv(
        folder / "published.csv", index=False)


def write_margins(folder: Path) -> None:
    """``margins.csv``: register counts of births per VSV and per maternal-age band, standing
    in for the population register; births of mothers under 25 and in three VSVs (VSV01 to
    VSV03) are under-represented in the cohort (as if they responded less), so the
    register counts them 1.3 and 1.2 times."""
    sys.path.insert(0, str(ROOT / "src"))
    import numpy as np
    import pandas as pd

    from casemix import load_births

    births = load_births(folder / "cohort.parquet").births
    young = births["maternal_age"] < 25
    w = np.where(young, 1.3, 1.0) * np.where(births["vsv"].isin(["VSV01", "VSV02", "VSV03"]),
                                             1.2, 1.0)
    band = pd.cut(births["maternal_age"], [0, 25, 30, 35, 40, 99], right=False,
                  labels=["<25", "25-29", "30-34", "35-39", "40+"])
    by_vsv = pd.Series(w).groupby(births["vsv"].to_numpy()).sum()
    by_age = pd.Series(w).groupby(band.to_numpy(), observed=False).sum()
    pd.concat([pd.DataFrame({"margin": "vsv", "value": by_vsv.index, "total": by_vsv.round(
        6).to_numpy()}), pd.DataFrame({"margin": "maternal_age", "value": by_age.index.astype(
            str), "total": by_age.round(6).to_numpy()})]).to_csv(folder / "margins.csv",
                                                                  index=False)


def annual_models(folder: Path) -> None:
    """``annual/``: the specs refitted each year in the example (perinatal mortality is too
    rare in 20,000 births for a model per year: it needs several years pooled)."""
    (folder / "annual").mkdir()
    for name in ("big2", "preterm", "sga"):
        shutil.copy(folder / "models" / f"{name}.toml", folder / "annual")


#: The examples, in the order they run; a function prepares files for the next command.
EXAMPLES: tuple[Example | Callable[[Path], None], ...] = (
    Example("casemix simulate --out cohort.parquet --n-births 20000 --year 2024 --seed 1",
            "simulate"),
    Example("casemix validate cohort.parquet", "validate"),
    Example("casemix indicators cohort.parquet --by vsv --out indicators.csv", "indicators"),
    write_margins,
    Example("casemix weights cohort.parquet --margins margins.csv --out weighted.parquet "
            "--report weights_report.csv --trim 0.5 1.4", "weights"),
    Example("casemix audit weights_report.csv"),
    Example("casemix fit models/big2.toml --data cohort.parquet --out runs/big2 --method eb",
            "fit"),
    Example("casemix score runs/big2 --data cohort.parquet --out scores.parquet", "score"),
    write_reference,
    Example("casemix align runs/big2 --reference published.csv --level national "
            "--out alignment.csv", "align"),
    Example("casemix report runs/big2 --out report.html --geometry cohort_boundaries.geojson",
            "report"),
    Example("casemix publish runs/big2 --format statline --out big2_statline.csv", "publish"),
    Example("casemix simulate --out cohort_2025.parquet --n-births 20000 --year 2025 "
            "--seed 2"),
    annual_models,
    Example("casemix refit --year 2025 --data cohort_2025.parquet --models annual --out runs",
            "refit"),
    Example("casemix compare-runs runs/big2 runs/2025/big2 --out changes.html",
            "compare-runs", max_lines=30),
    Example("casemix export runs/big2 --out export --indicators indicators.csv "
            "--indicators big2_statline.csv --report report.html", "export"),
    Example("casemix audit export", "audit"),
    Example("casemix audit runs/big2", "audit-run-folder", exit_code=1),
    Example("casemix simulate --out history.parquet --n-births 20000 --year 2023 --year 2024 "
            "--seed 1 --boundary-changes", "simulate-boundary-changes"),
    Example("casemix geography harmonise history.parquet --crosswalk history_crosswalk.csv "
            "--regions history_regions.csv --reference-year 2024 --out harmonised.parquet",
            "geography"),
)


def examples() -> list[Example]:
    """The command lines of ``EXAMPLES`` (without the preparing functions)."""
    return [e for e in EXAMPLES if isinstance(e, Example)]


def run(example: Example, folder: Path) -> str:
    """Run one example in ``folder``; its standard output as the page shows it."""
    env = {**os.environ, "COLUMNS": str(COLUMNS), "NO_COLOR": "1", "TERM": "dumb",
           "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    argv = [sys.executable, "-m", "casemix.cli", *shlex.split(example.command)[1:]]
    done = subprocess.run(argv, cwd=folder, env=env, capture_output=True, text=True,
                          check=False)
    if done.returncode != example.exit_code:
        raise RuntimeError(f"{example.command} exited with {done.returncode}, expected "
                           f"{example.exit_code}:\n{done.stderr}")
    if done.stderr.strip():
        print(f"  (stderr of {example.name}, not shown on the page:)\n{done.stderr.rstrip()}",
              file=sys.stderr)
    return shown(example, done.stdout.replace(str(folder), SHOWN_FOLDER), done.returncode)


def shown(example: Example, stdout: str, code: int) -> str:
    """The command line, its output (cut to ``max_lines``) and a non-zero exit code."""
    lines = [line.rstrip() for line in stdout.strip("\n").splitlines()]
    if example.max_lines is not None and len(lines) > example.max_lines + 2:
        cut = len(lines) - example.max_lines - 2
        lines = [*lines[:example.max_lines], f"... ({cut} more lines)", *lines[-2:]]
    tail = ["$ echo $?", str(code)] if code else []
    return "\n".join([f"$ {example.command}", *lines, *tail]) + "\n"


def main() -> None:
    """Run every example in a fresh folder and write the output files."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "casemix-example"
        shutil.copytree(ROOT / "models", folder / "models")
        for step in EXAMPLES:
            if not isinstance(step, Example):
                step(folder)
                continue
            print(f"$ {step.command}", file=sys.stderr)
            text = run(step, folder)
            if step.slug is not None:
                (OUTPUT / f"{step.slug}.txt").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
