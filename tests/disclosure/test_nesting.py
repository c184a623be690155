"""nesting_of against the row-level definition: distinct string pairs in order of first row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from casemix.disclosure.tables import nesting_of


def _reference(frame: pd.DataFrame, levels: list[str]) -> dict[tuple[str, str], dict[str, str]]:
    """The computation nesting_of made before it worked on codes (drop_duplicates)."""
    out = {}
    for child in levels:
        for parent in levels:
            if child == parent:
                continue
            pairs = frame[[child, parent]].dropna().astype(str).drop_duplicates()
            if len(pairs) and pairs[child].is_unique and pairs[parent].nunique() < len(pairs):
                out[(child, parent)] = dict(zip(pairs[child], pairs[parent], strict=True))
    return out


@pytest.mark.parametrize("seed", range(20))
def test_nesting_of_is_the_row_level_nesting_in_the_same_order(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    parent = rng.integers(0, 6, n)
    child = parent * 10 + rng.integers(0, 4, n)
    if seed % 3 == 0:
        child[rng.integers(0, n)] = 1  # a child in two parents: not nested
    frame = pd.DataFrame({
        "a": pd.array(child, dtype="Int64"), "b": pd.Series(parent).astype(str),
        "c": pd.Categorical(rng.integers(0, 3, n)), "d": rng.integers(0, 2, n).astype(float)})
    for column in "abcd":
        frame.loc[rng.random(n) < 0.1, column] = None
    for levels in (["a", "b"], ["b", "a", "c"], ["a", "d"], ["c", "d", "a"]):
        got, want = nesting_of(frame, levels), _reference(frame, levels)
        assert list(got) == list(want)
        for pair, mapping in want.items():
            assert list(got[pair].items()) == list(mapping.items())


def test_nesting_of_simulated_geography() -> None:
    from casemix.simulation import simulate_cohort

    births = simulate_cohort(20_000, seed=3).births
    levels = ["vsv", "municipality", "ggd_region"]
    got, want = nesting_of(births, levels), _reference(births, levels)
    assert want  # municipalities lie within GGD regions
    assert {k: list(v.items()) for k, v in got.items()} == {
        k: list(v.items()) for k, v in want.items()}
