"""The tables and text of an HTML report, read with the standard library (for the audit).

The report writes plain ``<table>`` elements (header cells ``<th>``, data cells ``<td>``);
pandas' ``read_html`` would need lxml or BeautifulSoup, which the package does not otherwise
use, so a small parser on :mod:`html.parser` reads them. A header cell's ``data-column``
names the canonical column it shows (its label is in the report's language), and numbers are
read in the format of the document's language (``<html lang="nl">``: decimal comma, ``.``
between thousands); a hidden cell (``x``, ``<10``) reads as missing.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd

__all__ = ["read_report"]

#: Cells that show a hidden value: the report's mark and ``<threshold``.
HIDDEN = re.compile(r"^(x|<\s*\d+)$")


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.text: list[str] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._skip = 0
        self._column: str | None = None
        self.lang = "en"
        self.parts: list[dict[str, list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "html" and named.get("lang"):
            self.lang = str(named["lang"])
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "table":
            self.tables.append([])
            self.parts.append({})
        elif tag == "tr" and self.tables:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
            self._column = named.get("data-column") if tag == "th" else None
            if self._column and named.get("data-parts"):
                self.parts[-1][self._column] = str(named["data-parts"]).split()

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in ("td", "th") and self._row is not None and self._cell is not None:
            text = " ".join("".join(self._cell).split())
            self._row.append(self._column or text)
            self._cell = None
            self._column = None
        elif tag == "tr" and self._row is not None:
            self.tables[-1].append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._cell is not None:
            self._cell.append(data)
        else:
            self.text.append(data)


def read_report(html: str) -> tuple[list[pd.DataFrame], str]:
    """The tables of ``html`` (first row as the header; numbers parsed where they are
    numbers, blanks as missing) and its running text outside tables."""
    parser = _Tables()
    parser.feed(html)
    frames = []
    for rows, parts in zip(parser.tables, parser.parts, strict=True):
        if len(rows) < 2 or len({len(r) for r in rows}) != 1:
            continue
        frame = _split_intervals(pd.DataFrame(rows[1:], columns=rows[0]).replace("", None),
                                 parts)
        for column in frame.columns:
            text = frame[column].astype("string")
            frame[column] = frame[column].where(~text.str.match(HIDDEN).fillna(False), None)
            numbers = _numbers(frame[column], parser.lang)
            if numbers.notna().sum() == frame[column].notna().sum():
                frame[column] = numbers
        frames.append(frame)
    return frames, " ".join(" ".join(parser.text).split())


def _numbers(values: pd.Series, lang: str) -> pd.Series:
    """Numbers in the format of ``lang``, read as the report's formatter wrote them
    (:meth:`casemix.report.formatting.Formatter.parse`); NaN where a cell is not one."""
    from casemix.report.formatting import Formatter
    from casemix.report.i18n import LANGUAGES

    code = lang.split("-")[0]
    parse = Formatter.of(code if code in LANGUAGES else "en").parse
    return pd.Series([np.nan if v is None else parse(str(v)) for v in values],
                     index=values.index, dtype=float)


#: ``estimate (lower–upper)`` as the report writes an interval.
INTERVAL = re.compile(r"^\s*(?P<estimate>[^()]+?)\s*\((?P<lower>[^()]+?)\u2013"
                      r"(?P<upper>[^()]+)\)\s*$")


def _split_intervals(frame: pd.DataFrame, parts: dict[str, list[str]]) -> pd.DataFrame:
    """An interval column (``data-parts``) as three columns: the estimate and its limits."""
    for column, (lower, upper) in ((c, p) for c, p in parts.items() if len(p) == 2):
        if column not in frame:
            continue
        found = frame[column].astype("string").str.extract(INTERVAL)
        plain = found["estimate"].isna() & frame[column].notna()
        found.loc[plain, "estimate"] = frame.loc[plain, column]
        at = frame.columns.get_loc(column) + 1
        frame[column] = found["estimate"].astype(object).where(found["estimate"].notna(), None)
        for offset, (name, key) in enumerate(((lower, "lower"), (upper, "upper"))):
            frame.insert(at + offset, name, found[key].astype(object).where(
                found[key].notna(), None))
    return frame
