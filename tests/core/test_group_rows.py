"""group_rows numbers groups in the lexicographic order of their values (missing first within
a column), whatever the row order and the column types, also when the combined code has to be
renumbered (radix overflow). The reference sorts the rows with ``numpy.lexsort`` on each
column's sorted factor codes, a different route than group_rows' mixed-radix codes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from casemix.core.cells import group_rows


def _reference(columns: list) -> np.ndarray:
    codes = [pd.factorize(pd.Series(c), sort=True, use_na_sentinel=True)[0] for c in columns]
    keys = np.column_stack(codes)  # missing is -1: before every value
    order = np.lexsort(keys.T[::-1])
    new_group = np.r_[True, (np.diff(keys[order], axis=0) != 0).any(axis=1)]
    out = np.empty(len(keys), dtype=np.intp)
    out[order] = np.cumsum(new_group) - 1
    return out


def _columns(rng: np.random.Generator, n: int, wide: bool) -> list:
    high = 2**14 if wide else 50  # five columns of 2^14 values overflow a 62-bit radix
    return [rng.integers(0, high, n), pd.Series(rng.integers(-3, high, n)),
            pd.Series(pd.Categorical(rng.choice(["x", "a", "m", None], n),
                                     categories=["x", "m", "a"])),
            pd.Series(rng.choice([1.5, 2.5, np.nan], n)), rng.integers(0, high, n),
            rng.integers(0, high, n), pd.Series(rng.choice(["u", "v", None], n))]


@pytest.mark.parametrize("wide", [False, True])
def test_groups_follow_the_sorted_values(wide: bool) -> None:
    rng = np.random.default_rng(7)
    columns = _columns(rng, 20_000, wide)
    inverse, first = group_rows(columns)
    np.testing.assert_array_equal(inverse, _reference(columns))
    assert np.array_equal(inverse[first], np.arange(len(first)))
    assert (first == np.array([np.flatnonzero(inverse == g)[0] for g in range(len(first))])
            ).all()


def test_groups_do_not_depend_on_row_order() -> None:
    rng = np.random.default_rng(8)
    columns = _columns(rng, 5_000, wide=True)
    order = rng.permutation(5_000)
    shuffled = [c[order] if isinstance(c, np.ndarray) else c.iloc[order].reset_index(drop=True)
                for c in columns]
    inverse, _ = group_rows(columns)
    inverse_shuffled, _ = group_rows(shuffled)
    np.testing.assert_array_equal(inverse[order], inverse_shuffled)
