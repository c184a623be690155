"""The distinct design rows of a table (``Encoding.design_rows``) against the whole design
(``Encoding.matrix``) and numpy's distinct rows of it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from casemix.core import DesignRows, Term, learn_encoding
from casemix.exceptions import DataError


def _table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ses = np.round(rng.normal(size=n), 1)
    ses[rng.uniform(size=n) < 0.05] = np.nan
    ses[rng.uniform(size=n) < 0.02] = -0.0  # one covariate value with 0.0
    return pd.DataFrame({
        "maternal_age": rng.integers(16, 46, size=n),  # raw years under age bands
        "parity": pd.array(rng.integers(0, 5, size=n), dtype="Int64"),
        "education": pd.Categorical(rng.choice(["low", "mid", "high"], size=n)),
        "urbanisation": rng.choice([1.0, 2.0, 3.0, np.nan], size=n),
        "neighbourhood_ses": ses,
        "bmi": np.round(rng.normal(25, 4, size=n), 0),
    })


TERMS = [Term("maternal_age", breaks=(20, 25, 30, 35)), Term("parity", breaks=(1, 2)),
         Term("education"), Term("urbanisation"),
         Term("neighbourhood_ses", "linear", missing="indicator"),
         Term("bmi", "spline", n_knots=4)]


@pytest.mark.parametrize("interactions", [(), (("parity", "education"),
                                               ("neighbourhood_ses", "education"))])
def test_expanded_rows_are_the_design_to_the_bit(interactions):
    data = _table(20_000, seed=3)
    enc = learn_encoding(data, TERMS, interactions)
    whole = enc.matrix(data)
    rows = enc.design_rows(data)
    assert isinstance(rows, DesignRows)
    np.testing.assert_array_equal(rows.expanded().view(np.int64), whole.view(np.int64))
    # the rows are distinct, and there are as many as numpy finds in the whole design
    # (0.0 and -0.0 compare equal there too)
    assert rows.n_rows == len(np.unique(whole, axis=0)) < len(data.drop_duplicates())
    assert rows.expanded().flags.f_contiguous


def test_rows_do_not_depend_on_the_order_of_the_records():
    data = _table(5_000, seed=4)
    enc = learn_encoding(data, TERMS)
    shuffled = data.sample(frac=1.0, random_state=1).reset_index(drop=True)
    a, b = enc.design_rows(data), enc.design_rows(shuffled)
    np.testing.assert_array_equal(a.matrix, b.matrix)
    np.testing.assert_array_equal(a.sums(np.ones(len(data))), b.sums(np.ones(len(data))))


def test_sums_per_row_equal_a_groupby_of_the_whole_design():
    data = _table(3_000, seed=5)
    enc = learn_encoding(data, TERMS)
    rows = enc.design_rows(data)
    v = np.random.default_rng(0).uniform(size=len(data))
    whole = pd.DataFrame(enc.matrix(data))
    expected = pd.Series(v).groupby([whole[c] for c in whole.columns]).sum()
    got = pd.Series(rows.sums(v), index=pd.MultiIndex.from_arrays(rows.matrix.T))
    np.testing.assert_allclose(got.sort_index().to_numpy(), expected.sort_index().to_numpy(),
                               rtol=1e-12)


def test_unseen_level_is_the_same_error_as_for_the_matrix():
    data = _table(2_000, seed=6)
    enc = learn_encoding(data, TERMS)
    new = data.assign(education=pd.Categorical(["none"] * len(data)))
    with pytest.raises(DataError, match="education") as whole:
        enc.matrix(new)
    with pytest.raises(DataError, match="education") as rows:
        enc.design_rows(new)
    assert str(rows.value) == str(whole.value)


@pytest.mark.parametrize("interactions", [(), (("parity", "education"),)])
def test_codes_learned_with_the_encoding_give_the_patterns_design(interactions):
    """The categorical codes found while learning the encoding, taken at a record of each
    covariate pattern, give the design of the patterns: the whole design's rows, to the bit
    (reference: ``Encoding.matrix`` of the records)."""
    from casemix.core.cells import compress_cells
    from casemix.core.design import learn_encoding_codes

    data = _table(20_000, seed=6)
    patterns = compress_cells(data, [t.column for t in TERMS], np.zeros(len(data)),
                              np.ones(len(data)), force=True)
    last = np.empty(len(patterns.y), dtype=np.intp)
    last[patterns.inverse] = np.arange(len(data))  # the last record of each pattern
    enc, codes = learn_encoding_codes(data, TERMS, interactions, at=last)
    assert enc == learn_encoding(data, TERMS, interactions)
    assert [c is None for c in codes] == [t.kind != "categorical" for t in TERMS]
    rows = enc.design_rows(patterns.keys, codes=codes)
    whole = enc.matrix(data)
    np.testing.assert_array_equal(rows.expanded()[patterns.inverse].view(np.int64),
                                  whole.view(np.int64))
    plain = enc.design_rows(patterns.keys)
    np.testing.assert_array_equal(rows.matrix.view(np.int64), plain.matrix.view(np.int64))
    np.testing.assert_array_equal(rows.index, plain.index)


def test_learned_codes_are_the_codes_of_the_encoding():
    """The codes found while learning are ``TermEncoding.codes`` of the same values."""
    from casemix.core.design import _learn_categorical_codes

    data = _table(2_000, seed=7)
    enc, codes = _learn_categorical_codes(Term("education", levels=("low", "mid", "high")),
                                          data["education"])
    assert codes is not None and codes.min() >= 0
    np.testing.assert_array_equal(codes, enc.codes(data["education"]))
