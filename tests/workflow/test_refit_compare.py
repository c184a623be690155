"""Annual refit and comparison of runs on two simulated years with deliberate changes.

2024 differs from 2023 in two planted ways: in one large VSV a fifth of the term births
become preterm (GA 250 days), so its Big2 O/E rises; and half of the multiple births become
preterm, so the plurality coefficient rises. Both must be found; nothing else is planted.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from casemix import RunFolderError, simulate_cohort, validate_births
from casemix.models.runs import load_model
from casemix.workflow import compare_runs, new_run_folder, refit_all

MODELS = Path(__file__).resolve().parents[2] / "models"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("annual")
    models = root / "models"
    models.mkdir()
    text = (MODELS / "big2.toml").read_text().replace(
        'levels = ["vsv", "municipality"]', 'levels = ["vsv"]')
    (models / "big2.toml").write_text(text)
    births = validate_births(simulate_cohort(120_000, years=(2023, 2024), seed=21).births).births
    rng = np.random.default_rng(21)
    target = births["vsv"].value_counts().index[3]
    ga = births["gestational_age_days"].to_numpy().copy()
    in_2024 = (births["year"] == 2024).to_numpy()
    pick = in_2024 & (births["vsv"] == target).to_numpy() & (ga >= 259) & (
        rng.random(len(births)) < 0.2)
    ga[pick] = 250
    ga[in_2024 & (births["plurality"] > 1).to_numpy() & (rng.random(len(births)) < 0.5)] = 245
    births["gestational_age_days"] = pd.array(ga, dtype="Int64")
    runs = root / "runs"
    old = refit_all(births, 2023, models=models, out=runs)["big2"]
    new = refit_all(births, 2024, models=models, out=runs)["big2"]
    return births, models, runs, old, new, target


def test_planted_changes_are_found(setup):
    births, _, _, old, new, target = setup
    result = compare_runs(old, new, births_new=births)
    drift = result.coefficients.set_index("term")
    assert drift.loc["plurality=multiple", "drift"]
    assert drift.loc["plurality=multiple", "difference"] > 0.5
    changed = result.units[result.units["flag_changed"]].set_index("unit")
    assert target in changed.index
    assert changed.loc[target, "flag_95_new"] == "above"
    # last year's model under-predicts multiples in the new year: slope and CITL move
    assert result.calibration is not None and result.calibration.citl > 0
    html = result.to_html()
    assert "plurality=multiple" in html and target in html


def test_run_folders_are_never_overwritten(setup):
    births, models, runs, _, new, _ = setup
    again = refit_all(births, 2024, models=models, out=runs)["big2"]
    assert again != new and again.name == "big2_v2"
    assert (new / "model.json").exists() and (again / "model.json").exists()
    assert new_run_folder(runs, 2024, "big2").name == "big2_v3"


def test_refit_checks_every_target_before_the_first_fit(setup, tmp_path):
    births, models, _, _, _, _ = setup
    (tmp_path / "some_file").write_text("x")
    fitted: list[str] = []
    with pytest.raises(RunFolderError, match=r"Cannot create .*big2: .*some_file is a file"):
        refit_all(births, 2024, models=models, out=tmp_path / "some_file" / "runs",
                  progress=fitted.append)
    assert fitted == []


def test_frozen_model_scores_new_year_identically_to_a_reload(setup, tmp_path):
    births, _, _, old, _, _ = setup
    new_year = births[births["year"] == 2024]
    first = load_model(old).score(new_year)
    copy = tmp_path / "copied_run"
    shutil.copytree(old, copy)
    second = load_model(copy).score(new_year)
    pd.testing.assert_frame_equal(first, second)
    assert np.isfinite(first["expected_risk"]).all()
