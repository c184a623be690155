"""BYM2 on the Scottish lip cancer data against the published fits.

Reference (tests/fixtures/lip_cancer): Stan case study "Spatial models in Stan" (Morris et
al. 2019), with the INLA BYM2 fit (beta0, beta1) and the Stan BYM2 fit (sigma, rho); priors
beta ~ N(0, 5^2), sigma ~ half-N(0, 5^2), rho ~ Beta(0.5, 0.5); scaling factor
0.485317494985636 computed there by INLA.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from casemix.bayes import Priors, SamplerSettings
from casemix.bayes.adjacency import Adjacency, icar_scaling_factor, read_adjacency
from casemix.bayes.bym2 import bym2_eigenbasis, fit_bym2

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "lip_cancer"


@pytest.fixture(scope="module")
def scotland():
    data = pd.read_csv(FIXTURE / "scotland.csv")
    adjacency = read_adjacency(FIXTURE / "adjacency.csv", units=data["area"].astype(str))
    ref = json.loads((FIXTURE / "results.json").read_text())["recommended_test_targets"]
    return data, adjacency, ref


def test_scaling_factor_equals_inla(scotland):
    _, adjacency, _ = scotland
    assert adjacency.n == 56 and len(adjacency.edges) == 132
    assert icar_scaling_factor(adjacency.matrix()) == pytest.approx(0.485317494985636,
                                                                     rel=1e-5)


def test_fixed_effects_within_posterior_sd(scotland):
    data, adjacency, ref = scotland
    fit = fit_bym2(data["observed"], data["expected"], adjacency, covariates=data[["aff"]],
                   covariate_names=["aff"], priors=Priors(intercept_sd=5, coef_sd=5, tau_sd=5),
                   settings=SamplerSettings(chains=2, draws=1500, tune=1000, seed=3))
    summary = fit.parameters
    for name, key in (("beta0", "beta0"), ("beta[aff]", "beta1"), ("sigma", "sigma"),
                      ("rho", "rho")):
        published = ref[key]
        assert abs(summary.loc[name, "mean"] - published["mean"]) < published["sd"], name
        assert summary.loc[name, "sd"] == pytest.approx(published["sd"], rel=0.25), name
    assert fit.convergence.divergences == 0
    assert len(fit.units) == 56


def test_disconnected_graph_with_islands():
    """Two chains of regions and two islands: each component is scaled on its own (a path of
    length n has the same factor wherever it sits), islands get the unstructured effect, and
    the model samples without divergences."""
    pairs = [("a1", "a2"), ("a2", "a3"), ("a3", "a4"), ("b1", "b2"), ("b2", "b3")]
    units = ["a1", "a2", "a3", "a4", "b1", "b2", "b3", "island1", "island2"]
    adjacency = Adjacency.from_pairs(pairs, units)
    components = adjacency.components()
    assert len(np.unique(components)) == 4
    path4 = Adjacency.from_pairs(pairs[:3]).matrix()
    path3 = Adjacency.from_pairs(pairs[3:]).matrix()
    scale = adjacency.scaling_factors()
    # the same as each graph on its own; two linked nodes: Q+ = [[1, -1], [-1, 1]] / 4
    np.testing.assert_allclose(scale[:4], icar_scaling_factor(path4))
    np.testing.assert_allclose(scale[4:7], icar_scaling_factor(path3))
    np.testing.assert_allclose(scale[7:], 1.0)
    assert icar_scaling_factor([[0, 1], [1, 0]]) == pytest.approx(0.25)
    rng = np.random.default_rng(5)
    expected = rng.uniform(20, 60, len(units))
    observed = rng.poisson(expected * np.exp(np.r_[0.3, 0.3, 0.2, 0.2, -0.2, -0.3, -0.2, 0, 0]))
    fit = fit_bym2(observed, expected, adjacency,
                   settings=SamplerSettings(chains=2, draws=500, tune=500, seed=1))
    assert fit.convergence.divergences == 0


@pytest.mark.parametrize("rho", [0.0, 0.3, 0.95])
def test_eigenbasis_gives_the_bym2_covariance(rho):
    """The sampled form U diag(sigma^2 (rho d + 1 - rho)) U' equals the BYM2 covariance of
    Riebler et al. (2016) built directly: sigma^2 (rho S^-1/2 Q+ S^-1/2 + (1 - rho) I), with
    Q+ the Moore-Penrose inverse of each component's Laplacian (the ICAR covariance under its
    sum-to-zero constraint) and 1 for an island's structured variance."""
    pairs = [("a1", "a2"), ("a2", "a3"), ("a3", "a4"), ("a2", "a4"), ("b1", "b2"), ("b2", "b3")]
    units = ["a1", "b1", "a2", "island", "a3", "b2", "a4", "b3"]
    adjacency = Adjacency.from_pairs(pairs, units)
    W = adjacency.matrix().toarray()
    structured = np.zeros_like(W)
    for c in np.unique(adjacency.components()):
        idx = np.flatnonzero(adjacency.components() == c)
        if len(idx) == 1:
            structured[idx[0], idx[0]] = 1.0
            continue
        Wc = W[np.ix_(idx, idx)]
        Qplus = np.linalg.pinv(np.diag(Wc.sum(1)) - Wc)
        # scaling factor: geometric mean of the marginal variances (Riebler et al. 2016)
        s = np.exp(np.mean(np.log(np.diag(Qplus))))
        structured[np.ix_(idx, idx)] = Qplus / s
    sigma = 0.4
    direct = sigma**2 * (rho * structured + (1 - rho) * np.eye(len(units)))
    U, d = bym2_eigenbasis(adjacency)
    np.testing.assert_allclose(U.T @ U, np.eye(len(units)), atol=1e-12)
    sampled = U @ np.diag(sigma**2 * (rho * d + 1 - rho)) @ U.T
    np.testing.assert_allclose(sampled, direct, atol=1e-12)


def test_adjacency_errors_name_the_problem(tmp_path):
    bad = tmp_path / "adj.csv"
    bad.write_text("unit,neighbour\na,b\nc,c\n")
    with pytest.raises(ValueError, match="link a region to itself"):
        read_adjacency(bad)
    adjacency = Adjacency.from_pairs([("a", "b")])
    with pytest.raises(ValueError, match="1 units with data are not in the adjacency"):
        adjacency.reorder(["a", "b", "z"])
