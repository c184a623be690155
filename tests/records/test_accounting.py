"""Rows read = rows analysed + rows left out, per stage (issue 16).

Cohorts with planted defects of every kind the validation knows (impossible values, unknown
gestational age, births below 24+0 weeks) are validated and fitted; the rows left out at
validation and at each later stage ("indicators", "model") add up exactly to the rows read,
and "assumptions" entries (rows kept under a documented rule) are not among them.
"""

from __future__ import annotations

import numpy as np
import pytest

from casemix import CaseMixModel, load_spec, simulate_cohort, validate_births
from casemix.models import ModelSpec


def _left_out(log, stages):
    return sum(int(e["n_rows"]) for e in log.entries if e["stage"] in stages)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rows_add_up_per_stage(seed):
    from pathlib import Path

    spec: ModelSpec = load_spec(Path(__file__).resolve().parents[2] / "models" / "big2.toml")
    births = simulate_cohort(4000, seed=seed).births
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(births), size=60, replace=False)
    births.loc[rows[:15], "maternal_age"] = 7          # impossible: row excluded
    births.loc[rows[15:30], "birthweight_g"] = 99_999  # impossible: row excluded
    births.loc[rows[30:45], "gestational_age_days"] = 150  # below 24+0: out of scope
    report = validate_births(births)
    assert report.n_input == len(births)
    assert report.n_input == len(report.births) + _left_out(report.exclusions, {"validation"})
    result = CaseMixModel(spec).fit(report.births)
    assert result.n_input == len(report.births)
    assert result.n_input == result.n_analysed + _left_out(result.exclusions,
                                                           {"indicators", "model"})
    kept = [e for e in result.exclusions.entries if e["stage"] == "assumptions"]
    assert all(e["n_rows"] > 0 for e in kept)  # logged, but kept in the denominator
