"""Validation of births tables: every error path, impossible values under each policy,
missing covariates and label normalisation. All counts below are counted by hand from the
small tables built in each test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from casemix import DataError, validate_births
from casemix.records.exclusions import ExclusionLog

NA = pd.NA


def births(n: int, **columns) -> pd.DataFrame:
    """Minimal valid table of ``n`` births (ids b0.., year 2020, 40+0 weeks) plus ``columns``."""
    frame = pd.DataFrame({
        "birth_id": [f"b{i}" for i in range(n)],
        "year": [2020] * n,
        "gestational_age_days": [280] * n,
    })
    for name, values in columns.items():
        frame[name] = values
    return frame


def only_error(report, column: str):
    """The single error problem for ``column``."""
    errs = [p for p in report.errors if p.column == column]
    assert len(errs) == 1, report.errors
    return errs[0]


def log_dict(report) -> dict:
    return {(r.stage, r.scope, r.reason): r.n_rows
            for r in report.exclusions.to_frame().itertuples()}


# --- a valid table ---------------------------------------------------------------------------


def test_valid_table_is_typed_and_complete():
    raw = births(
        3,
        birthweight_g=[3000.0, 2500.0, 4000.0],
        infant_sex=["female", "male", "female"],
        plurality=[1, 2, 2],
        fetal_death=[0, 1, 0],
        neonatal_death_day=[np.nan, np.nan, 2],
        neighbourhood_ses=[0.5, -1.25, np.nan],
        vsv=[101.0, 102.0, 101.0],
    )
    report = validate_births(raw)
    assert report.ok
    assert report.n_input == 3
    assert report.n_excluded == 0
    b = report.births
    assert str(b["birth_id"].dtype) == "string"
    assert str(b["year"].dtype) == "Int64"
    assert str(b["gestational_age_days"].dtype) == "Int64"
    assert str(b["birthweight_g"].dtype) == "Int64"
    assert str(b["fetal_death"].dtype) == "boolean"
    assert str(b["neighbourhood_ses"].dtype) == "float64"
    assert list(b["infant_sex"].cat.categories) == ["female", "male"]
    assert b["fetal_death"].tolist() == [False, True, False]
    assert b["birthweight_g"].tolist() == [3000, 2500, 4000]
    # numeric unit codes become strings without a trailing ".0"
    assert b["vsv"].tolist() == ["101", "102", "101"]
    assert b["neonatal_death_period"].astype(object).where(b["neonatal_death_period"].notna(),
                                                           None).tolist() == [None, None,
                                                                              "early"]


def test_invalid_policy_name_is_rejected():
    with pytest.raises(ValueError, match="invalid"):
        validate_births(births(1), invalid="drop")


def test_extra_columns_kept_or_dropped():
    raw = births(2, weight_factor=[1.5, 2.5])
    assert validate_births(raw).births["weight_factor"].tolist() == [1.5, 2.5]
    assert "weight_factor" not in validate_births(raw, extra_columns=False).births


# --- error paths -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "drop",
    [["birth_id"], ["year"], ["gestational_age_days"], ["year", "gestational_age_days"]],
)
def test_missing_required_columns(drop):
    """Two rows without the required column(s): one error naming each missing column and the
    columns that were found; nothing is kept."""
    raw = births(2, birthweight_g=[3000, 3100]).drop(columns=drop)
    report = validate_births(raw)
    assert not report.ok
    assert len(report.errors) == 1
    err = report.errors[0]
    assert err.column == ",".join(drop)
    for name in drop:
        assert name in err.message
    assert "birthweight_g" in err.message  # the columns that were found
    assert err.n_rows == 2
    assert len(report.births) == 0
    with pytest.raises(DataError, match=drop[0]):
        report.raise_for_errors()


def test_non_numeric_values_in_numeric_column():
    """'abc' twice and 'x' once: 3 rows, both values named with their counts."""
    raw = births(5)
    raw["gestational_age_days"] = ["280", "abc", "abc", "x", "275"]
    report = validate_births(raw)
    err = only_error(report, "gestational_age_days")
    assert "'gestational_age_days'" in err.message
    assert "3 rows" in err.message
    assert "'abc' (2 rows)" in err.message
    assert "'x' (1 rows)" in err.message
    assert err.n_rows == 3
    assert len(report.births) == 0


def test_fractional_values_in_int_column():
    """parity 0, 1.5, 1.5, 2.25, 2: three fractional rows (1.5 twice, 2.25 once)."""
    raw = births(5, parity=[0, 1.5, 1.5, 2.25, 2])
    report = validate_births(raw)
    err = only_error(report, "parity")
    assert "'parity'" in err.message
    assert "3 rows" in err.message
    assert "1.5 (2 rows)" in err.message
    assert "2.25 (1 rows)" in err.message
    assert err.n_rows == 3


def test_fractional_values_allowed_in_float_column():
    raw = births(2, birthweight_percentile=[9.99, 10.0])
    report = validate_births(raw)
    assert report.ok
    assert report.births["birthweight_percentile"].tolist() == [9.99, 10.0]


def test_unknown_category_labels():
    """education: 'uni' twice, 'college' once (3 rows); infant_sex 'X' once."""
    raw = births(5, education=["low", "uni", "uni", "college", None],
                 infant_sex=["female", "male", "X", None, "female"])
    report = validate_births(raw)
    err = only_error(report, "education")
    assert "'education'" in err.message
    assert "3 rows" in err.message
    assert "'uni' (2 rows)" in err.message
    assert "'college' (1 rows)" in err.message
    assert err.n_rows == 3
    err = only_error(report, "infant_sex")
    assert "'X' (1 rows)" in err.message
    assert err.n_rows == 1


def test_unknown_boolean_words():
    """fetal_death: 'maybe' twice and 'unknown' once are not boolean words (3 rows)."""
    raw = births(6, fetal_death=["ja", "maybe", "nee", "maybe", "unknown", None])
    report = validate_births(raw)
    err = only_error(report, "fetal_death")
    assert "'fetal_death'" in err.message
    assert "3 rows" in err.message
    assert "'maybe' (2 rows)" in err.message
    assert "'unknown' (1 rows)" in err.message
    assert err.n_rows == 3


@pytest.mark.parametrize(
    ("word", "value"),
    [("ja", True), ("J", True), ("yes", True), (" Y ", True), ("true", True), ("T", True),
     ("1", True), (1, True), (1.0, True), (True, True),
     ("nee", False), ("N", False), ("no", False), ("False", False), ("f", False),
     ("0", False), (0, False), (0.0, False), (False, False)],
)
def test_boolean_words(word, value):
    raw = births(2, fetal_death=pd.Series([word, None], dtype=object))
    report = validate_births(raw)
    assert report.ok, report.errors
    assert report.births["fetal_death"].tolist()[0] is value
    assert report.births["fetal_death"].isna().tolist() == [False, True]


def test_missing_birth_id():
    raw = births(4)
    raw["birth_id"] = ["a", None, np.nan, "d"]
    report = validate_births(raw)
    err = only_error(report, "birth_id")
    assert "birth_id" in err.message
    assert "missing" in err.message
    assert "2 rows" in err.message
    assert err.n_rows == 2


def test_duplicated_birth_id():
    """ids a, a, b, b, b, c: five rows share two ids."""
    raw = births(6)
    raw["birth_id"] = ["a", "a", "b", "b", "b", "c"]
    report = validate_births(raw)
    err = only_error(report, "birth_id")
    assert "unique" in err.message
    assert "5 rows" in err.message
    assert "'a' (2 rows)" in err.message
    assert "'b' (3 rows)" in err.message
    assert err.n_rows == 5


def test_birth_ids_left_to_the_caller():
    """check_ids=False (the engines, which check a whole source's ids in one query): shared
    and missing ids are not this table's problem; the ids are still typed and trimmed."""
    raw = births(6)
    raw["birth_id"] = [" a", "a", "b", None, "b", "c"]
    report = validate_births(raw, check_ids=False)
    assert report.ok
    assert not [p for p in report.problems if p.column == "birth_id"]
    assert report.births["birth_id"].tolist()[:3] == ["a", "a", "b"]
    assert len(report.births) == 6


def test_numeric_birth_ids_are_not_duplicates_of_each_other():
    raw = births(3)
    raw["birth_id"] = [1.0, 2.0, 3.0]
    report = validate_births(raw)
    assert report.ok
    assert report.births["birth_id"].tolist() == ["1", "2", "3"]


def test_neonatal_death_period_contradicting_day():
    """Day 12 is 'late' but the period says 'early'; day 2 with 'early' is consistent;
    a period without a day is accepted."""
    raw = births(4, neonatal_death_day=[12, 2, np.nan, np.nan],
                 neonatal_death_period=["early", "early", "late", None])
    report = validate_births(raw)
    err = only_error(report, "neonatal_death_period")
    assert "'neonatal_death_period'" in err.message
    assert "'neonatal_death_day'" in err.message
    assert "1 rows" in err.message
    assert err.n_rows == 1


def test_neonatal_death_period_contradiction_names_the_values():
    raw = births(2, neonatal_death_day=[12, 12],
                 neonatal_death_period=["early", "early"])
    err = only_error(validate_births(raw), "neonatal_death_period")
    assert "12" in err.message
    assert "'early'" in err.message
    assert "2 rows" in err.message


def test_neonatal_death_period_derived_from_day():
    """Day 0-6 early, 7-27 late, 28+ post-neonatal; no day -> no period."""
    raw = births(7, neonatal_death_day=[0, 6, 7, 27, 28, 366, np.nan])
    report = validate_births(raw)
    period = report.births["neonatal_death_period"]
    assert [None if pd.isna(v) else v for v in period] == [
        "early", "early", "late", "late", "post_neonatal", "post_neonatal", None]


def test_all_errors_reported_together():
    """Four independent errors in one table are all listed (not only the first)."""
    raw = births(3, parity=[0, 1.5, 1], education=["low", "uni", None],
                 fetal_death=["ja", "nee", "?"])
    raw["birth_id"] = ["a", "a", "c"]
    report = validate_births(raw)
    assert sorted(p.column for p in report.errors) == ["birth_id", "education", "fetal_death",
                                                       "parity"]
    with pytest.raises(DataError, match="4 fatal problem"):
        report.raise_for_errors()
    assert report.n_excluded == 3
    assert "FAILED (4 error(s))" in str(report)


# --- impossible values under each policy ----------------------------------------------------

GA_OUT = "gestational_age_days outside 140..315"
BW_OUT = "birthweight_g outside 200..6500"
AGE_OUT = "maternal_age outside 12..60"
PAR_OUT = "parity outside 0..25"


def impossible_table() -> pd.DataFrame:
    """Rows 0-2 valid (row 1 at every lower bound, row 2 at every upper bound); then one
    impossible value per row: GA 139, GA 316, weight 199, weight 6501, age 11, age 61, parity -1.
    Hand count: GA 2 rows, weight 2, maternal age 2, parity 1; 3 rows valid."""
    return births(
        10,
        gestational_age_days=[280, 140, 315, 139, 316, 280, 280, 280, 280, 280],
        birthweight_g=[3000, 200, 6500, 3000, 3000, 199, 6501, 3000, 3000, 3000],
        maternal_age=[30, 12, 60, 30, 30, 30, 30, 11, 61, 30],
        parity=[1, 0, 25, 1, 1, 1, 1, 1, 1, -1],
    )


def test_impossible_values_policy_exclude():
    """Every impossible row is excluded from all analyses, counted under its reason."""
    report = validate_births(impossible_table(), invalid="exclude")
    assert report.ok
    assert report.births["birth_id"].tolist() == ["b0", "b1", "b2"]
    assert report.n_excluded == 7
    assert log_dict(report) == {
        ("validation", "all", GA_OUT): 2,
        ("validation", "all", BW_OUT): 2,
        ("validation", "all", AGE_OUT): 2,
        ("validation", "all", PAR_OUT): 1,
    }
    assert report.exclusions.total("all") == 7
    warn = {p.column: p for p in report.warnings}
    assert "139 (1 rows)" in warn["gestational_age_days"].message
    assert "316 (1 rows)" in warn["gestational_age_days"].message
    assert warn["parity"].n_rows == 1
    assert "-1 (1 rows)" in warn["parity"].message


def test_impossible_values_policy_missing():
    """Weight, maternal age and parity may be missing: set to missing and counted per column.
    Gestational age may not: those 2 rows are still excluded."""
    report = validate_births(impossible_table(), invalid="missing")
    assert report.ok
    b = report.births
    assert b["birth_id"].tolist() == ["b0", "b1", "b2", "b5", "b6", "b7", "b8", "b9"]
    assert log_dict(report) == {
        ("validation", "all", GA_OUT): 2,
        ("validation", "birthweight_g", BW_OUT + ": value set to missing"): 2,
        ("validation", "maternal_age", AGE_OUT + ": value set to missing"): 2,
        ("validation", "parity", PAR_OUT + ": value set to missing"): 1,
    }
    assert b["birthweight_g"].isna().tolist() == [False] * 3 + [True] * 2 + [False] * 3
    assert b["maternal_age"].isna().tolist() == [False] * 5 + [True] * 2 + [False]
    assert b["parity"].isna().tolist() == [False] * 7 + [True]
    # boundary values are untouched
    assert b["birthweight_g"].iloc[1:3].tolist() == [200, 6500]
    assert b["maternal_age"].iloc[1:3].tolist() == [12, 60]


def test_impossible_values_policy_error():
    """Each rule becomes an error naming the column, the values and the row count; nothing is
    logged as excluded."""
    report = validate_births(impossible_table(), invalid="error")
    assert not report.ok
    errs = {p.column: p for p in report.errors}
    assert set(errs) == {"gestational_age_days", "birthweight_g", "maternal_age", "parity"}
    assert errs["gestational_age_days"].n_rows == 2
    assert "139 (1 rows)" in errs["gestational_age_days"].message
    assert "316 (1 rows)" in errs["gestational_age_days"].message
    assert "2 rows" in errs["gestational_age_days"].message
    assert "199 (1 rows)" in errs["birthweight_g"].message
    assert "6501 (1 rows)" in errs["birthweight_g"].message
    assert "11 (1 rows)" in errs["maternal_age"].message
    assert "61 (1 rows)" in errs["maternal_age"].message
    assert "-1 (1 rows)" in errs["parity"].message
    assert errs["parity"].n_rows == 1
    log = report.exclusions.to_frame()  # nothing is usable, and the log says so (issue 16)
    assert len(log) == 1 and log["n_rows"].iloc[0] == report.n_input
    assert log["reason"].iloc[0].startswith("not usable: fatal problem(s)")
    with pytest.raises(DataError):
        report.raise_for_errors()


def test_impossible_values_policy_error_keeps_no_rows():
    report = validate_births(impossible_table(), invalid="error")
    assert not report.ok
    assert len(report.births) == 0


def test_exclude_counts_a_row_under_its_first_reason():
    """Row 1 has GA 139 *and* weight 100: it is counted once, under gestational age; the weight
    rule hits 2 rows (rows 1 and 2) but excludes only 1 new row."""
    raw = births(3, gestational_age_days=[280, 139, 280], birthweight_g=[3000, 100, 100])
    report = validate_births(raw)
    assert log_dict(report) == {("validation", "all", GA_OUT): 1,
                                ("validation", "all", BW_OUT): 1}
    assert report.births["birth_id"].tolist() == ["b0"]
    warn = {p.column: p for p in report.warnings}
    assert warn["birthweight_g"].n_rows == 2
    assert "1 rows excluded" in warn["birthweight_g"].message


@pytest.mark.parametrize(
    ("column", "lo", "hi", "step"),
    [
        ("year", 1990, 2100, 1),
        ("gestational_age_days", 140, 315, 1),
        ("birthweight_g", 200, 6500, 1),
        ("birthweight_percentile", 0, 100, 0.01),
        ("plurality", 1, 8, 1),
        ("parity", 0, 25, 1),
        ("maternal_age", 12, 60, 1),
        ("neonatal_death_day", 0, 366, 1),
        ("income_quintile", 1, 5, 1),
        ("urbanisation", 1, 5, 1),
    ],
)
def test_plausible_range_bounds_are_inclusive(column, lo, hi, step):
    """lo - step and hi + step are impossible (2 rows excluded), lo and hi are fine."""
    raw = births(4)
    raw[column] = [lo - step, lo, hi, hi + step]
    report = validate_births(raw, invalid="exclude")
    assert report.ok
    assert report.births["birth_id"].tolist() == ["b1", "b2"]
    assert log_dict(report) == {("validation", "all", f"{column} outside {lo:g}..{hi:g}"): 2}


@pytest.mark.parametrize("invalid", ["exclude", "missing"])
def test_fetal_death_with_neonatal_death_is_excluded(invalid):
    """A stillbirth cannot die neonatally: excluded under both policies (it is not a value
    that can be set to missing)."""
    raw = births(3, fetal_death=[True, False, True], neonatal_death_day=[2, 2, np.nan])
    report = validate_births(raw, invalid=invalid)
    assert report.births["birth_id"].tolist() == ["b1", "b2"]
    assert log_dict(report) == {
        ("validation", "all", "fetal death with a neonatal death recorded"): 1}


def test_missing_gestational_age_or_year_is_excluded():
    raw = births(4)
    raw["gestational_age_days"] = [280, np.nan, 280, 280]
    raw["year"] = [2020, 2020, np.nan, np.nan]
    report = validate_births(raw, invalid="missing")
    assert report.births["birth_id"].tolist() == ["b0"]
    assert log_dict(report) == {("validation", "all", "gestational_age_days missing"): 1,
                                ("validation", "all", "year missing"): 2}


# --- missing covariates and labels ------------------------------------------------------------


def test_missing_covariates_are_kept_and_reported():
    """Four births: income missing in 2, education in 1, migration background in 3,
    neighbourhood SES in 1, vsv in 1. Nothing is dropped; each is reported with its count."""
    raw = births(
        4,
        income_quintile=[1, np.nan, np.nan, 5],
        education=["low", None, "high", "middle"],
        migration_background=[None, None, None, "dutch"],
        neighbourhood_ses=[0.1, np.nan, 0.3, 0.4],
        vsv=["v1", "v2", None, "v1"],
    )
    report = validate_births(raw)
    assert report.ok
    assert len(report.births) == 4
    assert report.n_excluded == 0
    assert report.exclusions.to_frame().empty
    info = {p.column: p for p in report.problems if p.severity == "info"}
    assert info["income_quintile"].n_rows == 2
    assert "2 rows" in info["income_quintile"].message
    assert "50.0%" in info["income_quintile"].message
    assert info["education"].n_rows == 1
    assert info["migration_background"].n_rows == 3
    assert "75.0%" in info["migration_background"].message
    assert info["neighbourhood_ses"].n_rows == 1
    warn = {p.column: p for p in report.warnings}
    assert warn["vsv"].n_rows == 1
    assert report.births["income_quintile"].isna().sum() == 2
    assert report.births["migration_background"].isna().sum() == 3
    frame = report.to_frame()
    assert list(frame.columns) == ["severity", "column", "message", "n_rows"]
    assert len(frame) == len(report.problems)


def test_label_normalisation():
    """Labels are trimmed and lower-cased; an empty label is missing."""
    raw = births(
        5,
        infant_sex=[" Female ", "MALE", "female", "", None],
        education=[" High ", "LOW", "Middle", "high", None],
        migration_background=["Dutch", " other_nonwestern", "SURINAMESE", "", "turkish"],
    )
    report = validate_births(raw)
    assert report.ok, report.errors
    b = report.births

    def as_list(col):
        return [None if pd.isna(v) else v for v in b[col]]

    assert as_list("infant_sex") == ["female", "male", "female", None, None]
    assert as_list("education") == ["high", "low", "middle", "high", None]
    assert as_list("migration_background") == ["dutch", "other_nonwestern", "surinamese",
                                               None, "turkish"]
    assert list(b["education"].cat.categories) == ["low", "middle", "high"]


# --- exclusion log ---------------------------------------------------------------------------


def test_exclusion_log_basics():
    log = ExclusionLog()
    log.add("validation", "all", "a", 3)
    log.add("validation", "all", "zero", 0)  # zero counts are not recorded
    log.add("indicators", "sga", "b", 2)
    other = ExclusionLog()
    other.add("comparison", "vsv", "vsv missing", 4)
    log.extend(other)
    assert len(log) == 3
    assert log.total("all") == 3
    assert log.total("sga") == 2
    assert log.total("vsv") == 4
    frame = log.to_frame()
    assert list(frame.columns) == ["stage", "scope", "reason", "n_rows"]
    assert frame["n_rows"].dtype == np.int64
    assert frame["n_rows"].tolist() == [3, 2, 4]
    assert "vsv missing: 4 rows" in repr(log)
    assert repr(ExclusionLog()) == "ExclusionLog(no exclusions)"
    assert ExclusionLog().to_frame().empty


# --- inputs found by the property-based tests ------------------------------------------------


def test_infinite_and_huge_numbers_are_errors_not_crashes():
    """inf and 1e300 cannot be whole numbers: one error naming both rows, not a cast crash."""
    report = validate_births(births(3, birthweight_g=[np.inf, 3000.0, 1e300]))
    err = only_error(report, "birthweight_g")
    assert err.n_rows == 2
    assert "infinite or impossibly large" in err.message
    assert "inf" in err.message and "1e+300" in err.message
    assert report.births.empty


def test_infinite_float_is_an_error():
    report = validate_births(births(2, neighbourhood_ses=[-np.inf, 0.5]))
    assert only_error(report, "neighbourhood_ses").n_rows == 1


def test_huge_numeric_unit_code_stays_a_code():
    """A float code beyond 2**53 cannot become an exact integer; it is kept as written, the
    others lose their '.0'."""
    report = validate_births(births(4, vsv=[9.5e18, 101.0, np.nan, 2.5]))
    assert report.ok, report.errors
    assert report.births["vsv"].tolist()[:2] == ["9.5e+18", "101"]
    assert report.births["vsv"].isna().tolist() == [False, False, True, False]
    assert report.births["vsv"].tolist()[3] == "2.5"


def test_empty_table_has_no_rows_error():
    report = validate_births(births(0))
    err = only_error(report, "")
    assert err.message.startswith("The births table has no rows (columns: birth_id, year, "
                                  "gestational_age_days)")
    assert report.n_input == 0


@pytest.mark.parametrize("dtype", [object, "str"])
def test_unit_codes_differing_in_case_or_spaces_are_one_unit(dtype):
    # counted by hand: key "vsv01" is spelled "VSV01" (3 births), "vsv01" (2), " vsv01 "
    # (1, trimmed to "vsv01": 3 births), a tie broken by sorted order -> "VSV01"; key
    # "gm  a" has "GM A" (1) and "gm a" (2, one of them with inner spaces) -> "gm a";
    # "ZK9" is written as given; a blank code is missing
    codes = ["VSV01", "VSV01", "VSV01", "vsv01", "vsv01", " vsv01 ", "GM A", "gm a",
             "gm  a", "ZK9", "  ", None]
    report = validate_births(births(len(codes), vsv=pd.Series(codes, dtype=dtype)))
    got = report.births["vsv"]
    assert str(got.dtype) == "string"
    assert got.tolist()[:10] == ["VSV01"] * 6 + ["gm a"] * 3 + ["ZK9"]
    assert got.isna().tolist()[10:] == [True, True]
    warn = [p for p in report.warnings if p.column == "vsv" and "differ only" in p.message]
    assert len(warn) == 1 and warn[0].n_rows == 9
    assert warn[0].message == (
        "2 unit code(s) differ only in case or spaces and are taken as one unit, written as "
        "their most frequent spelling: GM A / gm a -> gm a; VSV01 / vsv01 -> VSV01.")


def test_clean_unit_codes_are_the_column_as_text():
    # every code written as given: the values are the column's, as nullable strings
    codes = pd.Series(["U1", "U2", None, "U1"], dtype="str")
    got = validate_births(births(4, vsv=codes)).births["vsv"]
    assert str(got.dtype) == "string"
    assert got.tolist()[:2] == ["U1", "U2"] and got.isna().tolist() == [False, False, True,
                                                                         False]
