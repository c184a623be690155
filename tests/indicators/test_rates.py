"""Crude rates per unit on hand-made births tables, with disclosure control.

Births are built per unit as ``n`` births of which ``k`` preterm (250 days) and the rest term
(280 days), so numerators and denominators are known by construction.
"""

from __future__ import annotations

import pandas as pd
import pytest

from casemix.indicators import derive_indicators, indicator_rates
from casemix.indicators.rates import RATE_COLUMNS


def unit_births(unit: str | None, n: int, k: int, **extra) -> pd.DataFrame:
    """``n`` births in ``unit``, the first ``k`` preterm (250 d), the rest term (280 d)."""
    frame = pd.DataFrame({
        "gestational_age_days": [250] * k + [280] * (n - k),
        "vsv": pd.array([unit] * n, dtype="string"),
    })
    for name, value in extra.items():
        frame[name] = value
    return frame


def cohort(*parts: pd.DataFrame) -> pd.DataFrame:
    return pd.concat(parts, ignore_index=True)


def row(table: pd.DataFrame, level: str, unit: str, indicator: str = "preterm") -> pd.Series:
    sel = table[(table["level"] == level) & (table["unit"] == unit)
                & (table["indicator"] == indicator)]
    assert len(sel) == 1
    return sel.iloc[0]


def test_two_units_by_hand():
    """A: 12 preterm of 40 (0.3); B: 15 of 30 (0.5); national 27 of 70.
    Every count and complement (28, 15, 43) is at least 10: nothing suppressed."""
    births = cohort(unit_births("A", 40, 12), unit_births("B", 30, 15))
    table, log = indicator_rates(births, "vsv", indicators=["preterm"])
    assert list(table.columns) == RATE_COLUMNS
    assert len(table) == 3
    nat = row(table, "national", "national")
    assert (nat["numerator"], nat["denominator"]) == (27, 70)
    assert nat["rate"] == pytest.approx(27 / 70)
    a, b = row(table, "vsv", "A"), row(table, "vsv", "B")
    assert (a["numerator"], a["denominator"], a["rate"]) == (12, 40, pytest.approx(0.3))
    assert (b["numerator"], b["denominator"], b["rate"]) == (15, 30, pytest.approx(0.5))
    assert not table["suppressed"].any()
    assert len(log) == 0


def test_national_row_comes_first():
    births = cohort(unit_births("A", 40, 12), unit_births("B", 30, 15))
    table, _ = indicator_rates(births, "vsv", indicators=["preterm"])
    assert table["level"].iloc[0] == "national"
    assert table["unit"].iloc[0] == "national"


def test_without_units_only_the_national_row():
    births = cohort(unit_births("A", 40, 12), unit_births("B", 30, 15))
    table, _ = indicator_rates(births, indicators=["preterm"])
    assert table[["level", "unit", "numerator", "denominator"]].values.tolist() == [
        ["national", "national", 27, 70]]


def test_small_count_suppressed_with_its_secondary():
    """A 12/40, B 15/30, C 5/25; national 32/95. C's numerator 5 < 10: suppressed with its rate;
    being the only one in the vsv level, the unit with the next smallest numerator (A, 12) is
    suppressed too, so C cannot be recovered as 32 - 12 - 15. Denominators (>= 10) stay."""
    births = cohort(unit_births("A", 40, 12), unit_births("B", 30, 15), unit_births("C", 25, 5))
    table, _ = indicator_rates(births, "vsv", indicators=["preterm"])
    a, b, c = (row(table, "vsv", u) for u in "ABC")
    assert (bool(a["suppressed"]), bool(b["suppressed"]), bool(c["suppressed"])) == (
        True, False, True)
    assert pd.isna(c["numerator"]) and pd.isna(c["rate"])
    assert pd.isna(a["numerator"]) and pd.isna(a["rate"])
    assert (b["numerator"], b["rate"]) == (15, pytest.approx(0.5))
    assert (a["denominator"], b["denominator"], c["denominator"]) == (40, 30, 25)
    nat = row(table, "national", "national")
    assert (nat["numerator"], nat["denominator"], bool(nat["suppressed"])) == (32, 95, False)


def test_complement_below_threshold_is_suppressed():
    """B: 18 preterm of 25 -> 7 term births (< 10) would be disclosed: suppressed; A (12/40) is
    the secondary. National 30/65 (complement 35) is shown."""
    births = cohort(unit_births("A", 40, 12), unit_births("B", 25, 18))
    table, _ = indicator_rates(births, "vsv", indicators=["preterm"])
    b = row(table, "vsv", "B")
    assert bool(b["suppressed"])
    assert pd.isna(b["numerator"]) and pd.isna(b["rate"])
    assert b["denominator"] == 25
    assert bool(row(table, "vsv", "A")["suppressed"])
    nat = row(table, "national", "national")
    assert (nat["numerator"], nat["denominator"], bool(nat["suppressed"])) == (30, 65, False)


def test_small_denominator_is_blanked():
    """C has 8 births (2 preterm): numerator, rate and the denominator 8 are all blanked."""
    births = cohort(unit_births("A", 40, 12), unit_births("B", 30, 15), unit_births("C", 8, 2))
    table, _ = indicator_rates(births, "vsv", indicators=["preterm"])
    c = row(table, "vsv", "C")
    assert bool(c["suppressed"])
    assert pd.isna(c["numerator"]) and pd.isna(c["denominator"]) and pd.isna(c["rate"])


def test_threshold_none_disables_suppression():
    """Inside the secure environment: C's 5/25 is shown as is."""
    births = cohort(unit_births("A", 40, 12), unit_births("B", 30, 15), unit_births("C", 25, 5))
    table, _ = indicator_rates(births, "vsv", indicators=["preterm"], threshold=None)
    c = row(table, "vsv", "C")
    assert (c["numerator"], c["denominator"], c["rate"]) == (5, 25, pytest.approx(0.2))
    assert not table["suppressed"].any()


def test_missing_unit_and_indicator_exclusions_are_logged():
    """A: 20 births at or after 24+0 (10 preterm) plus one at 160 days (outside the definition);
    B: 25 births (12 preterm); 3 births without a vsv code (1 preterm).
    National: 23 / 48 (the 160-day birth is out); A 10/20, B 12/25 (all counts and
    complements >= 10). The log shows the 3 births without a vsv as "<10", so A's and B's
    denominators cannot both be shown: 48 - 20 - 25 would give the 3 back (issue 13, route 7;
    linked suppression hides them, the national row stays).
    Log: 1 birth below 24+0 for 'preterm'; 3 births without a vsv for the vsv comparison."""
    early = unit_births("A", 1, 0)
    early["gestational_age_days"] = 160
    births = cohort(unit_births("A", 20, 10), early, unit_births("B", 25, 12),
                    unit_births(None, 3, 1))
    raw, _ = indicator_rates(births, "vsv", indicators=["preterm"], threshold=None)
    assert (row(raw, "vsv", "A")["numerator"], row(raw, "vsv", "A")["denominator"]) == (10, 20)
    assert (row(raw, "vsv", "B")["numerator"], row(raw, "vsv", "B")["denominator"]) == (12, 25)
    table, log = indicator_rates(births, "vsv", indicators=["preterm"])
    nat = row(table, "national", "national")
    assert (nat["numerator"], nat["denominator"]) == (23, 48)
    assert not bool(nat["suppressed"])
    assert table.loc[table["level"] == "vsv", "denominator"].isna().any()
    assert set(table.loc[table["level"] == "vsv", "unit"]) == {"A", "B"}
    entries = {(r.stage, r.scope, r.reason): r.n_rows for r in log.to_frame().itertuples()}
    assert entries == {
        ("indicators", "preterm", "gestational age below 24+0 weeks (definition minimum)"): 1,
        ("comparison", "vsv", "vsv missing"): 3,
    }


def test_two_levels_and_two_indicators():
    """vsv A/B and municipality M1 (A's 40 births + 10 of B's) / M2 (B's other 20).
    Preterm: A 12/40, B 15/30 with B's preterm births first, so M1 = 12 + 10 = 22 / 50 and
    M2 = 5 / 20 (suppressed, 5 < 10, with M1 as its secondary).
    Very preterm: none (all preterm births are 250 days >= 224): numerators 0 -> suppressed
    everywhere, including the national row."""
    a = unit_births("A", 40, 12, municipality="M1")
    b = unit_births("B", 30, 15)
    b["municipality"] = ["M1"] * 10 + ["M2"] * 20
    table, _ = indicator_rates(cohort(a, b), ["vsv", "municipality"],
                               indicators=["preterm", "very_preterm"], threshold=None)
    m1 = row(table, "municipality", "M1")
    m2 = row(table, "municipality", "M2")
    assert (m1["numerator"], m1["denominator"]) == (22, 50)
    assert (m2["numerator"], m2["denominator"]) == (5, 20)
    vp = table[table["indicator"] == "very_preterm"]
    assert len(vp) == 5  # national + 2 vsv + 2 municipalities
    assert (vp["numerator"] == 0).all()

    safe, _ = indicator_rates(cohort(a, b), ["vsv", "municipality"],
                              indicators=["preterm", "very_preterm"])
    assert bool(row(safe, "municipality", "M2")["suppressed"])
    assert bool(row(safe, "municipality", "M1")["suppressed"])
    assert not bool(row(safe, "vsv", "A")["suppressed"])
    assert safe.loc[safe["indicator"] == "very_preterm", "suppressed"].all()


def test_precomputed_flags_give_the_same_table():
    births = cohort(unit_births("A", 40, 12), unit_births("B", 30, 15))
    flags = derive_indicators(births, ["preterm"])
    direct, _ = indicator_rates(births, "vsv", indicators=["preterm"])
    reused, _ = indicator_rates(births, "vsv", flags=flags)
    pd.testing.assert_frame_equal(direct, reused)


def test_unknown_level_is_an_error():
    births = cohort(unit_births("A", 40, 12))
    with pytest.raises(ValueError, match="ggd_region"):
        indicator_rates(births, "ggd_region", indicators=["preterm"])
