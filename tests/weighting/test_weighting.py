"""Margins tables, cells, errors with counts, bands, bounds, trimming, design effects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from casemix.exceptions import ConvergenceError, DataError, ParameterError
from casemix.weighting import Margins, design_effects, poststratify, rake, read_margins, trim


@pytest.fixture
def births() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    n = 5_000
    return pd.DataFrame({"municipality": rng.choice(["GM0363", "GM0599", "GM0014"], n),
                         "maternal_age": rng.integers(16, 46, n),
                         "parity": rng.integers(0, 4, n), "vsv": rng.choice(["V1", "V2"], n)})


def _long(rows: list[tuple[str, str, float]]) -> Margins:
    return Margins.from_frame(pd.DataFrame(rows, columns=["margin", "value", "total"]))


AGES = ["<20", "20-24", "25-29", "30-34", "35-39", "40+"]


def test_rake_meets_a_cross_classified_margin_and_binned_ages(births):
    mun = births["municipality"].value_counts()
    cross = [("municipality:parity", f"{m}:{p}", 10.0 * (1 + p) * (k + 1))
             for k, m in enumerate(sorted(mun.index)) for p in range(4)]
    total = sum(t for *_, t in cross)
    ages = [("maternal_age", a, total / 6) for a in AGES]
    result = rake(births, _long(cross + ages))
    assert (result.fit["deviation"].abs() / result.fit["target"]).max() < 1e-10
    band = pd.cut(births["maternal_age"], [0, 20, 25, 30, 35, 40, 99], right=False,
                  labels=AGES)
    sums = pd.Series(result.weights).groupby(band.to_numpy(), observed=True).sum()
    np.testing.assert_allclose(sums[AGES], total / 6, rtol=1e-10)


def test_wide_table_is_one_cross_classified_margin(tmp_path, births):
    path = tmp_path / "m.csv"
    cells = births.groupby(["vsv", "parity"]).size().reset_index(name="total")
    cells["total"] *= 3
    cells.to_csv(path, index=False)
    margins = read_margins(path)
    assert [m.name for m in margins.margins] == ["vsv:parity"]
    np.testing.assert_allclose(poststratify(births, margins).weights, 3.0)


def test_unlisted_cells_are_named_with_counts(births):
    margins = _long([("municipality", "GM0363", 100), ("municipality", "GM0599", 100)])
    n = int((births["municipality"] == "GM0014").sum())
    with pytest.raises(DataError, match=rf"'GM0014' \({n:,} births\)"):
        rake(births, margins)


def test_empty_cells_are_named(births):
    margins = _long([("municipality", m, 100) for m in ("GM0363", "GM0599", "GM0014",
                                                        "GM9999")])
    with pytest.raises(DataError, match=r"'GM9999' \(total 100"):
        poststratify(births, margins)


def test_missing_values_are_counted_never_dropped(births):
    births.loc[:6, "vsv"] = None
    with pytest.raises(DataError, match="'vsv' is missing for 7 of 5,000"):
        rake(births, _long([("vsv", "V1", 10), ("vsv", "V2", 10)]))


def test_a_missing_cell_takes_the_births_without_a_value(births):
    births["maternal_age"] = births["maternal_age"].astype(float)
    births.loc[:9, "maternal_age"] = np.nan
    margins = _long([("maternal_age", a, 1000) for a in AGES] + [("maternal_age", "missing",
                                                                   20)])
    w = rake(births, margins).weights
    assert w[:10].sum() == pytest.approx(20)


def test_values_no_band_covers_are_named(births):
    margins = _long([("maternal_age", a, 10) for a in AGES[1:]])  # no '<20'
    n = int((births["maternal_age"] < 20).sum())
    with pytest.raises(DataError, match=rf"{n:,} births .* 16 \("):
        rake(births, margins)


def test_margins_of_different_populations_are_refused(births):
    margins = _long([("vsv", "V1", 10), ("vsv", "V2", 10), ("parity", "0", 5),
                     ("parity", "1", 5), ("parity", "2", 5), ("parity", "3", 4)])
    with pytest.raises(DataError, match="same total"):
        rake(births, margins)


def test_bounds_too_tight_do_not_converge_and_name_the_margin(births):
    v1 = int((births["vsv"] == "V1").sum())
    margins = _long([("vsv", "V1", 3.0 * v1), ("vsv", "V2", len(births) - v1 + 2.0 * v1)])
    with pytest.raises(ConvergenceError, match="margin 'vsv'"):
        rake(births, margins, bounds=(0.5, 2.0), max_iter=20)
    loose = rake(births, margins, bounds=(0.5, 4.0))
    assert loose.weights.max() <= 4.0


def test_base_weights_are_kept_within_cells(births):
    base = np.where(births["parity"] == 0, 2.0, 1.0)
    m = _long([("vsv", "V1", 1000), ("vsv", "V2", 1000)])
    w = poststratify(births, m, base=base).weights
    ratio = w / base
    assert np.allclose(ratio[births["vsv"] == "V1"], ratio[births["vsv"] == "V1"][0])


def test_trim_keeps_the_total_and_counts():
    w = np.array([1.0, 1.0, 1.0, 1.0, 10.0, 0.1])
    t = trim(w, 0.5, 4.0, strict=True)
    assert t.weights.sum() == pytest.approx(w.sum())
    assert t.weights.max() <= 4.0 + 1e-12 and t.weights.min() >= 0.5 - 1e-12
    assert (t.n_lower, t.n_upper) == (1, 1)
    with pytest.raises(ParameterError):
        trim(w, 3.0, 4.0)  # mean 2.35: no weights with this total are all >= 3


def test_design_effects_per_unit():
    w = np.array([1.0, 1.0, 2.0, 2.0, 1.0])
    by = pd.DataFrame({"vsv": ["a", "a", "b", "b", None]})
    d = design_effects(w, by=by).set_index(["level", "unit"])
    assert d.loc[("vsv", "a"), "deff"] == pytest.approx(1.0)
    assert d.loc[("national", "NL"), "n"] == 5
    assert d.loc[("national", "NL"), "n_effective"] == pytest.approx(49 / 11)


def test_numeric_codes_in_a_frame_match_the_births(births):
    """Margins built in pandas with float codes (income quintile 1.0) match integer data."""
    births["income_quintile"] = births["parity"] + 1
    cells = births.groupby("income_quintile").size()
    wide = pd.DataFrame({"income_quintile": cells.index.astype(float), "total": 2 * cells})
    assert [m.values for m in Margins.from_frame(wide).margins] == [("1", "2", "3", "4")]
    assert np.allclose(poststratify(births, Margins.from_frame(wide)).weights, 2.0)
