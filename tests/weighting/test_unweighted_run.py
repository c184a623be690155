"""Weights that are all 1 reproduce the unweighted run exactly."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from casemix import CaseMixModel
from casemix.models import load_spec
from casemix.simulation import simulate_cohort
from casemix.weighting import Margins, rake

MODELS = Path(__file__).resolve().parents[2] / "models"


def test_weights_of_one_reproduce_the_unweighted_run_exactly():
    births = simulate_cohort(30_000, n_vsv=20, n_municipalities=60, seed=5).births
    # margins equal to the births' own counts: raking leaves every weight at exactly 1
    own = [births.groupby(v).size() for v in ("vsv", "parity")]
    margins = Margins.from_frame(pd.concat(
        [pd.DataFrame({"margin": s.index.name, "value": s.index.astype(str), "total": s})
         for s in own]))
    weighted = births.assign(weight=rake(births, margins).weights)
    assert (weighted["weight"] == 1.0).all()
    spec = load_spec(MODELS / "big2.toml")
    plain = CaseMixModel(spec).fit(births).units
    with_weights = CaseMixModel(dataclasses.replace(spec, weights="weight")).fit(weighted).units
    pd.testing.assert_frame_equal(plain, with_weights, check_exact=True)
