"""Numbers as a reader expects them: the report language's decimal mark and grouping
(Babel), a fixed number of decimals per kind of value, and a mark for hidden cells."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd
from babel.numbers import format_decimal, get_decimal_symbol, get_group_symbol

from casemix.report.i18n import Language, language

__all__ = ["HIDDEN", "Formatter"]

#: The mark of a hidden cell (disclosure control), as CBS tables print it: a hidden count
#: may be any size (cells of 10 or more are hidden too, so that no small one can be derived),
#: so ``<10`` would misinform; the report's legend says what ``x`` means.
HIDDEN = "x"
DASH = "\u2013"  # en dash between the limits of an interval


def _missing(value: Any) -> bool:
    """None, NaN, ``pd.NA`` and the hidden mark."""
    if value is None or value is HIDDEN or value is pd.NA or value is pd.NaT:
        return True
    try:
        return bool(math.isnan(float(value)))
    except (TypeError, ValueError):
        return False


@dataclass(frozen=True)
class Formatter:
    """Formats values in one language (:func:`casemix.report.i18n.language`)."""

    lang: Language

    @classmethod
    def of(cls, code: str) -> Formatter:
        """The formatter of language ``code``."""
        return cls(language(code))

    @property
    def decimal_mark(self) -> str:
        return str(get_decimal_symbol(self.lang.locale))

    @property
    def group_mark(self) -> str:
        return str(get_group_symbol(self.lang.locale))

    def number(self, value: Any, digits: int = 2) -> str:
        """A decimal number with ``digits`` decimals and grouping; never ``-0,00``."""
        if _missing(value):
            return HIDDEN
        x = round(float(value), digits)
        x = 0.0 if x == 0 else x
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return str(format_decimal(x, format=pattern, locale=self.lang.locale))

    def count(self, value: Any) -> str:
        """A whole count with grouping (``7.030`` in Dutch, ``7,030`` in English)."""
        return self.number(value, 0)

    def percent(self, value: Any, digits: int = 1) -> str:
        """A proportion in percent (``0.1234`` reads ``12,3%`` in Dutch)."""
        return HIDDEN if _missing(value) else self.number(100 * float(value), digits) + "%"

    def p_value(self, value: Any) -> str:
        """A p-value with three decimals, below 0.001 as ``<0,001``."""
        if _missing(value):
            return HIDDEN
        return "<" + self.number(0.001, 3) if float(value) < 0.001 else self.number(value, 3)

    def interval(self, estimate: Any, lower: Any, upper: Any, *, digits: int = 2,
                 percent: bool = False) -> str:
        """``estimate (lower–upper)``."""
        if _missing(estimate):
            return HIDDEN
        show = (lambda v: self.percent(v, digits)) if percent else (
            lambda v: self.number(v, digits))
        if _missing(lower) or _missing(upper):
            return show(estimate)
        return f"{show(estimate)} ({show(lower)}{DASH}{show(upper)})"

    def level(self, value: float) -> str:
        """A confidence level (``0.95`` reads ``95%``, ``0.998`` reads ``99,8%``)."""
        digits = 0 if round(100 * value, 6).is_integer() else 1
        return self.number(100 * value, digits) + "%"

    def parse(self, text: str) -> float:
        """A number as this formatter wrote it (for reading a report back); NaN when the
        text is not one."""
        s = text.strip().removesuffix("%").replace("\u2212", "-")
        s = s.replace(self.group_mark, "").replace("\u00a0", "").replace(self.decimal_mark, ".")
        try:
            return float(s)
        except ValueError:
            return math.nan
