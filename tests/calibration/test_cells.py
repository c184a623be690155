"""Calibration statistics on covariate-pattern cells equal the per-birth computation.

Every birth of a pattern has the same predicted risk, so calibration-in-the-large, the
recalibration fit, Brier, Spiegelhalter's z and the C-statistic with its DeLong interval are
sums over patterns; the lowess errors (ICI, E50, E90, Emax) stay on births.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from casemix import CaseMixModel, load_spec, simulate_cohort
from casemix.calibration import (
    c_statistic,
    c_statistic_cells,
    calibration_statistics,
    calibration_statistics_cells,
    curve_errors,
)
from casemix.exceptions import DataError

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "calibration"


@pytest.fixture(scope="module")
def births():
    return simulate_cohort(60_000, seed=5).births


@pytest.fixture(scope="module")
def fitted(births):
    return CaseMixModel(load_spec(ROOT / "models" / "big2.toml")).fit(births)


def _equal(a: dict, b: dict, rel: float = 1e-10) -> None:
    for key, value in a.items():
        assert value == pytest.approx(b[key], rel=rel, abs=1e-14), key


def test_result_calibration_on_patterns_equals_per_birth(fitted):
    assert fitted.n_cells < fitted.n_analysed  # the patterns really pool births
    on_births = calibration_statistics(fitted.fitted_risk, fitted.outcome)
    _equal(asdict(fitted.calibration()), asdict(on_births))
    assert fitted.calibration() is fitted.calibration()  # computed once


def test_ties_in_c_statistic_pool_by_distinct_risk():
    rng = np.random.default_rng(3)
    risk = rng.choice([0.05, 0.1, 0.2, 0.4], size=5_000)  # heavy ties across cells
    y = rng.binomial(1, risk).astype(float)
    cells = pd.DataFrame({"r": risk, "y": y, "k": rng.integers(0, 3, len(y))}).groupby(
        ["r", "k"]).agg(a=("y", "sum"), m=("y", "size")).reset_index()
    got = c_statistic_cells(cells["r"], cells["a"], cells["m"])
    np.testing.assert_allclose(got, c_statistic(risk, y), rtol=1e-12)


@pytest.mark.parametrize("name", ["calibrated", "miscalibrated", "small"])
def test_cells_of_single_births_equal_r_fixtures(name):
    d = pd.read_csv(FIXTURE / f"calibration_{name}.csv")
    p, y = d["p"].to_numpy(float), d["y"].to_numpy(float)
    s = calibration_statistics_cells(p, y, np.ones(len(p)), errors=curve_errors(p, y))
    r = json.loads((FIXTURE / "results.json").read_text())["datasets"][name]
    vp = r["val_prob"]["stats"]
    assert s.brier == pytest.approx(vp["Brier"], rel=1e-10)
    assert s.slope == pytest.approx(vp["Slope"], rel=1e-8)
    assert s.citl == pytest.approx(r["calibration_in_the_large"]["intercept"], abs=1e-8)
    assert s.spiegelhalter_z == pytest.approx(vp["S:z"], rel=1e-8)
    _equal(asdict(s), asdict(calibration_statistics(p, y)))


def test_bad_cells():
    with pytest.raises(DataError):
        calibration_statistics_cells([0.2, 0.3], [3, 0], [2, 1], errors=(0, 0, 0, 0))
    with pytest.raises(DataError):
        c_statistic_cells([0.2, 0.3], [1, 1], [1, 1])


@pytest.mark.parametrize("column", ["income_quintile", "neighbourhood_ses_quintile", "vsv"])
def test_calibration_by_on_cells_equals_per_birth(fitted, births, column):
    from casemix.calibration import calibration_by_group, with_derived_groups

    got = fitted.calibration_by(births, column)
    groups = with_derived_groups(births)[column].iloc[fitted.rows]
    want = calibration_by_group(fitted.fitted_risk, fitted.outcome, groups, variable=column)
    pd.testing.assert_frame_equal(got.table, want.table, rtol=1e-10)
    assert got.pooled_slope == pytest.approx(want.pooled_slope, rel=1e-10)
    assert got.slope_tau2 == pytest.approx(want.slope_tau2, rel=1e-8, abs=1e-14)


def test_group_slopes_equal_per_birth_fits_from_zeros(fitted, births):
    """Group slopes (Newton started at calibration, on cells) equal the per-birth binomial
    GLM ``outcome ~ logit(risk)`` of each group started at zero coefficients."""
    from scipy.special import logit

    from casemix.calibration import group_codes
    from casemix.core.logistic import fit_logistic

    got = fitted.calibration_by(births, "income_quintile").table.set_index("group")
    codes, labels = group_codes(births["income_quintile"].iloc[fitted.rows])
    risk, y = fitted.fitted_risk, fitted.outcome
    for j, label in enumerate(labels):
        rows = codes == j
        X = np.column_stack([np.ones(rows.sum()), logit(risk[rows])])
        fit = fit_logistic(X, y[rows], np.ones(rows.sum()), start=np.zeros(2))
        assert got.loc[label, "slope"] == pytest.approx(fit.coef[1], rel=1e-10)
        assert got.loc[label, "slope_se"] == pytest.approx(fit.std_error[1], rel=1e-10)


def test_calibration_by_without_pooling_has_the_same_table(fitted, births):
    """``pooled=False`` (the run folder) leaves the pooled slope out, not the table."""
    full = fitted.calibration_by(births, "income_quintile")
    table = fitted.calibration_by(births, "income_quintile", pooled=False)
    pd.testing.assert_frame_equal(table.table, full.table, check_exact=True)
    assert np.isnan([table.pooled_slope, table.pooled_slope_se, table.slope_tau2]).all()
    assert np.isfinite(full.pooled_slope)


def test_derived_quintiles_group_as_their_labels(births):
    """The derived SES quintiles (a categorical) give the groups of their labels as
    strings, with missing values as ``missing``."""
    from casemix.calibration import group_codes, with_derived_groups

    frame = births.assign(neighbourhood_ses=births["neighbourhood_ses"].mask(
        births.index % 50 == 0))
    derived = with_derived_groups(frame)["neighbourhood_ses_quintile"]
    as_text = derived.astype(object)
    codes, labels = group_codes(derived)
    want_codes, want_labels = group_codes(as_text)
    assert list(labels) == list(want_labels) == ["Q1", "Q2", "Q3", "Q4", "Q5", "missing"]
    np.testing.assert_array_equal(codes, want_codes)
