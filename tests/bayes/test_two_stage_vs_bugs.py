"""Two-stage binomial model against the published BUGS "Surgical" example.

Reference (tests/fixtures/surgical): MultiBUGS Examples Vol I, "Surgical: Institutional
ranking", random-effects model (logit p_i = b_i, b_i ~ N(mu, 1/tau), mu ~ N(0, 1e6),
tau ~ Gamma(0.001, 0.001)), 20,000 draws; each published mean has its MC error. With
E_i = n_i / 2 our binomial variant has offset logit(E/n) = 0, i.e. exactly that model, and
p_i = theta_i E_i / n_i = theta_i / 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import pytest

from casemix.bayes import Priors, SamplerSettings, fit_two_stage, posterior_draws

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "surgical"
BUGS_PRIORS = Priors(mu_sd=1000.0, tau_precision_gamma=(0.001, 0.001))


@pytest.fixture(scope="module")
def surgical():
    data = pd.read_csv(FIXTURE / "surgical.csv")
    ref = json.loads((FIXTURE / "results.json").read_text())["published"]
    fit = fit_two_stage(data["r"], data["n"] / 2, births=data["n"], likelihood="binomial",
                        units=data["hospital"], priors=BUGS_PRIORS,
                        settings=SamplerSettings(chains=2, draws=4000, tune=1000,
                                                 target_accept=0.95, seed=7))
    return data, ref, fit


def test_hospital_means_agree_within_monte_carlo_error(surgical):
    _, ref, fit = surgical
    p = posterior_draws(fit.idata, "theta") / 2
    mcse = az.mcse(fit.idata, var_names=["theta"])["theta"].to_numpy() / 2
    table = ref["primary"]["random_effects"]
    published = np.array([table[f"p[{i}]"]["mean"] for i in range(1, 13)])
    published_mcse = np.array([table[f"p[{i}]"]["MC_error"] for i in range(1, 13)])
    z = (p.mean(axis=0) - published) / np.hypot(mcse, published_mcse)
    assert np.abs(z).max() < 4, z
    sds = np.array([table[f"p[{i}]"]["sd"] for i in range(1, 13)])
    np.testing.assert_allclose(p.std(axis=0), sds, rtol=0.06)


def test_population_parameters_agree(surgical):
    _, ref, fit = surgical
    table = ref["secondary"]["random_effects"]
    mu = posterior_draws(fit.idata, "mu")
    tau = posterior_draws(fit.idata, "tau")
    pop_mean = 1 / (1 + np.exp(-mu))
    for name, draws in (("mu", mu), ("sigma", tau), ("pop.mean", pop_mean)):
        row = table[name]
        mcse = float(np.squeeze(az.mcse(draws[None, :])))
        assert abs(draws.mean() - row["mean"]) < 4 * np.hypot(mcse, row["MC_error"]), name


def test_unit_table_and_convergence(surgical):
    data, _, fit = surgical
    units = fit.units
    assert list(units["unit"]) == list(data["hospital"])
    assert fit.convergence.ok, fit.convergence.problems
    assert (units["shrunk_lower"] < units["shrunk_oe"]).all()
    assert (units["shrunk_oe"] < units["shrunk_upper"]).all()
    # hospital H (31/215) is the highest in every published ranking: rank 12 of 12
    h = units.set_index("unit").loc["H"]
    assert h["rank"] == 12 and h["rank_upper"] == 12
    # E = n/2 makes every theta = 2p far below 1 here: prob_above is P(theta > 1) = 0
    assert units["prob_above"].eq(0).all()
    assert units["rank_lower"].le(units["rank"]).all()
