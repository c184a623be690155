"""Property-based tests: random births tables with random defects (wrong types, impossible and
missing values, extra, case-variant and duplicated columns, duplicated ids, no rows), in memory
or written to CSV with a random delimiter, decimal mark and encoding.

Whatever the input, reading and validating either raise one of the package's own errors or
return a report in which no row is lost: rows read = rows written, and when the table is
usable, rows read = rows kept + rows excluded (the exclusion log)."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from casemix import DataError, load_births, validate_births
from casemix.records.schema import COLUMNS, REQUIRED_COLUMNS

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
#: Text the cp1252 code page can hold: accents of Dutch place names, the delimiters, quotes,
#: a decimal comma, spaces and a newline.
ALPHABET = "abzAZ09 úâëï'-.,;|\t\"\n"
TEXT = st.text(alphabet=ALPHABET, max_size=8)
DEFECTS = st.one_of(
    st.none(), st.just(np.nan), TEXT, st.booleans(),
    st.integers(-10**7, 10**7), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["3,5", " ", "", "NA", "1e3", "0363", "-1", "12.5", "onbekend"]),
)


def _good(name: str) -> st.SearchStrategy:
    """Values a registry could hold: in range, just outside it (excluded, not an error), or
    missing where that is allowed."""
    col = COLUMNS[name]
    if col.categories:
        return st.sampled_from([*col.categories, None, f" {col.categories[0].upper()} "])
    if col.kind == "bool":
        return st.sampled_from([0, 1, True, False, "ja", "nee", None])
    if col.kind == "id":
        return st.sampled_from(["0363", "V01", "14", None])
    lo, hi = col.plausible or (-3.0, 3.0)
    if col.kind == "int":
        return st.integers(int(lo) - 2, int(hi) + 2)
    return st.floats(lo - 1, hi + 1).map(lambda x: round(x, 2))


def _cells(name: str, n: int, defective: bool) -> st.SearchStrategy:
    """Good values for ``name``; a defective column also gets some defects."""
    if name == "birth_id":
        ids = st.sampled_from(["a", "b", "c", None]) | st.text("abc0123", max_size=6)
        return st.lists(ids, min_size=n, max_size=n) if defective else st.just(
            [f"b{i}" for i in range(n)])
    cell = st.one_of(_good(name), _good(name), _good(name), DEFECTS) if defective \
        else _good(name)
    return st.lists(cell, min_size=n, max_size=n)


OPTIONAL = [c for c in COLUMNS if c not in REQUIRED_COLUMNS]
#: Extra columns: free ones, and names that match a canonical column up to case and spaces
#: (renamed, or an error when the canonical column is there too).
EXTRA_NAMES = ["weight", "note", "VSV", " Year ", "Birthweight_G", "Birth ID", "vsv"]


@st.composite
def tables(draw) -> pd.DataFrame:
    """A births table with a random choice of columns; each column is defective with
    probability 1/8, a required column is missing now and then."""
    n = draw(st.sampled_from([*range(1, 13), 0]))  # uniform; sometimes no rows
    dropped = draw(st.sampled_from([set(), set(), set(), set(), {"year"}, set(REQUIRED_COLUMNS)]))
    names = [c for c in REQUIRED_COLUMNS if c not in dropped]
    names += sorted(draw(st.sets(st.sampled_from(OPTIONAL), max_size=6)))
    series = []
    for name in names:
        defective = draw(st.sampled_from([False] * 7 + [True]))
        series.append(pd.Series(draw(_cells(name, n, defective)), name=name, dtype=object))
    extras = st.sampled_from(EXTRA_NAMES + EXTRA_NAMES[:2] * 4)  # mostly free names
    for extra in draw(st.lists(extras, max_size=2, unique=True)):
        values = draw(st.lists(st.one_of(TEXT, DEFECTS), min_size=n, max_size=n))
        series.append(pd.Series(values, name=extra, dtype=object))
    for filler in ("filler_1", "filler_2")[len(series):]:  # at least two columns: a CSV line
        series.append(pd.Series(["x"] * n, name=filler, dtype=object))  # of one empty field
    frame = pd.concat(series, axis=1)  # is a blank line, not a row
    typed = draw(st.booleans())  # also columns of proper dtypes, not only objects
    return frame.infer_objects() if typed else frame


def assert_nothing_lost(report, n_rows: int) -> None:
    assert report.n_input == n_rows
    if report.ok:
        kept, excluded = len(report.births), report.exclusions.total("all")
        event("usable, rows excluded" if excluded else "usable, nothing excluded")
        assert kept + excluded == n_rows, (kept, excluded, report.exclusions)
        assert report.n_excluded == excluded
    else:
        event("validation errors")
        assert report.errors
        assert report.births.empty


def validate_quietly(frame: pd.DataFrame, invalid: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return validate_births(frame, invalid=invalid)


@SETTINGS
@given(frame=tables(), invalid=st.sampled_from(["exclude", "missing", "error"]))
def test_validation_never_crashes_and_never_loses_a_row(frame, invalid):
    report = validate_quietly(frame, invalid)
    assert_nothing_lost(report, len(frame))


@st.composite
def csv_formats(draw) -> dict[str, str]:
    sep = draw(st.sampled_from([",", ";", "\t", "|"]))
    decimal = "." if sep == "," else draw(st.sampled_from([".", ","]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
    return {"sep": sep, "decimal": decimal, "encoding": encoding}


def write_csv(frame: pd.DataFrame, folder: str, fmt: dict[str, str]) -> Path:
    path = Path(folder) / "births.csv"
    frame.to_csv(path, index=False, lineterminator="\n", **fmt)
    return path


def _has_fraction(frame: pd.DataFrame) -> bool:
    """A float column with a fractional value (written with the decimal mark)."""
    floats = frame.select_dtypes("float")
    values = floats.to_numpy(dtype=float)
    return bool(np.any(np.isfinite(values) & (values != np.round(values))))


@SETTINGS
@given(frame=tables(), fmt=csv_formats(), invalid=st.sampled_from(["exclude", "missing"]))
def test_csv_files_never_crash_and_never_lose_a_row(frame, fmt, invalid):
    with tempfile.TemporaryDirectory() as folder:
        path = write_csv(frame, folder, fmt)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # a file pandas wrote is always readable: only validation may find problems
            report = load_births(path, invalid=invalid, errors="report")
            if not report.ok:
                with pytest.raises(DataError, match="fatal problem"):
                    load_births(path, invalid=invalid)
    a = report.read_assumptions
    assert a.sep == fmt["sep"]
    text = [str(v) for v in [*frame.to_numpy().ravel(), *frame.columns]]
    ascii_only = all(s.isascii() for s in text)
    written = fmt["encoding"]
    assert a.encoding == ("utf-8" if ascii_only and written != "utf-8-sig" else written)
    if fmt["decimal"] == "," and _has_fraction(frame):
        assert a.decimal == ","
    assert_nothing_lost(report, len(frame))


@SETTINGS
@given(frame=tables(), fmt=csv_formats())
def test_csv_with_every_setting_given_reads_the_same_rows(frame, fmt):
    """Given the settings it was written with, a file is read with no sniffing and no row
    lost."""
    with tempfile.TemporaryDirectory() as folder:
        path = write_csv(frame, folder, fmt)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report = load_births(path, errors="report", **fmt)
    assert report.read_assumptions.sniffed == ()
    assert_nothing_lost(report, len(frame))
