"""``batches._sorted_groups`` against numpy's ``unique`` (return_inverse) with the first row
and the count of each group worked out from the inverse."""

from __future__ import annotations

import numpy as np
import pytest

from casemix.engine.batches import _sorted_groups


@pytest.mark.parametrize("values", [
    np.array([5]),
    np.array([3, 1, 3, 2, 1, 3]),
    np.random.default_rng(4).integers(0, 50, 5000),
    np.random.default_rng(5).integers(-2**40, 2**40, 3000),
])
def test_sorted_groups_equal_unique(values):
    combined = values.astype(np.int64)
    uniques, inverse = np.unique(combined, return_inverse=True)
    want_first = np.array([np.flatnonzero(inverse == g)[0] for g in range(len(uniques))])
    first, counts = _sorted_groups(combined)
    np.testing.assert_array_equal(first, want_first)
    np.testing.assert_array_equal(counts, np.bincount(inverse))
    np.testing.assert_array_equal(combined[first], uniques)
