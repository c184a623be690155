"""Small-count suppression on hand-made aggregated tables (threshold 10 unless stated)."""

from __future__ import annotations

import pandas as pd
import pytest

from casemix.disclosure import DEFAULT_THRESHOLD, suppress_counts


def table(rows) -> pd.DataFrame:
    """rows: (level, unit, indicator, numerator, denominator); rate = numerator / denominator."""
    frame = pd.DataFrame(rows, columns=["level", "unit", "indicator", "numerator",
                                        "denominator"])
    frame["rate"] = frame["numerator"] / frame["denominator"]
    return frame


def by_unit(out: pd.DataFrame, indicator: str = "x", level: str = "vsv") -> pd.DataFrame:
    return out[(out["level"] == level) & (out["indicator"] == indicator)].set_index("unit")


def test_default_threshold_is_10():
    assert DEFAULT_THRESHOLD == 10


def test_primary_suppression_numerator_complement_denominator():
    """A 12/40 shown; B 9/40 (numerator < 10); C 35/40 (complement 5 < 10); D 5/8
    (denominator < 10, so the denominator is blanked too); E 10/20 exactly at the threshold
    (numerator 10, complement 10) shown. Three rows suppressed -> no secondary suppression."""
    t = table([
        ("vsv", "A", "x", 12, 40),
        ("vsv", "B", "x", 9, 40),
        ("vsv", "C", "x", 35, 40),
        ("vsv", "D", "x", 5, 8),
        ("vsv", "E", "x", 10, 20),
    ])
    out, log = suppress_counts(t)
    u = by_unit(out)
    assert u["suppressed"].to_dict() == {"A": False, "B": True, "C": True, "D": True,
                                         "E": False}
    assert u.loc["A", "numerator"] == 12
    assert u.loc["A", "rate"] == pytest.approx(0.3)
    assert u.loc["E", "rate"] == pytest.approx(0.5)
    for unit in "BCD":
        assert pd.isna(u.loc[unit, "numerator"])
        assert pd.isna(u.loc[unit, "rate"])
    assert u.loc["B", "denominator"] == 40
    assert u.loc["C", "denominator"] == 40
    assert pd.isna(u.loc["D", "denominator"])
    entries = log.to_frame()
    assert sorted(entries["unit"]) == ["B", "C", "D"]
    assert set(entries["reason"]) == {"count below 10"}
    # the input is not modified
    assert t["numerator"].tolist() == [12, 9, 35, 5, 10]


def test_secondary_suppression_protects_a_single_suppressed_unit():
    """vsv level, indicator x: A 12/40, B 15/30, C 5/25; national 32/95. Only C is below 10, so
    its numerator could be recovered as 32 - 12 - 15; the unit with the next smallest numerator
    (A, 12) is suppressed too; B stays. Indicator y (A 20/40, B 20/30, C 12/25) and the national
    row need nothing."""
    t = table([
        ("national", "national", "x", 32, 95),
        ("vsv", "A", "x", 12, 40),
        ("vsv", "B", "x", 15, 30),
        ("vsv", "C", "x", 5, 25),
        ("national", "national", "y", 52, 95),
        ("vsv", "A", "y", 20, 40),
        ("vsv", "B", "y", 20, 30),
        ("vsv", "C", "y", 12, 25),
    ])
    out, log = suppress_counts(t)
    u = by_unit(out)
    assert u["suppressed"].to_dict() == {"A": True, "B": False, "C": True}
    assert pd.isna(u.loc["A", "numerator"])
    assert pd.isna(u.loc["C", "numerator"])
    assert u.loc["B", "numerator"] == 15
    assert not out.loc[out["indicator"] == "y", "suppressed"].any()
    assert not out.loc[out["level"] == "national", "suppressed"].any()
    # C can no longer be recovered: 32 minus the published numerators leaves A + C
    published = u["numerator"].sum()  # NaN skipped
    assert 32 - published == 12 + 5
    entries = log.to_frame()
    assert entries["unit"].tolist() == ["C", "A"]
    assert entries["reason"].tolist() == ["count below 10",
                                          "secondary: protects a single suppressed cell"]
    assert entries["group"].tolist() == [("vsv", "x"), ("vsv", "x")]


def test_no_secondary_suppression_for_a_single_row_group():
    """National 5/95 is suppressed; its group has no other row to suppress."""
    out, log = suppress_counts(table([("national", "national", "x", 5, 95)]))
    assert out["suppressed"].tolist() == [True]
    assert len(log) == 1


def test_no_secondary_suppression_when_two_units_are_suppressed():
    """A 12/40, B 4/30, C 6/25: B and C suppressed; A stays (B + C = 10 is all one learns)."""
    out, _ = suppress_counts(table([
        ("vsv", "A", "x", 12, 40), ("vsv", "B", "x", 4, 30), ("vsv", "C", "x", 6, 25)]))
    assert by_unit(out)["suppressed"].to_dict() == {"A": False, "B": True, "C": True}


def test_threshold_is_configurable():
    """A 12/40, B 15/30, C 5/25: at threshold 10 C is small (and A is its secondary); at
    threshold 5 nothing is (5 is not below 5; complements 28, 15, 20); 4/25 is below 5."""
    t = table([("vsv", "A", "x", 12, 40), ("vsv", "B", "x", 15, 30), ("vsv", "C", "x", 5, 25)])
    out, _ = suppress_counts(t, threshold=10)
    assert by_unit(out)["suppressed"].to_dict() == {"A": True, "B": False, "C": True}
    out, log = suppress_counts(t, threshold=5)
    assert by_unit(out)["suppressed"].to_dict() == {"A": False, "B": False, "C": False}
    assert by_unit(out).loc["C", "numerator"] == 5
    assert len(log) == 0
    t.loc[t["unit"] == "C", "numerator"] = 4
    out, log = suppress_counts(t, threshold=5)
    assert by_unit(out)["suppressed"].to_dict() == {"A": True, "B": False, "C": True}
    assert log.to_frame()["reason"].tolist()[0] == "count below 5"


def test_custom_columns_and_derived():
    """Other column names; every derived column is blanked with the count."""
    t = pd.DataFrame({"region": ["R1", "R2", "R3"], "events": [3, 40, 50],
                      "n": [100, 100, 100], "oe": [0.5, 1.1, 1.2], "lower": [0.1, 0.9, 1.0]})
    out, _ = suppress_counts(t, numerator="events", denominator="n", derived=("oe", "lower"),
                             group_by=(), unit="region")
    # R1 (3 < 10) primary; R2 has the next smallest count (40) -> secondary
    assert out["suppressed"].tolist() == [True, True, False]
    assert out[["events", "oe", "lower"]].iloc[:2].isna().all().all()
    assert out["n"].tolist() == [100, 100, 100]


def test_secondary_suppression_also_protects_a_small_denominator():
    """vsv A 1/5 (denominator 5 < 10, blanked), B 20/100, C 30/100; national 51/205.
    With A's denominator blank and B, C published, 205 - 100 - 100 = 5 gives it back: the
    secondary unit's denominator must be blanked as well."""
    t = table([
        ("national", "national", "x", 51, 205),
        ("vsv", "A", "x", 1, 5),
        ("vsv", "B", "x", 20, 100),
        ("vsv", "C", "x", 30, 100),
    ])
    out, _ = suppress_counts(t)
    u = by_unit(out)
    assert pd.isna(u.loc["A", "denominator"])
    recoverable = 205 - u["denominator"].sum()  # NaN skipped
    assert recoverable != 5, "A's denominator can be recovered from the national total"


def test_threshold_below_default_needs_override():
    from casemix.disclosure import check_threshold

    assert check_threshold(10) == {"threshold": 10, "override": False}
    assert check_threshold(25) == {"threshold": 25, "override": False}
    with pytest.raises(ValueError, match=r"threshold of 5 is below the default of 10"):
        check_threshold(5)
    assert check_threshold(5, override=True) == {"threshold": 5, "override": True}


def test_mask_small_counts():
    from casemix.disclosure import mask_small_counts

    log = pd.DataFrame({"reason": ["a", "b", "c"], "n_rows": [3, 10, 250]})
    assert mask_small_counts(log)["n_rows"].tolist() == ["<10", 10, 250]
