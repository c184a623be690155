"""Crude indicator counts and rates per unit (disclosure-safe by default)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from casemix.disclosure import DEFAULT_THRESHOLD, LinkedCells, Protection, protect
from casemix.disclosure.tables import (
    indicator_units,
    link_indicator_table,
    mark_primary,
    national_cells,
    nesting_of,
    unit_key,
)
from casemix.indicators.definitions import DefinitionSettings
from casemix.indicators.derive import IndicatorFlags, derive_indicators
from casemix.records.exclusions import ExclusionLog
from casemix.records.schema import UNIT_LEVELS

__all__ = ["RATE_COLUMNS", "disclose_rates", "indicator_counts", "indicator_rates",
           "rates_from_counts"]

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
    table, log = indicator_counts(births, levels, flags)
    return rates_from_counts(table, log, levels, nesting=nesting_of(births, levels),
                             threshold=threshold), log


def indicator_counts(births: pd.DataFrame, levels: Sequence[str], flags: IndicatorFlags
                     ) -> tuple[pd.DataFrame, ExclusionLog]:
    """Numerator and denominator per unit (national row first) and indicator, with the
    exclusion log: sums over births, so the counts of batches of births add up to those of
    the births (:mod:`casemix.engine`).

    Returns
    -------
    (pandas.DataFrame, ExclusionLog)
        Columns ``level, unit, indicator, numerator, denominator``.
    """
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
    return table[RATE_COLUMNS[:5]], log


def rates_from_counts(table: pd.DataFrame, log: ExclusionLog, levels: Sequence[str], *,
                      nesting: dict[tuple[str, str], dict[str, str]] | None,
                      threshold: int | None = DEFAULT_THRESHOLD) -> pd.DataFrame:
    """Rates of an indicator count table (:func:`indicator_counts`), disclosure-controlled
    (:func:`disclose_rates`) unless ``threshold`` is None."""
    table = table.copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        table["rate"] = table["numerator"] / table["denominator"]
    table = table[RATE_COLUMNS[:-1]]
    if threshold is None:
        return table.assign(suppressed=False)
    missing = dict.fromkeys(levels, 0.0)  # zero counts are not logged
    missing |= {str(e["scope"]): float(str(e["n_rows"])) for e in log.entries
                if e["stage"] == "comparison"}
    table = disclose_rates(table, threshold=threshold, nesting=nesting,
                           missing={lv: (n if n >= threshold or n == 0 else None)
                                    for lv, n in missing.items()})
    return table[RATE_COLUMNS]


def disclose_rates(table: pd.DataFrame, *, threshold: int = DEFAULT_THRESHOLD,
                   nesting: dict[tuple[str, str], dict[str, str]] | None = None,
                   missing: dict[str, float | None] | None = None) -> pd.DataFrame:
    """Suppress an indicator table as one system of linked cells.

    Parameters
    ----------
    table : pandas.DataFrame
        ``level, unit, indicator, numerator, denominator, rate`` with every count.
    threshold : int, default 10
    nesting : dict, optional
        Levels that nest (municipalities in GGD regions; see
        :func:`casemix.disclosure.tables.nesting_of`): public, so an attacker has it.
    missing : dict, optional
        Births without a code per level as the exclusion log shows them (None for ``<10``).

    Returns
    -------
    pandas.DataFrame
        The table with hidden numerators (and their rates) and denominators blanked, and a
        ``suppressed`` column.

    Notes
    -----
    Primary suppression: a numerator, complement (denominator - numerator) or denominator
    below ``threshold`` hides the numerator (and the denominator when that is small).
    Secondary suppression (:func:`casemix.disclosure.protect`) then holds against every
    relation an attacker can use: units add up to the national row, municipalities to their
    region, and indicators whose denominators nest (live births = births - stillbirths;
    perinatal = fetal + neonatal deaths; :func:`~casemix.disclosure.tables.
    definitional_relations`) link the counts of different indicators of one unit. Nested
    events (:data:`~casemix.disclosure.tables.NESTED_EVENTS`: 28-day against 7-day neonatal
    deaths, preterm against very preterm, ...) add the difference of their numerators as a
    count that must not be small either.
    """
    cells = LinkedCells()
    links = link_indicator_table(cells, table, file="indicators", nesting=nesting,
                                 missing=missing)
    hidden = ~np.asarray(cells.published)
    rows = indicator_units(table)
    keys = [unit_key(lv, u, p, st) for lv, u, p, st in
            zip(rows["level"], rows["unit"], rows["period"], rows["stratum"], strict=True)]
    mark_primary(hidden, links, keys, rows["observed"], rows["n"], threshold)
    for key, outer in links.nested.items():  # e.g. late neonatal deaths = 28d - 7d
        d = cells.values[cells.index(key)]
        hidden[outer] |= bool(0 < d < threshold)
    hidden = protect(cells, hidden, Protection(threshold, float(threshold)),
                     last_resort=national_cells(cells))
    no_o = np.array([hidden[links.observed[k]] for k in keys], dtype=bool)
    no_n = np.array([hidden[links.n[k]] for k in keys], dtype=bool)
    out = table.copy()
    out["numerator"] = out["numerator"].astype("Int64")
    out["denominator"] = out["denominator"].astype("Int64")
    out["rate"] = out["rate"].astype(float)
    out.loc[no_o, ["numerator", "rate"]] = pd.NA
    out.loc[no_n, ["denominator", "rate"]] = pd.NA
    out["suppressed"] = no_o | no_n
    return out
