"""The package's layers import only downwards, and no two subpackages import each other.

Every import statement counts: at module level, inside functions, and under
``if TYPE_CHECKING:``. The layer ranks below are the architecture of docs/architecture.md; a
new subpackage must be given a rank here.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "casemix"

#: Subpackage (or top-level module) -> layer rank; imports must go to a strictly lower rank.
#: Within the statistical layer (30s) the order is explicit, so that it stays acyclic.
LAYERS: dict[str, int] = {
    # foundation
    "exceptions": 0, "_lazy": 0, "_params": 1,  # _lazy: the packages' lazy exports
    # geography of the units: boundary files (needs only the exception tree)
    "geography": 5,
    # data in, and table-level disclosure control (needed by everything that writes tables)
    "records": 10, "disclosure": 11, "indicators": 12, "resources": 0,
    # non-response weights (margins, raking, trimming, design effects; report suppression)
    "weighting": 13,
    # numerical core
    "core": 20,
    # statistical packages
    "funnel": 30, "verdict": 31, "standardisation": 32, "shrinkage": 33, "calibration": 34,
    "bayes": 35,
    # orchestration: the case-mix model, its result, the run folder
    "models": 40,
    # social breakdowns and inequality measures (use the standardisation intervals and the
    # model specs' adjusters)
    "inequality": 41,
    # births to cells out of core (DuckDB, Spark): batches through the records and model
    # data layers, summed into grouped births that the models fit
    "engine": 42,
    # applications on top
    "alignment": 50, "simulation": 50, "report": 51, "workflow": 52, "cli": 60,
    "__main__": 61,  # python -m casemix: runs the command line
    # the package namespace re-exports from everywhere
    "__init__": 99,
}


def _package_of(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imports(path: Path) -> list[tuple[str, int]]:
    """(imported casemix subpackage, line) for every import statement in ``path``."""
    out = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "casemix" and len(parts) > 1:
                out.append((parts[1], node.lineno))
    return out


def _edges() -> dict[tuple[str, str], list[str]]:
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in SRC.rglob("*.py"):
        source = _package_of(path)
        for target, line in _imports(path):
            if target != source:
                edges[(source, target)].append(f"{path.relative_to(SRC)}:{line}")
    return edges


def test_every_subpackage_has_a_layer():
    found = {_package_of(p) for p in SRC.rglob("*.py")}
    assert found <= set(LAYERS), f"give these a layer in LAYERS: {sorted(found - set(LAYERS))}"


def test_imports_only_go_downwards():
    upward = [f"{src} (layer {LAYERS[src]}) imports {dst} (layer {LAYERS[dst]}) at "
              f"{', '.join(where)}" for (src, dst), where in _edges().items()
              if LAYERS[dst] >= LAYERS[src]]
    assert not upward, "\n".join(upward)


def test_no_cycle_between_subpackages():
    graph: dict[str, set[str]] = defaultdict(set)
    for src, dst in _edges():
        graph[src].add(dst)
    state: dict[str, int] = {}  # 1 on the stack, 2 done

    def visit(node: str, stack: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack, node, nxt]
            if nxt not in state and (cycle := visit(nxt, [*stack, node])):
                return cycle
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            cycle = visit(start, [])
            assert cycle is None, " -> ".join(cycle)


@pytest.mark.parametrize("src,dst", [("core", "models"), ("funnel", "models"),
                                     ("standardisation", "models"), ("bayes", "models")])
def test_the_old_cycles_are_gone(src, dst):
    """models/result.py -> funnel -> models/result.py (and via standardisation/direct.py)
    were the cycles of the old layout."""
    assert (src, dst) not in _edges()


def test_the_checker_sees_function_level_and_type_checking_imports(tmp_path):
    """The test would be worthless if it missed the imports that hid the old cycles."""
    module = tmp_path / "m.py"
    module.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                      "    from casemix.models.result import X\n"
                      "def f():\n    import casemix.report.build\n")
    assert [name for name, _ in _imports(module)] == ["models", "report"]
