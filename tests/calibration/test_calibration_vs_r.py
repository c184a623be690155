"""Calibration statistics against R (fixture tests/fixtures/calibration, see its README).

``rms::val.prob(p, y, pl = FALSE)`` (Brier, recalibration Intercept and Slope, Eavg/E90/Emax
from ``lowess(p, y, iter = 0)``), ``glm(y ~ offset(qlogis(p)))`` (calibration-in-the-large),
``glm(y ~ qlogis(p))`` (slope and SEs), ``pROC::ci.auc(..., method = "delong")`` (C and its
DeLong interval), Spiegelhalter's z by hand; E50 with val.prob's smoother.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from casemix.calibration import (
    c_statistic,
    calibration_by_group,
    calibration_curve,
    calibration_statistics,
)

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "calibration"
SETS = ["calibrated", "miscalibrated", "small"]


@pytest.fixture(scope="module")
def ref():
    return json.loads((FIXTURE / "results.json").read_text())["datasets"]


def _data(name):
    d = pd.read_csv(FIXTURE / f"calibration_{name}.csv")
    return d["p"].to_numpy(float), d["y"].to_numpy(float)


@pytest.mark.parametrize("name", SETS)
def test_statistics_equal_r(ref, name):
    p, y = _data(name)
    s = calibration_statistics(p, y)
    r = ref[name]
    vp = r["val_prob"]["stats"]
    assert s.brier == pytest.approx(vp["Brier"], rel=1e-10)
    assert s.recalibration_intercept == pytest.approx(vp["Intercept"], abs=1e-8)
    assert s.slope == pytest.approx(vp["Slope"], rel=1e-8)
    assert s.slope_se == pytest.approx(r["calibration_slope"]["se_slope"], rel=1e-6)
    assert s.citl == pytest.approx(r["calibration_in_the_large"]["intercept"], abs=1e-8)
    assert s.citl_se == pytest.approx(r["calibration_in_the_large"]["se"], rel=1e-6)
    assert s.brier_scaled == pytest.approx(r["hand"]["scaled_brier"], rel=1e-10)
    assert s.spiegelhalter_z == pytest.approx(vp["S:z"], rel=1e-8)
    assert s.spiegelhalter_p == pytest.approx(vp["S:p"], rel=1e-6)
    e = r["e_statistics_valprob_lowess"]
    assert s.ici == pytest.approx(e["ICI_Eavg"], rel=1e-6)
    assert s.e50 == pytest.approx(e["E50"], rel=1e-6)
    assert s.e90 == pytest.approx(e["E90"], rel=1e-6)
    assert s.emax == pytest.approx(e["Emax"], rel=1e-6)


@pytest.mark.parametrize("name", SETS)
def test_c_statistic_delong_equals_proc(ref, name):
    p, y = _data(name)
    c, se, lo, hi = c_statistic(p, y)
    r = ref[name]["c_statistic_delong"]["pROC"]
    assert c == pytest.approx(r["auc"], rel=1e-12)
    assert se == pytest.approx(r["se"], rel=1e-9)
    assert lo == pytest.approx(r["ci_lower"], rel=1e-9)
    assert hi == pytest.approx(r["ci_upper"], rel=1e-9)


def test_miscalibrated_by_design_is_detected(ref):
    """Outcomes drawn from plogis(0.3 + 0.7 qlogis(p)): slope well below 1, Spiegelhalter
    test rejects; the calibrated set passes."""
    good = calibration_statistics(*_data("calibrated"))
    bad = calibration_statistics(*_data("miscalibrated"))
    assert abs(good.slope - 1) < 2 * good.slope_se and good.spiegelhalter_p > 0.05
    assert bad.slope < 1 - 4 * bad.slope_se and bad.spiegelhalter_p < 0.001


def test_curve_band_contains_truth_for_calibrated_data():
    rng = np.random.default_rng(4)
    p = 1 / (1 + np.exp(-rng.normal(-1.5, 0.8, 200_000)))
    y = (rng.random(len(p)) < p).astype(float)
    curve = calibration_curve(p, y)
    inside = (curve["lower"] <= curve["predicted"]) & (curve["predicted"] <= curve["upper"])
    assert inside.mean() > 0.9
    assert (curve["lower"] <= curve["observed"]).all() and (
        curve["observed"] <= curve["upper"]).all()


def test_groups_by_hand():
    """Two groups; group a: p = 0.2 for 100 births with 30 events -> O/E = 30/20 = 1.5;
    group b: p = 0.1 for 200 births with 20 events -> O/E = 1.0."""
    p = np.r_[np.full(100, 0.2), np.full(200, 0.1)]
    y = np.r_[np.ones(30), np.zeros(70), np.ones(20), np.zeros(180)]
    g = calibration_by_group(p, y, np.r_[np.full(100, "a"), np.full(200, "b")])
    t = g.table.set_index("group")
    assert t.loc["a", "oe"] == pytest.approx(1.5)
    assert t.loc["b", "oe"] == pytest.approx(1.0)
    assert t["slope"].isna().all()  # one prediction per group: no slope is estimable


def test_bad_inputs():
    with pytest.raises(ValueError, match="strictly between 0 and 1; 1 values"):
        calibration_statistics([0.2, 1.0], [0, 1])
    with pytest.raises(ValueError, match="observed must be 0/1; 1 values"):
        calibration_statistics([0.2, 0.3], [0, 2])
