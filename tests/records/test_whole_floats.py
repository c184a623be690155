"""Integer columns that arrive as floats (missing values in a Parquet or DuckDB integer
column): the one-pass conversion (``validation._whole_floats``) against the general parsing
path of ``_coerce_numeric`` and against integers written out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import casemix.records.validation as validation
from casemix.records.schema import COLUMNS

CASES = {
    "whole with missing": [1.0, np.nan, 5.0, -3.0, -0.0],
    "fractional": [1.5, 2.0, np.nan],
    "infinite": [np.inf, 1.0],
    "too large": [2.0**53, 1.0],
    "empty": [],
    "all missing": [np.nan, np.nan],
}


def _general(raw: pd.Series, monkeypatch: pytest.MonkeyPatch) -> tuple[pd.Series, list]:
    with monkeypatch.context() as m:
        m.setattr(validation, "_whole_floats", lambda raw: None)
        problems: list = []
        return validation._coerce_numeric(COLUMNS["parity"], raw, problems), problems


@pytest.mark.parametrize("name", list(CASES))
def test_whole_floats_equal_the_general_path(name, monkeypatch):
    raw = pd.Series(np.array(CASES[name], dtype=float))
    reference, ref_problems = _general(raw, monkeypatch)
    problems: list = []
    got = validation._coerce_numeric(COLUMNS["parity"], raw, problems)
    pd.testing.assert_series_equal(got, reference, check_exact=True)
    assert [vars(p) for p in problems] == [vars(p) for p in ref_problems]


def test_whole_floats_are_the_integers():
    raw = pd.Series([1.0, np.nan, 5.0, -3.0], index=[10, 11, 12, 13])
    got = validation._whole_floats(raw)
    expected = pd.Series(pd.array([1, None, 5, -3], dtype="Int64"), index=[10, 11, 12, 13])
    assert got is not None
    pd.testing.assert_series_equal(got, expected, check_exact=True)
    assert validation._whole_floats(pd.Series([0.5])) is None
