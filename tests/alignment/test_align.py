"""Alignment on a reference table with planted definition differences.

The reference table is built by hand from the simulated births under known definition
choices: most rows with the current definitions, some rows as an older publication would
have counted them (22-week minimum, 7-day neonatal window, singletons only, SGA from a
supplied percentile). The tool must name the planted choice for each planted row and report
the row it cannot explain as such.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from casemix import DefinitionSettings, simulate_cohort, validate_births
from casemix.alignment import align

INDICATORS = ["preterm", "sga", "perinatal_mortality"]


@pytest.fixture(scope="module")
def births():
    b = validate_births(simulate_cohort(60_000, seed=8, years=(2023, 2024)).births).births
    rng = np.random.default_rng(8)
    # a registry percentile that disagrees with the weight for about 2% of births
    from casemix.indicators import birthweight_threshold

    p10 = birthweight_threshold(b["infant_sex"], b["gestational_age_days"], 10)
    weight = b["birthweight_g"].to_numpy(dtype=float, na_value=np.nan)
    below = np.less(weight, p10, where=~np.isnan(p10), out=np.zeros(len(b), dtype=bool))
    flip = rng.random(len(b)) < 0.02
    b["birthweight_percentile"] = np.where(below ^ flip, 5.0, 50.0)
    return b


def _counts(births, settings):
    rows = []
    for year, sub in births.groupby("year"):
        from casemix.indicators import indicator_rates

        t, _ = indicator_rates(sub, "vsv", indicators=INDICATORS, settings=settings,
                               threshold=None)
        rows.append(t[t["level"] == "vsv"].assign(year=year))
    return pd.concat(rows).set_index(["unit", "year", "indicator"])[
        ["numerator", "denominator"]]


def _plant(base, alt, indicator):
    """First unit-year where the alternative definition changes the counts."""
    a, b = alt.xs(indicator, level="indicator"), base.xs(indicator, level="indicator")
    differs = (a != b.loc[a.index]).any(axis=1)
    unit, year = differs[differs].index[0]
    return (unit, year, indicator)


def test_planted_definition_differences_are_named(births):
    base = _counts(births, DefinitionSettings())
    ref = base.copy().sort_index()
    planted = {}
    for name, settings, indicator in [
        ("minimum gestational age 22+0 weeks", DefinitionSettings(min_gestational_age_days=154),
         "preterm"),
        ("neonatal window 7 days", DefinitionSettings(perinatal_neonatal_days=7),
         "perinatal_mortality"),
        ("singletons only", DefinitionSettings(plurality="singletons"), "sga"),
        ("SGA from birthweight (Hoftiezer table)", DefinitionSettings(sga_source="weight"),
         "sga"),
    ]:
        alt = _counts(births, settings)
        key = _plant(base, alt, indicator)
        ref.loc[key] = alt.loc[key]
        planted[key] = name
    odd = ("VSV10", 2024, "preterm")
    ref.loc[odd, "numerator"] += 3  # a difference no definition explains
    result = align(births, ref.reset_index(), level="vsv")
    table = result.table.set_index(["unit", "year", "indicator"])
    for key, name in planted.items():
        assert not table.loc[key, "agrees"]
        assert name in table.loc[key, "explained_by"].split("; ")
    assert table.loc[odd, "explained_by"] == "unexplained"
    assert table.loc[odd, "numerator_difference"] == -3
    assert len(result.disagreements) == len(planted) + 1
    assert set(result.summary()["explained_by"]) >= {"unexplained"}


def test_reference_without_columns(births):
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['denominator'\]"):
        align(births, pd.DataFrame({"unit": ["VSV01"], "year": [2024],
                                    "indicator": ["preterm"], "numerator": [1]}))


def test_combinations_of_two_rules_and_presets_are_found(births):
    """A row counted by an older publication with two rules changed at once (22+0 weeks and
    singletons only) is explained by exactly that combination, which no single rule change
    reproduces; a row counted under the perined-22wk preset names it; an indicator whose
    every row was counted under one combination gets it as its best; an unexplained row has
    the closest combination and its residual."""
    from casemix.indicators import indicator_rates

    base = _counts(births, DefinitionSettings())
    both = _counts(births, DefinitionSettings(min_gestational_age_days=154,
                                              plurality="singletons"))
    old = _counts(births, DefinitionSettings.from_preset("perined-22wk"))
    ref = base.copy().sort_index()
    pre = both.xs("preterm", level="indicator", drop_level=False)
    ref.loc[pre.index] = pre  # every preterm row as the old publication counted it
    key = _plant(base, old, "sga")
    ref.loc[key] = old.loc[key]
    odd = ("VSV11", 2023, "sga")
    ref.loc[odd, "numerator"] += 40
    result = align(births, ref.reset_index(), level="vsv")
    table = result.table.set_index(["unit", "year", "indicator"])
    changed = table.xs("preterm", level="indicator")
    changed = changed[~changed["agrees"]]
    assert len(changed) > 0
    pair = "minimum gestational age 22+0 weeks + singletons only"
    singles = {"minimum gestational age 22+0 weeks": DefinitionSettings(
        min_gestational_age_days=154), "singletons only": DefinitionSettings(
        plurality="singletons")}
    one = {name: _counts(births, s).xs("preterm", level="indicator")
           for name, s in singles.items()}
    pre_rows = pre.xs("preterm", level="indicator")
    for (unit, year), row in changed.iterrows():
        alone = [name for name, c in one.items()
                 if c.loc[(unit, year)].equals(pre_rows.loc[(unit, year)])]
        # the smallest change that reproduces the row: one rule where one suffices
        assert row["explained_by"] == ("; ".join(sorted(alone)) if alone else pair)
    assert (changed["explained_by"] == pair).any()
    best = result.best().set_index("indicator")
    assert best.loc["preterm", "combination"] == (
        "minimum gestational age 22+0 weeks + singletons only")
    assert best.loc["preterm", "rows_agreeing"] == best.loc["preterm", "rows"]
    assert "perined-22wk" in table.loc[key, "presets"].split("; ")
    assert table.loc[odd, "explained_by"] == "unexplained"
    row = table.loc[odd]  # the closest combination, and what it leaves
    assert row["numerator_difference"] == -40
    assert row["numerator_residual"] == row["numerator_best"] - row["numerator_reference"]
    assert abs(row["numerator_residual"]) + abs(row["denominator_residual"]) <= 40
    assert indicator_rates  # imported for _counts
