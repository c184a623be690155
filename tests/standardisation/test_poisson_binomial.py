"""Poisson-binomial tails, tests and O/E intervals against exact enumeration, the binomial
(scipy.stats, Clopper-Pearson) and the Poisson limit."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import optimize, stats
from scipy.special import expit, logit

from casemix.exceptions import DataError
from casemix.standardisation.poisson_binomial import (
    poisson_binomial_ratio_interval,
    poisson_binomial_test,
    poisson_binomial_units,
)


def _enumerated_pmf(risks: np.ndarray) -> np.ndarray:
    """Exact pmf by summing the probability of each of the 2^n outcomes."""
    pmf = np.zeros(len(risks) + 1)
    for bits in itertools.product((0, 1), repeat=len(risks)):
        b = np.array(bits)
        pmf[b.sum()] += np.prod(np.where(b == 1, risks, 1 - risks))
    return pmf


@pytest.fixture(scope="module")
def small():
    """Two units of 14 and 9 births in cells (some of several births), risks 2% to 60%."""
    rng = np.random.default_rng(20261203)
    counts = np.array([1, 3, 2, 1, 4, 3, 1, 2, 2, 3, 1.0])
    risks = rng.uniform(0.02, 0.6, len(counts))
    group = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 1])
    pmfs = [_enumerated_pmf(np.repeat(risks[group == j], counts[group == j].astype(int)))
            for j in (0, 1)]
    return counts, risks, group, pmfs


@pytest.mark.parametrize("method", ["exact", "saddlepoint"])
def test_tails_match_enumeration(small, method):
    """P(X >= O) and P(X <= O) for every O against the enumerated pmf: to 1e-12 (exact) and
    to 4% (saddlepoint, already at 9 and 14 births; `auto` uses the exact tails there)."""
    counts, risks, group, pmfs = small
    units = poisson_binomial_units(counts, risks, group, 2, method=method)
    for O in range(15):
        obs = np.array([O, min(O, 9)], dtype=float)
        up, down = units.upper_tail(obs), units.lower_tail(obs)
        for j in (0, 1):
            o = int(obs[j])
            ref_up, ref_down = pmfs[j][o:].sum(), pmfs[j][:o + 1].sum()
            if method == "exact":
                assert up[j] == pytest.approx(ref_up, abs=1e-12)
                assert down[j] == pytest.approx(ref_down, abs=1e-12)
            else:
                assert up[j] == pytest.approx(ref_up, rel=0.04, abs=1e-12)
                assert down[j] == pytest.approx(ref_down, rel=0.04, abs=1e-12)


def test_shifted_tails_match_enumeration(small):
    """Tails with every log-odds shifted by gamma: enumeration with risks
    expit(logit p + gamma)."""
    counts, risks, group, _ = small
    units = poisson_binomial_units(counts, risks, group, 2, method="exact")
    for gamma in (-2.0, -0.3, 0.7, 3.0):
        shifted = expit(logit(risks) + gamma)
        pmf = _enumerated_pmf(np.repeat(shifted[group == 0], counts[group == 0].astype(int)))
        up = units.upper_tail([5.0, 0.0], [gamma, gamma])[0]
        assert up == pytest.approx(pmf[5:].sum(), abs=1e-12)


def test_test_and_interval_invert_the_enumerated_tails(small):
    """The test is twice the smaller enumerated tail; at the returned interval limits the
    enumerated tails of the shifted distribution are alpha/2 (to 1e-9), and the limits are
    E(gamma)/E."""
    counts, risks, group, _ = small
    units = poisson_binomial_units(counts, risks, group, 2)
    observed = np.array([9.0, 1.0])
    z, p = poisson_binomial_test(units, observed)
    lo, hi = poisson_binomial_ratio_interval(units, observed, level=0.95)
    for j in (0, 1):
        r = np.repeat(risks[group == j], counts[group == j].astype(int))
        pmf = _enumerated_pmf(r)
        o = int(observed[j])
        assert p[j] == pytest.approx(min(1, 2 * min(pmf[o:].sum(), pmf[:o + 1].sum())),
                                     abs=1e-12)
        assert z[j] == pytest.approx((o - r.sum()) / np.sqrt((r * (1 - r)).sum()))
        for limit, upper in ((lo[j], True), (hi[j], False)):
            gamma = optimize.brentq(lambda g, lim=limit, r=r: expit(logit(r) + g).sum()
                                    / r.sum() - lim, -30, 30, xtol=1e-14)
            shifted = _enumerated_pmf(expit(logit(r) + gamma))
            tail = shifted[o:].sum() if upper else shifted[:o + 1].sum()
            assert tail == pytest.approx(0.025, abs=1e-9)


@pytest.mark.parametrize("n,O", [(40, 0), (40, 7), (400, 61), (5000, 760), (40, 40)])
def test_equal_risks_give_the_clopper_pearson_interval(n, O):
    """All risks equal p: X is Binomial(n, p) and the logit shift moves p, so the O/E limits
    are the Clopper-Pearson limits of O/n divided by p (scipy.stats.binomtest): to 1e-6 with
    exact tails (n <= 300), to 0.2% with the saddlepoint."""
    p = 0.15
    units = poisson_binomial_units([n / 4] * 4, [p] * 4, [0, 0, 0, 0], 1)
    lo, hi = poisson_binomial_ratio_interval(units, [O], level=0.95)
    ci = stats.binomtest(O, n, p).proportion_ci(0.95, method="exact")
    rel = 1e-6 if n <= 300 else 2e-3
    assert lo[0] == pytest.approx(ci.low / p, rel=rel, abs=1e-12)
    assert hi[0] == pytest.approx(ci.high / p, rel=rel)
    _, pv = poisson_binomial_test(units, [O])
    tails = (stats.binom.sf(O - 1, n, p), stats.binom.cdf(O, n, p))
    assert pv[0] == pytest.approx(min(1, 2 * min(tails)), rel=1e-10 if n <= 300 else 2e-3,
                                  abs=1e-300)


def test_rare_outcome_approaches_garwood():
    """Risks of 0.05% over 200,000 births: the interval tends to Garwood's Poisson interval
    chi2(2O)/2E, chi2(2O+2)/2E (here O = 80, E = 100) to 0.1%."""
    units = poisson_binomial_units([50_000] * 4, [0.0005] * 4, [0] * 4, 1)
    lo, hi = poisson_binomial_ratio_interval(units, [80], level=0.95)
    assert lo[0] == pytest.approx(stats.chi2.ppf(0.025, 160) / 200, rel=1e-3)
    assert hi[0] == pytest.approx(stats.chi2.ppf(0.975, 162) / 200, rel=1e-3)


def test_saddlepoint_against_exact_on_large_units():
    """Units of about 500 and 5,000 births: saddlepoint tails within 0.2% (relative) of the
    exact ones from O = E - 5 sd to E + 5 sd."""
    rng = np.random.default_rng(5)
    for cells, size in ((100, 10), (500, 20)):
        p = rng.beta(2, 10, cells)
        c = rng.integers(1, size, cells).astype(float)
        g = np.zeros(cells, dtype=int)
        exact = poisson_binomial_units(c, p, g, 1, method="exact")
        saddle = poisson_binomial_units(c, p, g, 1, method="saddlepoint")
        e, sd = exact.expected[0], np.sqrt(exact.variance[0])
        for O in np.unique(np.round(e + sd * np.linspace(-5, 5, 21))):
            for tail in ("upper_tail", "lower_tail"):
                a = getattr(exact, tail)([O])[0]
                b = getattr(saddle, tail)([O])[0]
                assert min(b, 1 - b) == pytest.approx(min(a, 1 - a), rel=2e-3)


def test_bad_cells_are_named():
    with pytest.raises(DataError, match="strictly between 0 and 1"):
        poisson_binomial_units([1, 2], [0.2, 1.0], [0, 0], 1)
    with pytest.raises(DataError, match="whole numbers"):
        poisson_binomial_units([1.5, 2], [0.2, 0.3], [0, 0], 1)


def test_unit_comparison_merges_cells_of_one_risk_without_changing_the_distribution():
    """compare_units merges the cells of one unit with one risk (models.units): the tails,
    p-values and intervals equal those of the unmerged cells, and both equal exact
    enumeration of the births."""
    from casemix.models.units import _merge_equal_risks

    rng = np.random.default_rng(5)
    risks = np.repeat(rng.uniform(0.05, 0.5, 4), 3)  # every risk in three cells
    group = np.array([0, 0, 1, 0, 1, 1, 0, 1, 1, 0, 0, 1])
    order = np.argsort(group, kind="stable")
    counts = rng.integers(1, 3, len(risks)).astype(float)[order]
    risks, group = risks[order], group[order]
    merged = _merge_equal_risks(counts, risks, group)
    assert len(merged[0]) < len(counts)
    assert np.all(np.diff(merged[2]) >= 0)  # still in unit order
    assert merged[0].sum() == counts.sum()
    whole, fewer = (poisson_binomial_units(c, r, g, 2) for c, r, g in
                    ((counts, risks, group), merged))
    O = np.array([4.0, 5.0])
    for j in (0, 1):
        pmf = _enumerated_pmf(np.repeat(risks[group == j], counts[group == j].astype(int)))
        assert fewer.upper_tail(O)[j] == pytest.approx(pmf[int(O[j]):].sum(), rel=1e-12)
        assert fewer.lower_tail(O)[j] == pytest.approx(pmf[:int(O[j]) + 1].sum(), rel=1e-12)
    np.testing.assert_allclose(poisson_binomial_test(fewer, O), poisson_binomial_test(whole, O),
                               rtol=1e-12)
    np.testing.assert_allclose(poisson_binomial_ratio_interval(fewer, O),
                               poisson_binomial_ratio_interval(whole, O), rtol=1e-9)


def test_merging_leaves_cells_of_distinct_risks_as_they_are():
    from casemix.models.units import _merge_equal_risks

    counts, risks, group = np.array([1.0, 2, 3]), np.array([0.1, 0.1, 0.2]), np.array([0, 1, 1])
    out = _merge_equal_risks(counts, risks, group)  # 0.1 in two units: not one cell
    for a, b in zip(out, (counts, risks, group), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("low", [1e-12, 0.05])  # risk bits too wide to pack with the unit; not
def test_merged_cells_are_the_unit_risk_groups_in_order(low):
    """The merge is the grouping by (unit, risk), in unit then risk order, with the births
    summed: a dictionary over the pairs, sorted, as reference."""
    from casemix.models.units import _merge_equal_risks

    rng = np.random.default_rng(11)
    n = 5_000
    group = np.sort(rng.integers(0, 40, n))
    risks = rng.choice(np.r_[rng.uniform(low, 0.9, 60), low, 0.5], n)
    counts = rng.integers(1, 5, n).astype(float)
    sums: dict[tuple[int, float], float] = {}
    for g, r, c in zip(group.tolist(), risks.tolist(), counts.tolist(), strict=True):
        sums[(g, r)] = sums.get((g, r), 0.0) + c
    keys = sorted(sums)
    births, risk, unit = _merge_equal_risks(counts, risks, group)
    np.testing.assert_array_equal(unit, [g for g, _ in keys])
    np.testing.assert_array_equal(risk, [r for _, r in keys])
    np.testing.assert_array_equal(births, [sums[k] for k in keys])


def test_sums_of_the_units_that_moved_equal_the_whole_pass():
    """_log_mgf_sum recomputes only the units whose shift changed since its last call: their
    sums equal those of a pass over all cells (the computation before) to the bit, and the
    log moment generating function itself (logaddexp per birth) to rounding."""
    rng = np.random.default_rng(12)
    n_units, n_cells = 30, 4_000
    group = np.sort(rng.integers(0, n_units, n_cells))
    counts = rng.integers(1, 6, n_cells).astype(float)
    risks = rng.uniform(0.01, 0.6, n_cells)
    units = poisson_binomial_units(counts, risks, group, n_units)
    shift = rng.normal(0, 0.5, n_units)
    first = units._log_mgf_sum(shift)
    moved = shift.copy()
    moved[[3, 17]] += [0.25, -1e-9]
    second = units._log_mgf_sum(moved)  # two units recomputed from a copy of their cells
    for got, s in ((first, shift), (second, moved)):
        whole = units._sum(units._log1p_tilt(s))
        np.testing.assert_array_equal(got, whole)
        eta = logit(risks) + s[group]
        direct = np.bincount(group, weights=counts * np.logaddexp(0.0, eta), minlength=n_units)
        np.testing.assert_allclose(got, direct, rtol=1e-12)


@pytest.mark.parametrize("low", [1e-12, 0.05])
def test_merge_of_cells_in_any_unit_order_is_the_merge_in_unit_order(low):
    """Cells not sorted by unit (one packed sort, or the radix sort for wide risks) merge
    into the groups by (unit, risk) that a dictionary over the pairs finds."""
    from casemix.models.units import _merge_equal_risks

    rng = np.random.default_rng(13)
    n = 5_000
    group = rng.integers(0, 40, n)  # not sorted
    risks = rng.choice(np.r_[rng.uniform(low, 0.9, 60), low, 0.5], n)
    counts = rng.integers(1, 5, n).astype(float)
    sums: dict[tuple[int, float], float] = {}
    for g, r, c in zip(group.tolist(), risks.tolist(), counts.tolist(), strict=True):
        sums[(g, r)] = sums.get((g, r), 0.0) + c
    keys = sorted(sums)
    births, risk, unit = _merge_equal_risks(counts, risks, group)
    np.testing.assert_array_equal(unit, [g for g, _ in keys])
    np.testing.assert_array_equal(risk, [r for _, r in keys])
    np.testing.assert_array_equal(births, [sums[k] for k in keys])
