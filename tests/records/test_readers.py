"""Readers: the same small table through CSV, Parquet and SPSS .sav gives identical canonical
tables; bad paths give DataError."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from casemix import DataError, load_births
from casemix.records.readers import read_table


def canonical_raw() -> pd.DataFrame:
    """Five births in canonical names, with the kinds of values each format must carry:
    string ids, integer and float columns with missing values, 0/1 booleans, labels with a
    missing value."""
    return pd.DataFrame({
        "birth_id": ["a1", "a2", "a3", "a4", "a5"],
        "year": [2020, 2020, 2021, 2021, 2021],
        "gestational_age_days": [258, 259, 280, 223, 300],
        "birthweight_g": [2400.0, 2437.0, np.nan, 1500.0, 3500.0],
        "birthweight_percentile": [8.5, 10.0, np.nan, 50.0, 60.0],
        "infant_sex": ["female", "female", "male", "male", "female"],
        "plurality": [1, 1, 2, 2, 1],
        "parity": [0, 1, 0, 3, 1],
        "maternal_age": [29, 31, 35, 22, 40],
        "fetal_death": [0, 0, 0, 1, 0],
        "neonatal_death_day": [np.nan, 3.0, np.nan, np.nan, 12.0],
        "income_quintile": [1.0, np.nan, 3.0, 5.0, np.nan],
        "education": ["low", "high", None, "middle", "high"],
        "migration_background": ["dutch", "moroccan", "turkish", None, "western"],
        "neighbourhood_ses": [0.25, -0.5, np.nan, 1.0, 0.0],
        "urbanisation": [1, 2, 3, 4, 5],
        "vsv": ["VA", "VA", "VB", "VB", "VC"],
    })


def write(frame: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    elif path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        pyreadstat.write_sav(frame, str(path))
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".sav"])
def test_round_trip_gives_the_in_memory_canonical_table(tmp_path, suffix):
    raw = canonical_raw()
    expected = load_births(raw).births
    got = load_births(write(raw, tmp_path / f"births{suffix}")).births
    pd.testing.assert_frame_equal(got, expected)


def test_round_trip_tables_are_identical_across_formats(tmp_path):
    raw = canonical_raw()
    tables = [load_births(write(raw, tmp_path / f"births{s}")).births
              for s in (".csv", ".parquet", ".sav")]
    pd.testing.assert_frame_equal(tables[0], tables[1])
    pd.testing.assert_frame_equal(tables[0], tables[2])
    b = tables[2]
    # spot checks against the raw table written above
    assert b["birth_id"].tolist() == ["a1", "a2", "a3", "a4", "a5"]
    assert b["gestational_age_days"].tolist() == [258, 259, 280, 223, 300]
    assert b["fetal_death"].tolist() == [False, False, False, True, False]
    assert b["birthweight_g"].isna().tolist() == [False, False, True, False, False]
    assert [None if pd.isna(v) else v for v in b["education"]] == ["low", "high", None,
                                                                   "middle", "high"]
    assert [None if pd.isna(v) else v for v in b["neonatal_death_period"]] == [
        None, "early", None, None, "late"]


def perined_raw() -> pd.DataFrame:
    return pd.DataFrame({
        "kind_id": ["k1", "k2", "k3", "k4"],
        "jaar": [2021, 2021, 2022, 2022],
        "amww": [37, 36, 40, 24],
        "amdd": [0, 6, 0, 0],
        "gewicht": [3000, 2500, 3500, 600],
        "geslacht": [1, 2, 2, 1],
        "sterfte": [0, 1, 3, np.nan],
        "opleiding": [1, 2, np.nan, 3],
        "vsv": ["V01", "V01", "V02", "V02"],
    })


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".sav"])
def test_round_trip_with_perined_mapping(tmp_path, suffix):
    """Registry codes survive every format (SPSS stores them as floats): 37+0 = 259,
    36+6 = 258, 40+0 = 280, 24+0 = 168 days; sterfte 1 fetal death, 3 early neonatal death."""
    raw = perined_raw()
    expected = load_births(raw, mapping="perined").births
    got = load_births(write(raw, tmp_path / f"extract{suffix}"), mapping="perined").births
    pd.testing.assert_frame_equal(got, expected)
    assert got["gestational_age_days"].tolist() == [259, 258, 280, 168]
    assert got["infant_sex"].tolist() == ["male", "female", "female", "male"]
    assert [None if pd.isna(v) else v for v in got["fetal_death"]] == [False, True, False,
                                                                        None]


def test_missing_unit_code_survives_spss(tmp_path):
    raw = canonical_raw()
    raw["vsv"] = ["VA", None, "VB", "VB", None]
    report = load_births(write(raw, tmp_path / "births.sav"))
    assert report.births["vsv"].isna().tolist() == [False, True, False, False, True]
    assert [p.n_rows for p in report.warnings if p.column == "vsv"] == [2]


def test_leading_zero_codes_survive_csv(tmp_path):
    raw = canonical_raw()
    raw["municipality"] = ["0363", "0363", "0014", "0599", "0014"]
    report = load_births(write(raw, tmp_path / "births.csv"))
    assert report.births["municipality"].tolist() == ["0363", "0363", "0014", "0599", "0014"]


def test_read_table_keeps_spss_codes(tmp_path):
    """Value labels are not applied: the stored numeric codes come back."""
    path = tmp_path / "coded.sav"
    frame = pd.DataFrame({"geslacht": [1.0, 2.0]})
    pyreadstat.write_sav(frame, str(path), variable_value_labels={"geslacht": {1: "jongen",
                                                                              2: "meisje"}})
    assert read_table(path)["geslacht"].tolist() == [1.0, 2.0]


def test_unknown_extension(tmp_path):
    path = tmp_path / "births.xlsx"
    path.write_bytes(b"not really excel")
    with pytest.raises(DataError, match=r"\.xlsx") as info:
        load_births(path)
    assert ".sav" in str(info.value)  # lists what is supported


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_births(tmp_path / "nope.csv")
    with pytest.raises(DataError, match="not found"):
        read_table(str(tmp_path / "nope.parquet"))


def test_errors_raise_or_report(tmp_path):
    raw = canonical_raw().drop(columns="year")
    path = write(raw, tmp_path / "births.parquet")
    with pytest.raises(DataError, match="year"):
        load_births(path)
    report = load_births(path, errors="report")
    assert not report.ok
    assert report.errors[0].column == "year"


def test_invalid_policy_passed_through(tmp_path):
    """GA 139 is impossible: excluded by default, an error under invalid='error'."""
    raw = canonical_raw()
    raw.loc[0, "gestational_age_days"] = 139
    path = write(raw, tmp_path / "births.csv")
    assert len(load_births(path).births) == 4
    with pytest.raises(DataError, match=r"gestational_age_days outside 140\.\.315"):
        load_births(path, invalid="error")
