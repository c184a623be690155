"""Breakdowns by social group: counts, intervals and adjusted rates against R, and disclosure.

``tests/fixtures/breakdowns``: 8,000 simulated births (``births.csv``) and R's values
(``generate.R``: ``prop.test`` Wilson limits, ``glm`` expected counts on parity and infant
sex, ``poisson.test`` exact O/E limits) for preterm birth by maternal education, nationally
and in three VSVs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from casemix import simulate_cohort, validate_births
from casemix.core.design import Term
from casemix.exceptions import DataError
from casemix.inequality import extreme_groups, indicator_breakdowns
from casemix.workflow.audit import audit_files

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "breakdowns"
ADJUST = (Term("parity", breaks=(1,), labels=("nulliparous", "multiparous")),
          Term("infant_sex"))


@pytest.fixture(scope="module")
def fixture_births() -> pd.DataFrame:
    return validate_births(pd.read_csv(FIXTURE / "births.csv")).births


@pytest.fixture(scope="module")
def unprotected(fixture_births):
    return indicator_breakdowns(fixture_births, ["education"], "vsv", indicators=["preterm"],
                                adjusters=ADJUST, threshold=None, repetitions=1000)


def test_counts_intervals_and_adjusted_rates_match_r(unprotected):
    ref = pd.read_csv(FIXTURE / "reference.csv")
    got = unprotected.table.set_index(["level", "unit", "group"])
    for row in ref.itertuples(index=False):
        ours = got.loc[(row.level, row.unit, row.group)]
        assert ours["numerator"] == row.numerator
        assert ours["denominator"] == row.denominator
        for column in ("rate_lower", "rate_upper", "expected", "oe", "oe_lower", "oe_upper",
                       "adjusted_rate"):
            assert ours[column] == pytest.approx(getattr(row, column), rel=1e-7), column


def test_groups_add_up_to_the_indicator_table(unprotected):
    """Education groups, ``missing`` among them, add up to every unit's indicator row; and
    expected events add up to the observed ones nationally (the logistic model's score
    equation for its intercept)."""
    t = unprotected.table
    sums = t.groupby(["level", "unit"])[["numerator", "denominator"]].sum()
    totals = unprotected.indicators.set_index(["level", "unit"])[["numerator", "denominator"]]
    totals.index = totals.index.set_levels(totals.index.levels[1].astype(str), level=1)
    pd.testing.assert_frame_equal(sums.sort_index(), totals.sort_index(), check_dtype=False)
    national = t[t["level"] == "national"]
    assert national["expected"].sum() == pytest.approx(national["numerator"].sum(), rel=1e-9)
    assert set(t["group"]) == {"low", "middle", "high", "missing"}


def test_without_adjusters_the_adjusted_rate_is_the_crude_one(fixture_births):
    """With no case mix, E = N x national rate, so O/E x national rate = O/N."""
    r = indicator_breakdowns(fixture_births, ["education"], indicators=["preterm"],
                             adjusters=(), threshold=None, repetitions=1000)
    t = r.table.dropna(subset=["rate"])
    np.testing.assert_allclose(t["adjusted_rate"], t["rate"], rtol=1e-12)


def test_inequality_rows(unprotected):
    """National rows: the difference and ratio of low against high education are
    :func:`extreme_groups` of their counts; SII and RII come crude and adjusted; the order of
    the groups is written out."""
    t = unprotected.table.set_index(["level", "unit", "group"])
    low, high = t.loc[("national", "national", "low")], t.loc[("national", "national", "high")]
    est = extreme_groups(low["numerator"], low["denominator"], high["numerator"],
                         high["denominator"])
    q = unprotected.inequality
    nat = q[(q["level"] == "national")].set_index(["rates", "measure"])
    assert nat.loc[("crude", "rate_difference"), "value"] == pytest.approx(
        float(est.difference))
    assert nat.loc[("crude", "rate_ratio"), "lower"] == pytest.approx(float(est.ratio_lower))
    assert nat.loc[("crude", "rate_difference"), "comparison"] == "low vs high"
    assert nat.loc[("crude", "sii"), "comparison"] == "low < middle < high"
    assert nat.loc[("crude", "sii"), "value"] < 0  # more preterm births with low education
    assert {("adjusted", "sii"), ("adjusted", "rii")} <= set(nat.index)


def test_unordered_breakdown_compares_with_the_reference_group():
    b = validate_births(simulate_cohort(20_000, seed=5).births).births
    r = indicator_breakdowns(b, ["migration_background"], indicators=["preterm"],
                             repetitions=1000)
    q = r.inequality
    assert set(q["measure"]) == {"rate_difference", "rate_ratio"}
    assert all(c.endswith(" vs dutch") for c in q["comparison"])
    assert "sii" not in set(q["measure"])


def test_bad_breakdowns(fixture_births):
    with pytest.raises(DataError, match="Unknown breakdown"):
        indicator_breakdowns(fixture_births, ["religion"])
    with pytest.raises(DataError, match="not in the births table"):
        indicator_breakdowns(fixture_births, ["income_quintile"])


@pytest.fixture(scope="module")
def cohort():
    return validate_births(simulate_cohort(30_000, seed=21).births).births


def _write(r, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    r.indicators.to_csv(folder / "ind.csv", index=False)
    r.table.to_csv(folder / "ind_breakdowns.csv", index=False)
    r.inequality.to_csv(folder / "ind_inequality.csv", index=False)
    return folder


def test_written_breakdowns_pass_the_audit_and_raw_ones_do_not(cohort, tmp_path):
    """Education and income per VSV (many groups below 10): the protected files pass the
    audit together; the same files without suppression fail it; an inequality measure of a
    unit with a hidden group is blank."""
    args = {"indicators": ["big2", "preterm", "very_preterm"], "repetitions": 1000}
    safe = indicator_breakdowns(cohort, ["education", "income_quintile"], "vsv", **args)
    assert safe.table["suppressed"].any()
    assert audit_files([_write(safe, tmp_path / "safe")]).ok
    raw = indicator_breakdowns(cohort, ["education", "income_quintile"], "vsv",
                               threshold=None, **args)
    assert not audit_files([_write(raw, tmp_path / "raw")]).ok
    hidden = safe.table[safe.table["numerator"].isna() & (safe.table["group"] != "missing")]
    keys = ["level", "unit", "indicator", "breakdown"]
    q = safe.inequality.merge(hidden[keys].drop_duplicates(), on=keys)
    assert len(q) and q["value"].isna().all() and q["suppressed"].all()


def test_audit_finds_an_inequality_measure_with_a_hidden_group(cohort, tmp_path):
    r = indicator_breakdowns(cohort, ["education"], "vsv", indicators=["preterm"],
                             repetitions=1000)
    folder = _write(r, tmp_path / "x")
    q = r.inequality.copy()
    hidden = r.table[r.table["numerator"].isna() & (r.table["group"] != "missing")].iloc[0]
    at = (q["unit"] == hidden["unit"]) & (q["measure"] == "sii") & (q["rates"] == "crude")
    q.loc[at, "value"] = 0.01  # as if computed with the hidden group
    q.to_csv(folder / "ind_inequality.csv", index=False)
    findings = audit_files([folder]).findings
    assert (findings["route"] == "inequality measure shown while a group it uses is hidden"
            ).any()


def test_nested_events_per_group_are_protected(cohort):
    """Within a group, very preterm births nest in preterm births: where both numerators
    are shown, their difference is 0 or at least 10."""
    r = indicator_breakdowns(cohort, ["education"], "vsv",
                             indicators=["preterm", "very_preterm"], repetitions=1000)
    w = r.table.pivot_table(index=["level", "unit", "group"], columns="indicator",
                            values="numerator", aggfunc="first")
    d = (w["preterm"] - w["very_preterm"]).dropna()
    assert not ((d > 0) & (d < 10)).any()
