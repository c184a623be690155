"""Tests of the inequality measures: SII/RII (against PHEindicatormethods::phe_sii) and the
extreme-group rate difference and ratio (against Newcombe 1998 and R).

References:

* ``tests/fixtures/sii_phe``: ``phe_sii`` (PHEindicatormethods 2.0.1.9000, R 4.2.2) on its
  documented example, 7 cases x 3 seeds x 2 confidence sets x 2 areas. The point estimates are
  deterministic (tolerance 1e-10 relative). The limits are Monte Carlo percentiles from R's
  random numbers, ours from NumPy's, so they are compared within a fraction of the interval
  width (the fixture README measures the seed-to-seed spread: at most 0.007 of the width at
  95% and 0.013 at 99.8% for R = 1e5).
* ``tests/fixtures/inequality_measures``: Wilson limits from ``prop.test(correct = FALSE)``
  combined by Newcombe's formula, and ``epitools::riskratio(method = "wald")`` (R 4.2.2,
  epitools 0.5-10.1), full precision; plus the 4-decimal values printed in Newcombe (1998),
  Table II, method 10.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from casemix.exceptions import DataError, DataWarning, ParameterError
from casemix.inequality import SII_COLUMNS, ExtremeGroups, extreme_groups, measures, sii_rii

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
INPUT = pd.read_csv(FIXTURES / "sii_phe" / "input.csv")
REFERENCE = pd.read_csv(FIXTURES / "sii_phe" / "reference.csv")
EXTREME = pd.read_csv(FIXTURES / "inequality_measures" / "extreme_groups.csv")

POINT_RTOL = 1e-10
#: Limit tolerance as a fraction of phe_sii's interval width, by (repetitions, confidence).
WIDTH_TOL = {(100_000, 0.95): 0.03, (100_000, 0.998): 0.05,
             (10_000, 0.95): 0.06, (10_000, 0.998): 0.10}

CL = {"lower": "lowerCL", "upper": "upperCL"}
CL_PROP = {"value": "value_prop", "lower": "lowerCL_prop", "upper": "upperCL_prop"}
#: The reference cases as sii_rii arguments (see the table in tests/fixtures/sii_phe/README.md).
CASES: dict[str, dict] = {
    "normal_cl": {"value_type": "normal", "value": "value", **CL},
    "normal_se": {"value_type": "normal", "value": "value", "se": "StandardError"},
    "normal_se_10k": {"value_type": "normal", "value": "value", "se": "StandardError",
                      "repetitions": 10_000},
    "prop_notrans": {"value_type": "proportion", **CL_PROP},
    "prop_logit": {"value_type": "proportion", "transform": True, **CL_PROP},
    "rate_notrans": {"value_type": "rate", "value": "value", **CL},
    "rate_log": {"value_type": "rate", "transform": True, "value": "value", **CL},
}


def run(case: str, data: pd.DataFrame = INPUT, **overrides) -> pd.DataFrame:
    kwargs = {"quantile": "decile", "population": "population", "group_by": "area",
              "confidence": (0.95, 0.998), "seed": 1, **CASES[case], **overrides}
    return sii_rii(data, **kwargs)


def reference(case: str, confidence_set: str = "0.95;0.998", seed: int = 1) -> pd.DataFrame:
    ref = REFERENCE
    keep = ((ref["case"] == case) & (ref["seed"] == seed) & ~ref["reliability_stat"]
            & (ref["confidence_set"] == confidence_set))
    return ref.loc[keep].sort_values(["area", "confidence"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def results() -> dict[str, pd.DataFrame]:
    return {case: run(case) for case in CASES}


# --------------------------------------------------------------------------------------------
# sii_rii against phe_sii
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_point_estimates_match_phe_sii(case, results):
    """sii, rii and intercept of every reference row (all seeds and confidence sets) to 1e-10."""
    ref = REFERENCE.loc[REFERENCE["case"] == case]
    merged = ref.merge(results[case], on=["area", "confidence"], suffixes=("_r", ""))
    assert len(merged) == len(ref) > 0
    for col in ("sii", "rii", "intercept"):
        np.testing.assert_allclose(merged[col], merged[f"{col}_r"], rtol=POINT_RTOL, atol=0)


@pytest.mark.parametrize("case", CASES)
def test_limits_match_phe_sii_within_monte_carlo_error(case, results):
    """Seed-1 limits at 95% and 99.8%, within a fraction of phe_sii's interval width."""
    ref = reference(case)
    res = results[case].sort_values(["area", "confidence"]).reset_index(drop=True)
    assert len(ref) == len(res) == 4
    reps = CASES[case].get("repetitions", 100_000)
    for measure in ("sii", "rii"):
        width = ref[f"{measure}_upper"] - ref[f"{measure}_lower"]
        tol = np.array([WIDTH_TOL[(reps, c)] for c in ref["confidence"]]) * width
        for bound in ("lower", "upper"):
            col = f"{measure}_{bound}"
            assert np.all(np.abs(res[col] - ref[col]) <= tol), (col, res[col], ref[col])


def test_result_layout(results):
    res = results["normal_cl"]
    assert list(res.columns) == ["area", *SII_COLUMNS]
    assert res[["area", "confidence"]].values.tolist() == [
        ["Area1", 0.95], ["Area1", 0.998], ["Area2", 0.95], ["Area2", 0.998]]
    assert (res["n_quantiles"] == 10).all()
    assert (res["sii_lower"] < res["sii"]).all() and (res["sii"] < res["sii_upper"]).all()
    assert (res["rii_lower"] < res["rii"]).all() and (res["rii"] < res["rii_upper"]).all()


def test_single_and_two_level_runs_share_the_95_limits(results):
    """As in phe_sii: with the same seed the 95% limits do not depend on the other levels."""
    single = run("rate_log", confidence=0.95)
    both = results["rate_log"]
    pd.testing.assert_frame_equal(single, both.loc[both["confidence"] == 0.95]
                                  .reset_index(drop=True))


def test_ungrouped_data_give_one_row_per_level():
    area1 = INPUT.loc[INPUT["area"] == "Area1"]
    res = run("normal_se", data=area1, group_by=None)
    assert list(res.columns) == SII_COLUMNS
    ref = reference("normal_se")
    np.testing.assert_allclose(res["sii"], ref.loc[ref["area"] == "Area1", "sii"],
                               rtol=POINT_RTOL)


def test_row_order_does_not_matter(results):
    shuffled = INPUT.sample(frac=1.0, random_state=3)
    pd.testing.assert_frame_equal(run("prop_notrans", data=shuffled), results["prop_notrans"])


def test_same_seed_same_limits_and_generator_accepted():
    a = run("normal_cl", repetitions=2000, seed=7)
    b = run("normal_cl", repetitions=2000, seed=np.random.default_rng(7))
    pd.testing.assert_frame_equal(a, b)
    c = run("normal_cl", repetitions=2000, seed=8)
    assert not np.allclose(a["sii_lower"], c["sii_lower"])


def test_chunked_simulation_gives_the_same_draws(monkeypatch):
    full = run("rate_notrans", repetitions=3000)
    monkeypatch.setattr(measures, "_MAX_DRAWS", 7 * 10)  # 7 replicates per chunk
    pd.testing.assert_frame_equal(run("rate_notrans", repetitions=3000), full)


def test_ordered_categorical_labels_use_category_order():
    """Reversing the social order mirrors the ranks (b -> 1 - b): SII -> -SII, RII -> 1/RII."""
    labels = [f"D{i}" for i in range(1, 11)]
    data = INPUT.assign(decile=pd.Categorical([f"D{i}" for i in INPUT["decile"]],
                                              categories=labels, ordered=True))
    forward = run("normal_cl", data=data, repetitions=2000)
    np.testing.assert_allclose(forward["sii"], run("normal_cl", repetitions=2000)["sii"],
                               rtol=1e-12)
    backward = run("normal_cl", repetitions=2000, data=data.assign(
        decile=data["decile"].cat.reorder_categories(labels[::-1])))
    np.testing.assert_allclose(backward["sii"], -forward["sii"], rtol=1e-12)
    np.testing.assert_allclose(backward["rii"], 1 / forward["rii"], rtol=1e-12)


@pytest.mark.parametrize("case", ["normal_cl", "rate_log"])
def test_positive_multiplier_scales_the_sii(case):
    one, hundred = run(case, repetitions=2000), run(case, repetitions=2000, multiplier=100)
    for col in ("sii", "sii_lower", "sii_upper"):
        np.testing.assert_allclose(hundred[col], 100 * one[col], rtol=1e-12)
    for col in ("rii", "rii_lower", "rii_upper"):
        np.testing.assert_allclose(hundred[col], one[col], rtol=1e-12)


def test_negative_multiplier_flips_polarity_with_transform():
    one, flip = run("prop_logit", repetitions=2000), run("prop_logit", repetitions=2000,
                                                           multiplier=-1)
    np.testing.assert_allclose(flip["sii"], -one["sii"], rtol=1e-12)
    np.testing.assert_allclose(flip["sii_lower"], -one["sii_upper"], rtol=1e-12)
    np.testing.assert_allclose(flip["sii_upper"], -one["sii_lower"], rtol=1e-12)
    np.testing.assert_allclose(flip["rii"], 1 / one["rii"], rtol=1e-12)
    np.testing.assert_allclose(flip["rii_lower"], 1 / one["rii_upper"], rtol=1e-12)


def test_negative_multiplier_flips_polarity_without_transform():
    """Order statistics of -x: the limits swap up to one order position (R + 1 - k vs k)."""
    one, flip = run("normal_cl"), run("normal_cl", multiplier=-1)
    np.testing.assert_allclose(flip["sii"], -one["sii"], rtol=1e-12)
    np.testing.assert_allclose(flip["rii"], 1 / one["rii"], rtol=1e-12)
    width = one["sii_upper"] - one["sii_lower"]
    assert np.all(np.abs(flip["sii_lower"] + one["sii_upper"]) < 0.01 * width)
    assert np.all(np.abs(flip["rii_upper"] - 1 / one["rii_lower"]) < 0.01 * width / one["sii"])


def test_percentile_positions_follow_phe_sii():
    assert measures._positions(100_000, 0.95) == (2500, 97500)
    assert measures._positions(100_000, 0.998) == (100, 99900)
    assert measures._positions(10_000, 0.998) == (10, 9990)
    assert measures._positions(1000, 0.95) == (25, 975)


# --------------------------------------------------------------------------------------------
# sii_rii input errors
# --------------------------------------------------------------------------------------------


def test_fewer_than_five_quantiles():
    data = INPUT.loc[INPUT["decile"] <= 4]
    with pytest.raises(DataError, match=r"between 5 and 100 distinct quantiles. Got 4"):
        run("normal_cl", data=data)


def test_more_than_ten_quantiles_warn():
    data = pd.concat([INPUT.loc[INPUT["area"] == "Area1"]] * 2, ignore_index=True)
    data["decile"] = np.arange(1, 21)
    with pytest.warns(DataWarning, match="20 quantiles"):
        run("normal_cl", data=data, group_by=None, repetitions=1000)


@pytest.mark.parametrize("bad", [0.0, -5.0, np.nan])
def test_population_must_be_positive(bad):
    data = INPUT.copy()
    data.loc[[3, 12], "population"] = bad
    with pytest.raises(DataError, match=r"'population'.*> 0; 2 of 20 entries are not "
                                        r"\(population\[3\] = "):
        run("normal_cl", data=data)


@pytest.mark.parametrize("column,bad", [("value_prop", 1.2), ("value_prop", -0.1),
                                        ("value_prop", 1.0), ("upperCL_prop", 1.5),
                                        ("lowerCL_prop", 0.0)])
def test_proportions_must_lie_in_the_unit_interval(column, bad):
    data = INPUT.copy()
    data.loc[5, column] = bad
    with pytest.raises(DataError, match=rf"'{column}' column.*strictly between 0 and 1.*; 1 of 20 "
                                        rf"entries are not \({column}\[5\] = "):
        run("prop_logit", data=data)


def test_rates_must_be_positive():
    data = INPUT.copy()
    data.loc[0, "value"] = 0.0
    with pytest.raises(DataError, match=r"'value'.*> 0 \(rates are analysed on the log scale"):
        run("rate_log", data=data)


@pytest.mark.parametrize("column", ["lowerCL", "upperCL"])
def test_missing_confidence_limits(column):
    data = INPUT.copy()
    data.loc[[1, 2, 15], column] = np.nan
    with pytest.raises(DataError, match=rf"'{column}'.*3 of 20 entries are not"):
        run("normal_cl", data=data)


def test_missing_or_negative_standard_errors():
    data = INPUT.copy()
    data.loc[4, "StandardError"] = -1.0
    with pytest.raises(DataError, match=r"'StandardError'.*>= 0; 1 of 20"):
        run("normal_se", data=data)


def test_limits_in_the_wrong_order():
    data = INPUT.copy()
    data.loc[7, ["lowerCL", "upperCL"]] = [90.0, 80.0]
    with pytest.raises(DataError, match=r"'upperCL'.*at least 'lowerCL'; 1 of 20"):
        run("normal_cl", data=data)


def test_no_standard_error_source():
    with pytest.raises(ParameterError, match="needs the 95% limits"):
        sii_rii(INPUT, quantile="decile", value="value", population="population")


def test_both_standard_error_sources():
    with pytest.raises(ParameterError, match="not both"):
        run("normal_cl", se="StandardError")


def test_transform_needs_rate_or_proportion_and_limits():
    with pytest.raises(ParameterError, match="'rate' or 'proportion'"):
        run("normal_cl", transform=True)
    with pytest.raises(ParameterError, match="not 'se'"):
        run("normal_se", value_type="rate", transform=True)


@pytest.mark.parametrize("kwargs,match", [
    ({"confidence": 95}, "strictly between 0 and 1|between 0.0 and 1.0"),
    ({"confidence": ()}, "at least one level"),
    ({"repetitions": 999}, "'repetitions'"),
    ({"repetitions": 1000, "confidence": 0.9999}, "more than 1000 repetitions"),
    ({"multiplier": 0}, "non-zero"),
    ({"value_type": "count"}, "'value_type'"),
])
def test_invalid_options(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        run("normal_cl", **kwargs)


def test_missing_column():
    with pytest.raises(DataError, match=r"\['births'\] are not in the data"):
        run("normal_cl", population="births")


def test_quantile_labels_must_be_numeric_or_ordered():
    as_text = INPUT.assign(decile=[f"D{i}" for i in INPUT["decile"]])
    with pytest.raises(DataError, match="numeric or an ordered categorical"):
        run("normal_cl", data=as_text)
    unordered = as_text.assign(decile=pd.Categorical(as_text["decile"]))
    with pytest.raises(DataError, match="unordered categorical"):
        run("normal_cl", data=unordered)


def test_duplicated_quantile():
    data = pd.concat([INPUT, INPUT.iloc[[0]]], ignore_index=True)
    with pytest.raises(DataError, match="1 duplicated 'decile'"):
        run("normal_cl", data=data)


def test_incomplete_group_is_left_out_with_a_warning():
    data = INPUT.drop(index=13)  # Area2, decile 4
    with pytest.warns(DataWarning, match=r"1 group\(s\) lack some of the 10 quantiles"):
        res = run("normal_cl", data=data, repetitions=1000)
    assert set(res["area"]) == {"Area1"}


# --------------------------------------------------------------------------------------------
# extreme_groups: Newcombe difference and Katz ratio
# --------------------------------------------------------------------------------------------

#: Newcombe (1998), Table II, method 10 (95%): (x1, n1, x2, n2, lower, upper). Five rows as
#: printed; 6/7 - 2/7 is the method-10 value from R (the value recalled as printed for it did
#: not match the formula, see tests/fixtures/inequality_measures/README.md).
NEWCOMBE_TABLE_II = [
    (56, 70, 48, 80, 0.0524, 0.3339),
    (9, 10, 3, 10, 0.1705, 0.8090),
    (6, 7, 2, 7, 0.0582, 0.8062),
    (5, 56, 0, 29, -0.0381, 0.1926),
    (0, 10, 0, 20, -0.1611, 0.2775),
    (10, 10, 0, 20, 0.6791, 1.0000),
]


def test_newcombe_published_examples():
    x1, n1, x2, n2, lower, upper = map(np.array, zip(*NEWCOMBE_TABLE_II, strict=True))
    res = extreme_groups(x1, n1, x2, n2)
    np.testing.assert_allclose(res.difference, x1 / n1 - x2 / n2, rtol=1e-15)
    np.testing.assert_allclose(res.difference_lower, lower, rtol=0, atol=5e-5)
    np.testing.assert_allclose(res.difference_upper, upper, rtol=0, atol=5e-5)


@pytest.fixture(scope="module", params=[0.95, 0.998], ids=["95", "99.8"])
def extreme(request) -> tuple[pd.DataFrame, ExtremeGroups]:
    ref = EXTREME.loc[EXTREME["level"] == request.param].reset_index(drop=True)
    res = extreme_groups(ref["events_1"], ref["births_1"], ref["events_2"], ref["births_2"],
                         level=request.param)
    return ref, res


def test_difference_matches_r(extreme):
    """R: Wilson limits of prop.test(x, n, correct = FALSE), combined by Newcombe's formula."""
    ref, res = extreme
    np.testing.assert_allclose(res.difference, ref["diff"], rtol=1e-13, atol=1e-16)
    np.testing.assert_allclose(res.difference_lower, ref["diff_lower"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(res.difference_upper, ref["diff_upper"], rtol=1e-12, atol=1e-15)


def test_ratio_matches_epitools(extreme):
    """R: epitools::riskratio(tab, method = "wald")$measure[2, ] where both counts are > 0."""
    ref, res = extreme
    defined = ref["ratio"].notna().to_numpy()
    assert defined.sum() == 7
    np.testing.assert_allclose(res.ratio[defined], ref.loc[defined, "ratio"], rtol=1e-13)
    np.testing.assert_allclose(res.ratio_lower[defined], ref.loc[defined, "ratio_lower"],
                               rtol=1e-12)
    np.testing.assert_allclose(res.ratio_upper[defined], ref.loc[defined, "ratio_upper"],
                               rtol=1e-12)
    assert np.isnan(res.ratio_lower[~defined]).all() and np.isnan(res.ratio_upper[~defined]).all()


def test_ratio_conventions_for_zero_counts():
    res = extreme_groups([0, 5, 0, 25], [1530, 56, 10, 25], [7, 0, 0, 40], [2140, 29, 20, 40])
    np.testing.assert_array_equal(res.ratio, [0.0, np.nan, np.nan, 1.0])
    np.testing.assert_array_equal(res.ratio_lower, [np.nan, np.nan, np.nan, 1.0])
    np.testing.assert_array_equal(res.ratio_upper, [np.nan, np.nan, np.nan, 1.0])


def test_swapping_the_groups_mirrors_the_results():
    a = extreme_groups([3187, 12], [41250, 3480], [3902, 3], [64830, 5210], level=0.998)
    b = extreme_groups([3902, 3], [64830, 5210], [3187, 12], [41250, 3480], level=0.998)
    np.testing.assert_allclose(b.difference_lower, -a.difference_upper, rtol=1e-14)
    np.testing.assert_allclose(b.difference_upper, -a.difference_lower, rtol=1e-14)
    np.testing.assert_allclose(b.ratio_lower, 1 / a.ratio_upper, rtol=1e-12)


def test_scalars_and_broadcasting():
    res = extreme_groups(12, 3480, 3, 5210)
    assert all(isinstance(v, np.ndarray) and v.shape == () for v in res)
    res = extreme_groups([12, 20], [3480, 3480], 3, 5210)
    assert res.ratio.shape == (2,)
    with pytest.raises(DataError, match="same length"):
        extreme_groups([1, 2], [10, 10], [1, 2, 3], [10, 10, 10])


def test_extreme_groups_input_errors():
    with pytest.raises(DataError, match=r"'events_1'.*between 0 and births_1; 1 of 2 entries "
                                        r"are not \(events_1\[1\] = 11.0\)"):
        extreme_groups([1, 11], [10, 10], [1, 1], [10, 10])
    with pytest.raises(DataError, match=r"'births_2'.*> 0; 2 of 2"):
        extreme_groups([1, 1], [10, 10], [0, 0], [0, -1])
    with pytest.raises(ParameterError, match="'level'"):
        extreme_groups(1, 10, 1, 10, level=95)


def test_no_runtime_warnings_for_zero_counts():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        extreme_groups([0, 0, 10], [10, 10, 10], [0, 3, 0], [20, 10, 20])


def test_three_ordered_groups_need_min_quantiles():
    """By hand: groups of 1000, 2000 and 1000 births with rates 0.2, 0.15, 0.1. Shares a =
    (.25, .5, .25), ranks b = (.125, .5, .875); weighted mean y = 0.15; slope = sum a(b-.5)(y-
    .15) / sum a(b-.5)^2 = (.25*(-.375)*.05 + .25*.375*(-.05)) / (2*.25*.140625) = -0.13333;
    intercept = .15 + .13333/2 = 0.216667; RII = (0.216667 - 0.133333) / 0.216667 =
    0.384615. Refused with the default of 5 quantiles."""
    data = pd.DataFrame({"q": [1, 2, 3], "v": [0.2, 0.15, 0.1], "p": [1000, 2000, 1000],
                         "lo": [0.18, 0.135, 0.085], "hi": [0.22, 0.165, 0.118]})
    with pytest.raises(DataError, match="between 5 and 100"):
        sii_rii(data, quantile="q", value="v", population="p", lower="lo", upper="hi",
                value_type="proportion", repetitions=1000, seed=1)
    out = sii_rii(data, quantile="q", value="v", population="p", lower="lo", upper="hi",
                  value_type="proportion", repetitions=1000, seed=1, min_quantiles=3)
    assert out["sii"].iloc[0] == pytest.approx(-2 / 15, rel=1e-12)
    assert out["intercept"].iloc[0] == pytest.approx(0.15 + 1 / 15, rel=1e-12)
    assert out["rii"].iloc[0] == pytest.approx((0.15 + 1 / 15 - 2 / 15) / (0.15 + 1 / 15),
                                               rel=1e-12)
