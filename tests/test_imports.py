"""Heavy optional libraries are imported only by the commands that need them (issue 19).

``import casemix``, the CLI module, ``casemix --help`` and a frequentist ``casemix fit`` must
not load the Bayesian stack (PyMC, PyTensor, ArviZ, nutpie) or matplotlib: they cost about a
second of start-up on every command.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pymc", "pytensor", "arviz", "nutpie", "matplotlib")

CHECK = f"""
import sys
heavy = [m for m in {HEAVY!r} if m in sys.modules or any(
    k.startswith(m + '.') for k in sys.modules)]
print('HEAVY=' + ','.join(heavy))
"""


def _loaded(code: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", code + CHECK], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    line = [s for s in out.stdout.splitlines() if s.startswith("HEAVY=")][-1]
    return [m for m in line.removeprefix("HEAVY=").split(",") if m]


def test_import_casemix_and_cli_loads_no_heavy_library():
    assert _loaded("import casemix, casemix.cli.main") == []


def test_public_names_still_resolve():
    assert _loaded("import casemix\nfor n in casemix.__all__: getattr(casemix, n)") == []


def test_help_and_fit_load_no_heavy_library(tmp_path):
    births = tmp_path / "b.parquet"
    code = f"""
import contextlib, sys
from casemix import simulate_cohort
from casemix.cli.main import app
simulate_cohort(3_000, seed=1).births.to_parquet({str(births)!r}, index=False)
for argv in (["--help"], ["fit", {str(ROOT / "models" / "big2.toml")!r}, "--data",
             {str(births)!r}, "--out", {str(tmp_path / "run")!r}]):
    sys.argv = ["casemix", *argv]
    with contextlib.suppress(SystemExit):
        app()
"""
    assert _loaded(code) == []
    assert (tmp_path / "run" / "calibration.csv").exists()


def test_a_fit_with_diagnostics_loads_no_scipy_stats(tmp_path):
    """``casemix fit --diagnostics`` uses scipy.special, not scipy.stats (0.45 s to import),
    nor statsmodels."""
    from casemix.simulation import simulate_cohort

    births = tmp_path / "b.parquet"
    simulate_cohort(3_000, seed=2).births.to_parquet(births, index=False)
    code = f"""
import contextlib, sys
from casemix.cli.main import app
sys.argv = ["casemix", "fit", {str(ROOT / "models" / "big2.toml")!r}, "--data", {str(births)!r},
            "--out", {str(tmp_path / "run")!r}, "--diagnostics"]
with contextlib.suppress(SystemExit):
    app()
print('HEAVY=' + ','.join(m for m in ('scipy.stats', 'statsmodels') if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert (tmp_path / "run" / "funnel_vsv.csv").exists(), out.stderr
    assert out.stdout.strip().splitlines()[-1] == "HEAVY=", out.stdout


def test_a_scan_worker_loads_no_scipy_stats_nor_statsmodels():
    """What a DuckDB scan worker imports (issue 19: half a second less in each worker)."""
    code = """
import sys
import casemix.engine.duck
print('HEAVY=' + ','.join(m for m in ('scipy.stats', 'statsmodels', 'casemix.models.result',
                                      'casemix.calibration.curve') if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip().splitlines()[-1] == "HEAVY="


def test_lazy_names_are_the_objects_whatever_was_imported_first():
    """A public name that is also a submodule (``protect``, ``fay_herriot``) is the function,
    also after the submodule was imported on its own; every lazy name resolves."""
    code = """
import casemix.disclosure.protect, casemix.shrinkage.fay_herriot
from casemix.disclosure import protect
from casemix.shrinkage import fay_herriot
import casemix, casemix.core, casemix.models, casemix.engine, casemix.calibration
import casemix.shrinkage, casemix.disclosure
assert callable(protect) and callable(fay_herriot), (protect, fay_herriot)
for package in (casemix, casemix.core, casemix.models, casemix.engine, casemix.calibration,
                casemix.shrinkage, casemix.disclosure):
    for name in package.__all__:
        value = getattr(package, name)
        assert not type(value).__name__ == 'module', (package.__name__, name)
    assert set(package.__all__) <= set(dir(package))
print('OK')
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT)
    assert out.stdout.strip().endswith("OK"), out.stderr


def test_lazy_tables_match_their_type_checking_imports():
    """Each lazy package lists a name in ``_EXPORTS`` exactly when it imports it under
    ``TYPE_CHECKING`` (what type checkers and the docs see), from the same module."""
    import ast
    import importlib

    for package in ("casemix", "casemix.core", "casemix.models", "casemix.engine",
                    "casemix.calibration", "casemix.shrinkage", "casemix.disclosure"):
        module = importlib.import_module(package)
        tree = ast.parse(Path(module.__file__).read_text("utf-8"))
        typed = {(a.name, node.module) for block in tree.body if isinstance(block, ast.If)
                 and getattr(block.test, "id", None) == "TYPE_CHECKING"
                 for node in block.body if isinstance(node, ast.ImportFrom)
                 for a in node.names}
        lazy = {(name, where) for where, names in module._EXPORTS.items() for name in names}
        assert typed == lazy, package
        assert {name for name, _ in lazy} <= set(module.__all__), package
