"""Raking, post-stratification and trimming give R's ``survey`` weights (committed fixture:
tests/fixtures/weighting/make_fixture.R, the examples of ?rake, ?postStratify, ?trimWeights)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from casemix.weighting import Margins, design_effects, poststratify, rake, read_margins, trim

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "weighting"


@pytest.fixture(scope="module")
def api() -> pd.DataFrame:
    return pd.read_csv(FIXTURE / "api_weights.csv")


def test_rake_gives_rs_weights_and_the_margins(api):
    margins = read_margins(FIXTURE / "api_margins.csv")
    result = rake(api, margins, base="pw")
    np.testing.assert_allclose(result.weights, api["w_rake"], rtol=1e-8)
    # the margins to 1e-8 births (the default tolerance is 1e-12 relative)
    assert result.fit["deviation"].abs().max() < 1e-8
    assert (result.fit["deviation"].abs() / result.fit["target"]).max() < 1e-12
    # R's default control (10 cycles, epsilon 1) stops earlier: agreement is looser
    np.testing.assert_allclose(result.weights, api["w_rake_default"], rtol=1e-4)


def test_poststratify_gives_rs_weights(api):
    margins = Margins.from_frame(pd.DataFrame({"stype": ["E", "H", "M"],
                                               "total": [4421, 755, 1018]}))
    result = poststratify(api, margins, base="pw")
    np.testing.assert_allclose(result.weights, api["w_poststratify"], rtol=1e-8)
    assert result.fit["deviation"].abs().max() < 1e-8
    assert result.iterations == 1


@pytest.mark.parametrize("strict,column", [(False, "w_trim"), (True, "w_trim_strict")])
def test_trim_gives_rs_weights(api, strict, column):
    trimmed = trim(api["w_calibrated"], 20, 45, strict=strict)
    np.testing.assert_allclose(trimmed.weights, api[column], rtol=1e-8)
    assert trimmed.weights.sum() == pytest.approx(api["w_calibrated"].sum(), rel=1e-12)
    assert trimmed.n_lower + trimmed.n_upper > 0


def test_kish_design_effect_of_rs_weights(api):
    w = api["w_rake"].to_numpy()
    row = design_effects(w).iloc[0]
    assert row["deff"] == pytest.approx(len(w) * (w**2).sum() / w.sum() ** 2, rel=1e-12)
    assert row["n_effective"] == pytest.approx(w.sum() ** 2 / (w**2).sum(), rel=1e-12)
