"""The robust between-unit spread against the R funnel fixture (tests/fixtures/funnel:
log-scale z-scores, 10% winsorisation with R's type-7 quantiles, DerSimonian-Laird tau^2)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from casemix.funnel import funnel
from casemix.verdict import between_unit_spread, unit_verdict

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "funnel"


@pytest.fixture(scope="module")
def units():
    return pd.read_csv(FIXTURE / "funnel_ratio_units.csv")


@pytest.fixture(scope="module")
def winsorised():
    ref = json.loads((FIXTURE / "results.json").read_text())
    return ref["overdispersion"]["ratio_log"]["variants"]["winsorised"]


def test_spread_is_the_winsorised_dersimonian_laird_estimate(units, winsorised):
    """phi = 1.22951491720877 and tau2_DL = 0.00243076742295104 (make_funnel.R, variant
    'winsorised' of ratio_log); the chi-square test on n df gives p = 0.14391275248792, which
    does not gate the spread (after winsorising, phi is biased low)."""
    s = between_unit_spread(units["O"], units["E"])
    assert s.phi == pytest.approx(winsorised["phi"], rel=1e-12)
    assert s.tau2 == pytest.approx(winsorised["tau2_DL"], rel=1e-10)
    assert s.phi_p_value == pytest.approx(winsorised["p_value_chisq_df_n"], rel=1e-10)
    assert s.adjustment == "additive"


def test_verdict_limits_are_the_additive_limits_of_the_fixture(units, winsorised):
    """Funnel verdict: a unit is flagged at 99.8% exactly when its O/E lies outside the
    additive limits exp(+-3.0902 sqrt(1/E + tau2_DL)) at its own E (fixture
    limits_at_units['0.998'].additive, computed in R)."""
    ref = winsorised["limits_at_units"]["0.998"]["additive"]
    oe = (units["O"] / units["E"]).to_numpy()
    expected = np.where(oe > ref["upper"], "above", np.where(oe < ref["lower"], "below",
                                                             "within"))
    v = unit_verdict(units["O"], units["E"], family="funnel").table
    assert list(v["flag_998"]) == list(expected)
    f = funnel(units["O"], units["E"], kind="ratio", overdispersion="estimated").units
    np.testing.assert_allclose(f["upper_998"], ref["upper"], rtol=1e-10)
    np.testing.assert_allclose(f["lower_998"], ref["lower"], rtol=1e-10)


def test_binary_variance_scales_the_standard_errors(units):
    """With V = E (1 - p) the z-scores grow by 1/sqrt(1 - p), so phi by 1/(1 - p) before
    winsorising (hand computation: z_k = log(O_k/E_k) / (sqrt(V_k)/E_k))."""
    p = 0.15
    v = units["E"].to_numpy() * (1 - p)
    s = between_unit_spread(units["O"], units["E"], v)
    y = np.log(units["O"] / units["E"]).to_numpy()
    z = y / (np.sqrt(v) / units["E"].to_numpy())
    lo, hi = np.quantile(z, [0.1, 0.9])
    assert s.phi == pytest.approx(np.mean(np.clip(z, lo, hi) ** 2), rel=1e-12)


def test_funnel_verdict_flags_are_the_funnel_flags():
    """The verdict of methods without shrinkage is the funnel plot itself: the same flags as
    casemix.funnel.funnel on the same units, with and without the binary variance (a
    simulated over-dispersed set with two planted outliers)."""
    rng = np.random.default_rng(11)
    E = rng.uniform(20, 3000, 60)
    O = rng.poisson(E * np.exp(rng.normal(0, 0.1, 60))).astype(float)
    O[:2] = np.round(E[:2] * [1.8, 0.5])
    for variance in (None, E * 0.85):
        v = unit_verdict(O, E, family="funnel", variance=variance).table
        f = funnel(O, E, kind="ratio", variance=variance, overdispersion="estimated").units
        assert list(v["flag_95"]) == list(f["flag_95"])
        assert list(v["flag_998"]) == list(f["flag_998"])
        assert v["flag_998"].iloc[0] == "above" and v["flag_998"].iloc[1] == "below"
