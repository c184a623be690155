"""Sniff how a CSV file is written: encoding, delimiter and decimal mark.

Only the first :data:`SNIFF_BYTES` bytes are read, so that sniffing costs the same for a file
of a thousand rows and of ten million. What was assumed is returned as a
:class:`ReadAssumptions`, which readers attach to their result so that callers can print it.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from casemix._params import check_one_of
from casemix.exceptions import DataError, ParameterError

__all__ = ["DELIMITERS", "SNIFF_BYTES", "ReadAssumptions", "sniff_csv", "sniff_with_header"]

#: Delimiters the sniffer chooses from, in order of preference on a tie.
DELIMITERS: tuple[str, ...] = (",", ";", "\t", "|")
#: Bytes read from the start of a file to sniff its format.
SNIFF_BYTES = 65536
#: Encodings tried, in order, when none is given (after a byte-order mark check).
FALLBACK_ENCODINGS: tuple[str, ...] = ("cp1252", "latin-1")

_SEP_ALIASES = {"tab": "\t", "\\t": "\t", "semicolon": ";", "comma": ",", "pipe": "|"}
_SEP_NAMES = {",": "','", ";": "';'", "\t": "tab ('\\t')", "|": "'|'"}
#: A number written with a decimal comma (``3,5``, ``-0,25``, ``8,7e-05``); groups: the parts
#: before and after the comma.
COMMA_NUMBER = r"^(\s*[+-]?\d+),(\d+(?:[eE][+-]?\d+)?\s*)$"
_COMMA_DECIMAL = re.compile(COMMA_NUMBER)
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
Setting = Literal["sep", "decimal", "encoding"]


@dataclass(frozen=True)
class ReadAssumptions:
    """How a file was read, and which settings were sniffed rather than given.

    Attributes
    ----------
    path : str
        The file.
    format : {"csv", "parquet", "spss"}
        Reader used (chosen by the file extension).
    sep, decimal, encoding : str or None
        CSV only: delimiter, decimal mark and text encoding used (``None`` for other formats).
        ``"utf-8-sig"`` is UTF-8 with a byte-order mark.
    sniffed : tuple of str
        Which of ``"sep"``, ``"decimal"``, ``"encoding"`` were sniffed (the others were given).
    evidence : dict
        Setting -> why it was chosen (e.g. ``"byte 0xfa at offset 41 (line 2) is not UTF-8"``).
    """

    path: str
    format: Literal["csv", "parquet", "spss"]
    sep: str | None = None
    decimal: str | None = None
    encoding: str | None = None
    sniffed: tuple[str, ...] = ()
    evidence: dict[str, str] = field(default_factory=dict)

    def describe(self, *, verbose: bool = False) -> str:
        """One line for the user: the format and every setting, marked sniffed or given.

        The evidence of a sniffed setting is shown when it is worth a look (an encoding other
        than UTF-8, a decimal comma, a file read as one column), or always with ``verbose``.
        """
        name = Path(self.path).name
        if self.format != "csv":
            return f"Read {name} as {'SPSS' if self.format == 'spss' else 'Parquet'}."
        shown = [
            self._how("sep", f"delimiter {sep_name(self.sep or ',')}",
                      verbose or self.evidence.get("sep", "").endswith("one column")),
            self._how("decimal", f"decimal mark '{self.decimal}'",
                      verbose or self.decimal == ","),
            self._how("encoding", f"encoding {self.encoding}",
                      verbose or self.encoding not in ("utf-8", None)),
        ]
        return f"Read {name} as CSV: " + ", ".join(shown) + "."

    def _how(self, setting: str, text: str, explain: bool) -> str:
        if setting not in self.sniffed:
            return f"{text} (given)"
        why = self.evidence.get(setting) if explain else None
        return f"{text} (sniffed: {why})" if why else f"{text} (sniffed)"

    def to_dict(self) -> dict[str, object]:
        """Plain dictionary (for manifests and JSON)."""
        return {"path": self.path, "format": self.format, "sep": self.sep,
                "decimal": self.decimal, "encoding": self.encoding,
                "sniffed": list(self.sniffed), "evidence": dict(self.evidence)}

    def given(self, setting: Setting) -> bool:
        """True when ``setting`` was passed by the caller (not sniffed)."""
        return setting not in self.sniffed

    def with_encoding(self, encoding: str, why: str) -> ReadAssumptions:
        """A copy with a sniffed encoding replaced (after a later byte failed to decode)."""
        return replace(self, encoding=encoding, evidence={**self.evidence, "encoding": why})


def sep_name(sep: str) -> str:
    """Human-readable delimiter: ``';'``, ``tab ('\\t')``."""
    return _SEP_NAMES.get(sep, repr(sep))


def _check_options(sep: str | None, decimal: str | None, encoding: str | None) -> str | None:
    """Validate the given settings; return ``sep`` with aliases (``"tab"``, ``"\\t"``) resolved."""
    if sep is not None:
        sep = _SEP_ALIASES.get(sep.lower(), sep)
        if len(sep) != 1 or sep in "\"\r\n":
            raise ParameterError(
                f"The 'sep' parameter must be a single character such as ',', ';', '|' or "
                f"'tab'. Got {sep!r} instead.")
    if decimal is not None:
        check_one_of("decimal", decimal, (".", ","), owner="the CSV reader")
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise ParameterError(
                f"Unknown encoding {encoding!r}; use e.g. 'utf-8', 'cp1252' (Dutch Windows "
                "exports) or 'latin-1'.") from None
    return sep


def _read_head(path: Path) -> tuple[bytes, bool]:
    """The first :data:`SNIFF_BYTES` bytes and whether the file is longer."""
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES + 1)
    if not head.strip():
        what = "0 bytes" if not head else "only blank lines"
        raise DataError(f"{path.name} is empty ({what}); expected a header line with column "
                        "names and one line per birth.")
    return head[:SNIFF_BYTES], len(head) > SNIFF_BYTES


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _decode(head: bytes, encoding: str, truncated: bool) -> str:
    """Decode the sniffed bytes (a character cut at the end of a truncated head is kept out)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    return decoder.decode(head, final=not truncated)


def _bad_byte(head: bytes, exc: UnicodeDecodeError) -> str:
    offset = exc.start
    return (f"byte 0x{head[offset]:02x} at offset {offset:,} (line {_line_of(head, offset)})")


def _sniff_encoding(head: bytes, truncated: bool) -> tuple[str, str, str]:
    """(encoding, decoded text, evidence) from a byte-order mark, else UTF-8, else cp1252."""
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding, _decode(head, encoding, truncated), "byte-order mark"
    try:
        return "utf-8", _decode(head, "utf-8", truncated), ""
    except UnicodeDecodeError as exc:
        not_utf8 = f"{_bad_byte(head, exc)} is not UTF-8"
    for encoding in FALLBACK_ENCODINGS:
        try:
            return encoding, _decode(head, encoding, truncated), not_utf8
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes every byte")  # pragma: no cover


def _given_encoding(path: Path, head: bytes, encoding: str, truncated: bool) -> str:
    try:
        return _decode(head, encoding, truncated)
    except UnicodeDecodeError as exc:
        raise encoding_error(path, encoding, exc.start, head[exc.start],
                             _line_of(head, exc.start)) from None


def encoding_error(path: Path, encoding: str, offset: int, byte: int, line: int) -> DataError:
    """The error for a file that does not decode with a given encoding."""
    other = "cp1252" if codecs.lookup(encoding).name == "utf-8" else "utf-8"
    return DataError(
        f"{path.name} is not valid {encoding}: byte 0x{byte:02x} at offset {offset:,} (line "
        f"{line:,}) cannot be decoded. Pass the file's encoding, e.g. --encoding {other} "
        "(Dutch Windows and Excel exports are usually cp1252), or leave --encoding out to let "
        "casemix detect it.")


def _sample(text: str, truncated: bool) -> str:
    """The complete lines of the sniffed text."""
    if truncated and "\n" in text:
        text = text[: text.rindex("\n") + 1]
    return text


def split_rows(text: str, sep: str) -> list[list[str]]:
    """Non-empty records of ``text`` parsed with delimiter ``sep`` (quotes respected)."""
    try:
        return [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=sep) if row]
    except csv.Error:
        return []


def _sniff_sep(text: str) -> tuple[str, str]:
    """(delimiter, evidence): the candidate that splits the header into most fields, the
    sampled lines agreeing."""
    scores = []
    for rank, sep in enumerate(DELIMITERS):
        rows = split_rows(text, sep)
        if not rows:
            continue
        width = len(rows[0])
        agree = sum(len(r) == width for r in rows[1:])
        share = agree / (len(rows) - 1) if len(rows) > 1 else 1.0
        scores.append((width > 1, share, width, -rank, sep, agree, len(rows) - 1))
    if not scores or not max(scores)[0]:
        return ",", "no candidate delimiter splits the header; one column"
    _, _, width, _, sep, agree, n_lines = max(scores)
    if n_lines == 0:
        return sep, f"the header splits into {width} fields"
    return sep, f"the header and {agree:,} of {n_lines:,} sampled lines split into {width} fields"


def _sniff_decimal(rows: list[list[str]], sep: str) -> tuple[str, str]:
    """(decimal mark, evidence): ',' when the delimiter is not ',' and a numeric-looking field
    uses a decimal comma, else '.'."""
    if sep == ",":
        return ".", "the delimiter is ','"
    example = next((v for row in rows[1:] for v in row if _COMMA_DECIMAL.match(v)), None)
    if example is None:
        return ".", "no number with a decimal comma in the sample"
    return ",", f"numbers such as {example.strip()!r}"


def sniff_csv(
    path: str | Path,
    *,
    sep: str | None = None,
    decimal: str | None = None,
    encoding: str | None = None,
) -> ReadAssumptions:
    """Sniff the settings not given from the first 64 KB of a CSV file.

    Parameters
    ----------
    path : path
        The CSV file.
    sep, decimal, encoding : str, optional
        Settings known by the caller; ``None`` sniffs them. ``sep`` accepts ``"tab"`` or
        ``"\\t"`` for a tab.

    Returns
    -------
    ReadAssumptions
        The settings, with which were sniffed and why.

    Raises
    ------
    DataError
        The file is empty, or does not decode with the given encoding (the message names the
        byte offset and line).
    ParameterError
        A given setting is not valid (``sep`` not one character, ``decimal`` not '.' or ',',
        unknown encoding).

    Notes
    -----
    Only the first :data:`SNIFF_BYTES` (64 KB) are read; the rules, applied in turn:

    1. *Encoding*: a byte-order mark gives UTF-8 (``utf-8-sig``) or UTF-16; otherwise UTF-8
       when the bytes decode as UTF-8, else cp1252 (Windows-1252: Dutch Windows and Excel
       exports, e.g. "Súdwest-Fryslân"), else latin-1. A byte further on that is not UTF-8 is
       handled by the reader (it reads the file again as cp1252 and says so).
    2. *Delimiter*: each of ``,`` ``;`` tab ``|`` splits the header and the sampled lines
       (quoted fields respected); the one that splits the header into more than one field and
       agrees best with the lines (share of lines with as many fields as the header) wins,
       then the one with most fields, then the earlier in that list. A header-only file is
       judged on its header alone.
    3. *Decimal mark*: ``,`` when the delimiter is not ``,`` (``;``, tab or ``|``, as Dutch
       Excel writes them) and a field of the sample is a number with a decimal comma
       (``3,5``); otherwise ``.``.
    """
    return sniff_with_header(path, sep=sep, decimal=decimal, encoding=encoding)[0]


def sniff_with_header(
    path: str | Path,
    *,
    sep: str | None = None,
    decimal: str | None = None,
    encoding: str | None = None,
) -> tuple[ReadAssumptions, list[str]]:
    """:func:`sniff_csv`, and the column names of the header line as sniffed."""
    path = Path(path)
    sep = _check_options(sep, decimal, encoding)
    head, truncated = _read_head(path)
    sniffed: list[str] = []
    evidence: dict[str, str] = {}
    if encoding is None:
        encoding, text, evidence["encoding"] = _sniff_encoding(head, truncated)
        sniffed.append("encoding")
    else:
        text = _given_encoding(path, head, encoding, truncated)
    text = _sample(text.lstrip("\ufeff"), truncated)
    if sep is None:
        sep, evidence["sep"] = _sniff_sep(text)
        sniffed.append("sep")
    rows = split_rows(text, sep)
    if decimal is None:
        decimal, evidence["decimal"] = _sniff_decimal(rows, sep)
        sniffed.append("decimal")
    info = ReadAssumptions(str(path), "csv", sep, decimal, encoding, tuple(sniffed),
                           {k: v for k, v in evidence.items() if v})
    return info, rows[0] if rows else []
