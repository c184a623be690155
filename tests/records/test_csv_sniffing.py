"""CSV files as users bring them: Dutch Excel exports (';', decimal comma, cp1252), tab- and
pipe-separated text, UTF-8 with a byte-order mark, UTF-16, header-only and empty files, ragged
lines, wrong settings given explicitly. Each case checks the values read, what the reader says
it assumed, and that errors name the file, the line and the fix."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

from casemix import DataError, load_births, validate_births
from casemix.exceptions import DataWarning, ParameterError
from casemix.records import ReadAssumptions, read_table, sniff_csv
from casemix.records.sniffing import SNIFF_BYTES

HEADER = "birth_id;year;gestational_age_days;birthweight_g;birthweight_percentile;municipality"
#: A Dutch Excel "CSV (puntkomma-gescheiden)" export: ';', decimal comma, CRLF, cp1252.
DUTCH_ROWS = [
    "k1;2021;280;3500;50,5;Súdwest-Fryslân",
    "k2;2021;259;2437;10;0363",
    "k3;2022;223;1500;3,25;'s-Hertogenbosch",
]


def write(path: Path, lines: list[str], encoding: str = "utf-8", end: str = "\n") -> Path:
    path.write_bytes((end.join(lines) + end).encode(encoding))
    return path


def dutch_export(tmp_path: Path) -> Path:
    return write(tmp_path / "export.csv", [HEADER, *DUTCH_ROWS], "cp1252", "\r\n")


# --- formats that work --------------------------------------------------------------------------


def test_dutch_excel_export_is_sniffed_and_read(tmp_path):
    report = load_births(dutch_export(tmp_path))
    a = report.read_assumptions
    assert isinstance(a, ReadAssumptions)
    assert (a.sep, a.decimal, a.encoding) == (";", ",", "cp1252")
    assert set(a.sniffed) == {"sep", "decimal", "encoding"}
    # the first non-ASCII byte: 'ú' (0xfa) in line 2, after the header and "k1;...;50,5;S"
    offset = len(HEADER) + 2 + len("k1;2021;280;3500;50,5;S")
    assert a.evidence["encoding"] == f"byte 0xfa at offset {offset} (line 2) is not UTF-8"
    assert a.evidence["decimal"] == "numbers such as '50,5'"
    b = report.births
    assert b["birthweight_percentile"].tolist() == [50.5, 10.0, 3.25]
    assert b["municipality"].tolist() == ["Súdwest-Fryslân", "0363", "'s-Hertogenbosch"]
    assert b["birthweight_g"].tolist() == [3500, 2437, 1500]
    # the reader says what it assumed, as the first line of the report
    first = report.problems[0]
    assert first.severity == "info"
    assert first.message.startswith("Read export.csv as CSV: delimiter ';' (sniffed), decimal "
                                     "mark ',' (sniffed: numbers such as '50,5'), encoding "
                                     "cp1252 (sniffed: byte 0xfa")
    assert "Read export.csv as CSV" in str(report)


def test_dutch_export_with_every_setting_given(tmp_path):
    report = load_births(dutch_export(tmp_path), sep=";", decimal=",", encoding="cp1252")
    a = report.read_assumptions
    assert a.sniffed == ()
    assert a.describe() == ("Read export.csv as CSV: delimiter ';' (given), decimal mark ',' "
                            "(given), encoding cp1252 (given).")
    assert report.births["birthweight_percentile"].tolist() == [50.5, 10.0, 3.25]
    assert a.to_dict()["sniffed"] == []


@pytest.mark.parametrize(("sep", "given"), [("\t", "tab"), ("\t", "\\t"), ("\t", None),
                                            ("|", None), ("|", "|")])
def test_tab_and_pipe_separated(tmp_path, sep, given):
    """Excel's "Text (tab-delimited)" writes the locale's decimal comma too."""
    lines = [line.replace(";", sep) for line in [HEADER, *DUTCH_ROWS]]
    report = load_births(write(tmp_path / "births.txt", lines), sep=given)
    assert report.read_assumptions.sep == sep
    assert report.read_assumptions.decimal == ","
    assert report.read_assumptions.encoding == "utf-8"
    assert report.births["birthweight_percentile"].tolist() == [50.5, 10.0, 3.25]
    assert report.births["municipality"].tolist()[0] == "Súdwest-Fryslân"


def test_utf8_with_byte_order_mark(tmp_path):
    lines = ["birth_id,year,gestational_age_days,municipality", "a,2020,280,Súdwest-Fryslân",
             "b,2020,281,0014"]
    path = write(tmp_path / "bom.csv", lines, "utf-8-sig")
    report = load_births(path)
    assert report.read_assumptions.encoding == "utf-8-sig"
    assert report.read_assumptions.evidence["encoding"] == "byte-order mark"
    assert list(report.births.columns[:3]) == ["birth_id", "year", "gestational_age_days"]
    assert report.births["municipality"].tolist() == ["Súdwest-Fryslân", "0014"]
    assert report.renamed == {}


def test_utf16_tab_text_from_excel(tmp_path):
    """Excel's "Unicode text": UTF-16 with a byte-order mark, tab-separated."""
    lines = ["birth_id\tyear\tgestational_age_days\tmunicipality", "a\t2020\t280\tSúdwest-Fryslân"]
    report = load_births(write(tmp_path / "unicode.txt", lines, "utf-16"))
    a = report.read_assumptions
    assert (a.sep, a.encoding) == ("\t", "utf-16")
    assert report.births["municipality"].tolist() == ["Súdwest-Fryslân"]


def test_plain_comma_file_says_what_it_assumed(tmp_path):
    lines = ["birth_id,year,gestational_age_days,birthweight_percentile", "a,2020,280,3.5"]
    report = load_births(write(tmp_path / "plain.csv", lines))
    assert report.problems[0].message == (
        "Read plain.csv as CSV: delimiter ',' (sniffed), decimal mark '.' (sniffed), encoding "
        "utf-8 (sniffed).")
    assert report.births["birthweight_percentile"].tolist() == [3.5]
    assert "split into 4 fields" in report.read_assumptions.describe(verbose=True)


def test_quoted_delimiters_and_newlines_in_values(tmp_path):
    lines = ['birth_id;year;gestational_age_days;note', 'a;2020;280;"x;y"',
             'b;2020;281;"two\nlines"', 'c;2020;282;"say ""hi"""']
    report = load_births(write(tmp_path / "quoted.csv", lines))
    assert report.read_assumptions.sep == ";"
    assert report.births["note"].tolist() == ["x;y", "two\nlines", 'say "hi"']


def test_stray_value_with_decimal_comma_names_only_the_stray_value(tmp_path):
    lines = [HEADER, "a;2020;280;3000;50,5;0363", "b;2020;280;3000;onbekend;0363"]
    report = load_births(write(tmp_path / "stray.csv", lines), errors="report")
    (error,) = report.errors
    assert error.column == "birthweight_percentile"
    assert "'onbekend' (1 rows)" in error.message
    assert "50" not in error.message


def test_leading_zeros_kept_under_any_case_of_the_column_name(tmp_path):
    lines = ["Birth_ID;YEAR;Gestational_Age_Days; Municipality ", "a;2020;280;0363"]
    with pytest.warns(DataWarning, match="renamed"):
        report = load_births(write(tmp_path / "upper.csv", lines))
    assert report.births["municipality"].tolist() == ["0363"]
    assert report.births["birth_id"].tolist() == ["a"]


def test_read_table_attaches_the_assumptions(tmp_path):
    frame = read_table(dutch_export(tmp_path), text_columns=["birth_id", "municipality"])
    a = frame.attrs["read_assumptions"]
    assert (a.sep, a.decimal, a.encoding) == (";", ",", "cp1252")
    assert frame["birthweight_percentile"].tolist() == [50.5, 10.0, 3.25]
    assert frame["municipality"].tolist()[1] == "0363"
    # every column as text: numbers written with a decimal comma get a point
    text = read_table(dutch_export(tmp_path))
    assert text["birthweight_percentile"].tolist() == ["50.5", "10", "3.25"]
    assert text["gestational_age_days"].tolist() == ["280", "259", "223"]


def test_sniff_csv_reads_only_the_head(tmp_path):
    """A byte beyond the first 64 KB does not change the sniffed encoding."""
    row = "a;2020;280;3000;1;0363"
    n = SNIFF_BYTES // len(row) + 10
    lines = [HEADER, *[row] * n, "z;2020;280;3000;1;Súdwest-Fryslân"]
    path = write(tmp_path / "long.csv", lines, "cp1252")
    a = sniff_csv(path)
    assert (a.sep, a.decimal, a.encoding) == (";", ".", "utf-8")


def test_invalid_byte_after_the_sniffed_head_falls_back_to_cp1252(tmp_path):
    row = "a;2020;280;3000;1;0363"
    n = SNIFF_BYTES // len(row) + 10
    lines = [HEADER, *[f"{row[:1]}{i}{row[1:]}" for i in range(n)],
             "z;2020;280;3000;1;Súdwest-Fryslân"]
    path = write(tmp_path / "long.csv", lines, "cp1252")
    report = load_births(path)
    a = report.read_assumptions
    assert a.encoding == "cp1252"
    assert f"(line {n + 2:,}) is not utf-8" in a.evidence["encoding"]
    assert report.births["municipality"].iloc[-1] == "Súdwest-Fryslân"
    assert len(report.births) == n + 1


# --- files that cannot be used ------------------------------------------------------------------


def test_header_only_file_is_a_clear_no_rows_error(tmp_path):
    path = write(tmp_path / "header.csv", ["birth_id;year;gestational_age_days"])
    assert sniff_csv(path).sep == ";"
    with pytest.raises(DataError, match=r"header\.csv has no rows: only a header with 3 "
                                        r"column\(s\) \(birth_id, year, gestational_age_days\)"):
        load_births(path)
    report = load_births(path, errors="report")
    assert report.n_input == 0
    assert [p.severity for p in report.problems] == ["info", "error"]


def test_header_only_parquet_and_empty_frame(tmp_path):
    empty = pd.DataFrame({"birth_id": pd.Series([], dtype=str),
                          "year": pd.Series([], dtype="int64"),
                          "gestational_age_days": pd.Series([], dtype="int64")})
    empty.to_parquet(tmp_path / "empty.parquet")
    with pytest.raises(DataError, match=r"empty\.parquet has no rows"):
        load_births(tmp_path / "empty.parquet")
    with pytest.raises(DataError, match="has no rows"):
        load_births(empty)
    assert not validate_births(empty).ok


@pytest.mark.parametrize("content", [b"", b"\n\r\n  \n"])
def test_empty_file(tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(DataError, match=r"empty\.csv is empty"):
        load_births(path)


def test_ragged_line_names_the_line_and_the_header_width(tmp_path):
    lines = ["birth_id,year,gestational_age_days", "a,2020,280", "b,2020,280,1", "c,2020,280",
             "d,2020"]
    with pytest.raises(DataError) as info:
        load_births(write(tmp_path / "ragged.csv", lines))
    message = str(info.value)
    assert message.startswith("ragged.csv: line 3 has 4 fields, the header (line 1) 3 (also "
                              "line 5).")
    assert "delimiter ',' (sniffed)" in message
    assert "without quotes" in message


def test_ragged_line_after_a_quoted_newline_counts_physical_lines(tmp_path):
    lines = ["birth_id,year,gestational_age_days,note", 'a,2020,280,"one\ntwo"', "b,2020,280"]
    with pytest.raises(DataError, match="line 4 has 3 fields, the header"):
        load_births(write(tmp_path / "ragged.csv", lines))


def test_ragged_line_suggests_another_delimiter(tmp_path):
    """Line 3 is ';'-separated like the header would be; the file was sniffed as ','."""
    lines = ["birth_id,year,gestational_age_days", "a,2020,280", "b;2020;280"]
    with pytest.raises(DataError, match=r"line 3 has 1 field, the header \(line 1\) 3"):
        load_births(write(tmp_path / "mixed.csv", lines))


def test_explicit_wrong_sep(tmp_path):
    with pytest.raises(DataError) as info:
        load_births(dutch_export(tmp_path), sep=",")
    message = str(info.value)
    # line 3 has no comma at all, so it agrees with the one-field header
    assert "line 2 has 2 fields, the header (line 1) 1 (also line 4)" in message
    assert "delimiter ',' (given)" in message
    assert message.endswith("is the delimiter ';'? pass --sep ';'.")


def test_explicit_wrong_sep_giving_one_column(tmp_path):
    lines = ["birth_id;year;gestational_age_days", "a;2020;280"]
    with pytest.raises(DataError, match=r"read as one column .* is the delimiter ';'\? pass "
                                        r"--sep ';'"):
        load_births(write(tmp_path / "one.csv", lines), sep="|")


def test_explicit_decimal_point_on_comma_numbers_hints_at_decimal(tmp_path):
    with pytest.raises(DataError, match=r"Values such as '50,5' use a decimal comma .* pass "
                                        r"--decimal ','"):
        load_births(dutch_export(tmp_path), decimal=".")


def test_explicit_wrong_encoding_names_the_byte_and_line(tmp_path):
    with pytest.raises(DataError) as info:
        load_births(dutch_export(tmp_path), encoding="utf-8")
    offset = len(HEADER) + 2 + len("k1;2021;280;3500;50,5;S")
    assert str(info.value).startswith(f"export.csv is not valid utf-8: byte 0xfa at offset "
                                      f"{offset} (line 2) cannot be decoded. Pass the file's "
                                      "encoding, e.g. --encoding cp1252")


def test_explicit_wrong_encoding_beyond_the_sniffed_head(tmp_path):
    row = "a;2020;280;3000;1;0363"
    n = SNIFF_BYTES // len(row) + 10
    lines = [HEADER, *[f"a{i}{row[1:]}" for i in range(n)], "z;2020;280;3000;1;Fryslân"]
    path = write(tmp_path / "long.csv", lines, "cp1252")
    with pytest.raises(DataError, match=f"not valid utf-8: byte 0xe2 at offset .* \\(line "
                                        f"{n + 2:,}\\)"):
        load_births(path, encoding="utf-8")


def test_explicit_encoding_that_is_right(tmp_path):
    report = load_births(dutch_export(tmp_path), encoding="cp1252")
    assert report.read_assumptions.given("encoding")
    assert not report.read_assumptions.given("sep")
    assert report.births["municipality"].tolist()[0] == "Súdwest-Fryslân"


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"sep": ";;"}, "single character"), ({"decimal": ";"}, "'decimal' parameter"),
    ({"encoding": "klingon"}, "Unknown encoding 'klingon'"),
])
def test_invalid_settings(tmp_path, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        load_births(dutch_export(tmp_path), **kwargs)


def test_csv_settings_on_parquet_are_refused(tmp_path):
    pd.DataFrame({"birth_id": ["a"], "year": [2020], "gestational_age_days": [280]}).to_parquet(
        tmp_path / "b.parquet")
    with pytest.raises(ParameterError, match="sep applies to CSV files only"):
        load_births(tmp_path / "b.parquet", sep=";")
    report = load_births(tmp_path / "b.parquet")
    assert report.read_assumptions.format == "parquet"
    assert report.problems[0].message == "Read b.parquet as Parquet."


# --- column names -------------------------------------------------------------------------------


def test_column_names_matched_up_to_case_and_spaces():
    raw = pd.DataFrame({"Birth_ID": ["a", "b"], "year": [2020, 2020],
                        "gestational_age_days": [280, 281], "Birthweight_g": [3000, 3100],
                        " vsv ": ["V1", "V2"], "Extra Column": [1, 2]})
    with pytest.warns(DataWarning, match=r"'Birthweight_g' -> 'birthweight_g', ' vsv ' -> "
                                         r"'vsv'"):
        report = validate_births(raw)
    assert report.ok
    assert report.renamed == {"Birth_ID": "birth_id", "Birthweight_g": "birthweight_g",
                              " vsv ": "vsv"}
    assert {"birth_id", "birthweight_g", "vsv", "Extra Column"} <= set(report.births.columns)
    assert str(report.births["birthweight_g"].dtype) == "Int64"
    renames = [p for p in report.warnings if "read as" in p.message]
    assert [p.column for p in renames] == ["birth_id", "birthweight_g", "vsv"]


def test_columns_colliding_after_normalisation_are_an_error():
    raw = pd.DataFrame({"birth_id": ["a"], "year": [2020], "gestational_age_days": [280],
                        "vsv": ["V1"], "VSV ": ["V2"]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = validate_births(raw)
    (error,) = report.errors
    assert error.message.startswith("Columns 'vsv' and 'VSV ' both name the canonical column "
                                    "'vsv'")
    assert report.births.empty


def test_duplicated_column_names_are_an_error(tmp_path):
    lines = ["birth_id,year,gestational_age_days,vsv,vsv", "a,2020,280,V1,V2"]
    report = load_births(write(tmp_path / "dup.csv", lines), errors="report")
    (error,) = report.errors
    assert "Column name(s) occur more than once: 'vsv' (2 times)" in error.message


def test_decimal_hint_follows_renamed_and_mapped_columns(tmp_path):
    lines = ["birth_id;year;gestational_age_days;Birthweight_Percentile", "a;2020;280;50,5"]
    with pytest.raises(DataError, match=r"'birthweight_percentile' must be numeric .* pass "
                                        r"--decimal ','"), warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        load_births(write(tmp_path / "renamed.csv", lines), decimal=".")
    lines = ["kind_id;jaar;amww;amdd;hoftiezer", "a;2020;40;0;50,5"]
    with pytest.raises(DataError, match=r"must be numeric .* pass --decimal ','"):
        load_births(write(tmp_path / "mapped.csv", lines), mapping="perined", decimal=".")
