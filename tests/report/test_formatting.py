"""Numbers as Dutch and English readers write them (expected strings written by hand, after
the Dutch convention: decimal comma, a full stop between thousands)."""

from __future__ import annotations

import math

import pytest

from casemix.report.formatting import HIDDEN, Formatter

NL, EN = Formatter.of("nl"), Formatter.of("en")


@pytest.mark.parametrize("value,nl,en", [
    (7030.0, "7.030", "7,030"), (168462.0, "168.462", "168,462"), (9, "9", "9"),
    (1234567, "1.234.567", "1,234,567")])
def test_counts(value, nl, en):
    assert NL.count(value) == nl and EN.count(value) == en


def test_decimals_and_no_negative_zero():
    assert NL.number(1.23456, 2) == "1,23" and EN.number(1.23456, 2) == "1.23"
    assert NL.number(-0.00001, 4) == "0,0000"
    assert NL.number(-0.004, 2) == "0,00"
    assert NL.number(-1.5, 1) == "-1,5"
    assert NL.number(12345.678, 1) == "12.345,7"


def test_percent_p_values_and_levels():
    assert NL.percent(0.1234) == "12,3%" and EN.percent(0.1234) == "12.3%"
    assert NL.p_value(0.0004) == "<0,001" and NL.p_value(0.0476) == "0,048"
    assert NL.level(0.95) == "95%" and NL.level(0.998) == "99,8%"


def test_intervals_and_hidden_cells():
    assert NL.interval(1.106, 0.679, 1.653) == "1,11 (0,68\u20131,65)"
    assert NL.interval(0.1666, 0.1023, 0.2491, digits=1, percent=True) == (
        "16,7% (10,2%\u201324,9%)")
    for value in (None, math.nan, float("nan")):
        assert NL.count(value) == HIDDEN and NL.interval(value, 1, 2) == HIDDEN


def test_parse_reads_what_it_wrote():
    for value in (7030.0, 1.25, -3.5, 0.0):
        assert NL.parse(NL.number(value, 2)) == pytest.approx(value)
        assert EN.parse(EN.number(value, 2)) == pytest.approx(value)
