"""Funnel limits and over-dispersion against formula-level R computations
(fixture tests/fixtures/funnel, see its README for every formula).

Exact limits: Spiegelhalter (2005) appendix A.1, ``(qpois(p, E) - alpha) / E`` with
``alpha = (ppois(y, E) - p) / (ppois(y, E) - ppois(y - 1, E))`` (binomial alike). Over-
dispersion: z on the log, square-root and arcsine scales, 10% winsorisation with R's type-7
quantiles, quantile and FunnelPlotR rank-group truncation, phi, DerSimonian-Laird tau^2, the
multiplicative and additive limits, and ML/REML tau^2 with the mean fixed at the target
(``uniroot`` of the score).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from casemix.funnel import binomial_limit, estimate_dispersion, funnel, poisson_limit, transform

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "funnel"
PROBS = ["0.001", "0.025", "0.975", "0.999"]


@pytest.fixture(scope="module")
def ref():
    return json.loads((FIXTURE / "results.json").read_text())


@pytest.fixture(scope="module")
def ratio():
    return pd.read_csv(FIXTURE / "funnel_ratio_units.csv")


@pytest.fixture(scope="module")
def prop():
    return pd.read_csv(FIXTURE / "funnel_proportion_units.csv")


@pytest.mark.parametrize("prob", PROBS)
def test_exact_poisson_limits(ref, prob):
    r = ref["exact_limits"]["poisson"]
    ours = poisson_limit(r["E_grid"], float(prob))
    np.testing.assert_allclose(ours, r["by_prob"][prob]["limit"], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("prob", PROBS)
def test_exact_binomial_limits(ref, prob):
    r = ref["exact_limits"]["binomial"]
    ours = binomial_limit(r["n_grid"], float(prob), r["p0"])
    np.testing.assert_allclose(ours, r["by_prob"][prob]["limit"], rtol=1e-10, atol=1e-12)


CASES = [("ratio_log", "log", "winsorised", "winsorise"),
         ("ratio_log", "log", "truncated_quantile", "truncate"),
         ("ratio_log", "log", "truncated_rank_shmi", "truncate_rank"),
         ("ratio_sqrt", "sqrt", "winsorised", "winsorise"),
         ("proportion_arcsine", "arcsine", "winsorised", "winsorise"),
         ("proportion_arcsine", "arcsine", "truncated_rank_shmi", "truncate_rank"),
         ("ratio_log", "log", "none", "none")]


def _data(key, ratio, prop):
    if key.startswith("ratio"):
        return ratio["O"].to_numpy(float), ratio["E"].to_numpy(float), 1.0, "ratio"
    return prop["x"].to_numpy(float), prop["n"].to_numpy(float), 0.15, "proportion"


@pytest.mark.parametrize(("key", "scale", "variant", "trim"), CASES)
def test_dispersion(ref, ratio, prop, key, scale, variant, trim):
    num, den, target, _ = _data(key, ratio, prop)
    r = ref["overdispersion"][key]
    y, s, t = transform(num, den, scale, target)
    np.testing.assert_allclose(y, r["y"], rtol=1e-10)
    np.testing.assert_allclose(s, r["s"], rtol=1e-10)
    d = estimate_dispersion(y, s, t, trim=trim, trim_by=0.1)
    v = r["variants"][variant]
    np.testing.assert_array_equal(d.used, np.asarray(v["used"], dtype=bool))
    assert d.phi == pytest.approx(v["phi"], rel=1e-10)
    assert d.phi_p_value == pytest.approx(v["p_value_chisq_df_n"], rel=1e-8)
    assert d.tau2 == pytest.approx(v["tau2_DL"], rel=1e-9, abs=1e-14)


@pytest.mark.parametrize(("key", "scale", "variant", "trim"),
                         [c for c in CASES if c[2] == "winsorised"])
@pytest.mark.parametrize("adjustment", ["multiplicative", "additive"])
def test_adjusted_limits_at_units(ref, ratio, prop, key, scale, variant, trim, adjustment):
    num, den, target, kind = _data(key, ratio, prop)
    res = funnel(num, den, kind=kind, target=target, scale=scale, trim=trim,
                 overdispersion=adjustment)
    v = ref["overdispersion"][key]["variants"][variant]["limits_at_units"]
    for level, lab in ((0.95, "95"), (0.998, "998")):
        r = v[str(level)][adjustment]
        np.testing.assert_allclose(res.units[f"lower_{lab}"], r["lower"], rtol=1e-9)
        np.testing.assert_allclose(res.units[f"upper_{lab}"], r["upper"], rtol=1e-9)


def test_tau2_reml_with_known_target(ref, ratio):
    y, s, t = transform(ratio["O"], ratio["E"], "log", 1.0)
    d = estimate_dispersion(y, s, t, trim="none", tau2_method="reml")
    r = ref["overdispersion"]["ratio_log"]["random_effects"]["reml_mean_fixed_at_target"]
    assert d.tau2 == pytest.approx(r["tau2"], rel=1e-7)


def test_shmi_preset_is_log_rank_truncation_additive(ref, ratio):
    from casemix import MethodSwitchWarning

    with pytest.warns(MethodSwitchWarning, match="tau\\^2 is 0"):  # phi < 1 after truncation
        res = funnel(ratio["O"], ratio["E"], method="shmi")
    v = ref["overdispersion"]["ratio_log"]["variants"]["truncated_rank_shmi"]
    assert (res.scale, res.trim, res.adjustment) == ("log", "truncate_rank", "additive")
    assert res.phi == pytest.approx(v["phi"], rel=1e-10)
    assert res.tau2 == pytest.approx(v["tau2_DL"], abs=1e-14)


def test_auto_falls_back_with_a_note():
    """Counts exactly equal to their expectation: no over-dispersion, exact limits kept."""
    from casemix import MethodSwitchWarning

    E = np.array([5.0, 10, 20, 40, 80, 160, 320, 640])
    with pytest.warns(MethodSwitchWarning, match="No significant over-dispersion"):
        res = funnel(E, E)
    assert res.adjustment == "none"
    np.testing.assert_allclose(res.units["upper_95"], poisson_limit(E, 0.975))
    assert (res.units["flag_998"] == "within").all()


def test_bad_input():
    with pytest.raises(ValueError, match="denominator <= 0"):
        funnel([1, 2], [1.0, 0.0])
    with pytest.raises(ValueError, match="'scale' parameter of funnel must be one of"):
        funnel([1, 2], [1.0, 2.0], scale="probit")
