"""Read a CSV file fast (pyarrow) with sniffed or given settings, and explain failures.

The fast path reads the whole file once with pyarrow's multi-threaded reader. Only when it
fails does this module look closer, in Python: which byte does not decode, which line has the
wrong number of fields; those are error paths, so their speed does not matter.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv as pa_csv

from casemix.exceptions import DataError
from casemix.records.schema import column_key
from casemix.records.sniffing import (
    COMMA_NUMBER,
    DELIMITERS,
    FALLBACK_ENCODINGS,
    ReadAssumptions,
    encoding_error,
    sep_name,
    sniff_with_header,
    split_rows,
)

__all__ = ["read_csv"]

_CHUNK = 1 << 20
_SHOWN_LINES = 3


class _NotDecodableError(Exception):
    """pyarrow met bytes that the encoding in use cannot decode."""


def read_csv(
    path: Path,
    *,
    text_columns: set[str] | None,
    number_columns: set[str],
    sep: str | None,
    decimal: str | None,
    encoding: str | None,
) -> tuple[pd.DataFrame, ReadAssumptions]:
    """Read a CSV file with pyarrow; settings not given are sniffed.

    Parameters
    ----------
    path : pathlib.Path
    text_columns : set of str or None
        Column keys (:func:`~casemix.records.schema.column_key`) read as text; ``None`` reads
        every column as text.
    number_columns : set of str
        Column keys of numeric columns: where they are read as text (because of a stray
        value), numbers with a decimal comma are rewritten with a point when ``decimal=','``.
    sep, decimal, encoding : str or None
        See :func:`~casemix.records.sniffing.sniff_csv`.

    Returns
    -------
    (pandas.DataFrame, ReadAssumptions)
    """
    assumptions, header = sniff_with_header(path, sep=sep, decimal=decimal, encoding=encoding)
    while True:
        try:
            table = _read_arrow(path, assumptions, header, text_columns)
        except _NotDecodableError:
            assumptions = _next_encoding(path, assumptions)
            continue
        break
    if assumptions.decimal == ",":
        table = _point_decimals(table, number_columns)
    return table.to_pandas(), assumptions


def _arrow_encoding(encoding: str) -> str:
    """pyarrow reads UTF-8 natively (skipping a byte-order mark); others are transcoded."""
    return "utf8" if codecs.lookup(encoding).name in ("utf-8", "utf-8-sig") else encoding


def _arrow_read(
    path: Path, a: ReadAssumptions, header: list[str], text: set[str] | None, newlines: bool
) -> pa.Table:
    types = {n: pa.string() for n in header if text is None or column_key(n) in text}
    return pa_csv.read_csv(
        path,
        read_options=pa_csv.ReadOptions(encoding=_arrow_encoding(a.encoding or "utf-8")),
        parse_options=pa_csv.ParseOptions(delimiter=a.sep, newlines_in_values=newlines),
        convert_options=pa_csv.ConvertOptions(column_types=types, strings_can_be_null=True,
                                              decimal_point=a.decimal or "."),
    )


def _read_arrow(
    path: Path, a: ReadAssumptions, header: list[str], text: set[str] | None
) -> pa.Table:
    """Read with pyarrow; a parse error is tried once more allowing newlines in quoted
    values (slower), then explained."""
    first_error: pa.ArrowInvalid | None = None
    for newlines in (False, True):
        try:
            table = _arrow_read(path, a, header, text, newlines)
        except UnicodeDecodeError as exc:
            raise _NotDecodableError from exc
        except pa.ArrowInvalid as exc:
            if "UTF8" in str(exc):
                raise _NotDecodableError from exc
            if "parse error" not in str(exc).lower():
                raise DataError(f"{path.name} cannot be read as CSV ({_settings(a)}): {exc}. "
                                "Check --sep, --decimal and --encoding.") from exc
            first_error = first_error or exc
            continue
        if any(pa.types.is_binary(f.type) for f in table.schema):
            raise _NotDecodableError
        return table
    raise _parse_error(path, a, first_error)


def _settings(a: ReadAssumptions) -> str:
    """``delimiter ';' (sniffed), decimal mark ',' (given), encoding cp1252 (sniffed)``."""
    def how(setting: str) -> str:
        return "given" if setting not in a.sniffed else "sniffed"
    return (f"delimiter {sep_name(a.sep or ',')} ({how('sep')}), decimal mark '{a.decimal}' "
            f"({how('decimal')}), encoding {a.encoding} ({how('encoding')})")


# --- encodings ----------------------------------------------------------------------------------


def _first_undecodable(path: Path, encoding: str) -> tuple[int, int, int] | None:
    """(byte offset, byte value, line) of the first byte that ``encoding`` cannot decode."""
    if codecs.lookup(encoding).name == "utf-8-sig":
        encoding = "utf-8"  # the mark itself is valid UTF-8; offsets stay those of the file
    decoder = codecs.getincrementaldecoder(encoding)()
    offset, lines = 0, 1
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(_CHUNK)
            pending = decoder.getstate()[0]
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                data = pending + chunk
                at = offset - len(pending) + exc.start
                return at, data[exc.start], lines + data.count(b"\n", 0, exc.start)
            if not chunk:
                return None
            offset += len(chunk)
            lines += chunk.count(b"\n")


def _next_encoding(path: Path, a: ReadAssumptions) -> ReadAssumptions:
    """After pyarrow failed to decode: the given encoding is an error naming the byte; a
    sniffed UTF-8 falls back to cp1252, then latin-1."""
    current = a.encoding or "utf-8"
    bad = _first_undecodable(path, current)
    if a.given("encoding") or current not in ("utf-8", "utf-8-sig", *FALLBACK_ENCODINGS):
        if bad is None:
            raise DataError(f"{path.name} contains bytes that are not valid text in {current}; "
                            "pass the file's encoding with --encoding (e.g. cp1252).")
        raise encoding_error(path, current, *bad)
    later = FALLBACK_ENCODINGS[FALLBACK_ENCODINGS.index(current) + 1:] \
        if current in FALLBACK_ENCODINGS else FALLBACK_ENCODINGS
    where = (f"byte 0x{bad[1]:02x} at offset {bad[0]:,} (line {bad[2]:,}) is not {current}"
             if bad else f"the file is not valid {current}")
    return a.with_encoding(later[0], f"the first 64 KB decode as {current}, but {where}")


# --- parse errors -------------------------------------------------------------------------------


def _records(path: Path, a: ReadAssumptions) -> Iterator[tuple[int, list[str], str]]:
    """(first line, fields, raw text) of every non-empty record, parsed by Python's csv."""
    consumed: list[str] = []
    with path.open(encoding=a.encoding, errors="replace", newline="") as handle:
        def lines() -> Iterator[str]:
            for line in handle:
                consumed.append(line)
                yield line
        reader = csv.reader(lines(), delimiter=a.sep or ",")
        start = 1
        try:
            for row in reader:
                raw = "".join(consumed).lstrip("\ufeff")
                consumed.clear()
                if row:
                    yield start, row, raw
                start = reader.line_num + 1
        except csv.Error:
            return


def _suggest_sep(header: str, line: str, current: str) -> str | None:
    """Another delimiter that splits the header and ``line`` into the same number (> 1) of
    fields."""
    for sep in DELIMITERS:
        if sep == current:
            continue
        widths = [len(rows[0]) if rows else 0 for rows in (split_rows(header, sep),
                                                            split_rows(line, sep))]
        if widths[0] > 1 and widths[0] == widths[1]:
            return sep
    return None


def _ragged(
    records: Iterator[tuple[int, list[str], str]], width: int
) -> tuple[tuple[int, list[str], str] | None, list[int], int]:
    """The first record with another number of fields than ``width``, the lines of the next
    few such records, and how many follow the first."""
    first = None
    rest: list[int] = []
    n_rest = 0
    for record in records:
        if len(record[1]) == width:
            continue
        if first is None:
            first = record
            continue
        n_rest += 1
        if len(rest) < _SHOWN_LINES:
            rest.append(record[0])
    return first, rest, n_rest


def _parse_error(path: Path, a: ReadAssumptions, exc: pa.ArrowInvalid | None) -> DataError:
    """Name the first lines whose number of fields differs from the header's, with a hint."""
    records = _records(path, a)
    header = next(records, None)
    first, rest, n_rest = _ragged(records, len(header[1])) if header else (None, [], 0)
    if header is None or first is None:
        return DataError(f"{path.name} cannot be read as CSV ({_settings(a)}): {exc}. Check "
                         "--sep, --decimal and --encoding, and that every double quote is "
                         "closed.")
    line, fields, raw = first
    width = len(header[1])
    text = (f"{path.name}: line {line:,} has {_fields(len(fields))}, the header (line "
            f"{header[0]}) {width}")
    if rest:
        more = f" and {n_rest - len(rest):,} more" if n_rest > len(rest) else ""
        text += (f" (also line{'s' if n_rest > 1 else ''} "
                 f"{', '.join(f'{n:,}' for n in rest)}{more})")
    text += f". Read with {_settings(a)}"
    return DataError(text + "; " + _hint(header[2], raw, a.sep or ",", len(fields) > width))


def _fields(n: int) -> str:
    return f"{n} field" if n == 1 else f"{n} fields"


def _hint(header: str, raw: str, sep: str, longer: bool) -> str:
    other = _suggest_sep(header, raw, sep)
    if other is not None:
        flag = "tab" if other == "\t" else other
        return f"is the delimiter {sep_name(other)}? pass --sep '{flag}'."
    if longer:
        return (f"a value may contain the delimiter {sep_name(sep)} without quotes: put such "
                "values in double quotes, or pass the right --sep.")
    return ("the line may be cut short, or a double quote left open on an earlier line; "
            "check it in a text editor.")


# --- decimal commas -----------------------------------------------------------------------------


def _point_decimals(table: pa.Table, number_columns: set[str]) -> pa.Table:
    """Numeric columns that came in as text (a stray value): write ``3,5`` as ``3.5`` so that
    validation parses the numbers and reports only the stray values."""
    for i, name in enumerate(table.column_names):
        if column_key(name) in number_columns and pa.types.is_string(table.schema[i].type):
            fixed = pc.replace_substring_regex(table.column(i), pattern=COMMA_NUMBER,
                                               replacement=r"\1.\2")
            table = table.set_column(i, name, fixed)
    return table
