"""The funnel limits' Poisson and binomial quantiles and distribution functions, taken from
scipy.special so that a fit need not import scipy.stats (issue 19), give exactly the values
of scipy.stats (the reference implementation, with its domain checks)."""

from __future__ import annotations

import numpy as np
from scipy import stats

from casemix.funnel.limits import _binomial_cdf, _binomial_ppf, _poisson_cdf, _poisson_ppf

QS = (1e-12, 0.001, 0.025, 0.5, 0.975, 0.999, 1 - 1e-12)


def _same(a, b) -> bool:
    return bool(np.array_equal(a, b, equal_nan=True))


def test_poisson_quantile_and_cdf_bit_for_bit():
    rng = np.random.default_rng(11)
    mu = np.r_[0.0, 1e-9, 0.5, 1, 7.3, np.exp(rng.uniform(-7, 12, 20_000)), -1.0, np.nan]
    with np.errstate(all="ignore"):
        for q in QS:
            y = stats.poisson.ppf(q, mu)
            assert _same(_poisson_ppf(q, mu), y)
            for k in (y, y - 1, y + 0.5, np.full_like(mu, np.inf), np.full_like(mu, -np.inf)):
                assert _same(_poisson_cdf(k, mu), stats.poisson.cdf(k, mu))


def test_binomial_quantile_and_cdf_bit_for_bit():
    """Including denominators that are not whole (undefined: NaN), 0, negative and NaN."""
    rng = np.random.default_rng(12)
    n = np.r_[0.0, 1, 2, 10, 17.5, -1, np.nan, rng.integers(1, 100_000, 20_000),
              rng.uniform(1, 1000, 200)]
    with np.errstate(all="ignore"):
        for prob in (1e-9, 0.05, 0.5, 0.99, rng.uniform(0, 1, len(n))):
            for q in QS:
                y = stats.binom.ppf(q, n, prob)
                assert _same(_binomial_ppf(q, n, prob), y)
                for k in (y, y - 1, y + 0.5, np.full_like(n, -3.0), np.full_like(n, np.inf)):
                    assert _same(_binomial_cdf(k, n, prob), stats.binom.cdf(k, n, prob))
