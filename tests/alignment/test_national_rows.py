"""A published table holds national rows beside the units' rows: both are aligned, and the
disclosed alignment shows our national counts unless their difference with the published
ones is small (they were always blank, and could not be explained)."""

from __future__ import annotations

import pandas as pd

from casemix import simulate_cohort, validate_births
from casemix.alignment import align, disclosed_alignment
from casemix.indicators import DefinitionSettings, indicator_rates


def test_national_rows_are_aligned_and_shown():
    births = validate_births(simulate_cohort(12_000, seed=31).births).births
    published, _ = indicator_rates(births, by="vsv", indicators=["preterm"],
                                   settings=DefinitionSettings.from_preset("perined-22wk"))
    reference = published[["unit", "indicator", "numerator", "denominator"]].assign(
        year=2024)
    result = align(births, reference, level="vsv")
    national = result.table.set_index("unit").loc["national"]
    # our own count under the default definitions (24+0 weeks), by hand
    ga = pd.to_numeric(births["gestational_age_days"])
    in_scope = ga >= 168
    assert national["numerator"] == int((in_scope & (ga < 259)).sum())
    assert national["denominator"] == int(in_scope.sum())
    assert "minimum gestational age 22+0 weeks" in national["explained_by"]
    shown = disclosed_alignment(result.table, 10).set_index("unit").loc["national"]
    difference = int(national["numerator"]) - int(national["numerator_reference"])
    if 0 < abs(difference) < 10:  # births of 22 and 23 weeks: a small count, banded
        assert pd.isna(shown["numerator"]) and bool(shown["difference_banded"])
    else:
        assert shown["numerator"] == national["numerator"]
