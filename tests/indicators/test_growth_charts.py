"""Tests of the packaged Hoftiezer et al. (2019) birthweight reference.

Expected weights are the values printed in the publication's table (the packaged CSV, read in
``conftest.py`` with the stdlib ``csv`` module) or hand computations from them.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from casemix.indicators import growth_charts
from casemix.indicators.growth_charts import (
    birthweight_at_percentile,
    birthweight_reference,
    birthweight_threshold,
)

PCOLS = ["p3", "p5", "p10", "p50", "p90", "p95", "p97"]


def test_reference_table_covers_161_to_294_days_for_both_sexes():
    """23+0 = 161 days to 42+0 = 294 days is 134 days per sex, 268 rows in total."""
    table = birthweight_reference()
    assert len(table) == 2 * 134
    for sex in ("female", "male"):
        days = sorted(table.loc[table["sex"] == sex, "ga_days"])
        assert days == list(range(161, 295))
    # completed weeks and days agree with the day count: ga_days = 7 * week + day
    assert (table["ga_days"] == 7 * table["week"] + table["day"]).all()
    assert table["day"].between(0, 6).all()


def test_reference_percentiles_increase_within_each_row():
    """A percentile table must be increasing from p3 to p97 in every row."""
    values = birthweight_reference()[PCOLS].to_numpy()
    assert (np.diff(values, axis=1) > 0).all()


def test_reference_table_matches_the_publication_csv(hoftiezer):
    """Every cell of the loaded table equals the CSV read independently."""
    table = birthweight_reference()
    for rec in table.itertuples(index=False):
        printed = hoftiezer[(rec.sex, rec.ga_days)]
        assert [getattr(rec, p) for p in PCOLS] == [printed[p] for p in PCOLS]


@pytest.mark.parametrize(
    ("sex", "day", "p10"),
    [
        # quick checks printed in the publication's table (also in resources/CITATION.md)
        ("female", 259, 2437),  # 37+0
        ("male", 259, 2531),
        ("female", 280, 2968),  # 40+0
        ("male", 280, 3086),
    ],
)
def test_p10_quick_checks(sex, day, p10):
    assert birthweight_threshold([sex], [day], 10).tolist() == [p10]


def test_threshold_other_percentiles_at_37_weeks():
    """Printed row female 37+0: p3 2217, p5 2305, p50 2886, p90 3382, p95 3548, p97 3665."""
    expected = {3: 2217, 5: 2305, 50: 2886, 90: 3382, 95: 3548, 97: 3665}
    for pct, grams in expected.items():
        assert birthweight_threshold(["female"], [259], pct)[0] == grams


def test_threshold_vectorised_over_the_whole_table(hoftiezer):
    """One call over every (sex, day) returns the printed p10 in the same order."""
    keys = sorted(hoftiezer)
    sexes = [k[0] for k in keys]
    days = [k[1] for k in keys]
    got = birthweight_threshold(sexes, days, 10)
    assert got.tolist() == [float(hoftiezer[k]["p10"]) for k in keys]


def test_threshold_table_edges(hoftiezer):
    """Day 161 and 294 are tabulated; 160 and 295 are not (NaN)."""
    got = birthweight_threshold(["female", "male", "female", "male"], [161, 294, 160, 295])
    assert got[0] == hoftiezer[("female", 161)]["p10"] == 428
    assert got[1] == hoftiezer[("male", 294)]["p10"] == 3318
    assert np.isnan(got[2:]).all()


def test_threshold_missing_or_unknown_sex_and_day_give_nan():
    got = birthweight_threshold(["female", None, "unknown", "male", "male"],
                                [259, 259, 259, np.nan, None])
    assert got[0] == 2437
    assert np.isnan(got[1:]).all()


def test_threshold_rejects_untabulated_percentile():
    with pytest.raises(ValueError, match="percentile"):
        birthweight_threshold(["female"], [259], 25)


def test_citation_names_the_publication():
    assert "Hoftiezer" in growth_charts.CITATION
    assert "10.1016/j.ajog.2018.12.023" in growth_charts.CITATION


# --- birthweight_at_percentile (interpolation on the normal-quantile scale) -------------------


def test_at_percentile_reproduces_tabulated_knots():
    """At q = 0.10 and 0.50 the interpolation returns the printed p10 and p50 (female 40+0)."""
    got = birthweight_at_percentile(["female", "female"], [280, 280], [0.10, 0.50])
    assert got == pytest.approx([2968, 3463], abs=1e-9)


def test_at_percentile_interpolates_linearly_in_z():
    """Halfway between z(0.10) and z(0.50) = 0 on the z-scale the weight is the mean of p10 and
    p50: female 40+0 (2968 + 3463) / 2 = 3215.5 g; male 37+0 (2531 + 3000) / 2 = 2765.5 g."""
    q = norm.cdf(norm.ppf(0.10) / 2)
    got = birthweight_at_percentile(["female", "male"], [280, 259], [q, q])
    assert got == pytest.approx([3215.5, 2765.5], abs=1e-6)


def test_at_percentile_extrapolates_outer_segments():
    """Beyond p97 the p95-p97 segment is extended: one segment width further gives
    2 * p97 - p95 = 2 * 4286 - 4173 = 4399 g (female 40+0); below p3 likewise
    2 * p3 - p5 = 2 * 2743 - 2831 = 2655 g."""
    z3, z5, z95, z97 = norm.ppf([0.03, 0.05, 0.95, 0.97])
    q_hi = norm.cdf(z97 + (z97 - z95))
    q_lo = norm.cdf(z3 - (z5 - z3))
    got = birthweight_at_percentile(["female", "female"], [280, 280], [q_hi, q_lo])
    assert got == pytest.approx([4399, 2655], abs=1e-6)


def test_at_percentile_clamps_days_outside_the_table():
    """Days below 161 use day 161 and above 294 use day 294 (p50: female 161 518 g, male 294
    3886 g)."""
    got = birthweight_at_percentile(["female", "male"], [150, 300], [0.5, 0.5])
    assert got == pytest.approx([518, 3886], abs=1e-9)


def test_at_percentile_needs_sex():
    with pytest.raises(ValueError, match="sex"):
        birthweight_at_percentile(["female", None], [280, 280], [0.5, 0.5])


def test_at_percentile_is_increasing_in_the_quantile():
    """Monotone in q for random sexes and days (the table rows increase, see above)."""
    rng = np.random.default_rng(20190401)
    n = 200
    sex = rng.choice(["female", "male"], n)
    days = rng.integers(161, 295, n)
    q = np.sort(rng.uniform(0.001, 0.999, (n, 2)), axis=1)
    lo = birthweight_at_percentile(sex, days, q[:, 0])
    hi = birthweight_at_percentile(sex, days, q[:, 1])
    assert (hi >= lo).all()
