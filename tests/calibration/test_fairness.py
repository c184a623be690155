"""On the synthetic cohort, leaving SES out of the Big2 model shows up in the income table.

The simulation makes Big2 risk fall with income quintile (log-odds effects 0.30 .. -0.20 for
preterm and 0.45 .. -0.20 for SGA, casemix.simulation.cohort), so a model without income must
under-predict quintile 1 and over-predict quintile 5; the model with income must not.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from casemix import CaseMixModel, load_spec, simulate_cohort

SPEC = Path(__file__).resolve().parents[2] / "models" / "big2.toml"


@pytest.fixture(scope="module")
def births():
    return simulate_cohort(120_000, seed=31).births


def test_misspecified_model_is_visibly_miscalibrated_by_income(births):
    spec = load_spec(SPEC)
    right = CaseMixModel(spec).fit(births).calibration_by(births, "income_quintile")
    wrong = CaseMixModel(spec.without_ses()).fit(births).calibration_by(
        births, "income_quintile")
    r, w = right.table.set_index("group"), wrong.table.set_index("group")
    assert ((r["oe_lower"] <= 1) & (r["oe_upper"] >= 1)).all()
    assert w.loc["1", "oe_lower"] > 1.2 and w.loc["5", "oe_upper"] < 0.85
    assert w.loc[["1", "2", "3", "4", "5"], "oe"].is_monotonic_decreasing


def test_migration_background_left_out_is_visible(births):
    """Migration background is not an SES adjuster; dropping it biases Surinamese births
    (simulated log-odds +0.35 preterm, +0.70 SGA) upwards."""
    import dataclasses

    spec = load_spec(SPEC)
    reduced = dataclasses.replace(spec, name="no_migration", adjusters=tuple(
        t for t in spec.adjusters if t.column != "migration_background"))
    table = CaseMixModel(reduced).fit(births).calibration_by(
        births, "migration_background").table.set_index("group")
    assert table.loc["surinamese", "oe_lower"] > 1.2
    assert table.loc["dutch", "oe_upper"] < 1.0
