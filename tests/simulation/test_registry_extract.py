"""A simulated cohort written as a Perined-format extract reads back, with ``--mapping
perined``, to the same births and the same indicator flags; the codes are the registry's
(amww/amdd, sterfte 0/1/3/4/5, hoftiezer with 999 user-missing)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from typer.testing import CliRunner

from casemix import derive_indicators, load_births
from casemix.cli import app
from casemix.indicators import (
    birthweight_at_percentile,
    birthweight_percentile,
    birthweight_threshold,
)
from casemix.simulation import registry_extract, simulate_cohort


@pytest.fixture(scope="module")
def cohort():
    return simulate_cohort(6000, seed=5)


@pytest.fixture(scope="module")
def extract_file(cohort, tmp_path_factory):
    path = tmp_path_factory.mktemp("extract") / "extract.sav"
    registry_extract(cohort.births, "perined").write(path)
    return path


def test_percentile_inverts_the_quantile_weight():
    q = np.array([0.002, 0.03, 0.07, 0.1, 0.5, 0.93, 0.998])
    sex, ga = ["male", "female"] * 3 + ["male"], [170, 200, 230, 259, 280, 290, 294]
    weight = birthweight_at_percentile(sex, ga, q)
    np.testing.assert_allclose(birthweight_percentile(sex, ga, weight), 100 * q, rtol=1e-9)


def test_percentile_is_undefined_outside_the_curves():
    p = birthweight_percentile(["male", "male", None], [160, 295, 259], [600, 3800, 3000])
    assert np.isnan(p).all()


def test_registry_codes(cohort, extract_file):
    data, meta = pyreadstat.read_sav(str(extract_file), user_missing=True)
    births = cohort.births
    assert list(data.columns[:4]) == ["kind_id", "jaar", "amww", "amdd"]
    np.testing.assert_array_equal(7 * data["amww"] + data["amdd"],
                                  births["gestational_age_days"])
    assert set(data["sterfte"]) <= {0, 1, 3, 4, 5}
    assert (data["sterfte"] == 1).sum() == births["fetal_death"].sum()
    day = births["neonatal_death_day"]
    assert (data["sterfte"] == 3).sum() == (day < 7).sum()
    assert (data["sterfte"] == 4).sum() == ((day >= 7) & (day < 28)).sum()
    outside = ~births["gestational_age_days"].between(161, 294)
    assert outside.any()
    assert (data.loc[outside.to_numpy(), "hoftiezer"] == 999).all()
    assert meta.missing_ranges == {"hoftiezer": [{"lo": 999.0, "hi": 999.0}]}
    assert meta.variable_value_labels["geslacht"] == {1.0: "male", 2.0: "female"}
    assert meta.column_names_to_labels["amww"] == "completed weeks of gestation"


def test_sga_by_percentile_agrees_with_weight(cohort, extract_file):
    data, _ = pyreadstat.read_sav(str(extract_file))
    births = cohort.births
    p10 = birthweight_threshold(births["infant_sex"], births["gestational_age_days"], 10)
    known = ~np.isnan(p10)
    by_weight = births["birthweight_g"].to_numpy(float)[known] < p10[known]
    np.testing.assert_array_equal(data["hoftiezer"].to_numpy()[known] < 10, by_weight)


def test_reads_back_to_the_same_indicators(cohort, extract_file):
    report = load_births(extract_file, mapping="perined")
    assert report.ok and report.n_excluded == 0
    ours = derive_indicators(report.births).flags
    theirs = derive_indicators(load_births(cohort.births).births).flags
    pd.testing.assert_frame_equal(ours.reset_index(drop=True), theirs.reset_index(drop=True))


def test_cli_writes_the_extract(tmp_path):
    out = tmp_path / "extract.sav"
    result = CliRunner().invoke(app, ["simulate", "--out", str(out), "--n-births", "500",
                                      "--mapping", "perined"])
    assert result.exit_code == 0, result.output
    assert "amww" in pyreadstat.read_sav(str(out), metadataonly=True)[1].column_names
    assert load_births(out, mapping="perined").ok
    assert out.with_name("extract_truth.csv").is_file()


def test_cli_refuses_an_unknown_mapping_before_simulating(tmp_path):
    result = CliRunner().invoke(app, ["simulate", "--out", str(tmp_path / "x.sav"),
                                      "--mapping", "no-such-mapping"])
    assert result.exit_code == 2
    assert "no-such-mapping" in result.output
    assert not (tmp_path / "x.sav").exists()
