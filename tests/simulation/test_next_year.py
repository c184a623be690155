"""``births_seed``: a next year of the same country (geography and true unit effects of
``seed``, new births); without it the cohort is exactly the cohort of ``seed``."""

from __future__ import annotations

import pandas as pd

from casemix.simulation import simulate_cohort

KEY = ["level", "unit", "indicator"]


def test_same_country_and_unit_effects_new_births():
    this = simulate_cohort(8000, seed=6)
    nxt = simulate_cohort(8000, seed=6, years=(2025,), births_seed=1)
    pd.testing.assert_frame_equal(this.geography.municipalities, nxt.geography.municipalities)
    a, b = this.truth.set_index(KEY), nxt.truth.set_index(KEY)
    pd.testing.assert_series_equal(a["true_log_odds"], b["true_log_odds"])
    pd.testing.assert_series_equal(a["outlier"], b["outlier"])
    assert (nxt.births["year"] == 2025).all()
    assert not this.births["birthweight_g"].equals(nxt.births["birthweight_g"])
    assert nxt.parameters["births_seed"] == 1


def test_without_births_seed_the_cohort_of_seed():
    pd.testing.assert_frame_equal(simulate_cohort(3000, seed=6).births,
                                  simulate_cohort(3000, seed=6, births_seed=None).births)
