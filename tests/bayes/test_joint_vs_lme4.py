"""One-stage Bayesian model against lme4 (fixture tests/fixtures/glmer_casemix).

With weak priors and 40 units of 20-500 births, the posterior means of the case-mix
coefficients should match lme4's maximum-likelihood estimates to a small fraction of their
standard errors, and the unit effects the conditional modes; the predicted/expected ratios
match R's profiling table.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from casemix.bayes import SamplerSettings, posterior_draws
from casemix.bayes.joint import fit_joint

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "glmer_casemix"


@pytest.fixture(scope="module")
def fitted():
    ref = json.loads((FIXTURE / "results.json").read_text())
    d = pd.read_csv(FIXTURE / "casemix_compressed.csv", dtype={"income": str})
    income = ref["factor_levels"]["income"]
    cols = [np.ones(len(d)), d["parity"] == "multiparous", d["plurality"] == "multiple"]
    cols += [d["income"] == level for level in income[1:]]
    X = np.column_stack([*cols, d["maternal_age"]]).astype(float)
    r = ref["fits"]["nAGQ_1"]["lme4_bobyqa"]
    unit = pd.Index(r["ranef_levels"]).get_indexer(d["unit"])
    fit = fit_joint(X, np.arange(len(d)), unit, d["events"].to_numpy(float),
                    d["trials"].to_numpy(float), units=r["ranef_levels"],
                    names=ref["model"]["coef_names"],
                    settings=SamplerSettings(chains=2, draws=1500, tune=1000, seed=11))
    return fit, r


def test_coefficients_match_lme4(fitted):
    fit, r = fitted
    z = (fit.extra["coef"] - np.array(r["fixef"])) / np.array(r["se"])
    assert np.abs(z).max() < 0.2, z
    np.testing.assert_allclose(np.sqrt(np.diag(fit.extra["cov"])), r["se"], rtol=0.1)
    assert fit.convergence.ok, fit.convergence.problems


def test_unit_effects_and_ratios_match_lme4(fitted):
    fit, r = fitted
    u = posterior_draws(fit.idata, "u")
    z = (u.mean(axis=0) - np.array(r["ranef_mode"])) / np.sqrt(r["ranef_cond_var"])
    assert np.abs(z).max() < 0.35, z
    tau = posterior_draws(fit.idata, "tau")
    # the posterior of sigma is right-skewed and integrates over the coefficients: its median
    # lies a little above the ML estimate 0.264, well inside its spread
    assert abs(np.median(tau) - r["re_sd"]) < 0.5 * tau.std()
    prof = pd.DataFrame(r["profiling"]).set_index("unit")
    units = fit.units.set_index("unit").loc[prof.index]
    spread = units["shrunk_upper"] - units["shrunk_lower"]
    assert (np.abs(units["shrunk_oe"] - prof["predicted_over_expected"]) < 0.1 * spread).all()
