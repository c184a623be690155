"""dense_unique against numpy.unique; the group members of calibration against flatnonzero."""

from __future__ import annotations

import numpy as np
import pytest

from casemix.calibration.groups import _members
from casemix.core.cells import dense_unique


@pytest.mark.parametrize("size", [1, 50, 10**9])  # a table of bins, and the unique fallback
def test_dense_unique_is_numpy_unique(size: int) -> None:
    key = np.random.default_rng(3).integers(0, size, 5_000)
    values, inverse = dense_unique(key, size)
    want_values, want_inverse = np.unique(key, return_inverse=True)
    np.testing.assert_array_equal(values, want_values)
    np.testing.assert_array_equal(inverse, want_inverse)


@pytest.mark.parametrize("distinct", [300, 3_000_000])
def test_large_keys_are_numpy_unique_hashed_or_sorted(distinct: int) -> None:
    # beyond a table of bins: few distinct keys are hashed, many sorted (the same result)
    from casemix.core.cells import _few_distinct

    rng = np.random.default_rng(5)
    pool = rng.choice(2**60, distinct, replace=False).astype(np.int64)
    key = pool[rng.integers(0, len(pool), 2**21 + 5)]
    assert _few_distinct(key) == (distinct == 300)
    values, inverse = dense_unique(key, 2**61)
    want_values, want_inverse = np.unique(key, return_inverse=True)
    np.testing.assert_array_equal(values, want_values)
    np.testing.assert_array_equal(inverse, want_inverse.ravel())
    assert values.dtype == np.int64 and inverse.dtype == np.intp


def test_members_are_flatnonzero() -> None:
    codes = np.random.default_rng(4).integers(0, 7, 3_000).astype(np.intp)
    codes[codes == 5] = 4  # a code without members
    got = _members(codes, 7)
    assert len(got) == 7
    for k in range(7):
        np.testing.assert_array_equal(got[k], np.flatnonzero(codes == k))


@pytest.mark.parametrize("size", [2**17, 2**27, 2**40, 2**62])
@pytest.mark.parametrize("nearly_sorted", [False, True])
def test_sorted_keys_are_numpy_unique_by_radix_or_timsort(size: int, nearly_sorted: bool
                                                          ) -> None:
    # random keys take the radix sort, nearly sorted ones timsort: numpy's result either way
    from casemix.core.cells import _key_order

    rng = np.random.default_rng(6)
    key = rng.integers(0, size, 40_000).astype(np.int64)
    if nearly_sorted:
        key = np.sort(key)
        key[rng.integers(0, len(key), 100)] = rng.integers(0, size, 100)
    np.testing.assert_array_equal(_key_order(key, size), np.argsort(key, kind="stable"))
    values, inverse = dense_unique(key, size)
    want_values, want_inverse = np.unique(key, return_inverse=True)
    np.testing.assert_array_equal(values, want_values)
    np.testing.assert_array_equal(inverse, want_inverse.ravel())


def test_stable_order_of_wide_codes_is_numpy_stable_argsort() -> None:
    from casemix.core.cells import stable_order

    codes = np.random.default_rng(7).integers(0, 300_000, 50_000).astype(np.intp)
    np.testing.assert_array_equal(stable_order(codes, 300_000),
                                  np.argsort(codes, kind="stable"))


def test_float_codes_are_sorted_factorize_codes() -> None:
    import pandas as pd

    from casemix.core.cells import _float_codes

    x = np.random.default_rng(8).normal(size=20_000).round(2)
    x[::97] = np.nan
    x[5], x[6], x[7] = 0.0, -0.0, -np.inf
    codes, size = _float_codes(pd.Series(x))
    want, uniques = pd.factorize(pd.Series(x), use_na_sentinel=True, sort=True)
    np.testing.assert_array_equal(codes, want + 1)
    assert size == len(uniques) + 1
