"""Reading and checking crosswalks and region tables, and the shipped example tables."""

from __future__ import annotations

from importlib.resources import files

import pandas as pd
import pytest

from casemix.exceptions import DataError
from casemix.geography import harmonise, read_crosswalk, read_regions

HEADER = "old_code,new_code,date,share\n"


def write(tmp_path, text: str, name: str = "crosswalk.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_crosswalk_is_read_with_codes_as_text_and_dates_as_dates(tmp_path):
    path = write(tmp_path, " Old_Code ,NEW_CODE,date,share,name\n0363,0364,2024-01-01,1,x\n")
    table = read_crosswalk(path).table
    assert table.to_dict("list") == {"old_code": ["0363"], "new_code": ["0364"],
                                     "date": [pd.Timestamp("2024-01-01")], "share": [1.0]}


@pytest.mark.parametrize("body,message", [
    ("A,B,2024-01-01,0.6\nA,C,2024-01-01,0.3\n",
     r"share: the shares of 1 old codes on their date do not sum to 1 \(within 1e-09\): "
     r"A on 2024-01-01: 0.9\. Give every piece"),
    ("A,B,2024-01-01,0.5\nA,C,2024-01-01,0.500000001\n", "do not sum to 1"),
    ("A,B,2024-01-01,0\n", r"share is not a number in \(0, 1\] in 1 rows: '0' \(lines 2\)"),
    ("A,B,2024-01-01,x\n", "share is not a number"),
    ("A,B,01-01-2024,1\n", r"date is not an ISO date \(YYYY-MM-DD\) in 1 rows: '01-01-2024'"),
    ("A,,2024-01-01,1\n", "new_code is empty in 1 rows"),
    ("A,B,2024-01-01,0.5\nA,B,2024-01-01,0.5\n", "2 rows repeat an old_code, new_code and date"),
])
def test_a_bad_crosswalk_is_refused_with_the_column_values_and_fix(tmp_path, body, message):
    with pytest.raises(DataError, match=message):
        read_crosswalk(write(tmp_path, HEADER + body))


def test_shares_that_sum_to_one_within_the_tolerance_pass(tmp_path):
    body = "A,B,2024-01-01,0.1\nA,C,2024-01-01,0.2\nA,D,2024-01-01,0.7\n"  # 0.1+0.2 != 0.3
    assert len(read_crosswalk(write(tmp_path, HEADER + body)).table) == 3


def test_a_crosswalk_without_a_column_names_it(tmp_path):
    with pytest.raises(DataError, match=r"has no column share; it has: old_code, new_code, "
                       r"date\. A crosswalk needs the columns old_code, new_code, date, share"):
        read_crosswalk(write(tmp_path, "old_code,new_code,date\nA,B,2024-01-01\n"))
    with pytest.raises(DataError, match="Crosswalk file not found"):
        read_crosswalk(tmp_path / "absent.csv")


def test_a_region_table_keeps_the_levels_it_has(tmp_path):
    path = write(tmp_path, "municipality,year,vsv,name\nGM0001,2024,V1,x\nGM0001,2023,V2,x\n",
                 "regions.csv")
    regions = read_regions(path)
    assert regions.levels == ["vsv"] and regions.years == [2023, 2024]
    assert regions.for_year(2024)["vsv"].to_dict() == {"GM0001": "V1"}
    with pytest.raises(DataError, match=r"no rows for 2020; it has the years 2023, 2024"):
        regions.for_year(2020)


@pytest.mark.parametrize("text,message", [
    ("municipality,ggd_region\nGM0001,G1\n", "has no column year"),
    ("municipality,year\nGM0001,2024.5\n", "year is not a whole number in 1 rows"),
    ("municipality,year,vsv\nGM0001,2024,\n", "vsv is empty in 1 rows"),
    ("municipality,year\nGM0001,2024\nGM0001,2024\n",
     "1 municipalities appear more than once in a year"),
])
def test_a_bad_region_table_is_refused(tmp_path, text, message):
    with pytest.raises(DataError, match=message):
        read_regions(write(tmp_path, text, "regions.csv"))


EXAMPLES = files("casemix.resources").joinpath("geography")


def test_the_shipped_example_harmonises_2018_births_to_2024():
    """By hand from the example's notes: GM8001 -> GM8010 (2019) -> GM8020 (2022); GM8003
    -> GM8011 .6 / GM8012 .4 (2021); GM8005 keeps .9 and gives .1 to GM8006 (2023); GM8007
    is renamed GM8008 (2024)."""
    crosswalk = read_crosswalk(EXAMPLES.joinpath("example_crosswalk.csv"))
    regions = read_regions(EXAMPLES.joinpath("example_regions.csv"))
    codes = ["GM8001", "GM8002", "GM8003", "GM8004", "GM8005", "GM8006", "GM8007"]
    data = pd.DataFrame({"birth_id": codes, "year": 2018, "municipality": codes})
    result = harmonise(data, crosswalk, 2024, regions=regions)
    assert list(result.births["municipality"]) == ["GM8020", "GM8020", "GM8011", "GM8020",
                                                   "GM8005", "GM8006", "GM8008"]
    assert result.shares.values.tolist() == [
        ["GM8003", "municipality", "GM8011", 0.6], ["GM8003", "municipality", "GM8012", 0.4],
        ["GM8003", "ggd_region", "GGD81", 0.6], ["GM8003", "ggd_region", "GGD82", 0.4],
        ["GM8003", "vsv", "VSV81", 0.6], ["GM8003", "vsv", "VSV82", 0.4],
        ["GM8005", "municipality", "GM8005", 0.9], ["GM8005", "municipality", "GM8006", 0.1]]
    assert list(result.births["safety_region"]) == ["VR81"] * 4 + ["VR82"] * 3


def test_the_synthetic_crosswalk_is_valid():
    table = read_crosswalk(EXAMPLES.joinpath("synthetic_crosswalk.csv")).table
    assert set(table["old_code"]) == {"GM9001", "GM9002", "GM9003"}
