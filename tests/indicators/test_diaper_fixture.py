"""The ``diaper`` preset against RIVM's DIAPER rules run in R on a registry-format extract.

Fixture (tests/fixtures/diaper/, generated in R, committed; CI does not need R):
``make_extract.R`` writes ``extract.sav`` (Perined names, value labels, SPSS user-missing
codes amww 99, gewicht 9999, hoftiezer 999, sterfte 9, edge rows for every rule);
``diaper_reference.R`` reads it with ``haven::read_spss`` as DIAPER does and applies DIAPER's
rules (big2.R; indicator_15_vroeggeboorte_laaggewicht.R), restated in our own R code with
the file and line of each rule, giving numerator and denominator per year x gemeente and
nationally. The test requires cell-for-cell equality.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from casemix import load_births
from casemix.indicators import DefinitionSettings, indicator_rates

FIXTURE = Path(__file__).parents[1] / "fixtures" / "diaper"


@pytest.fixture(scope="module")
def ours() -> pd.DataFrame:
    births = load_births(FIXTURE / "extract.sav", mapping="perined").births
    reference = pd.read_csv(FIXTURE / "diaper_reference.csv", dtype={"unit": str})
    indicators = sorted(reference["indicator"].unique())
    settings = DefinitionSettings.from_preset("diaper")
    rows = []
    for year, sub in births.groupby("year"):
        table, _ = indicator_rates(sub, "municipality", indicators=indicators,
                                   settings=settings, threshold=None)
        table = table[table["indicator"].isin(indicators)]
        rows.append(table.assign(year=int(year)))
    out = pd.concat(rows, ignore_index=True)
    out["level"] = out["level"].replace({"municipality": "gemeente"})
    out["unit"] = out["unit"].astype(str).where(out["level"] != "national", "national")
    return out.set_index(["level", "unit", "year", "indicator"])[["numerator", "denominator"]]


def test_diaper_preset_matches_the_r_reference_cell_for_cell(ours):
    reference = pd.read_csv(FIXTURE / "diaper_reference.csv", dtype={"unit": str}).set_index(
        ["level", "unit", "year", "indicator"])
    assert len(reference) == 112
    joined = reference.join(ours, rsuffix="_casemix", how="left")
    assert joined["numerator_casemix"].notna().all()
    pd.testing.assert_series_equal(joined["numerator"].astype("int64"),
                                   joined["numerator_casemix"].astype("int64"),
                                   check_names=False)
    pd.testing.assert_series_equal(joined["denominator"].astype("int64"),
                                   joined["denominator_casemix"].astype("int64"),
                                   check_names=False)


def test_monitor_2022_differs_from_diaper_only_in_neonatal_denominators(ours):
    """Same extract: SGA and Big2 agree (hoftiezer present), neonatal and infant rates are
    per live birth instead of per birth."""
    births = load_births(FIXTURE / "extract.sav", mapping="perined").births
    monitor, _ = indicator_rates(births, indicators=["big2", "neonatal_death_28d"],
                                 settings=DefinitionSettings(), threshold=None)
    diaper, _ = indicator_rates(births, indicators=["big2", "neonatal_death_28d"],
                                settings=DefinitionSettings.from_preset("diaper"),
                                threshold=None)
    m, d = monitor.set_index("indicator"), diaper.set_index("indicator")
    for ind in ("big2", "sga", "preterm"):
        assert m.loc[ind, "numerator"] == d.loc[ind, "numerator"]
        assert m.loc[ind, "denominator"] == d.loc[ind, "denominator"]
    stillbirths = d.loc["big2", "denominator"] - m.loc["neonatal_death_28d", "denominator"]
    assert stillbirths > 0
    assert m.loc["neonatal_death_28d", "numerator"] == d.loc["neonatal_death_28d", "numerator"]


def test_diaper_preset_matches_the_r_reference_row_by_row():
    """Per child (diaper_rowflags.csv): in the population, and the 1/0 of every indicator;
    DIAPER's NA (e.g. term birth with unknown hoftiezer for Big2) counts as 0 in its sums."""
    from casemix.indicators import derive_indicators

    rows = pd.read_csv(FIXTURE / "diaper_rowflags.csv", dtype={"kind_id": str})
    births = load_births(FIXTURE / "extract.sav", mapping="perined").births
    flags = derive_indicators(births, settings=DefinitionSettings.from_preset("diaper")).flags
    flags.index = births["birth_id"].astype(str)
    inside = rows[rows["in_population"] == 1].set_index("kind_id")
    assert set(flags.index[flags["preterm"].notna()]) == set(inside.index)
    for indicator in ("preterm", "very_preterm", "sga", "big2", "fetal_death",
                      "neonatal_death_28d", "perinatal_mortality", "infant_mortality"):
        ours = flags.loc[inside.index, indicator].astype("boolean").fillna(False)
        theirs = inside[indicator].fillna(0).astype(bool)
        assert (ours.to_numpy(bool) == theirs.to_numpy()).all(), indicator
