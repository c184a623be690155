"""The report's tables: human column labels in the report language, numbers formatted per
kind of column, and each header cell naming its canonical column (``data-column``), so that
``casemix audit`` reads the same table a person reads, in either language."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd
from markupsafe import Markup, escape

from casemix.report.formatting import HIDDEN, Formatter

__all__ = ["N_", "Column", "html_table"]


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "translate later"
    """Mark ``message`` for the catalogue without translating it here."""
    return message


YES, NO = N_("yes"), N_("no")


@dataclass(frozen=True)
class Column:
    """One column of a report table.

    Attributes
    ----------
    key : str
        The canonical column it shows (its name in the CSV files).
    label : str
        Header text (an English message, translated by the catalogue).
    kind : str
        ``text``, ``label`` (a category translated by ``labels``), ``count``, ``number``,
        ``percent``, ``p``, ``interval`` (estimate with ``parts`` as limits) or
        ``percent_interval``.
    digits : int
        Decimals of numbers, intervals and percentages.
    parts : tuple of str
        Lower and upper limit columns of an interval.
    title : str
        Explanation shown on hovering the header.
    """

    key: str
    label: str
    kind: str = "text"
    digits: int = 2
    parts: tuple[str, str] | None = None
    title: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    args: dict[str, str] = field(default_factory=dict)

    def header(self, translate: Callable[[str], str]) -> str:
        """The translated header, with its ``%(name)s`` arguments (translated too)."""
        text = translate(self.label)
        return text % {k: translate(v) for k, v in self.args.items()} if self.args else text


def _cell(row: pd.Series, column: Column, fmt: Formatter,
          translate: Callable[[str], str]) -> tuple[str, bool]:
    """The text of one cell and whether it is a number (right-aligned)."""
    value = row.get(column.key)
    kind = column.kind
    if isinstance(value, str) and kind not in ("text", "label"):
        return value, True  # already written for the reader (``<10``)
    if kind == "count":
        return fmt.count(value), True
    if kind == "number":
        return fmt.number(value, column.digits), True
    if kind == "percent":
        return fmt.percent(value, column.digits), True
    if kind == "p":
        return fmt.p_value(value), True
    if kind in ("interval", "percent_interval"):
        assert column.parts is not None
        lower, upper = (row.get(c) for c in column.parts)
        return fmt.interval(value, lower, upper, digits=column.digits,
                            percent=kind == "percent_interval"), True
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return (HIDDEN if kind == "label" else ""), False
    if isinstance(value, bool):
        return translate(YES if value else NO), False
    text = str(value)
    if not text:
        return "", False
    if kind == "label":
        return translate(column.labels.get(text, text)), False
    return text, False


def html_table(frame: pd.DataFrame, columns: Sequence[Column], fmt: Formatter, *,
               table_id: str = "", caption: str = "") -> Markup:
    """An HTML table of ``frame``'s ``columns`` (missing ones are skipped).

    Each header cell carries ``data-column`` with the canonical name (and an interval's
    ``data-parts``, its limit columns); hidden cells read
    :data:`casemix.report.formatting.HIDDEN`.
    """
    translate = fmt.lang.gettext
    shown = [c for c in columns if c.key in frame.columns]
    head = "".join(
        f'<th scope="col" data-column="{escape(c.key)}"'
        + (f' data-parts="{escape(" ".join(c.parts))}"' if c.parts else "")
        + (f' title="{escape(translate(c.title))}"' if c.title else "")
        + f">{escape(c.header(translate))}</th>" for c in shown)
    body = []
    for _, row in frame.iterrows():
        cells = []
        for c in shown:
            text, numeric = _cell(row, c, fmt, translate)
            kind = ("num ivl" if c.parts else "num") if numeric else "txt"
            cells.append(f'<td class="{kind}">{escape(text)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    ident = f' id="{escape(table_id)}"' if table_id else ""
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return Markup(f'<table class="tbl"{ident}>{cap}<thead><tr>{head}</tr></thead><tbody>'
                  + "".join(body) + "</tbody></table>")

