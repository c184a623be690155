"""Disclosure control of the alignment table (issue 13, route 14).

Every expected value below is worked out by hand from the rule in the Notes of
:func:`casemix.alignment.disclosed_alignment` (threshold t = 10 unless stated): difference
d = ours - published; blank when either count is missing; "0" when d = 0; "+1..+9" when
1 <= d <= 9, "-9..-1" when -9 <= d <= -1; the signed integer when |d| >= 10. Where a difference
is banded, our count and the rate are blanked (the published count is public). The tables are
built by hand in the columns of ``AlignmentResult.table``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from casemix import DefinitionSettings
from casemix.alignment import AlignmentResult, disclosed_alignment
from casemix.exceptions import DataError

ORDER = ["unit", "year", "indicator", "numerator_reference", "denominator_reference",
         "numerator", "denominator", "rate_reference", "rate", "numerator_difference",
         "denominator_difference", "agrees", "explained_by"]


def _table(rows: list[tuple[str, float, float, float, float]], *, year: int = 2024,
           indicator: str = "preterm") -> pd.DataFrame:
    """An alignment table as ``align`` builds it, from (unit, our numerator, our denominator,
    published numerator, published denominator); NaN marks a suppressed published figure."""
    t = pd.DataFrame(rows, columns=["unit", "numerator", "denominator", "numerator_reference",
                                    "denominator_reference"])
    t["year"], t["indicator"] = year, indicator
    t["numerator"] = t["numerator"].astype("int64")
    t["denominator"] = t["denominator"].astype("int64")
    t["rate_reference"] = t["numerator_reference"] / t["denominator_reference"]
    t["rate"] = t["numerator"] / t["denominator"]
    t["numerator_difference"] = t["numerator"] - t["numerator_reference"]
    t["denominator_difference"] = t["denominator"] - t["denominator_reference"]
    t["agrees"] = ((t["numerator_difference"] == 0) & (t["denominator_difference"] == 0))
    t["explained_by"] = np.where(t["agrees"], "", "unexplained")
    return t[ORDER]


def _one(ours: int, published: float, threshold: int = 10) -> pd.Series:
    """The disclosed row of a single unit whose numerator differs (denominators 1000 both)."""
    return disclosed_alignment(_table([("A", ours, 1000, published, 1000)]),
                               threshold).iloc[0]


@pytest.mark.parametrize(("ours", "published", "label", "banded"), [
    (100, 100, "0", False),
    (103, 100, "+1..+9", True),
    (96, 100, "-9..-1", True),
    (109, 100, "+1..+9", True),
    (110, 100, "+10", False),
    (90, 100, "-10", False),
    (100, 350, "-250", False),
])
def test_numerator_difference_labels(ours, published, label, banded):
    """By hand: 100-100 = 0 -> "0"; 103-100 = +3 and 109-100 = +9 (the largest d below t) ->
    "+1..+9"; 96-100 = -4 -> "-9..-1"; 110-100 = +10 and 90-100 = -10 (|d| = t exactly) ->
    shown exactly; 100-350 = -250 -> "-250". Denominators are equal, so that difference is
    "0"; all counts are >= 10 and complements 1000 - n >= 10, so nothing is suppressed."""
    row = _one(ours, published)
    assert row["numerator_difference"] == label
    assert row["denominator_difference"] == "0"
    assert bool(row["difference_banded"]) is banded
    assert not row["suppressed"]
    assert row["numerator_reference"] == published  # public: always shown
    assert row["denominator"] == 1000


def test_banded_difference_hides_our_count_and_rate():
    """By hand: ours 103/1000 vs published 100/1000. Shown with our numerator 103 next to the
    published 100, the band "+1..+9" would be undone by 103 - 100 = 3; with the rate 0.103
    and our denominator 1000, by 0.103 * 1000 - 100 = 3. So our numerator and the rate are
    blank; the denominator difference is 0, so our denominator 1000 stays."""
    row = _one(103, 100)
    assert pd.isna(row["numerator"])
    assert pd.isna(row["rate"])
    assert row["denominator"] == 1000
    assert row["rate_reference"] == pytest.approx(0.1)


def test_exact_difference_keeps_our_count_and_rate():
    """By hand: ours 110/1000 vs published 100/1000: d = +10 >= t, shown as "+10"; our
    numerator 110 and rate 110/1000 = 0.11 stay (nothing beyond the shown +10 follows)."""
    row = _one(110, 100)
    assert row["numerator"] == 110
    assert row["rate"] == pytest.approx(0.11)


def test_denominator_differences():
    """By hand: unit A ours 100/1000 vs published 100/1250: denominator d = 1000-1250 = -250
    -> "-250", numerator "0", nothing hidden. Unit B ours 100/1003 vs published 100/1000:
    d = +3 -> "+1..+9", so our denominator 1003 and the rate are blank, our numerator 100
    stays. No count is below 10, so the set (2024, preterm) has no suppression."""
    out = disclosed_alignment(_table([("A", 100, 1000, 100, 1250),
                                      ("B", 100, 1003, 100, 1000)])).set_index("unit")
    assert out.loc["A", "denominator_difference"] == "-250"
    assert out.loc["A", "numerator_difference"] == "0"
    assert out.loc["A", "denominator"] == 1000
    assert not out.loc["A", "difference_banded"]
    assert out.loc["B", "denominator_difference"] == "+1..+9"
    assert out.loc["B", "numerator_difference"] == "0"
    assert pd.isna(out.loc["B", "denominator"])
    assert pd.isna(out.loc["B", "rate"])
    assert out.loc["B", "numerator"] == 100
    assert out.loc["B", "difference_banded"]


def test_suppressed_published_figure_gives_a_blank_difference():
    """By hand: the registry suppressed the numerator (NaN), ours is 100/1000: 100 - NaN is
    missing, so the numerator difference is blank (a number would be our count); the
    denominators agree (1000 - 1000 = 0 -> "0"). Nothing is banded; our 100 is >= 10 and
    shown."""
    row = _one(100, np.nan)
    assert pd.isna(row["numerator_difference"])
    assert row["denominator_difference"] == "0"
    assert row["numerator"] == 100
    assert not row["difference_banded"]
    assert not row["agrees"]


def test_small_own_numerator_is_suppressed_with_its_differences():
    """By hand: unit A ours 7/1000 vs published 10/1000. 7 < 10: primary suppression blanks
    our numerator, the rate and both differences (the -3 is never shown, not even banded);
    our denominator 1000 >= 10 stays. A is the only primary cell of the set (2024, preterm),
    so the other unit with the smallest numerator, B (50/800, published 50/800), is
    suppressed too (secondary), its denominator kept because A's was. ``agrees`` is False
    for A (7 != 10) and True for B, unchanged."""
    out = disclosed_alignment(_table([("A", 7, 1000, 10, 1000),
                                      ("B", 50, 800, 50, 800),
                                      ("C", 300, 900, 300, 900)])).set_index("unit")
    for unit in ("A", "B"):
        assert out.loc[unit, "suppressed"]
        assert pd.isna(out.loc[unit, "numerator"])
        assert pd.isna(out.loc[unit, "rate"])
        assert pd.isna(out.loc[unit, "numerator_difference"])
        assert pd.isna(out.loc[unit, "denominator_difference"])
        assert not out.loc[unit, "difference_banded"]
    assert out.loc["A", "denominator"] == 1000
    assert out.loc["B", "denominator"] == 800
    assert list(out["agrees"]) == [False, True, True]
    assert not out.loc["C", "suppressed"]
    assert out.loc["C", "numerator_difference"] == "0"


def test_counts_exactly_at_the_threshold():
    """By hand: ours 10/1000 vs published 10/1000: 10 is not below t = 10, so nothing is
    suppressed; d = 0 -> "0". Ours 20/1000 vs published 10/1000: d = +10 = t -> "+10", our
    20 stays. Ours 10/1000 vs published 20/1000: d = -10 -> "-10", our 10 stays."""
    out = disclosed_alignment(_table([("A", 10, 1000, 10, 1000), ("B", 20, 1000, 10, 1000),
                                      ("C", 10, 1000, 20, 1000)])).set_index("unit")
    assert not out["suppressed"].any()
    assert list(out["numerator_difference"]) == ["0", "+10", "-10"]
    assert list(out["numerator"]) == [10, 20, 10]
    assert not out["difference_banded"].any()


def test_other_threshold():
    """By hand with t = 20: d = +15 (115 vs 100) -> "+1..+19"; d = -19 -> "-19..-1";
    d = +20 -> "+20" (|d| = t is shown)."""
    assert _one(115, 100, threshold=20)["numerator_difference"] == "+1..+19"
    assert _one(81, 100, threshold=20)["numerator_difference"] == "-19..-1"
    assert _one(120, 100, threshold=20)["numerator_difference"] == "+20"


def test_columns_and_the_input_are_kept():
    """The input's columns in order, then ``suppressed`` and ``difference_banded``; the
    differences become text; ``agrees`` and ``explained_by`` are copied; the input itself is
    unchanged (its numerator_difference still holds the number 3)."""
    t = _table([("A", 103, 1000, 100, 1000), ("B", 100, 1000, 100, 1000)])
    before = t.copy()
    out = disclosed_alignment(t)
    assert list(out.columns) == [*ORDER, "suppressed", "difference_banded"]
    assert out["numerator_difference"].dtype == object
    assert list(out["agrees"]) == list(t["agrees"])
    assert out["agrees"].dtype == bool
    assert list(out["explained_by"]) == ["unexplained", ""]
    pd.testing.assert_frame_equal(t, before)


def test_alignment_result_disclosed():
    """``AlignmentResult.disclosed`` is the function on its table."""
    t = _table([("A", 103, 1000, 100, 1000), ("B", 7, 1000, 7, 1000),
                ("C", 250, 1000, 100, 1000)])
    result = AlignmentResult(t, DefinitionSettings(), 0.0)
    pd.testing.assert_frame_equal(result.disclosed(), disclosed_alignment(t))
    pd.testing.assert_frame_equal(result.disclosed(20), disclosed_alignment(t, 20))


def test_bad_input_is_rejected():
    """Threshold 0, already disclosed text and fractional differences are errors."""
    t = _table([("A", 103, 1000, 100, 1000)])
    with pytest.raises(ValueError, match=">= 1"):
        disclosed_alignment(t, 0)
    with pytest.raises(DataError, match="numeric"):
        disclosed_alignment(disclosed_alignment(t))
    with pytest.raises(DataError, match="whole counts"):
        disclosed_alignment(t.assign(numerator_difference=2.5))
    with pytest.raises(DataError, match="lacks"):
        disclosed_alignment(t.drop(columns="agrees"))


def _number(cell: object) -> float | None:
    """The cell as a number, if it parses as one (the attacker reads the CSV)."""
    if cell is None or (isinstance(cell, float) and np.isnan(cell)):
        return None
    try:
        return float(str(cell).replace(",", ""))
    except ValueError:
        return None


def test_attack_no_small_difference_is_shown_or_derivable():
    """Attack on every combination of our numerator 85..115 and denominator 985..1015
    (steps of 3 and 5) against published 100/1000, plus rows with a suppressed published
    figure and small own counts. The attacker (a) parses every difference cell that is a
    number, (b) subtracts each published count from our count where both are shown, and
    (c) rebuilds our numerator as rate x our denominator and our denominator as our
    numerator / rate. No difference with 1 <= |d| <= 9 may come out of any of them."""
    rows: list[tuple[str, float, float, float, float]] = [
        (f"U{i}", n, d, 100, 1000)
        for i, (n, d) in enumerate(itertools.product(range(85, 116, 3), range(985, 1016, 5)))]
    rows += [("P1", 104, 1000, np.nan, 1000), ("P2", 104, 1003, np.nan, np.nan),
             ("S1", 7, 1000, 10, 1000), ("S2", 9, 12, 5, 12), ("S3", 995, 1000, 990, 1000)]
    out = disclosed_alignment(_table(rows))
    assert out["difference_banded"].any() and (~out["difference_banded"]).any()
    for column in ("numerator_difference", "denominator_difference"):
        shown = [v for v in map(_number, out[column]) if v is not None]
        assert shown, column
        assert not [v for v in shown if 1 <= abs(v) <= 9], column
    for ours, published in (("numerator", "numerator_reference"),
                            ("denominator", "denominator_reference")):
        both = out[ours].notna() & out[published].notna()
        derived = (out.loc[both, ours].astype(float) - out.loc[both, published]).abs()
        assert not ((derived >= 1) & (derived <= 9)).any(), ours
    rate = out["rate"].notna()
    with_den = rate & out["denominator"].notna()
    rebuilt_num = (out.loc[with_den, "rate"] * out.loc[with_den, "denominator"].astype(float))
    d_num = (rebuilt_num.round() - out.loc[with_den, "numerator_reference"]).abs()
    assert not ((d_num >= 1) & (d_num <= 9)).any()
    with_num = rate & out["numerator"].notna() & (out["rate"] > 0)
    rebuilt_den = out.loc[with_num, "numerator"].astype(float) / out.loc[with_num, "rate"]
    d_den = (rebuilt_den.round() - out.loc[with_num, "denominator_reference"]).abs()
    assert not ((d_den >= 1) & (d_den <= 9)).any()


def test_nested_events_do_not_leak_their_difference():
    """By hand: unit A publishes 25 neonatal deaths in 28 days and 22 in 7 days (ours equal
    to the published 25 and 22, so no difference is banded); 25 - 22 = 3 late neonatal deaths
    would follow from the two numerators, so one of them is hidden. B (40 and 12: 28 late
    deaths) needs no hiding of its own. The audit finds the raw table leaking and the
    disclosed one safe."""
    from casemix.workflow.audit import audit_files

    t = pd.concat([
        _table([("A", 25, 9000, 25, 9000), ("B", 40, 8000, 40, 8000),
                ("C", 60, 7000, 60, 7000)], indicator="neonatal_death_28d"),
        _table([("A", 22, 9000, 22, 9000), ("B", 12, 8000, 12, 8000),
                ("C", 30, 7000, 30, 7000)], indicator="neonatal_death_7d")],
        ignore_index=True)
    out = disclosed_alignment(t)
    a = out[out["unit"] == "A"].set_index("indicator")["numerator"]
    assert a.isna().any()
    # the raw table would leak 3 late neonatal deaths; the disclosed one does not
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        raw, safe = Path(tmp, "raw"), Path(tmp, "safe")
        raw.mkdir(), safe.mkdir()
        leaky = t.assign(numerator_difference=t["numerator_difference"].astype(str))
        leaky.to_csv(raw / "alignment.csv", index=False)
        out.to_csv(safe / "alignment.csv", index=False)
        assert not audit_files([raw]).ok
        assert audit_files([safe]).ok


def test_residuals_are_exact_only_when_nothing_small_follows():
    """By hand (t = 10): residual r = best - published; exact only when |r| >= 10, our count
    is shown, |best - ours| is 0 or >= 10 and the best counts pass the primary rule.
    A: ours 150, best 130, published 100: r = +30, moved 20 -> "+30".
    B: ours 150, best 145, published 100: r = +45, moved 5 -> band ">=+10".
    C: ours 150, best 104, published 100: r = +4 -> "+1..+9".
    D: ours 150, best 150 (moved 0), published 120: r = +30 -> "+30"."""
    t = _table([("A", 150, 1000, 100, 1000), ("B", 150, 1000, 100, 1000),
                ("C", 150, 1000, 100, 1000), ("D", 150, 1000, 120, 1000)])
    t["numerator_best"] = [130.0, 145.0, 104.0, 150.0]
    t["denominator_best"] = 1000.0
    t["numerator_residual"] = t["numerator_best"] - t["numerator_reference"]
    t["denominator_residual"] = 0.0
    out = disclosed_alignment(t).set_index("unit")
    assert list(out["numerator_residual"]) == ["+30", ">=+10", "+1..+9", "+30"]
    assert list(out["denominator_residual"]) == ["0"] * 4
    assert "numerator_best" not in out
