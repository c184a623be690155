"""``disclosed_alignment`` of some rows of an alignment table (the report shows only the rows
that differ) is the same as of those rows renumbered; row labels not starting at 0 failed with
a KeyError when one of our counts was suppressed."""

from __future__ import annotations

import numpy as np
import pandas as pd

from casemix.alignment.disclosure import disclosed_alignment


def _table(n: int = 12) -> pd.DataFrame:
    ours = np.array([7 if i % 4 == 1 else 40 + 3 * i for i in range(n)])
    published = (ours - 2 * (np.arange(n) % 3)).astype(float)
    nan = np.full(n, np.nan)
    return pd.DataFrame({
        "unit": [f"U{i:02d}" for i in range(n)], "year": 2024, "indicator": "preterm",
        "numerator_reference": published, "denominator_reference": 1000.0,
        "numerator": ours, "denominator": 1000, "rate_reference": published / 1000,
        "rate": ours / 1000, "numerator_difference": (ours - published),
        "denominator_difference": 0.0, "agrees": ours == published, "presets": "",
        "explained_by": "", "best_combination": "", "numerator_best": nan,
        "denominator_best": nan, "numerator_residual": nan, "denominator_residual": nan})


def test_rows_labelled_from_1000():
    rows = _table().set_axis(pd.RangeIndex(1000, 1012))
    out = disclosed_alignment(rows, 10)
    pd.testing.assert_frame_equal(out.reset_index(drop=True),
                                  disclosed_alignment(rows.reset_index(drop=True), 10))
    assert list(out.index) == list(rows.index)
    assert out["numerator"].isna().any()
