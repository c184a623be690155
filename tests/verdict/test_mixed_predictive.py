"""Mixed predictive p-values (Marshall & Spiegelhalter 2007) against closed forms and a
brute-force simulation of the hierarchical model."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from casemix.exceptions import DataError, ParameterError
from casemix.verdict import mixed_predictive, unit_verdict

O = np.array([0.0, 3, 10, 50, 200, 1210])
E = np.array([2.0, 3, 8, 40, 150, 1000])


def test_no_spread_is_the_exact_poisson_test():
    """tau2 = 0: P(X >= O) and P(X <= O) of Poisson(E), from scipy.stats.poisson."""
    up, down = mixed_predictive(O, E, tau2=0.0)
    np.testing.assert_allclose(up, stats.poisson.sf(O - 1, E), rtol=1e-12)
    np.testing.assert_allclose(down, stats.poisson.cdf(O, E), rtol=1e-12)


@pytest.mark.parametrize("tau2", [0.004, 0.02, 0.1])
def test_gamma_family_is_the_negative_binomial(tau2):
    """Poisson-gamma: O^rep is negative binomial with size a = 1/(exp(tau2) - 1) and mean
    E exp(c) (closed form, scipy.stats.nbinom with p = a/(a + mean))."""
    centre = 0.03
    a = 1 / np.expm1(tau2)
    mean = E * np.exp(centre)
    up, down = mixed_predictive(O, E, tau2=tau2, centre=centre, family="gamma")
    np.testing.assert_allclose(up, stats.nbinom.sf(O - 1, a, a / (a + mean)), rtol=1e-8,
                               atol=1e-14)
    np.testing.assert_allclose(down, stats.nbinom.cdf(O, a, a / (a + mean)), rtol=1e-8,
                               atol=1e-14)


def test_lognormal_against_brute_force_simulation():
    """Simulate the hierarchical model itself: theta ~ lognormal(c, tau2), O^rep ~
    Poisson(E theta), 2,000,000 replicates per unit; the quadrature must lie within 4
    Monte Carlo standard errors of the simulated tail frequencies."""
    rng = np.random.default_rng(20261203)
    tau2, centre, n = 0.015, -0.01, 2_000_000
    up, down = mixed_predictive(O, E, tau2=tau2, centre=centre)
    for k in range(len(O)):
        theta = np.exp(rng.normal(centre, np.sqrt(tau2), n))
        rep = rng.poisson(E[k] * theta)
        for ours, sim in ((up[k], (rep >= O[k]).mean()), (down[k], (rep <= O[k]).mean())):
            se = np.sqrt(max(sim * (1 - sim), 1e-6) / n)
            assert abs(ours - sim) < 4 * se + 1e-12


def test_binary_outcome_against_brute_force_poisson_binomial():
    """A binary outcome: each replicate unit has births with risks theta * p_i
    (p_i ~ Beta(2, 10), about 17%), so O^rep | theta is Poisson-binomial; simulated with
    Bernoulli draws (400,000 replicates). The two-moment binomial of the quadrature must
    agree to 0.003 in every tail probability (Monte Carlo SE at most 0.0008), and the
    Poisson sampling model must not: it overstates Var(O) by about 1/(1 - p) and misses by
    more than 0.02 here."""
    rng = np.random.default_rng(7)
    p = rng.beta(2, 10, 300)
    e, v = p.sum(), (p * (1 - p)).sum()
    tau2, n = 0.002, 400_000
    theta = np.exp(rng.normal(0, np.sqrt(tau2), n))
    rep = rng.binomial(1, np.clip(theta[:, None] * p[None, :], 0, 1)).sum(axis=1)
    observed = np.array([30.0, 40, 45, 51, 60, 70, 80])
    k = len(observed)
    up, down = mixed_predictive(observed, np.full(k, e), tau2=tau2, variance=np.full(k, v))
    sim_up = (rep[:, None] >= observed).mean(axis=0)
    sim_down = (rep[:, None] <= observed).mean(axis=0)
    np.testing.assert_allclose(up, sim_up, atol=0.003)
    np.testing.assert_allclose(down, sim_down, atol=0.003)
    up_poisson, _ = mixed_predictive(observed, np.full(k, e), tau2=tau2)
    assert np.max(np.abs(up_poisson - sim_up)) > 0.02


def test_flags_follow_the_tail_probabilities():
    """A unit is 'above' at level L when P(O^rep >= O) < (1 - L)/2 (Poisson, tau2 = 0:
    P(X >= 1210 | E = 1000) is about 1e-10, P(X >= 50 | 40) about 0.07)."""
    v = unit_verdict(O[[3, 5]], E[[3, 5]], family="lognormal", centre=0.0,
                     spread=_no_spread(2)).table
    assert list(v["flag_998"]) == ["within", "above"]
    assert list(v["flag_95"]) == ["within", "above"]
    np.testing.assert_allclose(v["verdict_p"], 2 * stats.poisson.sf(O[[3, 5]] - 1, E[[3, 5]]),
                               rtol=1e-10)


def _no_spread(k):
    from casemix.verdict import Spread

    return Spread(0.0, 1.0, 0.5, "none", k)


def test_bad_input_is_named():
    with pytest.raises(DataError, match="expected <= 0"):
        mixed_predictive([1.0, 2.0], [0.0, 1.0], tau2=0.1)
    with pytest.raises(ParameterError, match="family"):
        mixed_predictive([1.0], [1.0], tau2=0.1, family="beta")
