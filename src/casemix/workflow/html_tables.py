"""The tables and text of an HTML report, read with the standard library (for the audit).

The report writes plain ``<table>`` elements (header cells ``<th>``, data cells ``<td>``);
pandas' ``read_html`` would need lxml or BeautifulSoup, which the package does not otherwise
use, so a small parser on :mod:`html.parser` reads them.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pandas as pd

__all__ = ["read_report"]


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.text: list[str] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
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
    for rows in parser.tables:
        if len(rows) < 2 or len({len(r) for r in rows}) != 1:
            continue
        frame = pd.DataFrame(rows[1:], columns=rows[0]).replace("", None)
        for column in frame.columns:
            numbers = pd.to_numeric(frame[column].astype(str).str.replace(",", "", regex=False),
                                    errors="coerce")
            if numbers.notna().sum() == frame[column].notna().sum():
                frame[column] = numbers
        frames.append(frame)
    return frames, " ".join(" ".join(parser.text).split())
