"""Quantiles and medians of grouped values (births standing for their count)."""

from __future__ import annotations

import numpy as np


def test_quantiles_and_median_of_counts_equal_numpy_on_repeated_values():
    """Reference: numpy.quantile / numpy.median of the values repeated by their counts (the
    births a grouped row stands for), to the last digit."""
    from casemix.core.splines import HARRELL_QUANTILES, median_of_counts, quantiles_of_counts

    rng = np.random.default_rng(7)
    for case in range(600):
        k = int(rng.integers(1, 25))
        values = [rng.normal(size=k), rng.integers(14, 50, size=k).astype(float),
                  np.round(rng.normal(size=k), 3)][case % 3]
        counts = rng.integers(1, 7, size=k)
        q = np.array(HARRELL_QUANTILES[5]) if case % 2 else rng.uniform(size=6)
        repeated = np.repeat(values, counts)
        np.testing.assert_array_equal(quantiles_of_counts(values, counts, q),
                                      np.quantile(repeated, q))
        assert median_of_counts(values, counts) == np.median(repeated)
