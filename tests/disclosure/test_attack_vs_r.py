"""The attacker's feasible intervals against an independent LP solved in R.

Reference: tests/fixtures/sdc_attack (see its README): two linked tables with suppressed
cells, each suppressed cell minimised and maximised subject to the tables' additivity, published
cells fixed, suppressed cells >= 0, by GLPK through R's Rglpk
(``Rscript tests/fixtures/sdc_attack/make_sdc_attack.R``); sdcTable's ``attack()`` computes the
same LP but is not packaged in Debian.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from casemix.disclosure import LinkedCells, Protection, feasible_intervals, unprotected

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "sdc_attack"


@pytest.fixture(scope="module")
def tables():
    return pd.read_csv(FIXTURE / "tables.csv", keep_default_na=False)


@pytest.fixture(scope="module")
def reference():
    return json.loads((FIXTURE / "results.json").read_text())["tables"]


def _cells(table: pd.DataFrame) -> LinkedCells:
    cells = LinkedCells()
    for row in table.itertuples():
        cells.cell(f"{row.dim1}.{row.dim2}", row.value, published=not row.suppressed)
    return cells


def _table_a(tables: pd.DataFrame) -> LinkedCells:
    a = tables[tables["table"] == "a"]
    cells = _cells(a)
    rows = [r for r in a["dim1"].unique() if r != "Total"]
    cols = [c for c in a["dim2"].unique() if c != "Total"]
    for r in [*rows, "Total"]:
        cells.add_sum(cells.index(f"{r}.Total"), [cells.index(f"{r}.{c}") for c in cols])
    for c in [*cols, "Total"]:
        cells.add_sum(cells.index(f"Total.{c}"), [cells.index(f"{r}.{c}") for r in rows])
    return cells


def _table_b(tables: pd.DataFrame) -> LinkedCells:
    b = tables[tables["table"] == "b"]
    cells = _cells(b)
    geos = b.drop_duplicates("dim1")
    for geo in geos.itertuples():
        cells.add_sum(cells.index(f"{geo.dim1}.Total"),
                      [cells.index(f"{geo.dim1}.female"), cells.index(f"{geo.dim1}.male")])
        children = geos.loc[geos["parent"] == geo.dim1, "dim1"]
        if len(children):
            for sex in ("female", "male", "Total"):
                cells.add_sum(cells.index(f"{geo.dim1}.{sex}"),
                              [cells.index(f"{c}.{sex}") for c in children])
    return cells


@pytest.mark.parametrize("name", ["a", "b"])
def test_feasible_intervals_equal_the_r_lp(tables, reference, name):
    cells = _table_a(tables) if name == "a" else _table_b(tables)
    got = feasible_intervals(cells).set_index("key")
    expected = reference[name]["suppressed"]
    assert len(got) == len(expected)
    for cell in expected:
        key = f"{cell['dim1']}.{cell['dim2']}"
        assert got.loc[key, "lower"] == pytest.approx(cell["lower"], abs=1e-7), key
        assert got.loc[key, "upper"] == pytest.approx(cell["upper"], abs=1e-7), key
        assert bool(got.loc[key, "exact"]) == (cell["lower"] == cell["upper"]) or not bool(
            got.loc[key, "exact"])


def test_protection_flags_the_recoverable_and_narrow_cells(tables, reference):
    cells = _table_b(tables)
    failing = set(unprotected(cells, Protection(threshold=10, width=10))["key"])
    # the rule: the interval reaches 10, and is at least 10 wide where it reaches below 10
    expected = {f"{c['dim1']}.{c['dim2']}" for c in reference["b"]["suppressed"]
                if c["upper"] < 10 or (c["lower"] < 10 and c["upper"] - c["lower"] < 10)}
    assert failing == expected
    assert "R1M2.female" in failing  # 3, exactly recoverable through the region totals
    assert "R1.female" not in failing  # 37, recoverable but not small
    cells_a = _table_a(tables)
    failing_a = set(unprotected(cells_a, Protection())["key"])
    assert failing_a == {"C.z", "D.z"}  # exactly recoverable; the rectangle holds


def test_hidden_pattern_can_be_tried_without_changing_the_cells(tables):
    cells = _table_a(tables)
    _, published, *_ = cells.arrays()
    hidden = ~published
    hidden[cells.index("C.x")] = hidden[cells.index("D.x")] = True  # a rectangle C/D x/z
    intervals = feasible_intervals(cells, hidden).set_index("key")
    assert intervals.loc["C.z", "upper"] > intervals.loc["C.z", "lower"]  # no longer exact
    assert cells.published[cells.index("C.x")]  # the cells themselves are unchanged
