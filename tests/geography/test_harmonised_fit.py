"""From boundary changes to an exported run: simulate births with historical codes,
harmonise them to 2024, fit with the split births shared over their pieces, export and
audit. The merged and split municipalities' births are counted by hand from the
harmonised births and the shares table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from casemix.cli.main import app
from casemix.indicators import derive_indicators
from casemix.workflow.audit import audit_files

runner = CliRunner()


def _ok(args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("harmonised")
    births = folder / "history.parquet"
    _ok(["simulate", "--out", str(births), "--n-births", "40000", "--year", "2023",
         "--year", "2024", "--boundary-changes"])
    _ok(["geography", "harmonise", str(births), "--crosswalk",
         str(folder / "history_crosswalk.csv"), "--regions", str(folder / "history_regions.csv"),
         "--reference-year", "2024", "--out", str(folder / "h.parquet")])
    _ok(["fit", "models/big2.toml", "--data", str(folder / "h.parquet"), "--shares",
         str(folder / "h_shares.csv"), "--out", str(folder / "run")])
    _ok(["export", str(folder / "run"), "--out", str(folder / "export")])
    return folder


def test_split_births_are_shared_over_their_pieces(exported):
    births = pd.read_parquet(exported / "h.parquet")
    shares = pd.read_csv(exported / "h_shares.csv", dtype=str)
    shares = shares[shares["level"] == "municipality"].assign(
        share=lambda s: s["share"].astype(float))
    units = pd.read_csv(exported / "run" / "units.csv", dtype={"unit": str, "period": str})
    main = units[(units["level"] == "municipality") & (units["stratum"] == "all")]
    main = main.set_index("unit")
    split = set(shares["birth_id"])
    assert split
    analysed = births[derive_indicators(births, ["big2"]).flags["big2"].notna().to_numpy()]
    for unit in sorted(set(shares["unit"])):
        whole = int((analysed["municipality"].eq(unit) & ~analysed["birth_id"].isin(split)).sum())
        part = shares[(shares["unit"] == unit) & shares["birth_id"].isin(analysed["birth_id"])]
        assert main.loc[unit, "n_unweighted"] == whole + len(part)
        if pd.notna(main.loc[unit, "n"]):
            assert main.loc[unit, "n"] == pytest.approx(whole + part["share"].sum(), abs=0.05)
    assert main["assignment"].eq("shared").all()


def test_the_export_passes_and_a_planted_count_fails(exported, tmp_path):
    assert audit_files([exported / "export"]).ok
    units = pd.read_csv(exported / "export" / "units.csv", dtype={"unit": str, "period": str})
    hidden = units.index[units["observed"].isna() & units["n_unweighted"].notna()]
    row = hidden[0]
    planted = units.copy()
    planted.loc[row, "events_unweighted"] = 4
    planted.to_csv(tmp_path / "units.csv", index=False)
    assert not audit_files([tmp_path]).ok
    assert np.isfinite(units.loc[row, "n_unweighted"])
