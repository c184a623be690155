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


@pytest.mark.parametrize("dtype", ["string[pyarrow]", "str", "string[python]", object])
def test_strings_of_any_storage_group_in_code_point_order(dtype: object) -> None:
    # pyarrow-stored strings are dictionary-encoded by pyarrow: same groups as the sorted
    # factorisation of Python strings (code-point order, missing first), in several chunks too
    rng = np.random.default_rng(9)
    values = np.array(["b", "a", "Zeta", "é", "ab", "", "10", "9", "ß", "a b"], dtype=object)
    raw = pd.Series(rng.choice(values, 4_000), dtype=object)
    raw[rng.random(4_000) < 0.1] = None
    column = raw.astype(dtype)
    chunked = pd.concat([column[:1_500], column[1_500:]], ignore_index=True)
    reference = _reference([raw])
    np.testing.assert_array_equal(group_rows([column])[0], reference)
    np.testing.assert_array_equal(group_rows([chunked])[0], reference)


@pytest.mark.parametrize("dtype", ["Int64", "Int8", "UInt16", "int32"])
def test_integers_nullable_or_not_group_in_value_order(dtype: str) -> None:
    rng = np.random.default_rng(10)
    low = 0 if dtype.startswith("U") else -5
    column = pd.Series(rng.integers(low, 40, 4_000)).astype(dtype)
    if dtype[0] in "IU":
        column[rng.random(4_000) < 0.1] = pd.NA
    reference = _reference([column.astype("Float64")])
    np.testing.assert_array_equal(group_rows([column])[0], reference)
    all_missing = pd.Series([pd.NA] * 5, dtype="Int64")
    np.testing.assert_array_equal(group_rows([all_missing])[0], np.zeros(5, dtype=np.intp))


def test_unsigned_integers_beyond_int64_group_in_value_order() -> None:
    column = pd.Series([2**64 - 1, 2**64 - 3, None, 2**64 - 1], dtype="UInt64")
    np.testing.assert_array_equal(group_rows([column])[0], [2, 1, 0, 2])


@pytest.mark.parametrize("wide", [False, True])
def test_group_codes_with_exact_sizes_are_the_lexicographic_groups(wide: bool) -> None:
    # codes 0..size-1 with their exact number of values (as design_rows passes them): the
    # groups and first rows of the lexicographic reference, with or without renumbering
    from casemix.core.cells import group_codes

    rng = np.random.default_rng(21)
    high = 2**14 if wide else 7
    columns = [rng.integers(0, high, 3_000) for _ in range(5)]
    inverse, first = group_codes(3_000, [(c, int(c.max()) + 1) for c in columns])
    want = _reference(columns)
    np.testing.assert_array_equal(inverse, want)
    np.testing.assert_array_equal(first, [np.flatnonzero(want == g)[0]
                                          for g in range(want.max() + 1)])
