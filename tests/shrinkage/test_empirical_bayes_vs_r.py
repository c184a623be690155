"""Empirical Bayes against R (fixture tests/fixtures/poisson_gamma_eb, see its README).

Poisson-gamma: ``MASS::glm.nb(O ~ 1 + offset(log(E)))`` and ``O ~ x + offset(log(E))`` with
``glm.control(epsilon = 1e-12)``; posterior Gamma(theta + O, theta/mu + E) computed in R with
``qgamma``/``pgamma``. Beta-binomial: maximum likelihood of the ``lbeta`` marginal likelihood
(BFGS, reltol 1e-14, Newton-polished; key ``mle``), posterior Beta(alpha + x, beta + n - x).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from casemix.shrinkage import beta_binomial, poisson_gamma

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "poisson_gamma_eb"


@pytest.fixture(scope="module")
def ref():
    return json.loads((FIXTURE / "results.json").read_text())


@pytest.fixture(scope="module")
def units():
    return pd.read_csv(FIXTURE / "poisson_gamma_units.csv")


@pytest.mark.parametrize("model", ["intercept_only", "covariate"])
def test_poisson_gamma_equals_glm_nb(ref, units, model):
    r = ref["poisson_gamma"]["models"][model]
    fit = poisson_gamma(units["O"], units["E"],
                        covariates=None if model == "intercept_only" else units[["x"]])
    np.testing.assert_allclose(fit.coef, np.atleast_1d(r["estimate"]), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(fit.std_error, np.atleast_1d(r["std_error"]), rtol=1e-5)
    assert fit.shape == pytest.approx(r["theta"], rel=1e-6)
    assert fit.loglik == pytest.approx(r["loglik"], abs=1e-6)
    post = r["posterior"]
    t = fit.units
    np.testing.assert_allclose(t["posterior_mean"], post["post_mean"], rtol=1e-6)
    np.testing.assert_allclose(t["posterior_median"], post["post_median"], rtol=1e-6)
    np.testing.assert_allclose(t["lower"], post["post_q025"], rtol=1e-6)
    np.testing.assert_allclose(t["upper"], post["post_q975"], rtol=1e-6)
    np.testing.assert_allclose(t["prob_above"], post["prob_gt_1"], rtol=1e-5, atol=1e-9)


def test_beta_binomial_equals_r(ref):
    d = pd.read_csv(FIXTURE / "betabinomial_units.csv")
    r = ref["beta_binomial"]
    fit = beta_binomial(d["events"], d["trials"])
    assert fit.alpha == pytest.approx(r["mle"]["alpha"], rel=1e-6)
    assert fit.beta == pytest.approx(r["mle"]["beta"], rel=1e-6)
    post = r["posterior"]
    np.testing.assert_allclose(fit.units["posterior_mean"], post["post_mean"], rtol=1e-6)
    np.testing.assert_allclose(fit.units["lower"], post["post_q025"], rtol=1e-5)
    np.testing.assert_allclose(fit.units["upper"], post["post_q975"], rtol=1e-5)


def test_no_overdispersion_shrinks_to_prior_mean():
    from casemix import MethodSwitchWarning

    expected = np.full(30, 50.0)
    observed = np.full(30, 50.0)  # no variation at all
    with pytest.warns(MethodSwitchWarning, match="No over-dispersion"):
        fit = poisson_gamma(observed, expected)
    np.testing.assert_allclose(fit.units["posterior_mean"], 1.0, rtol=1e-6)


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match=r"'expected' must be finite and > 0; 1 of 3"):
        poisson_gamma([1, 2, 3], [1.0, 0.0, 2.0])
