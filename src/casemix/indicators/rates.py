"""Crude indicator counts and rates per unit (disclosure-safe by default)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from casemix.disclosure import DEFAULT_THRESHOLD, suppress_counts
from casemix.indicators.definitions import DefinitionSettings
from casemix.indicators.derive import IndicatorFlags, derive_indicators
from casemix.records.exclusions import ExclusionLog
from casemix.records.schema import UNIT_LEVELS

__all__ = ["RATE_COLUMNS", "indicator_rates"]

RATE_COLUMNS = ["level", "unit", "indicator", "numerator", "denominator", "rate", "suppressed"]


def _aggregate(flags: pd.DataFrame, units: pd.Series | None) -> pd.DataFrame:
    """Numerator and denominator per unit and indicator (long format)."""
    num = flags.fillna(False).astype("int64")
    den = flags.notna().astype("int64")
    if units is None:
        n, d = num.sum().to_frame().T, den.sum().to_frame().T
        n.index = d.index = pd.Index(["national"], name="unit")
    else:
        n, d = num.groupby(units, observed=True).sum(), den.groupby(units, observed=True).sum()
        n.index.name = d.index.name = "unit"
    n.columns.name = d.columns.name = "indicator"
    long = n.stack().rename("numerator").to_frame().join(d.stack().rename("denominator"))
    return long.reset_index()


def indicator_rates(
    births: pd.DataFrame,
    by: str | Sequence[str] | None = None,
    *,
    indicators: Sequence[str] | None = None,
    settings: DefinitionSettings | None = None,
    flags: IndicatorFlags | None = None,
    threshold: int | None = DEFAULT_THRESHOLD,
) -> tuple[pd.DataFrame, ExclusionLog]:
    """Crude numerator, denominator and rate per unit and indicator.

    Parameters
    ----------
    births : pandas.DataFrame
        Validated births in canonical columns.
    by : str or sequence of str, optional
        Unit level(s), e.g. ``"vsv"``; always preceded by the national row (level ``national``).
    indicators : sequence of str, optional
        Indicator names; default every indicator the columns allow.
    settings : DefinitionSettings, optional
        Definition choices.
    flags : IndicatorFlags, optional
        Already derived flags (saves recomputation).
    threshold : int or None, default 10
        Disclosure threshold; ``None`` disables suppression (only for use inside the secure
        environment).

    Returns
    -------
    (pandas.DataFrame, ExclusionLog)
        Columns ``level, unit, indicator, numerator, denominator, rate, suppressed``; and the
        exclusions (indicator denominators, births without a unit code).
    """
    flags = flags or derive_indicators(births, indicators, settings=settings)
    levels = [by] if isinstance(by, str) else list(by or [])
    bad = [lv for lv in levels if lv not in births]
    if bad:
        raise ValueError(
            f"Cannot compare by {bad}: column(s) not in the births table; unit levels are "
            f"{', '.join(UNIT_LEVELS)}."
        )
    log = ExclusionLog()
    log.extend(flags.exclusions)
    tables = [_aggregate(flags.flags, None).assign(level="national")]
    for level in levels:
        units = births[level]
        log.add("comparison", level, f"{level} missing", int(units.isna().sum()))
        tables.append(_aggregate(flags.flags, units).assign(level=level))
    table = pd.concat(tables, ignore_index=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        table["rate"] = table["numerator"] / table["denominator"]
    table = table[RATE_COLUMNS[:-1]]
    if threshold is None:
        return table.assign(suppressed=False), log
    table, _ = suppress_counts(table, threshold=threshold)
    return table[RATE_COLUMNS], log
