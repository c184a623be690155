"""Read births from CSV, Parquet or SPSS (.sav) files into canonical, validated columns."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Literal

import pandas as pd

from casemix.exceptions import DataError, ParameterError
from casemix.records.csv_files import read_csv
from casemix.records.mapping import INTERMEDIATE, PRESETS, ColumnMapping
from casemix.records.schema import COLUMNS, column_key
from casemix.records.sniffing import COMMA_NUMBER, DELIMITERS, ReadAssumptions, sep_name
from casemix.records.validation import InvalidPolicy, Problem, ValidationReport, validate_births

__all__ = ["load_births", "read_table"]

_READERS = {".csv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet",
            ".sav": "spss", ".zsav": "spss"}
_NUMBERS = tuple(name for name, col in COLUMNS.items() if col.kind in ("int", "float"))
_COMMA_NUMBER = re.compile(COMMA_NUMBER)


def read_table(
    path: str | Path,
    *,
    text_columns: Sequence[str] | None = None,
    sep: str | None = None,
    decimal: str | None = None,
    encoding: str | None = None,
) -> pd.DataFrame:
    """Read a raw table by its file extension (CSV, Parquet, SPSS ``.sav``/``.zsav``).

    Parameters
    ----------
    path : path
        The file.
    text_columns : sequence of str, optional
        CSV only: columns read as text (codes such as ``0363`` keep their leading zeros),
        matched ignoring case and surrounding spaces; the other columns are typed by the
        reader. Default: every column as text (validation parses numbers itself), which is
        slower for large files.
    sep : str, optional
        CSV only: the delimiter (``"tab"`` or ``"\\t"`` for a tab). Default: sniffed.
    decimal : {".", ","}, optional
        CSV only: the decimal mark. Default: sniffed.
    encoding : str, optional
        CSV: the text encoding (e.g. ``"utf-8"``, ``"cp1252"``); SPSS: the encoding of the
        strings, for old files that record it wrongly. Default: sniffed (CSV) or as stored
        (SPSS).

    Returns
    -------
    pandas.DataFrame
        The table; ``frame.attrs["read_assumptions"]`` is the
        :class:`~casemix.records.sniffing.ReadAssumptions` saying how it was read.

    Raises
    ------
    DataError
        The file is missing, empty, of an unknown type, not decodable with a given encoding,
        or has lines with a different number of fields than the header (the message names
        the file, the line numbers and a hint).

    Notes
    -----
    CSV files are sniffed from their first 64 KB (:func:`~casemix.records.sniffing.sniff_csv`
    gives the rules: encoding UTF-8 else cp1252; delimiter among ``,`` ``;`` tab ``|``;
    decimal comma when the delimiter is not ``,`` and numbers like ``3,5`` appear) and then
    read in one pass by pyarrow's multi-threaded reader. A file that turns out not to be
    UTF-8 further on is read again as cp1252, and the assumptions say so. With a decimal
    comma, numeric columns read as text keep no comma (``3,5`` becomes ``3.5``).

    SPSS files are read with their stored codes (value labels are not applied), so that a
    column mapping translates codes explicitly.
    """
    frame, assumptions = _read(path, text_columns, set(_NUMBERS), sep, decimal, encoding)
    frame.attrs["read_assumptions"] = assumptions
    return frame


def _read(
    path: str | Path,
    text_columns: Sequence[str] | None,
    number_columns: set[str],
    sep: str | None,
    decimal: str | None,
    encoding: str | None,
) -> tuple[pd.DataFrame, ReadAssumptions]:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"Data file not found: {path}")
    kind = _READERS.get(path.suffix.lower())
    if kind is None:
        raise DataError(
            f"Cannot read {path.name!r}: unknown extension {path.suffix!r}; expected one of "
            f"{', '.join(sorted(_READERS))}."
        )
    if kind == "csv":
        text = None if text_columns is None else {column_key(c) for c in text_columns}
        return read_csv(path, text_columns=text,
                        number_columns={column_key(c) for c in number_columns},
                        sep=sep, decimal=decimal, encoding=encoding)
    given = [n for n, v in (("sep", sep), ("decimal", decimal)) if v is not None]
    if kind == "parquet" and encoding is not None:
        given.append("encoding")
    if given:
        raise ParameterError(f"{', '.join(given)} applies to CSV files only (not to "
                             f"{path.name}); leave it out.")
    if kind == "parquet":
        return pd.read_parquet(path), ReadAssumptions(str(path), "parquet")
    import pyreadstat

    frame, _meta = pyreadstat.read_sav(str(path), apply_value_formats=False,
                                       encoding=encoding)
    return frame, ReadAssumptions(str(path), "spss", encoding=encoding,
                                  sniffed=() if encoding else ("encoding",))


def _resolve_mapping(mapping: str | Path | ColumnMapping | None) -> ColumnMapping | None:
    if mapping is None or isinstance(mapping, ColumnMapping):
        return mapping
    if isinstance(mapping, str) and mapping in PRESETS:
        return ColumnMapping.preset(mapping)
    return ColumnMapping.from_toml(mapping)


def _text_columns(mapping: ColumnMapping | None) -> list[str]:
    """Source names of the identifier and code columns (read as text from CSV)."""
    ids = [name for name, col in COLUMNS.items() if col.kind in ("id", "category")]
    ids += ["mortality_code"]
    if mapping is None:
        return ids
    return ids + [s for s, t in mapping.columns.items() if t in ids]


def _number_columns(mapping: ColumnMapping | None) -> set[str]:
    """Source names of the numeric columns (a decimal comma is rewritten in them)."""
    numbers = set(_NUMBERS) | set(INTERMEDIATE[:2])
    if mapping is None:
        return numbers
    return numbers | {s for s, t in mapping.columns.items() if t in numbers}


def load_births(
    source: str | Path | pd.DataFrame,
    *,
    mapping: str | Path | ColumnMapping | None = None,
    invalid: InvalidPolicy = "exclude",
    errors: Literal["raise", "report"] = "raise",
    sep: str | None = None,
    decimal: str | None = None,
    encoding: str | None = None,
    check_ids: bool = True,
) -> ValidationReport:
    """Read, map and validate a births file (or DataFrame).

    Parameters
    ----------
    source : path or pandas.DataFrame
        CSV, Parquet or SPSS file, or a DataFrame already in memory.
    mapping : str, path or ColumnMapping, optional
        A preset name (``"perined"``), a TOML mapping file, or a mapping object. Without one, the
        columns must already carry canonical names (case and surrounding spaces aside).
    invalid : {"exclude", "missing", "error"}
        Policy for impossible values, see :func:`~casemix.records.validation.validate_births`.
    errors : {"raise", "report"}
        Raise :class:`~casemix.exceptions.DataError` on fatal problems, or return the report.
    sep, decimal, encoding : str, optional
        CSV delimiter, decimal mark and encoding; ``None`` (default) sniffs them, see
        :func:`read_table`.
    check_ids : bool, default True
        Check that ``birth_id`` is present and unique (see :func:`validate_births`; the
        engines check the ids of a whole source themselves).

    Returns
    -------
    ValidationReport
        ``report.births`` is the typed table; ``report.exclusions`` counts what was left out;
        ``report.read_assumptions`` says how the file was read (delimiter, decimal mark and
        encoding, each sniffed or given), also the first ``info`` problem of the report.

    Raises
    ------
    DataError
        The file cannot be read (missing, empty, not decodable, ragged lines: see
        :func:`read_table`), or, with ``errors="raise"``, the table has fatal problems,
        including a file with a header but no rows.
    """
    resolved = _resolve_mapping(mapping)
    assumptions = None
    if isinstance(source, pd.DataFrame):
        raw = source
    else:
        raw, assumptions = _read(source, _text_columns(resolved), _number_columns(resolved),
                                 sep, decimal, encoding)
    if assumptions is not None and len(raw) == 0:
        report = _no_rows(raw, assumptions)
    else:
        report = _map_and_validate(raw, resolved, invalid, check_ids)
        if assumptions is not None:
            _add_read_hints(report, raw, assumptions, resolved)
    if assumptions is not None:
        report.read_assumptions = assumptions
        report.problems.insert(0, Problem("info", "", assumptions.describe()))
    if errors == "raise":
        report.raise_for_errors()
    return report


def _map_and_validate(
    raw: pd.DataFrame, mapping: ColumnMapping | None, invalid: InvalidPolicy,
    check_ids: bool = True,
) -> ValidationReport:
    notes: list[Problem] = []
    if mapping is not None:
        raw, notes = mapping.apply(raw)
    report = validate_births(raw, invalid=invalid, check_ids=check_ids)
    report.problems[:0] = notes
    return report


def _no_rows(raw: pd.DataFrame, assumptions: ReadAssumptions) -> ValidationReport:
    """A file with a header and no rows: one clear error (not a crash further on)."""
    names = ", ".join(map(str, raw.columns[:10])) + (", ..." if raw.shape[1] > 10 else "")
    message = (f"{Path(assumptions.path).name} has no rows: only a header with "
               f"{raw.shape[1]} column(s) ({names}). Export the births themselves, one row "
               "per child, not only the column names.")
    return ValidationReport(raw.iloc[0:0], [Problem("error", "", message)], n_input=0)


def _add_read_hints(
    report: ValidationReport, raw: pd.DataFrame, assumptions: ReadAssumptions,
    mapping: ColumnMapping | None,
) -> None:
    """Point errors that a wrong delimiter or decimal mark explains at --sep / --decimal."""
    if report.ok or assumptions.format != "csv":
        return
    sources = {t: s for s, t in [*(mapping.columns.items() if mapping else ()),
                                 *report.renamed.items()]}
    hints = {p.column: _decimal_hint(raw, sources.get(p.column, p.column), assumptions)
             for p in report.errors if "must be numeric" in p.message}
    one = _one_column_hint(raw, assumptions)
    fixed = []
    for p in report.problems:
        extra = hints.get(p.column, "") if p.severity == "error" else ""
        if p.severity == "error" and one and "Required column" in p.message:
            extra = one
        fixed.append(replace(p, message=f"{p.message} {extra}") if extra else p)
    report.problems[:] = fixed


def _decimal_hint(raw: pd.DataFrame, column: str, assumptions: ReadAssumptions) -> str:
    if assumptions.decimal == "," or column not in raw:
        return ""
    values = raw[column].dropna().astype(str)
    example = next((v for v in values.head(100_000) if _COMMA_NUMBER.match(v)), None)
    if example is None:
        return ""
    return (f"Values such as {example.strip()!r} use a decimal comma while the file was read "
            "with decimal mark '.': pass --decimal ','.")


def _one_column_hint(raw: pd.DataFrame, assumptions: ReadAssumptions) -> str:
    if raw.shape[1] != 1:
        return ""
    name = str(raw.columns[0])
    other = next((d for d in DELIMITERS if d != assumptions.sep and d in name), None)
    if other is None:
        return ""
    flag = "tab" if other == "\t" else other
    return (f"The file was read as one column with delimiter {sep_name(assumptions.sep or ',')}"
            f", but its header contains {sep_name(other)}: is the delimiter "
            f"{sep_name(other)}? pass --sep '{flag}'.")
