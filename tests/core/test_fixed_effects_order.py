"""The fixed-effects logistic fit gives the same numbers whatever the order of its cells: cells
already sorted by unit and pattern are taken as given (no copies), others are sorted first,
and both routes see the same cells in the same order (bit-identical results). Units without
events (infinite intercepts) take the sorting route."""

from __future__ import annotations

import numpy as np
import pytest

from casemix.core.logistic import fit_logistic_fixed_effects


def _cells(rng: np.random.Generator, empty_unit: bool):
    n_patterns, n_units = 300, 12
    X = rng.normal(size=(n_patterns, 3))
    pattern = np.repeat(np.arange(n_patterns), n_units)
    unit = np.tile(np.arange(n_units), n_patterns)
    m = rng.integers(1, 30, len(unit)).astype(float)
    p = 1 / (1 + np.exp(-(X[pattern] @ [0.5, -0.3, 0.2] - 2 + 0.1 * unit)))
    y = rng.binomial(m.astype(int), p).astype(float)
    if empty_unit:
        y[unit == 3] = 0.0
    return X, unit, pattern, y, m, n_units


@pytest.mark.parametrize("empty_unit", [False, True])
def test_sorted_and_shuffled_cells_give_identical_fits(empty_unit: bool) -> None:
    rng = np.random.default_rng(3)
    X, unit, pattern, y, m, k = _cells(rng, empty_unit)
    order = np.lexsort((pattern, unit))
    shuffle = rng.permutation(len(unit))
    ordered = fit_logistic_fixed_effects(X, unit[order], y[order], m[order], n_units=k,
                                         pattern=pattern[order])
    shuffled = fit_logistic_fixed_effects(X, unit[shuffle], y[shuffle], m[shuffle],
                                          n_units=k, pattern=pattern[shuffle])
    np.testing.assert_array_equal(ordered.coef, shuffled.coef)
    np.testing.assert_array_equal(ordered.unit_intercepts, shuffled.unit_intercepts)
    np.testing.assert_array_equal(ordered.unit_intercept_se, shuffled.unit_intercept_se)
    assert np.isneginf(ordered.unit_intercepts[3]) == empty_unit
