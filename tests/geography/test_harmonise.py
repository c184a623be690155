"""Harmonising births to the boundaries of a reference year.

Every expected number is counted by hand from the small tables of each test: a merger of A
and B into C, a split of S over P (60%) and Q (40%), chains, a boundary correction, and the
reference-date rule (a birth of year t carries the code valid on 1 January of t).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from casemix.exceptions import DataError
from casemix.geography import Crosswalk, RegionTable, harmonise


def crosswalk(*rows: tuple[str, str, str, float]) -> Crosswalk:
    return Crosswalk.from_frame(pd.DataFrame(rows, columns=["old_code", "new_code", "date",
                                                            "share"]))


def births(*groups: tuple[int, str | None, int]) -> pd.DataFrame:
    """Births from (year, code, how many)."""
    rows = [(year, code) for year, code, n in groups for _ in range(n)]
    return pd.DataFrame({"birth_id": [f"b{i}" for i in range(len(rows))],
                         "year": [r[0] for r in rows],
                         "municipality": pd.array([r[1] for r in rows], dtype="string")})


def weighted(result, level: str = "municipality") -> dict[tuple[int, str], float]:
    """(year, unit) -> births, a split birth counted by its shares; computed from the
    births table and the shares table as a user would, not by the package."""
    out: dict[tuple[int, str], float] = {}
    split = result.shares[result.shares["level"] == level]
    shared = set(split["birth_id"])
    year = dict(zip(result.births["birth_id"], result.births["year"], strict=True))
    for bid, unit in zip(result.births["birth_id"], result.births[level], strict=True):
        if bid not in shared:
            out[(year[bid], unit)] = out.get((year[bid], unit), 0.0) + 1.0
    for row in split.itertuples():
        key = (year[row.birth_id], row.unit)
        out[key] = out.get(key, 0.0) + row.share
    return out


MERGER_AND_SPLIT = crosswalk(("A", "C", "2024-01-01", 1), ("B", "C", "2024-01-01", 1),
                             ("S", "P", "2024-01-01", 0.6), ("S", "Q", "2024-01-01", 0.4))


def test_a_merger_and_a_split_across_two_years_keep_their_totals():
    """2023: A 3, B 2, S 10 births; 2024 (after the changes): C 4, P 3, Q 2."""
    data = births((2023, "A", 3), (2023, "B", 2), (2023, "S", 10), (2024, "C", 4),
                  (2024, "P", 3), (2024, "Q", 2))
    result = harmonise(data, MERGER_AND_SPLIT, 2024)
    counts = weighted(result)
    assert counts[(2023, "C")] == 5  # = A + B
    assert counts[(2023, "P")] == pytest.approx(6, abs=1e-12)  # 0.6 x 10
    assert counts[(2023, "Q")] == pytest.approx(4, abs=1e-12)  # 0.4 x 10
    assert counts[(2024, "C")] == 4 and counts[(2024, "P")] == 3 and counts[(2024, "Q")] == 2
    for year, before in ((2023, 15), (2024, 9)):  # totals per year before = after
        assert sum(v for (y, _), v in counts.items() if y == year) == pytest.approx(
            before, abs=1e-12)
    assert len(result.births) == 24 and list(result.births["birth_id"]) == list(
        data["birth_id"])
    assert (result.n_births, result.n_recoded, result.n_split) == (24, 15, 10)


def test_a_split_birth_holds_its_largest_piece_and_every_piece_in_the_shares():
    result = harmonise(births((2023, "S", 2)), MERGER_AND_SPLIT, 2024)
    assert list(result.births["municipality"]) == ["P", "P"]
    assert list(result.shares.columns) == ["birth_id", "level", "unit", "share"]
    assert result.shares.to_dict("list") == {
        "birth_id": ["b0", "b0", "b1", "b1"], "level": ["municipality"] * 4,
        "unit": ["P", "Q", "P", "Q"], "share": [0.6, 0.4, 0.6, 0.4]}
    assert result.log.to_dict("list") == {
        "birth_id": ["b0", "b0", "b1", "b1"], "year": [2023] * 4, "old_code": ["S"] * 4,
        "new_code": ["P", "Q", "P", "Q"], "share": [0.6, 0.4, 0.6, 0.4],
        "date": ["2024-01-01"] * 4}


def test_ties_between_pieces_go_to_the_first_code():
    table = crosswalk(("S", "Z", "2024-01-01", 0.5), ("S", "M", "2024-01-01", 0.5))
    assert list(harmonise(births((2023, "S", 1)), table, 2024).births["municipality"]) == ["M"]


def test_changes_chain():
    """A -> B (2019), B -> C (2022): a birth of 2018 in A is in C by 2022."""
    table = crosswalk(("A", "B", "2019-01-01", 1), ("B", "C", "2022-01-01", 1))
    data = births((2018, "A", 1), (2020, "B", 1), (2022, "C", 1))
    result = harmonise(data, table, 2024)
    assert list(result.births["municipality"]) == ["C", "C", "C"]
    assert result.log[["old_code", "new_code", "date"]].values.tolist() == [
        ["A", "C", "2022-01-01"], ["B", "C", "2022-01-01"]]
    to_2021 = harmonise(data, table, 2021)  # the 2022 birth is renamed back: C had one source
    assert list(to_2021.births["municipality"]) == ["B", "B", "B"]
    assert to_2021.n_backward == 1


def test_a_split_then_a_merger_of_one_piece():
    """S -> P .6 / Q .4 (2020); P + R -> T (2022): a birth of 2019 in S is .6 T, .4 Q."""
    table = crosswalk(("S", "P", "2020-01-01", 0.6), ("S", "Q", "2020-01-01", 0.4),
                      ("P", "T", "2022-01-01", 1), ("R", "T", "2022-01-01", 1))
    result = harmonise(births((2019, "S", 1), (2021, "P", 1), (2021, "R", 1)), table, 2022)
    assert list(result.births["municipality"]) == ["T", "T", "T"]
    assert result.shares[["unit", "share"]].values.tolist() == [["Q", 0.4], ["T", 0.6]]


def test_reference_date_rule():
    """X gives 10% to Y on 2022-01-01: a birth of 2021 in X is split, one of 2022 is not
    (its code is already that of 1 January 2022). A change on 2022-07-01 counts from the
    reference year 2023 on."""
    table = crosswalk(("X", "X", "2022-01-01", 0.9), ("X", "Y", "2022-01-01", 0.1),
                      ("A", "B", "2022-07-01", 1))
    data = births((2021, "X", 1), (2022, "X", 1), (2022, "A", 1))
    result = harmonise(data, table, 2022)
    assert result.shares[["birth_id", "unit", "share"]].values.tolist() == [
        ["b0", "X", 0.9], ["b0", "Y", 0.1]]
    assert list(result.births["municipality"]) == ["X", "X", "A"]
    assert list(harmonise(data, table, 2023).births["municipality"]) == ["X", "X", "B"]
    before = harmonise(data, table, 2021)  # 2022 births taken back to 1 January 2021
    assert list(before.births["municipality"]) == ["X", "X", "A"]
    assert before.shares.empty


def test_births_after_the_reference_year_in_a_merged_municipality_are_an_error():
    data = births((2023, "A", 1), (2024, "C", 4))
    with pytest.raises(DataError, match=r"municipality: 1 codes of births after the "
                       r"reference year 2023.*C \(formed on 2024-01-01; 4 births of 2024\)"
                       r".*Choose a reference year of 2024 or later"):
        harmonise(data, MERGER_AND_SPLIT, 2023)


def test_a_piece_of_a_split_goes_back_to_its_old_code():
    result = harmonise(births((2024, "P", 2), (2024, "Q", 1)), MERGER_AND_SPLIT, 2023)
    assert list(result.births["municipality"]) == ["S", "S", "S"]
    assert result.n_backward == 3 and result.shares.empty


def test_a_code_abolished_before_its_year_is_an_error():
    table = crosswalk(("A", "B", "2019-01-01", 1))
    with pytest.raises(DataError, match=r"municipality: 1 codes were abolished.*A \(ended "
                       r"2019-01-01; 2 births of 2020\)"):
        harmonise(births((2020, "A", 2)), table, 2024)


REGIONS = RegionTable.from_frame(pd.DataFrame({
    "municipality": ["C", "P", "Q", "D", "A", "B", "S", "D"],
    "year": [2024, 2024, 2024, 2024, 2023, 2023, 2023, 2023],
    "ggd_region": ["G1", "G1", "G2", "G2", "G1", "G1", "G1", "G1"],
    "vsv": ["V1", "V1", "V1", "V2", "V1", "V1", "V1", "V2"]}))


def test_unit_columns_come_from_the_region_table_of_the_reference_year():
    """D moved from G1 (2023) to G2 (2024): harmonised to 2024 its births are in G2."""
    data = births((2023, "D", 2), (2023, "A", 1)).assign(ggd_region="old")
    result = harmonise(data, MERGER_AND_SPLIT, 2024, regions=REGIONS)
    assert list(result.births["ggd_region"]) == ["G2", "G2", "G1"]
    assert list(result.births["vsv"]) == ["V2", "V2", "V1"]
    assert result.levels == ("ggd_region", "vsv")
    to_2023 = harmonise(data, MERGER_AND_SPLIT, 2023, regions=REGIONS)
    assert list(to_2023.births["ggd_region"]) == ["G1", "G1", "G1"]


def test_shares_list_a_derived_level_only_where_the_pieces_differ():
    """S -> P (G1, V1) .6 and Q (G2, V1) .4: two GGD regions, one VSV."""
    result = harmonise(births((2023, "S", 1)), MERGER_AND_SPLIT, 2024, regions=REGIONS)
    assert result.shares[["level", "unit", "share"]].values.tolist() == [
        ["municipality", "P", 0.6], ["municipality", "Q", 0.4],
        ["ggd_region", "G1", 0.6], ["ggd_region", "G2", 0.4]]
    assert list(result.births["ggd_region"]) == ["G1"]  # the largest piece's region


def test_codes_not_in_the_tables_are_an_error_naming_them_and_their_births():
    data = births((2024, "Z", 12), (2024, "C", 1), (2024, "Y", 3))
    with pytest.raises(DataError) as caught:
        harmonise(data, MERGER_AND_SPLIT, 2024, regions=REGIONS)
    message = str(caught.value)
    assert message.startswith("municipality: 2 codes are neither in the crosswalk nor in the "
                              "region table for 2024: Y (3 births), Z (12 births)")
    assert "Add these municipalities to the region table of 2024" in message


def test_a_crosswalk_code_missing_from_the_region_table_is_named_too():
    regions = RegionTable.from_frame(pd.DataFrame({"municipality": ["P", "Q"],
                                                   "year": [2024, 2024]}))
    with pytest.raises(DataError, match=r"1 codes are \(after harmonising\) not in the region "
                       r"table for 2024: C \(2 births\)"):
        harmonise(births((2023, "A", 2)), MERGER_AND_SPLIT, 2024, regions=regions)


def test_missing_codes_stay_missing_and_are_counted():
    result = harmonise(births((2023, None, 2), (2023, "A", 1)), MERGER_AND_SPLIT, 2024)
    assert result.births["municipality"].isna().tolist() == [True, True, False]
    assert (result.n_missing, result.n_recoded) == (2, 1)


def test_missing_columns_and_years_are_errors():
    with pytest.raises(DataError, match="no column year"):
        harmonise(births((2023, "A", 1)).drop(columns="year"), MERGER_AND_SPLIT, 2024)
    data = births((2023, "A", 1)).astype({"year": "Int64"})
    data.loc[0, "year"] = pd.NA
    with pytest.raises(DataError, match="year: 1 births have no year"):
        harmonise(data, MERGER_AND_SPLIT, 2024)


def test_totals_are_preserved_on_a_larger_random_table():
    """Independent check: every birth contributes weight 1 in total, per year."""
    rng = np.random.default_rng(4)
    codes = rng.choice(["A", "B", "S", "C", "P", "Q"], size=5000)
    year = np.where(np.isin(codes, ["A", "B", "S"]), 2023, 2024)
    data = pd.DataFrame({"birth_id": [f"b{i}" for i in range(5000)], "year": year,
                         "municipality": codes})
    counts = weighted(harmonise(data, MERGER_AND_SPLIT, 2024))
    for y in (2023, 2024):
        assert sum(v for (yy, _), v in counts.items() if yy == y) == pytest.approx(
            int((year == y).sum()), abs=1e-9)
    n_s = int(((codes == "S")).sum())
    assert counts[(2023, "P")] == pytest.approx(0.6 * n_s, abs=1e-9)


def test_the_unit_year_table_counts_every_year_on_the_reference_boundaries():
    data = births((2023, "A", 3), (2023, "B", 2), (2023, "S", 10), (2024, "C", 4),
                  (2024, "P", 3), (2024, "Q", 2))
    table = harmonise(data, MERGER_AND_SPLIT, 2024, regions=REGIONS)
    by_unit = table.unit_years().set_index(["unit", "year"])["births"]
    assert by_unit.to_dict() == pytest.approx({("C", 2023): 5, ("C", 2024): 4, ("P", 2023): 6,
                                               ("P", 2024): 3, ("Q", 2023): 4, ("Q", 2024): 2},
                                              abs=1e-12)
    ggd = table.unit_years("ggd_region").set_index(["unit", "year"])["births"]
    # G1: C and P (2023: 5 + 6, 2024: 4 + 3); G2: Q (2023: 4, 2024: 2)
    assert ggd.to_dict() == pytest.approx({("G1", 2023): 11, ("G1", 2024): 7,
                                           ("G2", 2023): 4, ("G2", 2024): 2}, abs=1e-12)


def test_expanded_births_repeat_a_split_birth_per_piece_with_its_share():
    data = births((2023, "A", 1), (2023, "S", 1), (2024, "C", 1))
    wide = harmonise(data, MERGER_AND_SPLIT, 2024, regions=REGIONS).expanded()
    assert wide[["birth_id", "municipality", "ggd_region", "share"]].values.tolist() == [
        ["b0", "C", "G1", 1.0], ["b1", "P", "G1", 0.6], ["b1", "Q", "G2", 0.4],
        ["b2", "C", "G1", 1.0]]


def test_the_births_keep_their_index():
    data = births((2023, "A", 1), (2023, "S", 1), (2024, "C", 1)).set_axis([10, 5, 7])
    result = harmonise(data, MERGER_AND_SPLIT, 2024, regions=REGIONS)
    assert list(result.births.index) == [10, 5, 7]
    assert list(result.births["municipality"]) == ["C", "P", "C"]
    assert list(result.births["ggd_region"]) == ["G1", "G1", "G1"]
