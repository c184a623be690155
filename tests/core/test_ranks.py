"""Rank intervals on hand-made draws."""

from __future__ import annotations

import numpy as np

from casemix.core import rank_summary


def test_rank_intervals_by_hand():
    """Three units, four draws. Ranks per draw (1 = lowest):
    draw 1: (1, 2, 3); draw 2: (2, 1, 3); draw 3: (1, 2, 3); draw 4: (1, 3, 2).
    Unit 0 ranks {1, 2, 1, 1}; unit 1 {2, 1, 2, 3}; unit 2 {3, 3, 3, 2}.
    With level 0.5 the quartiles (numpy linear interpolation) are unit 0: [1, 1.25] -> [1, 2];
    unit 1: [1.75, 2.25] -> [1, 3]; unit 2: [2.75, 3] -> [2, 3]."""
    draws = np.array([[0.1, 0.2, 0.3], [0.2, 0.1, 0.3], [0.0, 0.5, 0.9], [0.1, 0.9, 0.5]])
    out = rank_summary([0.1, 0.3, 0.5], draws, level=0.5)
    assert out["rank"].tolist() == [1, 2, 3]
    assert out["rank_lower"].tolist() == [1, 1, 2]
    assert out["rank_upper"].tolist() == [2, 3, 3]


def test_certain_ranks_have_zero_width():
    rng = np.random.default_rng(1)
    draws = np.arange(5)[None, :] * 10 + rng.uniform(0, 1, (200, 5))
    out = rank_summary(np.arange(5), draws)
    assert (out["rank_lower"] == out["rank"]).all() and (out["rank_upper"] == out["rank"]).all()


def test_average_ranks_as_r_rank():
    """R: rank(c(3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5)) (ties.method = "average") is
    4.5 1.5 6.0 1.5 8.0 11.0 3.0 10.0 8.0 4.5 8.0 (by hand: the sorted values
    1 1 2 3 3 4 5 5 5 6 9 take ranks 1..11, ties share the mean of theirs)."""
    from casemix.core.ranks import average_ranks

    x = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5]
    assert average_ranks(x).tolist() == [4.5, 1.5, 6, 1.5, 8, 11, 3, 10, 8, 4.5, 8]
    assert average_ranks([[2.0, 2.0], [1.0, np.nan]]).tolist()[0] == [1.5, 1.5]
    assert np.isnan(average_ranks([[1.0, np.nan]])).all()  # as R's na.last = "keep" row-wise


def test_average_ranks_equal_scipy_rankdata_bit_for_bit():
    """scipy.stats.rankdata (an independent implementation) on rows with many ties."""
    from scipy.stats import rankdata

    from casemix.core.ranks import average_ranks

    rng = np.random.default_rng(7)
    for shape in [(1,), (40,), (30, 17), (5, 0), (3, 1)]:
        ties = rng.integers(0, 4, shape).astype(float)
        assert np.array_equal(average_ranks(ties), rankdata(ties, axis=-1))
        values = rng.random(shape)
        assert np.array_equal(average_ranks(values), rankdata(values, axis=-1))
