"""The frozen result: its unit-table selections, plot, warnings and public names."""

from __future__ import annotations

import dataclasses
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest

import casemix
from casemix import CaseMixModel, MethodSwitchWarning, ModelSpec, Term, UnitTable
from casemix.models import Pooled

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def births():
    rng = np.random.default_rng(20261130)
    n = 3000
    return pd.DataFrame({
        "event": rng.random(n) < 0.2, "parity": rng.integers(0, 3, n),
        "vsv": rng.choice([f"V{i:02d}" for i in range(12)], n),
        "urbanisation": rng.integers(1, 4, n), "year": rng.choice([2022, 2023, 2024], n)})


@pytest.fixture(scope="module")
def result(births):
    spec = ModelSpec(name="t", outcome="event", adjusters=(Term("parity"),), levels=("vsv",),
                     by_year=True, stratify=("urbanisation",))
    return CaseMixModel(spec).fit(births)


def test_unit_table_selections(result, births):
    table = result.unit_table
    assert table.period == "2022-2024"
    assert len(table.main("vsv")) == 12 and set(table.main()["period"]) == {"2022-2024"}
    assert set(table.yearly("vsv")["period"]) == {"2022", "2023", "2024"}
    assert len(table.yearly()) == 36
    assert set(table.strata()["stratum"]) == {f"urbanisation={u}" for u in (1, 2, 3)}
    assert len(table.main()) + len(table.yearly()) + len(table.strata()) == len(table.frame)
    # the main rows count every birth once
    assert table.main()["n"].sum() == len(births)


def test_unit_table_from_a_file_finds_the_pooled_period(result):
    frame = result.units.sample(frac=1.0, random_state=np.random.default_rng(1))
    frame = frame.astype({"period": str})
    assert UnitTable.from_frame(frame).period == "2022-2024"
    assert UnitTable.from_frame(frame, years=[2024, 2022, 2023]).period == "2022-2024"


def test_result_is_frozen(result):
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.method = "eb"


def test_plot_draws_the_pooled_rows_whatever_their_order(result):
    """plot() sorted before selecting the period, so with by_year it drew a single year."""
    ax = result.plot("vsv")
    labels = [t.get_text() for t in ax.get_yticklabels()]
    main = result.unit_table.main("vsv").sort_values("oe")
    assert labels == main["unit"].tolist()
    drawn = ax.collections[-1].get_offsets()[:, 0]
    np.testing.assert_allclose(drawn, main["oe"].to_numpy())


def test_foreign_warnings_keep_their_category(births, monkeypatch):
    """fit() used to turn every warning (e.g. from numpy or PyTensor) into a
    MethodSwitchWarning and a note of the method."""
    original = Pooled.fit

    def noisy(self, problem):
        warnings.warn("overflow in exp", RuntimeWarning, stacklevel=1)
        warnings.warn("fell back to something", MethodSwitchWarning, stacklevel=1)
        return original(self, problem)

    monkeypatch.setattr(Pooled, "fit", noisy)
    spec = ModelSpec(name="t", outcome="event", adjusters=(Term("parity"),), levels=("vsv",))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = CaseMixModel(spec).fit(births)
    categories = {(str(w.message), w.category) for w in caught}
    assert ("overflow in exp", RuntimeWarning) in categories
    assert ("fell back to something", MethodSwitchWarning) in categories
    assert ("overflow in exp", MethodSwitchWarning) not in categories
    assert result.notes == ["fell back to something"]


def test_public_names():
    for name in ("SamplingWarning", "ParameterError", "UnitTable", "load_run", "save_run"):
        assert name in casemix.__all__ and hasattr(casemix, name)


def test_docstrings_list_every_method():
    """The docstring said ``method : {"pooled", "fixed"}`` while eight methods existed."""
    for name in casemix.models.METHOD_NAMES:
        assert f"``{name}``" in CaseMixModel.__doc__
