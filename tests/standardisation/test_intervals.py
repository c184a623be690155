"""Tests of O/E and proportion intervals and of the exact Poisson test.

Reference numbers come from R 4.2.2 and are stored in ``tests/fixtures/oe_intervals`` and
``tests/fixtures/binomial_exact`` (``results.json``, written by ``make_oe_intervals.R`` and
``make_binomial_exact.R``, 15 significant digits). Each test's docstring names the R call.
The O/E inputs are ``O = c(0, 1, 2, 3, 5, 9, 10, 17, 50, 100, 250, 1000)`` and
``E = round(O * rep(c(1.1, 0.8, 1.25, 0.95), length.out = 12) + 0.7, 4)``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from casemix.exceptions import CasemixError, DataError
from casemix.standardisation import (
    Interval,
    PoissonTestResult,
    poisson_ratio_interval,
    poisson_ratio_test,
    proportion_interval,
)
from casemix.standardisation.intervals import DEFAULT_AUTO_THRESHOLD

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
RTOL = 1e-10  # the JSON holds ~15 significant digits
LEVELS = ["0.95", "0.998"]


def _load(name: str) -> dict[str, Any]:
    with (FIXTURES / name / "results.json").open(encoding="utf-8") as fh:
        out: dict[str, Any] = json.load(fh)
    return out


OE = _load("oe_intervals")
BINOM = _load("binomial_exact")
OBS = np.array(OE["inputs"]["O"], dtype=float)
EXP = np.array(OE["inputs"]["E"], dtype=float)
X = np.array(BINOM["inputs"]["x"], dtype=float)
N = np.array(BINOM["inputs"]["n"], dtype=float)


def ref(fixture: dict[str, Any], level: str, key: str, bound: str) -> np.ndarray:
    """A reference array; JSON ``null`` becomes NaN."""
    values = fixture["levels"][level][key][bound]
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def assert_close(actual: np.ndarray, desired: np.ndarray) -> None:
    np.testing.assert_allclose(actual, desired, rtol=RTOL, atol=0)


# --------------------------------------------------------------------------------------------
# O/E intervals against R
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
def test_exact_interval_matches_garwood_closed_form(level):
    """R: ``lower = ifelse(O == 0, 0, qchisq(alpha/2, 2*O)/2/E)``,
    ``upper = qchisq(1 - alpha/2, 2*(O+1))/2/E`` (fixture key ``garwood_closed_form``)."""
    ci = poisson_ratio_interval(OBS, EXP, level=float(level), method="exact")
    assert_close(ci.lower, ref(OE, level, "garwood_closed_form", "lower"))
    assert_close(ci.upper, ref(OE, level, "garwood_closed_form", "upper"))
    assert ci.lower[0] == 0.0  # O = 0


@pytest.mark.parametrize("level", LEVELS)
def test_exact_interval_matches_poisson_test(level):
    """R: ``poisson.test(O[i], E[i], conf.level = conf)$conf.int`` (``garwood_poisson_test``)."""
    ci = poisson_ratio_interval(OBS, EXP, level=float(level))  # "exact" is the default
    assert_close(ci.lower, ref(OE, level, "garwood_poisson_test", "lower"))
    assert_close(ci.upper, ref(OE, level, "garwood_poisson_test", "upper"))


@pytest.mark.parametrize("level", LEVELS)
def test_byar_interval_matches_closed_form_clipped_at_zero(level):
    """R: ``lower = ifelse(O == 0, 0, O*(1 - 1/(9*O) - z/(3*sqrt(O)))^3/E)``,
    ``upper = (O+1)*(1 - 1/(9*(O+1)) + z/(3*sqrt(O+1)))^3/E`` with ``z = qnorm(1 - alpha/2)``
    (``byar_closed_form``, stored unclipped); ours is ``max(0, reference)``."""
    ci = poisson_ratio_interval(OBS, EXP, level=float(level), method="byar")
    # fmax also maps a NaN reference (the raw 0 * (-Inf)^3 at O = 0) to 0
    assert_close(ci.lower, np.fmax(0.0, ref(OE, level, "byar_closed_form", "lower")))
    assert_close(ci.upper, ref(OE, level, "byar_closed_form", "upper"))


def test_byar_negative_lower_bound_is_clipped_to_zero():
    """R: the closed-form Byar lower bound at O = 1, 99.8% is -0.00188 (fixture
    ``agreement.byar_closed_form_rows_with_negative_lower`` = row 1); ours is exactly 0."""
    rows = OE["levels"]["0.998"]["agreement"]["byar_closed_form_rows_with_negative_lower"]
    assert rows == [1]
    raw = ref(OE, "0.998", "byar_closed_form", "lower")
    assert raw[1] < 0
    ci = poisson_ratio_interval(OBS, EXP, level=0.998, method="byar")
    assert ci.lower[1] == 0.0
    assert np.all(ci.lower >= 0)


@pytest.mark.parametrize("level", LEVELS)
def test_byar_is_the_textbook_formula_not_epitools(level):
    """R: ``epitools::pois.byar(O, pt = E, conf.level = conf)`` uses ``O + 0.5`` in both bounds
    (``byar_epitools_pois_byar``); our upper bounds must differ from it at every O."""
    ci = poisson_ratio_interval(OBS, EXP, level=float(level), method="byar")
    epi = ref(OE, level, "byar_epitools_pois_byar", "upper")
    assert np.all(np.abs(ci.upper / epi - 1) > 1e-6)


@pytest.mark.parametrize("level", LEVELS)
def test_auto_is_exact_below_threshold_and_byar_from_it(level):
    """R: rows with ``O < 10`` equal ``garwood_closed_form``, the others ``byar_closed_form``
    (the Fingertips / PHEindicatormethods ``calculate_ISRatio`` rule)."""
    assert DEFAULT_AUTO_THRESHOLD == 10
    ci = poisson_ratio_interval(OBS, EXP, level=float(level), method="auto")
    small = OBS < 10
    for bound in ("lower", "upper"):
        expected = np.where(
            small,
            ref(OE, level, "garwood_closed_form", bound),
            np.fmax(0.0, ref(OE, level, "byar_closed_form", bound)),
        )
        assert_close(getattr(ci, bound), expected)


def test_auto_threshold_extremes_give_pure_methods():
    """``auto_threshold=inf`` reproduces ``method="exact"``; ``0`` reproduces ``"byar"``."""
    exact = poisson_ratio_interval(OBS, EXP, method="exact")
    byar = poisson_ratio_interval(OBS, EXP, method="byar")
    all_exact = poisson_ratio_interval(OBS, EXP, method="auto", auto_threshold=math.inf)
    all_byar = poisson_ratio_interval(OBS, EXP, method="auto", auto_threshold=0)
    np.testing.assert_array_equal(all_exact.lower, exact.lower)
    np.testing.assert_array_equal(all_exact.upper, exact.upper)
    np.testing.assert_array_equal(all_byar.lower, byar.lower)
    np.testing.assert_array_equal(all_byar.upper, byar.upper)


def test_non_integer_observed_uses_gamma_quantiles():
    """Weighted counts: exact limits are ``qgamma(alpha/2, O)/E`` and
    ``qgamma(1 - alpha/2, O + 1)/E`` (scipy.stats.gamma as the reference), lying between the
    limits of the neighbouring integer counts; Byar's formula is used as written."""
    rng = np.random.default_rng(20261123)
    obs = rng.uniform(0.2, 60.0, size=50)
    exp = rng.uniform(0.5, 60.0, size=50)
    ci = poisson_ratio_interval(obs, exp, level=0.95)
    np.testing.assert_allclose(ci.lower, stats.gamma.ppf(0.025, obs) / exp, rtol=1e-12)
    np.testing.assert_allclose(ci.upper, stats.gamma.ppf(0.975, obs + 1) / exp, rtol=1e-12)
    below = poisson_ratio_interval(np.floor(obs), exp)
    above = poisson_ratio_interval(np.ceil(obs), exp)
    assert np.all((below.lower <= ci.lower) & (ci.lower <= above.lower))
    assert np.all((below.upper <= ci.upper) & (ci.upper <= above.upper))

    z = stats.norm.ppf(0.975)
    byar = poisson_ratio_interval(obs, exp, method="byar")
    low = obs * (1 - 1 / (9 * obs) - z / (3 * np.sqrt(obs))) ** 3 / exp
    np.testing.assert_allclose(byar.lower, np.maximum(low, 0.0), rtol=1e-12)


def test_interval_contains_the_ratio_and_narrows_with_level():
    """Sanity: ``lower <= O/E <= upper`` and the 99.8% interval contains the 95% one."""
    for method in ("exact", "byar", "auto"):
        ci95 = poisson_ratio_interval(OBS, EXP, method=method)
        ci998 = poisson_ratio_interval(OBS, EXP, level=0.998, method=method)
        ratio = OBS / EXP
        assert np.all((ci95.lower <= ratio) & (ratio <= ci95.upper))
        assert np.all((ci998.lower <= ci95.lower) & (ci95.upper <= ci998.upper))


def test_interval_shapes_and_result_type():
    """Broadcasting: scalar E against an array of O; scalars give 0-d arrays; 2-D is kept."""
    ci = poisson_ratio_interval([0, 5, 50], 10.0)
    assert isinstance(ci, Interval) and ci.lower.shape == (3,)
    lower, upper = poisson_ratio_interval(5, 4.0)
    assert isinstance(lower, np.ndarray) and lower.shape == () and upper.shape == ()
    grid = poisson_ratio_interval(OBS.reshape(3, 4), EXP.reshape(3, 4), method="auto")
    assert grid.upper.shape == (3, 4)
    flat = poisson_ratio_interval(OBS, EXP, method="auto")
    np.testing.assert_array_equal(grid.upper.ravel(), flat.upper)


# --------------------------------------------------------------------------------------------
# exact Poisson test
# --------------------------------------------------------------------------------------------


def test_poisson_test_p_value_matches_r():
    """R: ``poisson.test(O[i], E[i])$p.value`` (two-sided, H0: rate = 1)."""
    res = poisson_ratio_test(OBS, EXP)
    assert isinstance(res, PoissonTestResult)
    assert_close(res.p_value, np.array(OE["poisson_test_p_value"], dtype=float))


def test_z_score_matches_r():
    """R: ``(O - E) / sqrt(E)``."""
    assert_close(poisson_ratio_test(OBS, EXP).z_score, np.array(OE["z_score"], dtype=float))


def _r_two_sided_by_definition(x: int, m: float) -> float:
    """Sum of ``dpois(k, m)`` over all k with ``dpois(k, m) <= dpois(x, m) * (1 + 1e-7)``,
    capped at 1 (what R's ``poisson.test`` computes), by brute force over k = 0..K."""
    if x == m:
        return 1.0
    k = np.arange(0, int(m + 40 * math.sqrt(m) + x + 100))
    pmf = stats.poisson.pmf(k, m)
    d = stats.poisson.pmf(x, m)
    return min(1.0, float(pmf[pmf <= d * (1 + 1e-7)].sum()))


def test_poisson_test_matches_definition_including_ties():
    """The vectorised bisection equals the brute-force sum behind R's ``poisson.test``,
    including integer E where ``dpois(E - 1, E) == dpois(E, E)`` (ties) and random units."""
    rng = np.random.default_rng(7)
    m_rand = rng.uniform(0.3, 200.0, size=300)
    x_rand = rng.poisson(m_rand * rng.uniform(0.5, 1.5, size=300))
    m_tie = np.repeat([1.0, 2.0, 3.0, 5.0, 20.0], 6)
    x_tie = np.concatenate([np.arange(6) + max(0, int(m) - 3) for m in (1, 2, 3, 5, 20)])
    xs = np.concatenate([x_rand, x_tie]).astype(float)
    ms = np.concatenate([m_rand, m_tie])
    p = poisson_ratio_test(xs, ms).p_value
    expected = np.array(
        [_r_two_sided_by_definition(int(a), b) for a, b in zip(xs, ms, strict=True)]
    )
    np.testing.assert_allclose(p, expected, rtol=1e-9, atol=1e-15)
    # O == E exactly and the tie neighbour O == E - 1 both give p = 1, as in R
    np.testing.assert_allclose(poisson_ratio_test([2, 1], [2.0, 2.0]).p_value, 1.0, rtol=1e-14)


def test_poisson_test_vectorised_equals_elementwise_for_1000_units():
    """One call for 1000 units gives the same p-values as 1000 scalar calls."""
    rng = np.random.default_rng(11)
    exp = rng.uniform(0.5, 2000.0, size=1000)
    obs = rng.poisson(exp * rng.uniform(0.6, 1.4, size=1000)).astype(float)
    res = poisson_ratio_test(obs, exp)
    assert res.p_value.shape == (1000,)
    assert np.all((res.p_value >= 0) & (res.p_value <= 1))
    one_by_one = [
        float(poisson_ratio_test(o, e).p_value) for o, e in zip(obs[:50], exp[:50], strict=True)
    ]
    np.testing.assert_allclose(res.p_value[:50], one_by_one, rtol=1e-14)


def test_poisson_test_extreme_counts_underflow_to_zero_p():
    """Far-out counts give p = 0 (underflow) without hanging or NaN."""
    res = poisson_ratio_test([0, 5000], [800.0, 10.0])
    assert res.p_value.tolist() == [0.0, 0.0]
    assert np.all(np.isfinite(res.z_score))


# --------------------------------------------------------------------------------------------
# proportions against R
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
def test_clopper_pearson_matches_binom_test(level):
    """R: ``binom.test(x, n, conf.level = conf)$conf.int`` (``clopper_pearson_binom_test``)."""
    ci = proportion_interval(X, N, level=float(level), method="clopper-pearson")
    assert_close(ci.lower, ref(BINOM, level, "clopper_pearson_binom_test", "lower"))
    assert_close(ci.upper, ref(BINOM, level, "clopper_pearson_binom_test", "upper"))


@pytest.mark.parametrize("level", LEVELS)
def test_clopper_pearson_matches_closed_form(level):
    """R: ``ifelse(x == 0, 0, qbeta(alpha/2, x, n-x+1))`` and
    ``ifelse(x == n, 1, qbeta(1-alpha/2, x+1, n-x))`` (``clopper_pearson_closed_form``)."""
    ci = proportion_interval(X, N, level=float(level))
    assert_close(ci.lower, ref(BINOM, level, "clopper_pearson_closed_form", "lower"))
    assert_close(ci.upper, ref(BINOM, level, "clopper_pearson_closed_form", "upper"))


@pytest.mark.parametrize("level", LEVELS)
def test_wilson_matches_prop_test(level):
    """R: ``prop.test(x, n, correct = FALSE, conf.level = conf)$conf.int``
    (``wilson_prop_test``, clipped to [0, 1] by R)."""
    ci = proportion_interval(X, N, level=float(level), method="wilson")
    assert_close(ci.lower, ref(BINOM, level, "wilson_prop_test", "lower"))
    assert_close(ci.upper, ref(BINOM, level, "wilson_prop_test", "upper"))


@pytest.mark.parametrize("level", LEVELS)
def test_wilson_matches_closed_form_away_from_the_boundary(level):
    """R: ``(p + z^2/(2n) +- z*sqrt(p(1-p)/n + z^2/(4n^2))) / (1 + z^2/n)``
    (``wilson_closed_form``, unclipped; rows with x = 0 or x = n differ from 0/1 by ~1e-17)."""
    ci = proportion_interval(X, N, level=float(level), method="wilson")
    inner = (X > 0) & (X < N)
    assert_close(ci.lower[inner], ref(BINOM, level, "wilson_closed_form", "lower")[inner])
    assert_close(ci.upper[inner], ref(BINOM, level, "wilson_closed_form", "upper")[inner])
    assert np.all(ci.lower[X == 0] == 0.0) and np.all(ci.upper[X == N] == 1.0)


# --------------------------------------------------------------------------------------------
# parameter and data errors
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("level", [0, 0.0, 1, 1.0, -0.1, 1.5, 95, float("nan")])
@pytest.mark.parametrize("func", [poisson_ratio_interval, proportion_interval])
def test_level_must_be_strictly_between_0_and_1(func, level):
    with pytest.raises(ValueError, match=r"The 'level' parameter of \w+ must be"):
        func([1, 2], [3.0, 4.0], level=level)


@pytest.mark.parametrize("level", ["0.95", None, True])
def test_level_must_be_a_number(level):
    with pytest.raises(ValueError, match=r"'level' parameter .* must be a real number"):
        poisson_ratio_interval(1, 2.0, level=level)


def test_unknown_method_names_the_options():
    with pytest.raises(
        ValueError,
        match=r"'method' parameter of poisson_ratio_interval must be "
        r"one of 'exact', 'byar', 'auto'\. Got 'garwood' instead",
    ):
        poisson_ratio_interval(1, 2.0, method="garwood")
    with pytest.raises(ValueError, match=r"one of 'clopper-pearson', 'wilson'\. Got 'exact'"):
        proportion_interval(1, 2, method="exact")


@pytest.mark.parametrize("threshold", [-1, float("nan"), "10"])
def test_auto_threshold_must_be_a_non_negative_number(threshold):
    with pytest.raises(ValueError, match="'auto_threshold' parameter"):
        poisson_ratio_interval(1, 2.0, method="auto", auto_threshold=threshold)


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        poisson_ratio_interval([1], [2.0], 0.9)  # type: ignore[misc]
    with pytest.raises(TypeError):
        proportion_interval([1], [2], 0.9)  # type: ignore[misc]


@pytest.mark.parametrize("func", [poisson_ratio_interval, poisson_ratio_test])
def test_expected_must_be_positive_message_names_argument_values_and_count(func):
    with pytest.raises(DataError) as info:
        func([1, 2, 3, 4, 5], [1.0, 0.0, 2.0, -3.0, np.nan])
    msg = str(info.value)
    assert "'expected' argument" in msg and "must be finite and > 0" in msg
    assert "3 of 5 entries" in msg
    assert "expected[1] = 0.0" in msg and "expected[3] = -3.0" in msg
    assert isinstance(info.value, ValueError) and isinstance(info.value, CasemixError)


@pytest.mark.parametrize("bad", [-1.0, np.nan, np.inf])
@pytest.mark.parametrize("func", [poisson_ratio_interval, poisson_ratio_test])
def test_observed_must_be_finite_and_non_negative(func, bad):
    with pytest.raises(
        ValueError,
        match=r"'observed' argument .* must be finite and >= 0; "
        r"1 of 3 entries are not \(observed\[2\] = ",
    ):
        func([1.0, 2.0, bad], [1.0, 2.0, 3.0])


def test_scalar_error_message_shows_the_value():
    with pytest.raises(ValueError, match=r"Got expected = 0\.0 instead"):
        poisson_ratio_interval(3, 0.0)


def test_poisson_test_rejects_non_integer_counts():
    """R: ``poisson.test(2.5, 3)`` stops with "'x' must be finite, nonnegative, and integer"."""
    with pytest.raises(
        DataError,
        match=r"'observed' .* must be whole numbers; 1 of 2 entries "
        r"are not \(observed\[0\] = 2\.5\)",
    ):
        poisson_ratio_test([2.5, 3], [3.0, 3.0])
    # within R's tolerance of 1e-7 the count is rounded, as in R
    near = poisson_ratio_test(2 + 1e-9, 3.2)
    assert_close(near.p_value, np.float64(OE["poisson_test_p_value"][2]))


def test_mismatched_lengths_are_reported_with_shapes():
    with pytest.raises(ValueError, match=r"same length .* observed \(3,\), expected \(2,\)"):
        poisson_ratio_interval([1, 2, 3], [1.0, 2.0])


def test_non_numeric_input_is_a_data_error():
    with pytest.raises(DataError, match=r"'observed' argument .* must be numeric"):
        poisson_ratio_interval(["a", "b"], [1.0, 2.0])


def test_proportion_events_and_n_are_checked():
    msg = r"'events' .* between 0 and n; 1 of 2 entries are not \(events\[1\] = 12\.0\)"
    with pytest.raises(DataError, match=msg):
        proportion_interval([3, 12], [10, 10])
    with pytest.raises(DataError, match=r"'n' argument .* must be finite and > 0; 1 of 2"):
        proportion_interval([0, 1], [0, 10])
    with pytest.raises(DataError, match=r"'events' .* \(events\[0\] = -1\.0\)"):
        proportion_interval([-1, 1], [10, 10])
