"""Model-based direct standardisation against an independent statsmodels computation.

Reference: ``statsmodels.GLM(event ~ case-mix + C(vsv) - 1, Binomial)`` on the rows of the
glm_casemix fixture; the directly standardised rate of a VSV is the mean over all births of
``expit(alpha_vsv + x beta)``; its interval maps ``alpha_vsv +/- 1.96 / sqrt(sum_k p(1-p))``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.special import expit

from casemix import CaseMixModel, ModelSpec, Term
from casemix.core.logistic import fit_logistic_fixed_effects
from casemix.exceptions import ConvergenceError
from casemix.simulation import simulate_cohort

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "glm_casemix"
FACTORS = ["parity_group", "plurality_group", "infant_sex", "income_quintile"]


def test_direct_rates_equal_statsmodels_fixed_effects():
    d = pd.read_csv(FIXTURE / "casemix_data.csv", dtype={"income_quintile": str})
    d = d.rename(columns={"big2": "event"})
    spec = ModelSpec(name="t", outcome="event", adjusters=tuple(Term(c) for c in FACTORS),
                     levels=("vsv",))
    direct = CaseMixModel(spec).fit(d).direct_standardisation().set_index("unit")

    X = pd.get_dummies(d[FACTORS], drop_first=True, dtype=float)
    U = pd.get_dummies(d["vsv"], dtype=float)
    fit = sm.GLM(d["event"].to_numpy(float), pd.concat([U, X], axis=1).to_numpy(),
                 family=sm.families.Binomial()).fit(tol=1e-12)
    alpha = pd.Series(fit.params[: U.shape[1]], index=U.columns)
    lp = X.to_numpy() @ fit.params[U.shape[1]:]
    expected = pd.Series({u: expit(a + lp).mean() for u, a in alpha.items()})
    np.testing.assert_allclose(direct.loc[expected.index, "direct_rate"], expected, rtol=1e-7)

    p = fit.fittedvalues
    info = pd.Series(p * (1 - p)).groupby(d["vsv"]).sum()
    se = 1 / np.sqrt(info)
    lower = pd.Series({u: expit(alpha[u] - 1.959963984540054 * se[u] + lp).mean()
                       for u in alpha.index})
    np.testing.assert_allclose(direct.loc[lower.index, "direct_rate_lower"], lower, rtol=1e-6)


def test_standardise_in_blocks_equals_the_whole_matrix(monkeypatch):
    """Block by block (small blocks here), from products of exponentials or, with a huge
    log-odds, by expit: the weighted means of the whole unit x pattern matrix, computed
    inline; infinite intercepts give 1 or 0."""
    from casemix.standardisation import direct

    monkeypatch.setattr(direct, "CHUNK", 64)
    rng = np.random.default_rng(5)
    alpha = np.r_[rng.normal(-2, 1, 9), np.inf, -np.inf]
    weight = rng.integers(1, 5, 1_000).astype(float)
    for lp in (rng.normal(0, 2, 1_000), np.r_[rng.normal(0, 2, 999), -400.0]):
        want = np.r_[expit(alpha[:9, None] + lp[None, :]) @ weight / weight.sum(), 1.0, 0.0]
        np.testing.assert_allclose(direct._standardise(alpha, lp, weight), want, rtol=1e-13)


@pytest.fixture(scope="module")
def cohort_fit():
    """A simulated cohort (urbanisation is a property of the municipality) with a random
    outcome, fitted with VSVs and municipalities."""
    births = simulate_cohort(20_000, years=(2024,), seed=3).births
    births["event"] = np.random.default_rng(7).random(len(births)) < 0.15
    spec = ModelSpec(name="t", outcome="event", adjusters=(Term("parity", breaks=(1, 2)),
                                                           Term("urbanisation")),
                     levels=("vsv", "municipality"))
    return CaseMixModel(spec).fit(births), births


def test_adjuster_constant_within_units_is_singular_without_a_fit(cohort_fit, monkeypatch):
    """Urbanisation within municipalities: the per-birth fixed-effects fit (the computation
    direct standardisation ran before) ends singular; the check says so without fitting."""
    from casemix.standardisation import direct

    result, births = cohort_fit
    X = pd.get_dummies(births[["urbanisation"]].astype(str), drop_first=True, dtype=float)
    X["parity"] = np.digitize(births["parity"], [1, 2])
    codes, _ = pd.factorize(births["municipality"])
    y = births["event"].to_numpy(float)
    with pytest.raises(ConvergenceError) as reference:
        fit_logistic_fixed_effects(X.to_numpy(), codes, y, np.ones(len(y)))

    def no_fit(*args, **kwargs):
        raise AssertionError("fitted")

    monkeypatch.setattr(direct, "fit_logistic_fixed_effects", no_fit)
    with pytest.raises(ConvergenceError) as checked:
        result.direct_standardisation("municipality")
    assert str(checked.value) == str(reference.value)


def test_start_from_the_model_coefficients_gives_the_same_fit(cohort_fit):
    """Started from the case-mix model's coefficients, the same rates and limits as from the
    fit's own start (zeros and the units' logit rates)."""
    from casemix.standardisation.direct import direct_standardisation

    result, _ = cohort_fit
    args = (result.design_rows(), result.patterns, result.cells, "vsv")
    own, started = direct_standardisation(*args), direct_standardisation(*args, coef=result.coef)
    columns = ["direct_rate", "direct_rate_lower", "direct_rate_upper"]
    np.testing.assert_allclose(started[columns], own[columns], rtol=1e-12)
    assert started["direct_note"].tolist() == own["direct_note"].tolist()
