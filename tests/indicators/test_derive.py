"""Indicator derivation at every definition boundary, with the exclusion log checked by hand.

Conventions used in the hand computations below:
- 37+0 weeks = 7 * 37 = 259 days (preterm is < 259), 32+0 = 224 (very preterm < 224),
  24+0 = 168 (default minimum), 22+0 = 154 (older publications), 42+0 = 294 (last tabulated day).
- p10 values are the ones printed in the Hoftiezer (2019) table: female 37+0 2437 g, male 37+0
  2531 g, female 40+0 2968 g, male 40+0 3086 g, female 42+0 3185 g.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from casemix import DataError, validate_births
from casemix.indicators import DefinitionSettings, derive_indicators
from casemix.indicators.derive import resolve_indicators

NA = pd.NA
BELOW_24 = "gestational age below 24+0 weeks (definition minimum)"
BELOW_22 = "gestational age below 22+0 weeks (definition minimum)"
OUTSIDE_REF = "gestational age outside the reference range (161..294 days)"
W_MISSING = "birthweight_g missing"
S_MISSING = "infant_sex missing"
STILLBIRTH = "stillbirth (not a live birth)"
SINGLETONS = "multiple birth or plurality missing (singletons only)"


#: Complete-case rules (the package's definitions before presets): unknown SGA and unknown
#: vital status leave the denominator, 7-day perinatal window. The rule boundaries below are
#: tested under them; the presets' own rules are tested in test_presets.py.
COMPLETE = {"preset": "custom", "sga_unknown": "exclude", "big2_unknown_sga": "exclude",
            "perinatal_neonatal_days": 7, "unknown_vital_status": "exclude"}


def complete(**rules) -> DefinitionSettings:
    """Complete-case settings with ``rules`` changed."""
    return DefinitionSettings(**{**COMPLETE, **rules})


def derive(births, indicators=None, settings=None):
    """derive_indicators under complete-case rules unless ``settings`` is given."""
    return derive_indicators(births, indicators, settings=settings or complete())


def flag_list(flags: pd.DataFrame, name: str) -> list:
    """Flags as a list with ``pd.NA`` for births outside the denominator."""
    return [NA if pd.isna(v) else bool(v) for v in flags[name]]


def log_dict(result, scope: str | None = None) -> dict:
    """Exclusion log as ``{(scope, reason): n_rows}`` (optionally one scope as ``{reason: n}``)."""
    frame = result.exclusions.to_frame()
    assert (frame["stage"] == "indicators").all()
    if scope is None:
        return {(r.scope, r.reason): r.n_rows for r in frame.itertuples()}
    return {r.reason: r.n_rows for r in frame.itertuples() if r.scope == scope}


# --- gestational age boundaries ------------------------------------------------------------


def test_preterm_boundary_258_vs_259_days():
    """36+6 = 258 days is preterm, 37+0 = 259 days is not."""
    births = pd.DataFrame({"gestational_age_days": [258, 259]})
    res = derive(births, ["preterm"])
    assert flag_list(res.flags, "preterm") == [True, False]
    assert len(res.exclusions) == 0


def test_very_preterm_boundary_223_vs_224_days():
    """31+6 = 223 days is very preterm, 32+0 = 224 days is not (but is preterm)."""
    births = pd.DataFrame({"gestational_age_days": [223, 224]})
    res = derive(births, ["preterm", "very_preterm"])
    assert flag_list(res.flags, "very_preterm") == [True, False]
    assert flag_list(res.flags, "preterm") == [True, True]


def test_minimum_24_weeks_167_out_168_in():
    """23+6 = 167 days is outside every denominator; 24+0 = 168 is in (and preterm).

    Log: one birth below 24+0 for each derived indicator."""
    births = pd.DataFrame({"gestational_age_days": [167, 168]})
    res = derive(births, ["preterm", "very_preterm"])
    assert flag_list(res.flags, "preterm") == [NA, True]
    assert flag_list(res.flags, "very_preterm") == [NA, True]
    assert log_dict(res) == {("preterm", BELOW_24): 1, ("very_preterm", BELOW_24): 1}
    s = res.summary().set_index("indicator")
    assert s.loc["preterm", "numerator"] == 1
    assert s.loc["preterm", "denominator"] == 1


def test_22_week_setting_and_sga_undefined_before_161_days():
    """With a 22+0 minimum (154 days): 153 is out, 154 and 160 are in (preterm, very preterm),
    but SGA is undefined at 154 and 160 because the curves start at 161 (23+0).

    Weights: 160 g at 154/160 days (would be 'small' if a curve existed); at 161 days female p10
    is 428 g, so 427 g is SGA. Big2 is still True at 154 and 160: preterm is enough.
    Log for sga: 1 below 22+0 (153), 2 outside the reference (154, 160); big2: 1 below 22+0."""
    births = pd.DataFrame({
        "gestational_age_days": [153, 154, 160, 161],
        "birthweight_g": [160, 160, 160, 427],
        "infant_sex": ["female"] * 4,
    })
    settings = complete(min_gestational_age_days=154)
    assert settings.min_gestational_age_label == "22+0"
    res = derive(births, ["big2", "very_preterm"], settings=settings)
    assert flag_list(res.flags, "preterm") == [NA, True, True, True]
    assert flag_list(res.flags, "very_preterm") == [NA, True, True, True]
    assert flag_list(res.flags, "sga") == [NA, NA, NA, True]
    assert flag_list(res.flags, "big2") == [NA, True, True, True]
    assert log_dict(res, "sga") == {BELOW_22: 1, OUTSIDE_REF: 2}
    assert log_dict(res, "big2") == {BELOW_22: 1}
    assert log_dict(res, "preterm") == {BELOW_22: 1}
    assert res.settings.min_gestational_age_days == 154


def test_default_setting_excludes_22_and_23_weeks():
    """Same births under the default 24+0 minimum: all four are below 168 days."""
    births = pd.DataFrame({
        "gestational_age_days": [153, 154, 160, 161],
        "birthweight_g": [160, 160, 160, 427],
        "infant_sex": ["female"] * 4,
    })
    res = derive(births, ["big2"])
    for name in ("preterm", "sga", "big2"):
        assert flag_list(res.flags, name) == [NA] * 4
        assert log_dict(res, name) == {BELOW_24: 4}


# --- SGA against the Hoftiezer p10 ---------------------------------------------------------


def test_sga_exactly_at_p10_is_not_sga_one_gram_below_is():
    """Strictly below p10 (printed values: female/male 37+0 2437/2531 g, 40+0 2968/3086 g)."""
    births = pd.DataFrame({
        "gestational_age_days": [259, 259, 259, 259, 280, 280, 280, 280],
        "infant_sex": ["female", "female", "male", "male"] * 2,
        "birthweight_g": [2437, 2436, 2531, 2530, 2968, 2967, 3086, 3085],
    })
    res = derive(births, ["sga"])
    assert flag_list(res.flags, "sga") == [False, True] * 4


def test_sga_p10_is_read_per_sex_and_day(hoftiezer):
    """At 24+0 (168 days) the printed p10 is 526 g (female) and 561 g (male): a 540 g girl is
    not SGA, a 540 g boy is. At 32+0 (224 days), 1530 g female, 1606 g male."""
    assert hoftiezer[("female", 168)]["p10"] == 526
    assert hoftiezer[("male", 168)]["p10"] == 561
    births = pd.DataFrame({
        "gestational_age_days": [168, 168, 224, 224],
        "infant_sex": ["female", "male", "female", "male"],
        "birthweight_g": [540, 540, 1529, 1606],
    })
    res = derive(births, ["sga"])
    assert flag_list(res.flags, "sga") == [False, True, True, False]


def test_sga_above_294_days_undefined_by_default_nearest_uses_day_294():
    """Female p10 at 42+0 (294 days) is 3185 g.

    Default rule: 294 days with 3184 g is SGA; 295 and 301 days are outside the curves, so SGA
    and (term births) Big2 are undefined and counted as 'outside the reference range'.
    'nearest' rule: 295 and 301 days use day 294: 3184 g is SGA, 3185 g is not."""
    births = pd.DataFrame({
        "gestational_age_days": [294, 295, 301],
        "infant_sex": ["female"] * 3,
        "birthweight_g": [3184, 3184, 3185],
    })
    res = derive(births, ["big2"])
    assert flag_list(res.flags, "sga") == [True, NA, NA]
    assert flag_list(res.flags, "big2") == [True, NA, NA]
    assert log_dict(res, "sga") == {OUTSIDE_REF: 2}
    assert log_dict(res, "big2") == {OUTSIDE_REF: 2}

    nearest = complete(sga_outside_reference="nearest")
    res = derive(births, ["big2"], settings=nearest)
    assert flag_list(res.flags, "sga") == [True, True, False]
    assert flag_list(res.flags, "big2") == [True, True, False]
    assert len(res.exclusions) == 0


def test_sga_nearest_below_161_uses_day_161():
    """22-week setting with 'nearest': 154 days uses the 161-day female p10 (428 g)."""
    births = pd.DataFrame({
        "gestational_age_days": [154, 154],
        "infant_sex": ["female", "female"],
        "birthweight_g": [427, 428],
    })
    settings = complete(min_gestational_age_days=154, sga_outside_reference="nearest")
    res = derive(births, ["sga"], settings=settings)
    assert flag_list(res.flags, "sga") == [True, False]


def test_sga_weight_and_sex_missing_each_counted_once():
    """Weight missing -> 'birthweight_g missing'; sex missing -> 'infant_sex missing'; both
    missing -> counted under the weight only, so each birth appears under exactly one reason.
    Rows: (w missing), (sex missing), (both missing), (complete, 3000 g at 40+0: not SGA)."""
    births = pd.DataFrame({
        "gestational_age_days": [280, 280, 280, 280],
        "infant_sex": ["female", None, None, "male"],
        "birthweight_g": [np.nan, 2000, np.nan, 3086],
    })
    res = derive(births, ["sga"])
    assert flag_list(res.flags, "sga") == [NA, NA, NA, False]
    assert log_dict(res, "sga") == {W_MISSING: 2, S_MISSING: 1}


def test_big2_kleene_logic():
    """Big2 = preterm OR sga with three-valued logic:
    preterm + weight missing -> True; term + weight missing -> undefined;
    preterm + not SGA -> True; term + SGA -> True; term + not SGA -> False.
    Only the term birth with missing weight is excluded from Big2 ('birthweight_g missing');
    both missing-weight births are excluded from SGA."""
    births = pd.DataFrame({
        "gestational_age_days": [250, 280, 250, 280, 280],
        "infant_sex": ["female"] * 5,
        # female 40+0 p10 = 2968 g
        "birthweight_g": [np.nan, np.nan, 2500, 2967, 2968],
    })
    res = derive(births, ["big2"])
    assert flag_list(res.flags, "preterm") == [True, False, True, False, False]
    assert flag_list(res.flags, "sga")[1:] == [NA, False, True, False]
    assert flag_list(res.flags, "big2") == [True, NA, True, True, False]
    assert log_dict(res, "big2") == {W_MISSING: 1}
    assert log_dict(res, "sga") == {W_MISSING: 2}


def test_sga_from_supplied_percentile_column():
    """Without a weight column SGA comes from the percentile: exactly 10 is not SGA, 9.99 is.
    Missing percentile -> undefined, counted as 'birthweight_percentile missing'."""
    births = pd.DataFrame({
        "gestational_age_days": [280, 280, 280, 280],
        "birthweight_percentile": [10.0, 9.99, 50.0, np.nan],
    })
    res = derive(births, ["sga"])
    assert flag_list(res.flags, "sga") == [False, True, False, NA]
    assert log_dict(res, "sga") == {"birthweight_percentile missing": 1}


def test_sga_source_setting_chooses_the_column():
    """Both columns present and disagreeing: 'weight' uses the weight, 'auto' and
    'percentile' the registry's percentile (female 40+0 p10 2968 g)."""
    births = pd.DataFrame({
        "gestational_age_days": [280, 280],
        "infant_sex": ["female", "female"],
        "birthweight_g": [2967, 2968],        # SGA, not SGA by weight
        "birthweight_percentile": [10.0, 9.99],  # not SGA, SGA by percentile
    })
    auto = derive(births, ["sga"])
    weight = derive(births, ["sga"], settings=complete(sga_source="weight"))
    pct = derive(births, ["sga"], settings=complete(sga_source="percentile"))
    assert flag_list(auto.flags, "sga") == [False, True]
    assert flag_list(weight.flags, "sga") == [True, False]
    assert flag_list(pct.flags, "sga") == [False, True]


def test_sga_percentile_source_without_the_column_is_an_error():
    births = pd.DataFrame({"gestational_age_days": [280], "infant_sex": ["female"],
                           "birthweight_g": [3000]})
    with pytest.raises(DataError, match="birthweight_percentile"):
        derive(births, ["sga"], settings=complete(sga_source="percentile"))


# --- mortality -------------------------------------------------------------------------------


def _mortality_births() -> pd.DataFrame:
    """Six births: a stillbirth, deaths on day 3 (early), day 10 (late), day 40
    (post-neonatal), and two survivors."""
    return pd.DataFrame({
        "gestational_age_days": [250, 200, 230, 270, 280, 280],
        "fetal_death": [True, False, False, False, False, False],
        "neonatal_death_period": [None, "early", "late", "post_neonatal", None, None],
    })


MORTALITY = ["fetal_death", "neonatal_death_7d", "neonatal_death_28d", "perinatal_mortality"]


def test_mortality_default_7_day_window():
    """fetal death 1/6; neonatal 7d 1/5 and 28d 2/5 (live births only: the stillbirth is out of
    those denominators); perinatal mortality (fetal + day 0-6) = 2/6."""
    res = derive(_mortality_births(), MORTALITY)
    assert flag_list(res.flags, "fetal_death") == [True, False, False, False, False, False]
    assert flag_list(res.flags, "neonatal_death_7d") == [NA, True, False, False, False, False]
    assert flag_list(res.flags, "neonatal_death_28d") == [NA, True, True, False, False, False]
    assert flag_list(res.flags, "perinatal_mortality") == [True, True, False, False, False,
                                                           False]
    s = res.summary().set_index("indicator")
    assert s.loc["fetal_death", ["numerator", "denominator"]].tolist() == [1, 6]
    assert s.loc["neonatal_death_7d", ["numerator", "denominator"]].tolist() == [1, 5]
    assert s.loc["neonatal_death_28d", ["numerator", "denominator"]].tolist() == [2, 5]
    assert s.loc["perinatal_mortality", ["numerator", "denominator"]].tolist() == [2, 6]
    assert s.loc["perinatal_mortality", "rate"] == pytest.approx(2 / 6)
    assert log_dict(res) == {("neonatal_death_7d", STILLBIRTH): 1,
                             ("neonatal_death_28d", STILLBIRTH): 1}


def test_mortality_28_day_window():
    """perinatal_neonatal_days=28: perinatal mortality counts day 0-27 deaths too: 3/6.
    The separate neonatal indicators keep their own windows (1/5 and 2/5)."""
    settings = complete(perinatal_neonatal_days=28)
    res = derive(_mortality_births(), MORTALITY, settings=settings)
    assert flag_list(res.flags, "perinatal_mortality") == [True, True, True, False, False,
                                                           False]
    s = res.summary().set_index("indicator")
    assert s.loc["perinatal_mortality", ["numerator", "denominator"]].tolist() == [3, 6]
    assert s.loc["neonatal_death_7d", ["numerator", "denominator"]].tolist() == [1, 5]
    assert s.loc["neonatal_death_28d", ["numerator", "denominator"]].tolist() == [2, 5]


def test_mortality_with_fetal_death_missing():
    """Unknown fetal_death: fetal death undefined ('fetal_death missing'); not known to be a live
    birth, so out of the neonatal denominators; perinatal mortality undefined unless a neonatal
    death is recorded (second birth: early death -> True by Kleene logic)."""
    births = pd.DataFrame({
        "gestational_age_days": [280, 280, 280],
        "fetal_death": pd.array([NA, NA, False], dtype="boolean"),
        "neonatal_death_period": [None, "early", None],
    })
    res = derive(births, MORTALITY)
    assert flag_list(res.flags, "fetal_death") == [NA, NA, False]
    assert flag_list(res.flags, "neonatal_death_7d") == [NA, NA, False]
    assert flag_list(res.flags, "perinatal_mortality") == [NA, True, False]
    log = log_dict(res)
    assert log[("fetal_death", "fetal_death missing")] == 2
    assert log[("neonatal_death_7d", "fetal_death missing (live birth unknown)")] == 2
    assert log[("perinatal_mortality", "fetal_death missing")] == 1


# --- population settings ---------------------------------------------------------------------


def test_singletons_only_setting():
    """plurality 1, 2, 3, missing, 1: only the two singletons stay; the other three are counted
    for every indicator under the singletons reason."""
    births = pd.DataFrame({
        "gestational_age_days": [250, 250, 250, 250, 280],
        "plurality": pd.array([1, 2, 3, NA, 1], dtype="Int64"),
    })
    settings = complete(plurality="singletons")
    res = derive(births, ["preterm", "very_preterm"], settings=settings)
    assert flag_list(res.flags, "preterm") == [True, NA, NA, NA, False]
    assert log_dict(res) == {("preterm", SINGLETONS): 3, ("very_preterm", SINGLETONS): 3}
    # default: everyone in
    res = derive(births, ["preterm"])
    assert flag_list(res.flags, "preterm") == [True, True, True, True, False]


def test_singletons_below_minimum_counted_once():
    """A twin at 160 days is counted under the gestational-age reason only."""
    births = pd.DataFrame({"gestational_age_days": [160, 280],
                           "plurality": [2, 1]})
    res = derive(births, ["preterm"],
                            settings=complete(plurality="singletons"))
    assert log_dict(res, "preterm") == {BELOW_24: 1}


def test_singletons_setting_needs_plurality_column():
    births = pd.DataFrame({"gestational_age_days": [280]})
    with pytest.raises(DataError, match="plurality"):
        derive(births, ["preterm"],
                          settings=complete(plurality="singletons"))


# --- the exclusion log over all default indicators -----------------------------------------


def test_exclusion_log_counts_each_birth_under_the_right_indicator_and_reason():
    """Seven births, each excluded for a different reason:

    a  160 days                  -> every indicator: below 24+0
    b  term, weight missing      -> sga and big2: birthweight_g missing
    c  term, sex missing         -> sga and big2: infant_sex missing
    d  preterm, weight missing   -> sga only (big2 is True because preterm)
    e  300 days                  -> sga and big2: outside the reference range
    f  stillbirth, 280 d, 3000 g -> neonatal 7d and 28d: stillbirth
    g  280 d, 3000 g, alive      -> in every denominator

    Denominators (7 births minus the exclusions): preterm, very preterm, fetal death and
    perinatal mortality 6; sga 7-1-2-1-1 = 2 (f, g); big2 7-1-1-1-1 = 3 (d, f, g);
    neonatal 7-1-1 = 5."""
    births = pd.DataFrame({
        "birth_id": list("abcdefg"),
        "gestational_age_days": [160, 280, 280, 250, 300, 280, 280],
        "birthweight_g": [500, np.nan, 3000, np.nan, 3500, 3000, 3000],
        "infant_sex": ["male", "male", None, "female", "female", "female", "female"],
        "fetal_death": [False, False, False, False, False, True, False],
        "neonatal_death_period": [None] * 7,
    })
    res = derive(births)
    assert res.skipped == {}
    expected = {
        ("preterm", BELOW_24): 1,
        ("very_preterm", BELOW_24): 1,
        ("sga", BELOW_24): 1,
        ("sga", W_MISSING): 2,
        ("sga", S_MISSING): 1,
        ("sga", OUTSIDE_REF): 1,
        ("big2", BELOW_24): 1,
        ("big2", W_MISSING): 1,
        ("big2", S_MISSING): 1,
        ("big2", OUTSIDE_REF): 1,
        ("fetal_death", BELOW_24): 1,
        ("neonatal_death_7d", BELOW_24): 1,
        ("neonatal_death_7d", STILLBIRTH): 1,
        ("neonatal_death_28d", BELOW_24): 1,
        ("neonatal_death_28d", STILLBIRTH): 1,
        ("infant_mortality", BELOW_24): 1,
        ("infant_mortality", STILLBIRTH): 1,
        ("perinatal_mortality", BELOW_24): 1,
    }
    assert log_dict(res) == expected
    den = res.summary().set_index("indicator")["denominator"].to_dict()
    assert den == {"preterm": 6, "very_preterm": 6, "sga": 2, "big2": 3, "fetal_death": 6,
                   "neonatal_death_7d": 5, "neonatal_death_28d": 5, "infant_mortality": 5,
                   "perinatal_mortality": 6}
    # every birth is either in the denominator or counted exactly once per indicator
    for name, d in den.items():
        assert d + res.exclusions.total(name) == len(births)


def test_denominator_plus_exclusions_is_the_table_size_on_random_data(hoftiezer):
    """Random births with missing values: per indicator, denominator + logged exclusions = n;
    preterm equals GA < 259 and SGA equals weight < printed p10 wherever they are defined."""
    rng = np.random.default_rng(7)
    n = 400
    ga = rng.integers(150, 316, n)
    sex = rng.choice(np.array(["female", "male", None], dtype=object), n, p=[0.45, 0.45, 0.1])
    weight = rng.integers(300, 5000, n).astype(float)
    weight[rng.random(n) < 0.1] = np.nan
    fetal = rng.random(n) < 0.05
    period = np.where(~fetal & (rng.random(n) < 0.05), "early", None)
    births = pd.DataFrame({"gestational_age_days": ga, "birthweight_g": weight,
                           "infant_sex": sex, "fetal_death": fetal,
                           "neonatal_death_period": period})
    res = derive(births)
    den = res.summary().set_index("indicator")["denominator"]
    for name in den.index:
        assert den[name] + res.exclusions.total(name) == n
    pre = res.flags["preterm"]
    defined = pre.notna().to_numpy()
    assert (pre[defined].to_numpy(bool) == (ga[defined] < 259)).all()
    sga = res.flags["sga"]
    for i in np.flatnonzero(sga.notna().to_numpy()):
        assert bool(sga.iat[i]) == (weight[i] < hoftiezer[(sex[i], int(ga[i]))]["p10"])
    # SGA is defined exactly where weight, sex and a tabulated day are available (>= 168 d)
    has_sex = np.array([s is not None for s in sex])
    expected_defined = ~np.isnan(weight) & has_sex & (ga >= 168) & (ga <= 294)
    assert (sga.notna().to_numpy() == expected_defined).all()


# --- derived on a validated table, API details -----------------------------------------------


def test_derive_on_validated_table_matches_plain_dtypes():
    """Nullable Int64/category/boolean dtypes from validate_births give the same flags."""
    raw = pd.DataFrame({
        "birth_id": ["a", "b", "c", "d"],
        "year": [2020] * 4,
        "gestational_age_days": [258, 259, 223, 280],
        "birthweight_g": [2400, 2436, None, 2968],
        "infant_sex": [" Female ", "female", "male", "FEMALE"],
        "fetal_death": ["nee", "nee", "ja", "nee"],
        "neonatal_death_day": [3, None, None, None],
    })
    report = validate_births(raw)
    assert report.ok
    res = derive(report.births)
    # 258 d 2400 g female: p10 at 258 d is 2411 g -> SGA; 259 d 2436 g < 2437 -> SGA
    assert flag_list(res.flags, "preterm") == [True, False, True, False]
    assert flag_list(res.flags, "sga") == [True, True, NA, False]
    assert flag_list(res.flags, "big2") == [True, True, True, False]
    assert flag_list(res.flags, "fetal_death") == [False, False, True, False]
    assert flag_list(res.flags, "neonatal_death_7d") == [True, False, NA, False]
    assert flag_list(res.flags, "perinatal_mortality") == [True, False, True, False]


def test_flags_keep_the_births_index():
    births = pd.DataFrame({"gestational_age_days": [258, 259]}, index=[10, 20])
    res = derive(births, ["preterm"])
    assert list(res.flags.index) == [10, 20]
    assert str(res.flags["preterm"].dtype) == "boolean"


def test_indicators_without_columns_are_skipped_unless_named():
    """Only gestational age: SGA, Big2 and the mortality indicators cannot be derived."""
    births = pd.DataFrame({"gestational_age_days": [250, 280]})
    res = derive(births)
    assert list(res.flags.columns) == ["preterm", "very_preterm"]
    assert set(res.skipped) == {"sga", "big2", "fetal_death", "neonatal_death_7d",
                                "neonatal_death_28d", "infant_mortality",
                                "perinatal_mortality"}
    with pytest.raises(DataError, match="sga"):
        derive(births, ["sga"])


def test_unknown_indicator_and_missing_gestational_age():
    with pytest.raises(ValueError, match="apgar"):
        derive(pd.DataFrame({"gestational_age_days": [280]}), ["apgar"])
    with pytest.raises(DataError, match="gestational_age_days"):
        derive(pd.DataFrame({"birthweight_g": [3000]}), ["sga"])


def test_big2_brings_its_components():
    assert [i.name for i in resolve_indicators(["big2"])] == ["preterm", "sga", "big2"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_gestational_age_days": 139},
        {"min_gestational_age_days": 260},
        {"perinatal_neonatal_days": 14},
        {"plurality": "twins"},
        {"sga_source": "apgar"},
        {"sga_outside_reference": "clip"},
    ],
)
def test_definition_settings_reject_bad_values(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        DefinitionSettings(**kwargs)


def test_definition_settings_to_dict():
    d = DefinitionSettings().to_dict()
    assert d["min_gestational_age_days"] == 168
    assert d["preset"] == "monitor-2022"
    assert d["perinatal_neonatal_days"] == 28  # the monitor's window (DIAPER codes 1-4)
    assert d["plurality"] == "all"
