"""Unit x year model, seeding and convergence warnings.

The trend model is checked against the data-generating truth of a simulation (there is no
published fit of this exact model): with planted unit levels and one unit's steady rise, the
posterior recovers both and covers the true unit-year ratios at about the nominal rate.
"""

from __future__ import annotations

import numpy as np
import pytest

from casemix.bayes import SamplerSettings, fit_two_stage, labelled, posterior_draws
from casemix.bayes.trend import fit_unit_year
from casemix.exceptions import SamplingWarning


@pytest.fixture(scope="module")
def panel():
    rng = np.random.default_rng(2026)
    K, T = 40, 6
    unit = np.repeat(np.arange(K), T)
    year = np.tile(np.arange(2019, 2019 + T), K)
    log_theta = rng.normal(0, 0.15, K)[unit]
    log_theta[unit == 0] += 0.08 * (year[unit == 0] - 2019)  # unit u0 worsens every year
    expected = rng.uniform(80, 400, K * T)
    observed = rng.poisson(expected * np.exp(log_theta))
    return observed, expected, np.array([f"u{k}" for k in unit]), year, np.exp(log_theta)


@pytest.mark.parametrize("trend", ["rw1", "shared"])
def test_unit_year_model_recovers_truth(panel, trend):
    observed, expected, unit, year, truth = panel
    fit = fit_unit_year(observed, expected, unit, year, trend=trend,
                        settings=SamplerSettings(chains=2, draws=800, tune=800, seed=4))
    t = fit.units
    assert list(t["year"]) == list(year) and list(t["unit"]) == list(unit)
    covered = (t["shrunk_lower"] <= truth) & (truth <= t["shrunk_upper"])
    assert 0.88 <= covered.mean() <= 1.0
    raw = np.log(observed / expected)
    shrunk_error = np.mean((np.log(t["shrunk_oe"]) - np.log(truth)) ** 2)
    assert shrunk_error < np.mean((raw - np.log(truth)) ** 2)  # borrowing strength pays
    first = t[t["unit"] == "u0"]
    assert first["shrunk_oe"].iloc[-1] > first["shrunk_oe"].iloc[0]
    assert t.groupby("year")["rank"].max().eq(40).all()  # ranks within each year


def test_same_seed_same_draws_and_warning_on_short_run():
    settings = SamplerSettings(chains=2, draws=30, tune=30, seed=9)
    with pytest.warns(SamplingWarning, match="convergence checks"):
        a = fit_two_stage([3, 9, 14, 2], [5.0, 8.0, 10.0, 4.0], settings=settings)
    with pytest.warns(SamplingWarning):
        b = fit_two_stage([3, 9, 14, 2], [5.0, 8.0, 10.0, 4.0], settings=settings)
    np.testing.assert_array_equal(posterior_draws(a.idata, "theta"),
                                  posterior_draws(b.idata, "theta"))
    assert not a.convergence.ok and a.convergence.problems


def test_convergence_warning_names_the_level():
    settings = SamplerSettings(chains=2, draws=30, tune=30, seed=9)
    with (pytest.warns(SamplingWarning, match="two-stage model at level municipality did not"),
          labelled("level municipality")):
        fit_two_stage([3, 9, 14, 2], [5.0, 8.0, 10.0, 4.0], settings=settings)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="expected must be positive"):
        fit_two_stage([1, 2], [0.0, 1.0])
    with pytest.raises(ValueError, match="needs the births"):
        fit_two_stage([1, 2], [1.0, 1.0], likelihood="binomial")
