"""Simulation: non-response on income (not an adjuster of big2 without SES) and on the
unit biases the unweighted O/E of the affected VSVs; raking to the register's margins
recovers the full-cohort O/E (docs/weights.md, benchmarks/nonresponse.py at full size)."""

from __future__ import annotations

import warnings
from pathlib import Path

from casemix.models import load_spec
from casemix.simulation import simulate_cohort
from casemix.simulation.nonresponse import nonresponse_study

MODELS = Path(__file__).resolve().parents[2] / "models"


def test_weighted_oe_recovers_the_full_cohort_oe():
    births = simulate_cohort(60_000, n_vsv=8, n_municipalities=60, n_vsv_outliers=4,
                             seed=7).births
    spec = load_spec(MODELS / "big2.toml").without_ses()
    assert "income_quintile" not in {a.column for a in spec.adjusters}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the weighted fit's interval method note
        table, s = nonresponse_study(births, spec, n_affected=3, low_income_response=0.2)
    assert table["affected"].sum() == 3
    # measured: unweighted 0.134, weighted 0.033 (mean abs error of log O/E, affected VSVs)
    assert s["mae_unweighted"] > 0.08
    assert s["mae_weighted"] < 0.4 * s["mae_unweighted"]
    affected = table[table["affected"]]
    assert ((affected["unweighted"] - affected["truth"]) < 0).all()  # biased downwards
