"""The synthetic cohort delivers what was asked: national rates, covariate shares, unit effects.

Reference values are the targets the simulation was asked for (published national figures:
preterm 6.7%, SGA 9.8%, Big2 about 15%, perinatal mortality about 0.5%, twins about 1.6%) and the
simulated truth itself (checked against the outcomes drawn, not against code output).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from casemix import derive_indicators, validate_births
from casemix.records.schema import COLUMNS
from casemix.simulation import simulate_cohort

N = 170_000


@pytest.fixture(scope="module")
def cohort():
    return simulate_cohort(N, seed=7)


@pytest.fixture(scope="module")
def summary(cohort):
    report = validate_births(cohort.births)
    return derive_indicators(report.births).summary().set_index("indicator")


def _within(observed: float, target: float, n: float, z: float = 4.0) -> bool:
    """Observed proportion within z binomial standard errors of the target."""
    return abs(observed - target) <= z * np.sqrt(target * (1 - target) / n)


@pytest.mark.parametrize(("indicator", "target"), [
    ("preterm", 0.067), ("sga", 0.098), ("fetal_death", 0.003),
    ("neonatal_death_7d", 0.002),
])
def test_national_rates_match_targets(summary, indicator, target):
    row = summary.loc[indicator]
    assert _within(row["rate"], target, row["denominator"]), row


def test_big2_and_perinatal_mortality_near_published_levels(cohort, summary):
    """Published: Big2 15.0% (2020); perinatal mortality (24+0 weeks to day 6) about 0.5%."""
    from casemix.indicators import DefinitionSettings, derive_indicators

    assert abs(summary.loc["big2", "rate"] - 0.150) < 0.006
    from casemix import validate_births

    births = validate_births(cohort.births).births
    week = derive_indicators(births, ["perinatal_mortality"],
                             settings=DefinitionSettings(perinatal_neonatal_days=7))
    rate = week.summary().set_index("indicator").loc["perinatal_mortality", "rate"]
    assert abs(rate - 0.005) < 0.0008


def test_covariates_realistic(cohort):
    b = cohort.births
    assert 0.013 < (b["plurality"] > 1).mean() < 0.019  # twins ~1.6%
    assert 0.42 < (b["parity"] == 0).mean() < 0.50  # nulliparous ~46%
    assert 0.02 < b["income_quintile"].isna().mean() < 0.07
    assert 0.02 < b["education"].isna().mean() < 0.09
    assert 29.5 < b["maternal_age"].mean() < 33.0
    assert b["vsv"].nunique() == 70
    assert b["municipality"].nunique() > 300
    # migration background is more diverse in the most urban class
    dutch = b["migration_background"].eq("dutch").groupby(b["urbanisation"]).mean()
    assert dutch.loc[1] < dutch.loc[5] - 0.2
    # SES clustered by municipality: between-municipality share of variance is substantial
    ses = b.groupby("municipality")["neighbourhood_ses"].transform("mean")
    assert ses.var() / b["neighbourhood_ses"].var() > 0.15


def test_births_follow_canonical_schema(cohort):
    report = validate_births(cohort.births)
    assert report.ok
    assert report.n_excluded == 0
    assert set(cohort.births.columns) <= set(COLUMNS)


def test_outcomes_follow_the_stated_probabilities(cohort):
    """Per VSV, observed preterm counts scatter around the sum of true probabilities as
    Poisson-binomial sampling predicts: z-scores have mean ~0 and variance ~1."""
    b = cohort.births
    ind = derive_indicators(b, ["preterm"]).flags["preterm"]
    keep = ind.notna().to_numpy()
    p = cohort.probabilities["preterm"].to_numpy()[keep]
    y = ind.to_numpy(dtype=float, na_value=np.nan)[keep]
    g = pd.DataFrame({"vsv": b["vsv"].to_numpy()[keep], "y": y, "p": p, "v": p * (1 - p)})
    agg = g.groupby("vsv").sum()
    z = (agg["y"] - agg["p"]) / np.sqrt(agg["v"])
    assert abs(z.mean()) < 0.5
    assert 0.5 < z.var() < 1.7


def test_true_effects_recovered_on_the_log_odds_scale(cohort):
    """A logistic regression of SGA on the true covariates plus VSV dummies recovers the
    simulated VSV effects: over VSVs with >= 1,000 births (sampling noise of smaller ones is
    large), centred estimates correlate > 0.9 with the centred truth, slope near 1."""
    b = cohort.births
    sga = derive_indicators(b, ["sga"]).flags["sga"]
    keep = sga.notna().to_numpy() & b["income_quintile"].notna().to_numpy() & b[
        "education"].notna().to_numpy()
    d = b.loc[keep].copy()
    X = pd.get_dummies(pd.DataFrame({
        "multiple": (d["plurality"] > 1).astype(float),
        "nulli": (d["parity"] == 0).astype(float),
        "age_lt20": (d["maternal_age"] < 20).astype(float),
        "age_ge35": (d["maternal_age"] >= 35).astype(float),
        "age_ge40": (d["maternal_age"] >= 40).astype(float),
        "ses": d["neighbourhood_ses"],
        "income": d["income_quintile"].astype(int).astype(str),
        "education": d["education"].astype(str),
        "migration": d["migration_background"].fillna("dutch").astype(str),
        "vsv": d["vsv"].astype(str),
    }), drop_first=True, dtype=float)
    X.insert(0, "const", 1.0)
    fit = sm.GLM(sga[keep].astype(float).to_numpy(), X.to_numpy(),
                 family=sm.families.Binomial()).fit()
    coef = pd.Series(fit.params, index=X.columns)
    est = coef.filter(like="vsv_")
    est.index = est.index.str.replace("vsv_", "")
    truth = cohort.truth.query("level == 'vsv' and indicator == 'sga'").set_index("unit")
    true = truth["true_log_odds"]
    est.loc["VSV01"] = 0.0  # the reference category
    large = truth.index[truth["n"] >= 1000]
    both = pd.concat([est.loc[large], true.loc[large]], axis=1, keys=["est", "true"])
    both -= both.mean()
    assert both.corr().iloc[0, 1] > 0.9
    slope = np.polyfit(both["true"], both["est"], 1)[0]
    assert 0.8 < slope < 1.2


def test_planted_outliers(cohort):
    truth = cohort.truth.query("level == 'vsv' and indicator == 'big2'")
    out = truth[truth["outlier"] != "none"]
    assert len(out) == 4
    assert set(out["true_log_odds"].round(6)) == {0.45, -0.45}
    assert (out.loc[out["outlier"] == "above", "true_oe"] > 1.3).all()
    assert (out.loc[out["outlier"] == "below", "true_oe"] < 0.75).all()
    rest = truth.loc[truth["outlier"] == "none", "true_log_odds"]
    assert 0.08 < rest.std() < 0.16  # asked for sd 0.12 over 66 units


def test_seeded_and_deterministic():
    a = simulate_cohort(3000, seed=11, years=(2023, 2024))
    b = simulate_cohort(3000, seed=11, years=(2023, 2024))
    c = simulate_cohort(3000, seed=12, years=(2023, 2024))
    pd.testing.assert_frame_equal(a.births, b.births)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    assert not a.births["gestational_age_days"].equals(c.births["gestational_age_days"])
    assert set(a.births["year"]) == {2023, 2024}
