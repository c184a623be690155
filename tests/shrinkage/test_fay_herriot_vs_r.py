"""Fay-Herriot against R (fixture tests/fixtures/fay_herriot, see its README).

``metafor::rma(yi = y, vi = v, mods = ~ x, method = "REML" | "ML" | "PM")`` (PM is the
Fay-Herriot moment estimator, identical to metafor's EB), ``blup()`` for the EBLUPs; the
Prasad-Rao (REML), Datta-Lahiri (ML) and Datta-Rao-Smith (FH) MSEs computed by hand in R from
Rao & Molina (2015), section 6.2.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from casemix.shrinkage import fay_herriot

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "fay_herriot"
CASES = [("reml", "REML", "prasad_rao_reml"), ("ml", "ML", "datta_lahiri_ml"),
         ("fh", "PM", "datta_rao_smith_fh")]


@pytest.fixture(scope="module")
def areas():
    return pd.read_csv(FIXTURE / "fay_herriot_areas.csv")


@pytest.fixture(scope="module")
def ref():
    return json.loads((FIXTURE / "results.json").read_text())


@pytest.mark.parametrize(("method", "fit_key", "mse_key"), CASES)
def test_fay_herriot_equals_metafor(areas, ref, method, fit_key, mse_key):
    r = ref["fits"][fit_key]
    fit = fay_herriot(areas["y"], areas["v"], covariates=areas[["x"]], method=method)
    assert fit.variance == pytest.approx(r["tau2"], rel=1e-7, abs=1e-12)
    np.testing.assert_allclose(fit.coef, r["beta"], rtol=1e-7)
    np.testing.assert_allclose(fit.std_error, r["se"], rtol=1e-6)
    np.testing.assert_allclose(fit.units["eblup"], r["blup"]["pred"], rtol=1e-7, atol=1e-10)
    m = ref["mse"][mse_key]
    np.testing.assert_allclose(fit.units["g1"], m["g1"], rtol=1e-7)
    np.testing.assert_allclose(fit.units["g2"], m["g2"], rtol=1e-6)
    np.testing.assert_allclose(fit.units["g3"], m["g3"], rtol=1e-6)
    np.testing.assert_allclose(fit.units["mse"], m["mse"], rtol=1e-6)


def test_boundary_variance_zero():
    """Direct estimates with less spread than their sampling variances: A = 0, EBLUP = the
    GLS fit (here the weighted mean 0.2 of identical values)."""
    fit = fay_herriot(np.full(10, 0.2), np.full(10, 0.5))
    assert fit.variance == 0.0
    np.testing.assert_allclose(fit.units["eblup"], 0.2)
