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
