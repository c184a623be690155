"""Fay-Herriot on a published example and the log back-transformation (fixture
tests/fixtures/fay_herriot_milk, see its README).

sae's ``milk`` data: ``eblupFH(yi ~ as.factor(MajorArea), SD^2)`` / ``mseFH`` (REML) as
published; metafor REML and the Prasad-Rao MSE by hand in R; on the log scale the Slud-Maiti
(``bc_sm``) and crude (``bc_crude``) back-transformations of ``emdi::fh(transformation = "log")``
computed in R from emdi's formulas.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from casemix.shrinkage import fay_herriot, log_backtransform, log_ratio_direct, shrink_units

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "fay_herriot_milk"


@pytest.fixture(scope="module")
def milk():
    return pd.read_csv(FIXTURE / "milk.csv")


@pytest.fixture(scope="module")
def published():
    return json.loads((FIXTURE / "published.json").read_text())


@pytest.fixture(scope="module")
def ref():
    return json.loads((FIXTURE / "results.json").read_text())


def _dummies(milk):
    return pd.get_dummies(milk["MajorArea"], drop_first=True).to_numpy(dtype=float)


def test_milk_equals_published_sae(milk, published):
    """The published values come from sae's Fisher scoring (PRECISION 1e-4, printed to 7
    digits): equal to 1e-6."""
    fit = fay_herriot(milk["yi"], milk["SD"] ** 2, covariates=_dummies(milk))
    np.testing.assert_allclose(fit.coef, published["beta"], atol=1e-6)
    np.testing.assert_allclose(fit.std_error, published["beta_se"], atol=1e-6)
    np.testing.assert_allclose(fit.units["eblup"], published["eblup"], atol=1e-6)
    np.testing.assert_allclose(fit.units["mse"], published["mse"], atol=2e-7)


@pytest.mark.parametrize("scale", ["linear", "log"])
def test_milk_equals_metafor(milk, ref, scale):
    r = ref[scale]
    if scale == "linear":
        y, v = milk["yi"], milk["SD"] ** 2
    else:
        y, v = np.log(milk["yi"]), milk["SD"] ** 2 / milk["yi"] ** 2
        np.testing.assert_allclose(y, r["direct"], rtol=1e-13)
    fit = fay_herriot(y, v, covariates=_dummies(milk))
    assert fit.variance == pytest.approx(r["A"], rel=1e-7)
    np.testing.assert_allclose(fit.units["eblup"], r["eblup"], rtol=1e-7, atol=1e-8)
    for col in ("g1", "g2", "g3", "mse"):
        np.testing.assert_allclose(fit.units[col], r[col], rtol=1e-6)


def test_log_backtransform_equals_emdi_formulas(milk, ref):
    r = ref["log"]
    fit = fay_herriot(np.log(milk["yi"]), milk["SD"] ** 2 / milk["yi"] ** 2,
                      covariates=_dummies(milk))
    np.testing.assert_allclose(log_backtransform(fit), r["bc_sm"], rtol=1e-8)
    np.testing.assert_allclose(log_backtransform(fit, "bc_crude"), r["bc_crude"], rtol=1e-8)
    np.testing.assert_allclose(log_backtransform(fit, "naive"), r["naive"], rtol=1e-8)
    np.testing.assert_allclose(np.exp(fit.units["lower"]), r["lower"], rtol=1e-7)
    np.testing.assert_allclose(np.exp(fit.units["upper"]), r["upper"], rtol=1e-7)


def test_log_ratio_direct_variance_from_expected():
    """v = 1/E (or V/E^2), whatever O; O = 0 changes the estimate only."""
    O = np.array([0.0, 3.0, 40.0])
    E = np.array([2.0, 4.0, 50.0])
    y, v = log_ratio_direct(O, E)
    np.testing.assert_allclose(y, np.log([0.25, 0.75, 0.8]))
    np.testing.assert_allclose(v, 1 / E)
    V = np.array([1.8, 3.5, 45.0])
    _, v2 = log_ratio_direct(O, E, variance=V)
    np.testing.assert_allclose(v2, V / E**2)


def test_shrink_units_fay_herriot_uses_variance_column_and_bc_sm():
    rng = np.random.default_rng(5)
    E = rng.uniform(5, 80, 40)
    O = rng.poisson(E * np.exp(rng.normal(0, 0.25, 40))).astype(float)
    units = pd.DataFrame({"unit": [f"U{i}" for i in range(40)], "observed": O, "expected": E,
                          "variance": E * (1 - E / 400)})
    out = shrink_units(units, "fay-herriot")
    y, v = log_ratio_direct(O, E, variance=units["variance"].to_numpy())
    fit = fay_herriot(y, v)
    np.testing.assert_allclose(out["shrunk_oe"], np.exp(fit.units["eblup"] + fit.units["g1"] / 2))
    np.testing.assert_allclose(out["shrunk_lower"], np.exp(fit.units["lower"]))
    naive = shrink_units(units.drop(columns="variance"), "fay-herriot", backtransform="naive")
    fit_poisson = fay_herriot(*log_ratio_direct(O, E))
    np.testing.assert_allclose(naive["shrunk_oe"], np.exp(fit_poisson.units["eblup"]))
