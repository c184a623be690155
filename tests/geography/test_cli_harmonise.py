"""``casemix geography harmonise`` end to end, and the round trip of ``casemix simulate
--boundary-changes`` through it."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from casemix.cli import app
from casemix.geography import harmonise, read_crosswalk, read_regions

runner = CliRunner()


@pytest.fixture
def tables(tmp_path):
    (tmp_path / "crosswalk.csv").write_text(
        "old_code,new_code,date,share\nA,C,2024-01-01,1\nB,C,2024-01-01,1\n"
        "S,P,2024-01-01,0.6\nS,Q,2024-01-01,0.4\n", encoding="utf-8")
    (tmp_path / "regions.csv").write_text(
        "municipality,year,ggd_region\nC,2024,G1\nP,2024,G1\nQ,2024,G2\n", encoding="utf-8")
    return tmp_path


def births_file(folder, codes: list[tuple[int, str]]):
    """A canonical births file; every birth the same ordinary child."""
    n = len(codes)
    frame = pd.DataFrame({
        "birth_id": [f"b{i}" for i in range(n)], "year": [y for y, _ in codes],
        "gestational_age_days": 280, "birthweight_g": 3400, "infant_sex": "female",
        "plurality": 1, "parity": 0, "maternal_age": 30, "fetal_death": False,
        "urbanisation": 3, "municipality": [c for _, c in codes], "ggd_region": "old"})
    path = folder / "births.csv"
    frame.to_csv(path, index=False)
    return path


def test_harmonise_writes_births_shares_and_log_beside_out(tables):
    data = births_file(tables, [(2023, "A"), (2023, "B"), (2023, "S"), (2024, "C")])
    out = tables / "out" / "harmonised.csv"
    result = runner.invoke(app, ["geography", "harmonise", str(data), "--crosswalk",
                                 str(tables / "crosswalk.csv"), "--reference-year", "2024",
                                 "--regions", str(tables / "regions.csv"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "4 births read" in result.output and "<10 recoded" in result.output
    births = pd.read_csv(out)
    assert list(births["municipality"]) == ["C", "C", "P", "C"]
    assert list(births["ggd_region"]) == ["G1", "G1", "G1", "G1"]
    shares = pd.read_csv(tables / "out" / "harmonised_shares.csv")
    assert shares.values.tolist() == [["b2", "municipality", "P", 0.6],
                                      ["b2", "municipality", "Q", 0.4],
                                      ["b2", "ggd_region", "G1", 0.6],
                                      ["b2", "ggd_region", "G2", 0.4]]
    log = pd.read_csv(tables / "out" / "harmonised_recoded.csv")
    assert list(log["birth_id"]) == ["b0", "b1", "b2", "b2"]


def test_an_unknown_code_fails_with_one_line_and_exit_code_2(tables):
    data = births_file(tables, [(2024, "GM9999"), (2024, "GM9999"), (2024, "C")])
    result = runner.invoke(app, ["geography", "harmonise", str(data), "--crosswalk",
                                 str(tables / "crosswalk.csv"), "--reference-year", "2024",
                                 "--regions", str(tables / "regions.csv"), "--out",
                                 str(tables / "h.csv")])
    assert result.exit_code == 2
    assert ("municipality: 1 codes are neither in the crosswalk nor in the region table for "
            "2024: GM9999 (2 births)") in " ".join(result.output.split())
    assert not (tables / "h.csv").exists()


def test_the_subcommand_has_help():
    result = runner.invoke(app, ["geography", "harmonise", "--help"])
    assert result.exit_code == 0 and "--reference-year" in result.output


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("simulated")
    args = ["simulate", "--n-births", "6000", "--year", "2023", "--year", "2024", "--seed", "5"]
    for name, extra in (("plain.parquet", []), ("changed.parquet", ["--boundary-changes"])):
        result = runner.invoke(app, [*args, "--out", str(folder / name), *extra])
        assert result.exit_code == 0, result.output
    return folder


def test_boundary_changes_are_opt_in(simulated):
    assert not (simulated / "plain_crosswalk.csv").exists()
    assert "boundary_changes" not in json.loads((simulated / "plain_simulation.json").read_text())
    recorded = json.loads((simulated / "changed_simulation.json").read_text())
    assert [r["old_code"] for r in recorded["boundary_changes"]] == [
        "GM9001", "GM9002", "GM9003", "GM9003"]
    assert (simulated / "changed_crosswalk.csv").is_file()
    plain = pd.read_parquet(simulated / "plain.parquet")
    changed = pd.read_parquet(simulated / "changed.parquet")
    other = changed.columns.drop("municipality")
    pd.testing.assert_frame_equal(plain[other], changed[other])
    moved = plain["municipality"] != changed["municipality"]
    assert set(changed.loc[moved, "municipality"]) == {"GM9001", "GM9002", "GM9003"}
    assert set(plain.loc[moved, "year"]) == {2023}
    assert set(plain.loc[moved, "municipality"]) == {"GM0001", "GM0002", "GM0003"}
    assert (plain.loc[~moved & (plain["year"] == 2023), "municipality"].isin(
        ["GM0001", "GM0002", "GM0003"])).sum() == 0


def test_harmonising_the_simulated_changes_gives_back_the_simulated_codes(simulated):
    plain = pd.read_parquet(simulated / "plain.parquet")
    changed = pd.read_parquet(simulated / "changed.parquet")
    result = harmonise(changed, read_crosswalk(simulated / "changed_crosswalk.csv"), 2024,
                       regions=read_regions(simulated / "changed_regions.csv"))
    split = changed["municipality"] == "GM9003"
    for column in ("municipality", "ggd_region", "care_office_region"):
        assert (result.births.loc[~split, column].to_numpy() == plain.loc[
            ~split, column].to_numpy()).all(), column
    assert (result.births["vsv"] == plain["vsv"]).all()  # the birth's own VSV stays
    # the split births: both pieces, 60/40, each birth's true code among them
    pieces = result.shares[result.shares["level"] == "municipality"]
    assert set(pieces["birth_id"]) == set(changed.loc[split, "birth_id"])
    assert pieces.groupby("unit")["share"].first().to_dict() == {"GM0002": 0.6, "GM0003": 0.4}
    assert set(plain.loc[split, "municipality"]) <= {"GM0002", "GM0003"}
    assert result.n_recoded == int((plain["municipality"] != changed["municipality"]).sum())
