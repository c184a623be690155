"""The commands on the engine path: the same files as in memory, and exports that pass the
audit (references: the same commands with ``--engine pandas``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from casemix.cli import app
from casemix.simulation import simulate_cohort

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    births = simulate_cohort(12_000, years=(2023, 2024), seed=21).births
    folder = tmp_path_factory.mktemp("cli") / "births"
    folder.mkdir()
    for i, rows in enumerate(np.array_split(np.arange(len(births)), 2)):
        births.iloc[rows].to_parquet(folder / f"part-{i}.parquet", index=False)
    births.to_parquet(folder.parent / "births.parquet", index=False)
    return folder


def _ok(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.output


def test_fit_default_engine_exports_and_audits(data, tmp_path):
    _ok(["fit", str(ROOT / "models" / "big2.toml"), "--data", str(data),
         "--out", str(tmp_path / "run")])
    _ok(["fit", str(ROOT / "models" / "big2.toml"), "--data", str(data.parent /
         "births.parquet"), "--out", str(tmp_path / "memory"), "--engine", "pandas"])
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text("utf-8"))
    assert manifest["engine"] == "duckdb" and manifest["data_source"] == str(data)
    for name in ("units.csv", "direct.csv", "coefficients.csv", "funnel_vsv.csv"):
        assert ((tmp_path / "run" / name).read_text("utf-8")
                == (tmp_path / "memory" / name).read_text("utf-8")), name
    _ok(["export", str(tmp_path / "run"), "--out", str(tmp_path / "export")])
    _ok(["audit", str(tmp_path / "export")])
    units = pd.read_csv(tmp_path / "export" / "units.csv", dtype={"unit": str, "period": str})
    hidden = units.index[units["observed"].isna()]
    assert len(hidden), "the demo run hides some counts"
    units.loc[hidden[0], "observed"] = 6  # a small count planted in the export
    units.to_csv(tmp_path / "export" / "units.csv", index=False)
    planted = runner.invoke(app, ["audit", str(tmp_path / "export")])
    assert planted.exit_code != 0 and "below" in planted.output


def test_indicators_engine_equals_pandas(data, tmp_path):
    common = ["--by", "vsv", "--year", "2024"]
    out = _ok(["indicators", str(data), *common, "--out", str(tmp_path / "e.csv")])
    assert "births of other years left out" in out
    _ok(["indicators", str(data.parent / "births.parquet"), *common, "--engine", "pandas",
         "--out", str(tmp_path / "p.csv")])
    for suffix in ("", "_exclusions"):
        assert ((tmp_path / f"e{suffix}.csv").read_text("utf-8")
                == (tmp_path / f"p{suffix}.csv").read_text("utf-8"))


def test_refit_engine_equals_pandas(data, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    for name in ("big2.toml", "preterm.toml"):
        (models / name).write_text((ROOT / "models" / name).read_text("utf-8"), "utf-8")
    _ok(["refit", "--year", "2024", "--data", str(data), "--models", str(models),
         "--out", str(tmp_path / "e")])
    _ok(["refit", "--year", "2024", "--data", str(data.parent / "births.parquet"),
         "--models", str(models), "--out", str(tmp_path / "p"), "--engine", "pandas"])
    for spec in ("big2", "preterm"):
        assert ((tmp_path / "e" / "2024" / spec / "units.csv").read_text("utf-8")
                == (tmp_path / "p" / "2024" / spec / "units.csv").read_text("utf-8"))


def test_validate_engine_reports_the_whole_source(tmp_path):
    births = simulate_cohort(3_000, seed=8).births
    births["infant_sex"] = births["infant_sex"].astype(object)
    births.loc[[1, 2_900], "infant_sex"] = "x"
    births.iloc[:1_500].to_parquet(tmp_path / "a.parquet", index=False)
    births.iloc[1_500:].to_parquet(tmp_path / "b.parquet", index=False)
    result = runner.invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 1
    assert "infant_sex" in result.output and "3,000 rows read" in result.output
