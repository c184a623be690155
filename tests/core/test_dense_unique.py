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
