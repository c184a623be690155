"""The sample table of published figures: the alignment's reference format, counted under
the documented presets, small counts blank; ``align`` reproduces every row under those
presets and compares a row with a blank count on what was published."""

from __future__ import annotations

import pandas as pd
import pytest

from casemix import DefinitionSettings, indicator_rates, load_births
from casemix.alignment import REFERENCE_COLUMNS, align
from casemix.simulation import PUBLISHED_DEFINITIONS, published_figures, simulate_cohort


@pytest.fixture(scope="module")
def births():
    return load_births(simulate_cohort(20_000, seed=4).births).births


@pytest.fixture(scope="module")
def published(births):
    return published_figures(births)


def test_format_and_suppression(published):
    assert tuple(published.columns) == REFERENCE_COLUMNS
    assert set(published["indicator"]) == set(PUBLISHED_DEFINITIONS)
    assert not published.duplicated(["unit", "year", "indicator"]).any()
    blank = published["numerator"].isna()
    assert blank.any() and (published.loc[~blank, "numerator"] >= 10).all()
    assert published["denominator"].dropna().ge(10).all()


def test_counts_follow_the_presets(births, published):
    table, _ = indicator_rates(births, "vsv", indicators=["perinatal_mortality"],
                               settings=DefinitionSettings.from_preset("perined-22wk"),
                               threshold=None)
    ours = table[table["level"] == "vsv"].set_index("unit")["denominator"]
    rows = published[published["indicator"] == "perinatal_mortality"].set_index("unit")
    pd.testing.assert_series_equal(rows["denominator"].astype("int64"),
                                   ours.loc[rows.index].astype("int64"), check_names=False)


def test_align_explains_every_row(births, published):
    result = align(births, published, level="vsv")
    table = result.table
    assert table.loc[table["indicator"] != "perinatal_mortality", "agrees"].all()
    assert not table.loc[table["indicator"] == "perinatal_mortality", "agrees"].all()
    assert "unexplained" not in set(table["explained_by"])
    best = result.best().set_index("indicator")
    assert (best["rows_agreeing"] == best["rows"]).all()
    assert table.loc[~table["agrees"], "presets"].str.contains("perined-22wk").all()


def test_a_blank_published_count_is_not_a_difference(births, published):
    row = published[published["indicator"] == "big2"].head(1).assign(numerator=pd.NA)
    assert align(births, row, level="vsv").table["agrees"].all()
    wrong = row.assign(denominator=row["denominator"] + 1)
    assert not align(births, wrong, level="vsv").table["agrees"].any()
    absent = row.assign(unit="VSV_NOT_THERE")
    assert not align(births, absent, level="vsv").table["agrees"].any()


def test_columns_are_the_alignment_reference_format():
    from casemix.alignment import REFERENCE_COLUMNS
    from casemix.simulation import published

    assert tuple(REFERENCE_COLUMNS) == published.REFERENCE_COLUMNS
