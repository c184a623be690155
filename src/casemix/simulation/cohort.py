"""A realistic synthetic national birth cohort with known unit effects.

The cohort stands in for registry data wherever real data cannot go (demo, tests, benchmarks,
method validation). Every outcome probability is known, so the truth about each unit is
written beside the data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit

from casemix.exceptions import ParameterError
from casemix.indicators.growth_charts import birthweight_at_percentile, birthweight_threshold
from casemix.records.schema import MIGRATION_BACKGROUNDS
from casemix.simulation.geography import Geography, make_geography

__all__ = ["NATIONAL_TARGETS", "SimulatedCohort", "simulate_cohort"]

FloatArray = npt.NDArray[np.float64]

#: National rates the simulation is calibrated to (births >= 24+0 weeks, ``monitor-2022``
#: definitions; the 2020 values quoted in the Kansrijke Start monitor for preterm, SGA and
#: Big2; perinatal mortality about 0.5%).
NATIONAL_TARGETS = {"preterm": 0.067, "sga": 0.098, "big2": 0.150, "fetal_death": 0.0030,
                    "neonatal_death_7d": 0.0020}

# Migration background by urbanisation class (1 = very strongly urban .. 5 = rural); order
# as MIGRATION_BACKGROUNDS: dutch, western, moroccan, turkish, surinamese, antillean, other.
_MIGRATION_BY_URBANISATION = np.array([
    [0.46, 0.12, 0.10, 0.08, 0.08, 0.03, 0.13],
    [0.62, 0.11, 0.06, 0.05, 0.04, 0.02, 0.10],
    [0.74, 0.09, 0.04, 0.04, 0.02, 0.01, 0.06],
    [0.82, 0.08, 0.02, 0.02, 0.01, 0.01, 0.04],
    [0.88, 0.07, 0.01, 0.01, 0.005, 0.005, 0.02],
])
_MIGRATION_SES = np.array([0.15, 0.1, -0.6, -0.5, -0.4, -0.5, -0.5])

# True log-odds effects (relative to the reference category).
_PRETERM = {"multiple": 2.6, "nulliparous": 0.22, "age_lt20": 0.30, "age_ge35": 0.18,
            "age_ge40": 0.25, "male": 0.10, "income": [0.30, 0.15, 0.0, -0.05, -0.10],
            "edu_low": 0.15, "edu_high": -0.08, "ses": -0.08,
            "migration": [0.0, 0.0, -0.05, 0.05, 0.35, 0.30, 0.10]}
_SGA = {"multiple": 0.8, "nulliparous": 0.45, "age_lt20": 0.30, "age_ge35": 0.05,
        "age_ge40": 0.15, "male": 0.0, "income": [0.45, 0.20, 0.0, -0.10, -0.20],
        "edu_low": 0.25, "edu_high": -0.15, "ses": -0.10,
        "migration": [0.0, 0.05, 0.20, 0.30, 0.70, 0.40, 0.50]}


@dataclass(frozen=True)
class SimulatedCohort:
    """A synthetic cohort and the truth behind it.

    Attributes
    ----------
    births : pandas.DataFrame
        Canonical birth-record columns (see :mod:`casemix.records.schema`).
    truth : pandas.DataFrame
        One row per unit level, unit and indicator: ``level``, ``unit``, ``indicator``, ``n``,
        ``true_log_odds`` (the unit's own simulated effect on the log-odds), ``true_expected``
        (sum of the births' true probabilities without any unit effect, VSV or municipality),
        ``true_observed_risk`` (sum of the true probabilities), ``true_oe`` (their ratio),
        ``outlier`` (planted outlier: ``above``, ``below`` or ``none``).
    probabilities : pandas.DataFrame
        The true per-birth probabilities of preterm, SGA and Big2.
    parameters : dict
        Settings of the simulation (seed, sizes, targets).
    geography : Geography, optional
        The synthetic municipalities (with coordinates) behind the cohort; its
        :meth:`~casemix.simulation.Geography.neighbours` gives adjacency lists for BYM2.
    """

    births: pd.DataFrame
    truth: pd.DataFrame
    probabilities: pd.DataFrame
    parameters: dict[str, object] = field(default_factory=dict)
    geography: Geography | None = None


def _calibrate(lp: FloatArray, target: float) -> float:
    """Intercept ``a`` with ``mean(expit(a + lp)) == target``."""
    return float(brentq(lambda a: expit(a + lp).mean() - target, -20, 20))


def _covariates(rng: np.random.Generator, n: int, geo: pd.DataFrame) -> pd.DataFrame:
    """Maternal and household characteristics, correlated as in reality."""
    mun = rng.choice(len(geo), size=n, p=geo["weight"].to_numpy())
    urb = geo["urbanisation"].to_numpy()[mun]
    cum = _MIGRATION_BY_URBANISATION[urb - 1].cumsum(axis=1)
    migration = (rng.uniform(size=n)[:, None] > cum).sum(axis=1).clip(0, 6)
    ses = geo["ses_mean"].to_numpy()[mun] + 0.5 * _MIGRATION_SES[migration] + rng.normal(
        0, 0.6, n)
    latent_income = 0.8 * ses + rng.normal(0, 0.7, n)
    income = np.searchsorted(np.quantile(latent_income, [0.2, 0.4, 0.6, 0.8]), latent_income) + 1
    latent_edu = 0.6 * latent_income + rng.normal(0, 0.8, n)
    education = np.searchsorted(np.quantile(latent_edu, [0.25, 0.65]), latent_edu)
    age = np.rint(31.3 + 1.6 * (education - 1) + 0.5 * latent_income + rng.normal(0, 4.4, n))
    age = age.clip(15, 50)
    p_nulli = expit(0.2 - 0.13 * (age - 30) - 0.5 * (migration >= 2))
    parity = np.where(rng.uniform(size=n) < p_nulli, 0,
                      1 + rng.poisson(0.35 + 0.5 * (migration >= 2) * 1.0, n))
    p_multiple = 0.0115 + 0.0007 * (age - 25).clip(0, None)
    plurality = np.where(rng.uniform(size=n) < p_multiple,
                         np.where(rng.uniform(size=n) < 0.015, 3, 2), 1)
    cov = pd.DataFrame({
        "mun_index": mun, "urbanisation": urb, "migration_index": migration,
        "neighbourhood_ses": np.round(ses, 3), "income_quintile": income,
        "education_index": education, "maternal_age": age.astype(int), "parity": parity,
        "plurality": plurality, "male": rng.uniform(size=n) < 0.513,
    })
    return cov


def _births_in(rng: np.random.Generator, n: int, geo: Geography
               ) -> tuple[pd.DataFrame, npt.NDArray[np.str_]]:
    """Mothers' characteristics and the VSV of each birth (15% at the second-nearest VSV)."""
    mun = geo.municipalities
    cov = _covariates(rng, n, mun)
    secondary = rng.uniform(size=n) < 0.15
    vsv_code = np.where(secondary, mun["vsv_secondary"].to_numpy()[cov["mun_index"]],
                        mun["vsv"].to_numpy()[cov["mun_index"]])
    return cov, vsv_code


def _linear_predictor(cov: pd.DataFrame, eff: dict[str, object]) -> FloatArray:
    """Case-mix part of the true log-odds."""
    age = cov["maternal_age"].to_numpy()
    lp = (eff["multiple"] * (cov["plurality"].to_numpy() > 1)  # type: ignore[operator]
          + eff["nulliparous"] * (cov["parity"].to_numpy() == 0)
          + eff["age_lt20"] * (age < 20) + eff["age_ge35"] * (age >= 35)
          + eff["age_ge40"] * (age >= 40) + eff["male"] * cov["male"].to_numpy()
          + np.asarray(eff["income"])[cov["income_quintile"].to_numpy() - 1]
          + eff["edu_low"] * (cov["education_index"].to_numpy() == 0)
          + eff["edu_high"] * (cov["education_index"].to_numpy() == 2)
          + eff["ses"] * cov["neighbourhood_ses"].to_numpy()
          + np.asarray(eff["migration"])[cov["migration_index"].to_numpy()])
    return np.asarray(lp, dtype=float)


def _unit_effects(
    rng: np.random.Generator, codes: Sequence[str], sizes: FloatArray, sd: float,
    n_outliers: int, size: float,
) -> tuple[FloatArray, npt.NDArray[np.str_]]:
    """Normal unit effects plus planted outliers among the larger half of units."""
    effect = rng.normal(0, sd, len(codes))
    flag = np.full(len(codes), "none", dtype=object)
    large = np.flatnonzero(sizes >= np.median(sizes))
    chosen = rng.choice(large, size=n_outliers, replace=False)
    for k, idx in enumerate(chosen):
        sign = 1 if k % 2 == 0 else -1
        effect[idx] = sign * size
        flag[idx] = "above" if sign > 0 else "below"
    return effect, flag.astype(str)


def _sga_intercept(p_pt: FloatArray, lp_sga: FloatArray, log_or: float) -> float:
    """SGA intercept with expected national SGA rate ``NATIONAL_TARGETS["sga"]``."""
    return float(brentq(lambda a: np.mean(
        p_pt * expit(a + lp_sga + log_or) + (1 - p_pt) * expit(a + lp_sga)
    ) - NATIONAL_TARGETS["sga"], -20, 20))


def _preterm_sga_log_odds_ratio(p_pt: FloatArray, lp_sga: FloatArray) -> float:
    """Log odds ratio of SGA after preterm birth that gives the expected Big2 rate:
    ``mean(p_pt + (1 - p_pt) * p_sga_term) = NATIONAL_TARGETS["big2"]``."""
    def big2(log_or: float) -> float:
        a = _sga_intercept(p_pt, lp_sga, log_or)
        return float(np.mean(p_pt + (1 - p_pt) * expit(a + lp_sga)))

    return float(brentq(lambda b: big2(b) - NATIONAL_TARGETS["big2"], -1.0, 4.0))


def _gestational_age(rng: np.random.Generator, preterm: npt.NDArray[np.bool_]) -> npt.NDArray[
        np.int64]:
    """Completed gestational days: preterm below 259 (down to 22+0), term 259..301."""
    n = len(preterm)
    below = np.minimum(rng.exponential(19.0, n), 104.999)
    term = rng.normal(19.5, 7.0, n).clip(0, 42)
    return np.where(preterm, 258 - np.floor(below), 259 + np.floor(term)).astype(np.int64)


def _birthweight(
    rng: np.random.Generator, sga: npt.NDArray[np.bool_], male: npt.NDArray[np.bool_],
    ga: npt.NDArray[np.int64],
) -> npt.NDArray[np.int64]:
    """Weight from a quantile of the reference distribution; SGA births below p10."""
    q = np.where(sga, rng.uniform(0.002, 0.1, len(sga)), rng.uniform(0.1, 0.998, len(sga)))
    sex = np.where(male, "male", "female")
    weight = np.rint(birthweight_at_percentile(sex, ga, q))
    p10 = birthweight_threshold(sex, np.clip(ga, 161, 294), 10)
    weight = np.where(sga, np.minimum(weight, p10 - 1), np.maximum(weight, p10))
    return weight.clip(250, 6000).astype(np.int64)


def _mortality(
    rng: np.random.Generator, ga: npt.NDArray[np.int64], sga: npt.NDArray[np.bool_],
    cov: pd.DataFrame, unit: FloatArray,
) -> tuple[npt.NDArray[np.bool_], FloatArray]:
    """Fetal death and day of neonatal death (NaN when the infant survives day 27)."""
    n = len(ga)
    risk = (3.0 * (ga < 224) + 1.3 * ((ga >= 224) & (ga < 259)) + 2.5 * (ga < 168)
            + 0.6 * sga + 0.3 * (cov["plurality"].to_numpy() > 1) + 0.4 * (
                cov["maternal_age"].to_numpy() >= 40) + 0.5 * unit)
    in_scope = ga >= 168
    a_fetal = _calibrate(risk[in_scope], NATIONAL_TARGETS["fetal_death"])
    fetal = rng.uniform(size=n) < expit(a_fetal + risk)
    live = in_scope & ~fetal
    a_neo = _calibrate(1.2 * risk[live], NATIONAL_TARGETS["neonatal_death_7d"])
    early = ~fetal & (rng.uniform(size=n) < expit(a_neo + 1.2 * risk))
    late = ~fetal & ~early & (rng.uniform(size=n) < 0.25 * expit(a_neo + 1.2 * risk))
    day = np.full(n, np.nan)
    day[early] = rng.choice(7, size=int(early.sum()), p=[.35, .2, .13, .1, .08, .07, .07])
    day[late] = rng.integers(7, 28, size=int(late.sum()))
    return fetal, day


def _with_missing(
    rng: np.random.Generator, values: pd.Series, p: FloatArray | float
) -> pd.Series:
    return values.mask(rng.uniform(size=len(values)) < p)


def simulate_cohort(
    n_births: int = 170_000,
    *,
    years: Sequence[int] = (2024,),
    n_vsv: int = 70,
    n_municipalities: int = 340,
    vsv_sd: float = 0.12,
    municipality_sd: float = 0.08,
    n_vsv_outliers: int = 4,
    n_municipality_outliers: int = 4,
    outlier_log_odds: float = 0.45,
    seed: int = 20261123,
    births_seed: int | None = None,
) -> SimulatedCohort:
    """Simulate a Dutch-like national birth cohort with known unit effects.

    Parameters
    ----------
    n_births : int, default 170,000
        Births in total (spread evenly over ``years``).
    years : sequence of int
        Years of birth.
    n_vsv, n_municipalities : int
        Numbers of VSVs and municipalities (25 GGD and 31 care-office regions).
    vsv_sd, municipality_sd : float
        Standard deviation of the true unit effects on the log-odds of preterm birth and SGA.
    n_vsv_outliers, n_municipality_outliers : int
        Planted outliers (alternately above and below) among the larger half of units.
    outlier_log_odds : float
        Size of a planted outlier effect on the log-odds (±).
    seed : int
        Seed of the random generator; the same seed gives the same cohort.
    births_seed : int, optional
        Seed of the births alone: the geography and the true unit effects stay those of
        ``seed`` (drawn exactly as for the cohort of ``seed`` with the same ``n_births``), and
        the births are new, as in a next year of the same country. Default: the births come
        from ``seed`` too.

    Returns
    -------
    SimulatedCohort

    Notes
    -----
    Municipalities are placed in space and grouped into GGD regions, care-office regions and
    VSVs by proximity (85% of a municipality's births go to its nearest VSV, 15% to the second
    nearest). Migration background depends on urbanisation; neighbourhood SES is spatially
    smooth and lower for migrant groups; income quintile and education follow from a latent
    SES; maternal age rises with education; twins are about 1.6%. Preterm birth and SGA follow
    logistic models in these characteristics plus VSV and municipality effects (the same
    effect on both outcomes); SGA is more likely after preterm birth, with the odds ratio
    (about 2.5) solved so that the expected Big2 rate is the monitor's 15.0%. Intercepts are
    solved so that expected national rates match :data:`NATIONAL_TARGETS`. Birthweights are
    drawn from the Hoftiezer 2019 reference distribution (below p10 exactly for SGA births).
    Fetal and neonatal death depend on gestational age, SGA and, at half strength, the VSV
    effect. Income is missing for about 3% and education for about 5% of records (more often
    for migrant mothers).
    """
    if isinstance(n_births, bool) or not isinstance(n_births, int | np.integer) or n_births < 1:
        raise ParameterError(f"simulate_cohort: n_births must be a whole number >= 1. Got "
                             f"{n_births!r}.")
    rng = np.random.default_rng(seed)
    geo = make_geography(rng, n_municipalities=n_municipalities, n_vsv=n_vsv)
    mun = geo.municipalities
    cov, vsv_code = _births_in(rng, n_births, geo)
    vsv_index = pd.Index(geo.vsvs).get_indexer(vsv_code)
    vsv_sizes = np.bincount(vsv_index, minlength=n_vsv).astype(float)
    mun_sizes = np.bincount(cov["mun_index"], minlength=n_municipalities).astype(float)
    u_vsv, vsv_flag = _unit_effects(rng, geo.vsvs, vsv_sizes, vsv_sd, n_vsv_outliers,
                                    outlier_log_odds)
    u_mun, mun_flag = _unit_effects(rng, list(mun["municipality"]), mun_sizes, municipality_sd,
                                    n_municipality_outliers, outlier_log_odds)
    if births_seed is not None:  # the same country and unit effects, new births
        rng = np.random.default_rng(births_seed)
        cov, vsv_code = _births_in(rng, n_births, geo)
        vsv_index = pd.Index(geo.vsvs).get_indexer(vsv_code)
    unit = u_vsv[vsv_index] + u_mun[cov["mun_index"].to_numpy()]
    year = rng.choice(np.asarray(years), size=n_births)
    year_effect = -0.02 * (year - min(years))

    lp_pt = _linear_predictor(cov, _PRETERM) + year_effect
    below24 = np.exp(-(259 - 168) / 19.0)  # share of preterm births below 24+0 weeks
    target_all = NATIONAL_TARGETS["preterm"] / (1 - below24 + below24 * NATIONAL_TARGETS[
        "preterm"])
    a_pt = _calibrate(lp_pt + unit, target_all)
    p_pt = expit(a_pt + lp_pt + unit)
    preterm = rng.uniform(size=n_births) < p_pt
    lp_sga = _linear_predictor(cov, _SGA) + year_effect
    log_or = _preterm_sga_log_odds_ratio(p_pt, lp_sga + unit)
    a_sga = _sga_intercept(p_pt, lp_sga + unit, log_or)
    p_sga_term = expit(a_sga + lp_sga + unit)
    p_sga_pre = expit(a_sga + lp_sga + unit + log_or)
    sga = rng.uniform(size=n_births) < np.where(preterm, p_sga_pre, p_sga_term)
    ga = _gestational_age(rng, preterm)
    weight = _birthweight(rng, sga, cov["male"].to_numpy(), ga)
    fetal, death_day = _mortality(rng, ga, sga, cov, u_vsv[vsv_index])

    edu_labels = np.array(["low", "middle", "high"], dtype=object)
    migrant = cov["migration_index"].to_numpy() >= 2
    births = pd.DataFrame({
        "birth_id": [f"B{i + 1:07d}" for i in range(n_births)],
        "year": year.astype(np.int64),
        "gestational_age_days": ga,
        "birthweight_g": weight,
        "infant_sex": np.where(cov["male"], "male", "female"),
        "plurality": cov["plurality"].to_numpy(),
        "parity": cov["parity"].to_numpy(),
        "maternal_age": cov["maternal_age"].to_numpy(),
        "fetal_death": fetal,
        "neonatal_death_day": pd.array(death_day, dtype="Float64").astype("Int64"),
        "income_quintile": _with_missing(rng, pd.Series(cov["income_quintile"], dtype="Int64"),
                                         np.where(migrant, 0.08, 0.025)),
        "education": _with_missing(rng, pd.Series(edu_labels[cov["education_index"]]),
                                   np.where(migrant, 0.10, 0.04)),
        "migration_background": _with_missing(
            rng, pd.Series(np.asarray(MIGRATION_BACKGROUNDS)[cov["migration_index"]]), 0.005),
        "neighbourhood_ses": cov["neighbourhood_ses"].to_numpy(),
        "urbanisation": cov["urbanisation"].to_numpy(),
        "vsv": vsv_code,
        "municipality": mun["municipality"].to_numpy()[cov["mun_index"]],
        "ggd_region": mun["ggd_region"].to_numpy()[cov["mun_index"]],
        "care_office_region": mun["care_office_region"].to_numpy()[cov["mun_index"]],
    })
    p_big2 = p_pt + (1 - p_pt) * p_sga_term
    probabilities = pd.DataFrame({"preterm": p_pt, "sga": p_pt * p_sga_pre + (
        1 - p_pt) * p_sga_term, "big2": p_big2})
    truth = _truth(births, cov, probabilities, {"vsv": (geo.vsvs, u_vsv, vsv_flag),
                   "municipality": (list(mun["municipality"]), u_mun, mun_flag)},
                   (a_pt, lp_pt, a_sga, lp_sga, log_or))
    params = {"preterm_sga_log_odds_ratio": log_or,
              "n_births": n_births, "years": list(years), "n_vsv": n_vsv,
              "n_municipalities": n_municipalities, "vsv_sd": vsv_sd,
              "municipality_sd": municipality_sd, "outlier_log_odds": outlier_log_odds,
              "seed": seed, "births_seed": births_seed, "targets": NATIONAL_TARGETS}
    return SimulatedCohort(births, truth, probabilities, params, geo)


def _truth(
    births: pd.DataFrame, cov: pd.DataFrame, probs: pd.DataFrame,
    effects: dict[str, tuple[list[str], FloatArray, npt.NDArray[np.str_]]],
    linear: tuple[float, FloatArray, float, FloatArray, float],
) -> pd.DataFrame:
    """Per unit: its own true effect, and the ratio of true risk with and without unit effects.

    The ratio removes every unit effect (VSV and municipality), so it is what an O/E ratio of
    that unit estimates: the births' actual risk against their risk at the national level.
    """
    a_pt, lp_pt, a_sga, lp_sga, log_or = linear
    rows = []
    p_pt0 = expit(a_pt + lp_pt)
    p_sga0 = expit(a_sga + lp_sga)
    p_sga0_pre = expit(a_sga + lp_sga + log_or)
    without = pd.DataFrame({
        "preterm": p_pt0,
        "sga": p_pt0 * p_sga0_pre + (1 - p_pt0) * p_sga0,
        "big2": p_pt0 + (1 - p_pt0) * p_sga0,
    })
    for level, (codes, effect, flag) in effects.items():
        for ind in ("preterm", "sga", "big2"):
            g = pd.DataFrame({"unit": births[level], "with": probs[ind],
                              "without": without[ind]}).groupby("unit")
            agg = g.agg(n=("with", "size"), obs=("with", "sum"), exp=("without", "sum"))
            agg = agg.reindex(codes)
            rows.append(pd.DataFrame({
                "level": level, "unit": codes, "indicator": ind,
                "n": agg["n"].fillna(0).astype(int).to_numpy(),
                "true_log_odds": effect, "true_observed_risk": agg["obs"].to_numpy(),
                "true_expected": agg["exp"].to_numpy(),
                "true_oe": (agg["obs"] / agg["exp"]).to_numpy(), "outlier": flag,
            }))
    return pd.concat(rows, ignore_index=True)
