"""Logistic case-mix models against R's glm (fixture tests/fixtures/glm_casemix).

Reference values: ``glm(big2 ~ parity_group + plurality_group + infant_sex + income_quintile +
migration_background + rms::rcs(maternal_age, c(20, 27, 31, 35, 41)), family = binomial)``
(model a), with ``+ parity_group:plurality_group`` (b), with ``weights = weight`` (c), fitted
with ``glm.control(epsilon = 1e-14)`` and refitted from the converged coefficients; R 4.2.2,
rms 6.5-0. See tests/fixtures/glm_casemix/README.md and make_glm_casemix.R.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from casemix.core import Term, compress_cells, fit_logistic, learn_encoding, rcs_basis

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "glm_casemix"
FACTORS = ["parity_group", "plurality_group", "infant_sex", "income_quintile",
           "migration_background"]
MODELS = {"a_main": ((), None), "b_interaction": ((("parity_group", "plurality_group"),), None),
          "c_weighted": ((), "weight")}


@pytest.fixture(scope="module")
def data():
    return pd.read_csv(FIXTURE / "casemix_data.csv", dtype={"income_quintile": str})


@pytest.fixture(scope="module")
def ref():
    return json.loads((FIXTURE / "results.json").read_text())


def _terms(ref):
    levels = ref["factor_levels"]
    return [Term(c, levels=tuple(levels[c])) for c in FACTORS] + [
        Term("maternal_age", "spline", knots=(20, 27, 31, 35, 41))]


def test_rcs_basis_equals_rms(ref):
    """Basis from ``rms::rcs(16:47, c(20, 27, 31, 35, 41))`` (norm = 2)."""
    s = ref["spline"]
    basis = rcs_basis(np.asarray(s["maternal_age"], float), s["knots"])
    expected = np.column_stack([s[f"rcs{j}"] for j in range(1, 5)])
    np.testing.assert_allclose(basis, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("key", list(MODELS))
def test_row_level_fit_equals_glm(data, ref, key):
    interactions, weight = MODELS[key]
    enc = learn_encoding(data, _terms(ref), interactions)
    w = data[weight].to_numpy(float) if weight else np.ones(len(data))
    fit = fit_logistic(enc.matrix(data), data["big2"].to_numpy(float) * w, w)
    r = ref["models"][key]
    assert enc.names == r["coef_names"]
    np.testing.assert_allclose(fit.coef, r["estimate"], rtol=0, atol=1e-8)
    np.testing.assert_allclose(fit.std_error, r["std_error"], rtol=1e-8)
    np.testing.assert_allclose(fit.cov, np.asarray(r["vcov"]), rtol=1e-7, atol=1e-12)
    assert fit.deviance == pytest.approx(r["deviance"], rel=1e-10)
    assert fit.null_deviance == pytest.approx(r["null_deviance"], rel=1e-10)
    if key == "a_main":
        X = enc.matrix(data)
        np.testing.assert_allclose(1 / (1 + np.exp(-X @ fit.coef)), r["fitted"], rtol=1e-8)


@pytest.mark.parametrize("key", list(MODELS))
def test_compressed_fit_equals_row_fit(data, ref, key):
    """Compressed cells give the same estimates as rows to 1e-8 (issue requirement)."""
    interactions, weight = MODELS[key]
    enc = learn_encoding(data, _terms(ref), interactions)
    w = data[weight].to_numpy(float) if weight else np.ones(len(data))
    y = data["big2"].to_numpy(float) * w
    rows = fit_logistic(enc.matrix(data), y, w)
    cells = compress_cells(data, [*FACTORS, "maternal_age"], data["big2"].to_numpy(float), w,
                           force=True)
    assert len(cells.y) < len(data) / 2
    fit = fit_logistic(enc.matrix(cells.keys), cells.y, cells.m)
    np.testing.assert_allclose(fit.coef, rows.coef, rtol=0, atol=1e-8)
    np.testing.assert_allclose(fit.std_error, rows.std_error, rtol=1e-8)
    assert fit.deviance == pytest.approx(rows.deviance, rel=1e-12)


def test_encoding_roundtrip_and_unseen_level(data, ref):
    enc = learn_encoding(data, _terms(ref))
    from casemix.core import Encoding

    again = Encoding.from_dict(json.loads(json.dumps(enc.to_dict())))
    np.testing.assert_array_equal(again.matrix(data), enc.matrix(data))
    bad = data.head(3).assign(infant_sex=["female", "unknown", "unknown"])
    with pytest.raises(ValueError, match=r"infant_sex.*'unknown' \(2 rows\)"):
        enc.matrix(bad)
