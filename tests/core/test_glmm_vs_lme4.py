"""Random-intercept GLMM against R (fixture tests/fixtures/glmer_cbpp, see its README).

References: ``lme4::glmer(cbind(incidence, size - incidence) ~ period + (1 | herd),
family = binomial, data = cbpp, nAGQ = 1 | 25)`` with bobyqa and a tight ``tolPwrss``, and an
independent hand-written Laplace / AGQ marginal likelihood in base R optimised to a gradient
of 1e-9 (``independent``). The two agree to ~1e-7; we compare with both.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import gammaln

from casemix.core.glmm import fit_glmm_binomial

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "glmer_cbpp"


@pytest.fixture(scope="module")
def cbpp():
    d = pd.read_csv(FIXTURE / "cbpp.csv")
    X = np.column_stack([np.ones(len(d))] + [(d["period"] == k).astype(float)
                                             for k in (2, 3, 4)])
    const = float((gammaln(d["size"] + 1) - gammaln(d["incidence"] + 1)
                   - gammaln(d["size"] - d["incidence"] + 1)).sum())
    return X, d["herd"].to_numpy() - 1, d["incidence"].to_numpy(float), d["size"].to_numpy(
        float), const


@pytest.fixture(scope="module")
def ref():
    return json.loads((FIXTURE / "results.json").read_text())["fits"]


@pytest.mark.parametrize(("n_agq", "key"), [(1, "nAGQ_1"), (25, "nAGQ_25")])
@pytest.mark.parametrize(("source", "tol"), [("independent", 1e-8), ("lme4_bobyqa", 1e-6)])
def test_cbpp_equals_r(cbpp, ref, n_agq, key, source, tol):
    X, herd, y, m, const = cbpp
    fit = fit_glmm_binomial(X, herd, y, m, n_agq=n_agq)
    r = ref[key][source]
    np.testing.assert_allclose(fit.coef, r["fixef"], rtol=0, atol=tol)
    np.testing.assert_allclose(fit.sigma**2, r["re_variance"], rtol=0, atol=tol)
    np.testing.assert_allclose(fit.modes, r["ranef_mode"], rtol=0, atol=tol)
    np.testing.assert_allclose(fit.mode_var, r["ranef_cond_var"], rtol=0, atol=tol)
    np.testing.assert_allclose(fit.std_error, r["se"], rtol=10 * tol)
    if source == "independent":  # lme4's nAGQ > 1 log-likelihood is shifted by a constant
        assert fit.loglik + const == pytest.approx(r["loglik"], abs=1e-8)


def test_laplace_is_agq_with_one_node(cbpp):
    X, herd, y, m, _ = cbpp
    a = fit_glmm_binomial(X, herd, y, m, n_agq=1)
    b = fit_glmm_binomial(X, herd, y, m, n_agq=25)
    assert a.loglik != b.loglik
    np.testing.assert_allclose(a.coef, b.coef, atol=5e-3)  # close, not equal


def test_bad_agq(cbpp):
    X, herd, y, m, _ = cbpp
    with pytest.raises(ValueError, match="'n_agq' parameter must be >= 1"):
        fit_glmm_binomial(X, herd, y, m, n_agq=0)
