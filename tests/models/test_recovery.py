"""On the synthetic cohort with known truth, O/E recovers the simulated unit effects.

The truth (true O/E per VSV: expected risk with and without the VSV's own effect) comes from
the simulation, not from the model under test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from casemix import CaseMixModel, load_spec, simulate_cohort

MODELS = Path(__file__).resolve().parents[2] / "models"


@pytest.fixture(scope="module")
def cohort():
    return simulate_cohort(170_000, seed=42)


@pytest.mark.parametrize("method", ["pooled", "fixed"])
def test_oe_recovers_true_unit_effects(cohort, method):
    result = CaseMixModel(load_spec(MODELS / "big2.toml"), method=method).fit(cohort.births)
    units = result.units.query("level == 'vsv'").set_index("unit")
    truth = cohort.truth.query("level == 'vsv' and indicator == 'big2'").set_index("unit")
    both = units.join(truth[["true_oe", "outlier"]])
    corr = np.corrcoef(np.log(both["oe"]), np.log(both["true_oe"]))[0, 1]
    assert corr > 0.8
    planted = both[both["outlier"] != "none"]
    assert (planted["flag_95"] == planted["outlier"]).all()
    covered = (both["oe_lower"] <= both["true_oe"]) & (both["true_oe"] <= both["oe_upper"])
    assert covered.mean() > 0.8  # municipality effects add between-unit noise around the truth
