"""The StatLine long format of publication tables, both ways.

One row per region, period, indicator and measure: the shape that StatLine, Regiobeeld and
VZinfo-style platforms load. :func:`encode_statline` turns unit-table rows (the columns of
``units.csv``) into that shape, and :func:`decode_statline` turns a published long table back
into unit-table rows, which the audit (:mod:`casemix.workflow.audit`) checks like
``units.csv``. The vocabulary (measures, units, status codes) is defined here once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from casemix.models.units import IMPRECISE_WIDTH

__all__ = ["COLUMNS", "KEY", "MEASURES", "NATIONAL_CODE", "NATIONAL_TYPE", "PER_1000",
           "SIGNATURE", "STATUS", "DecodedStatline", "Measure", "decimals", "decode_statline",
           "encode_statline", "rate_unit"]

#: Columns of a StatLine table, in order.
COLUMNS = ["region_code", "region_type", "period", "indicator", "measure", "unit", "value",
           "lower", "upper", "status"]
#: One row per key.
KEY = ["region_code", "region_type", "period", "indicator", "measure"]
#: The columns by which the audit recognises a StatLine table.
SIGNATURE = frozenset({"region_code", "region_type", "period", "indicator", "measure",
                       "value", "status"})
#: Region code and type of the national rows (CBS code of the Netherlands).
NATIONAL_CODE, NATIONAL_TYPE = "NL01", "nederland"
#: Status codes: the value is blank by disclosure control (CBS shows such cells as ``.``);
#: shown but imprecise; blank without disclosure reason (not computed for this unit); and
#: the empty string for a normal value.
STATUS = {"suppressed": "blank by disclosure control: a hidden count, or computed from one",
          "unreliable": f"shown, but the 95% interval is wider than {IMPRECISE_WIDTH:g} on the "
                        "O/E scale",
          "unavailable": "blank: not computed for this unit (no disclosure reason)",
          "": "a normal value"}
#: Indicators published per 1,000 (mortality); the others in percent.
PER_1000 = frozenset({"fetal_death", "neonatal_death_7d", "neonatal_death_28d",
                      "infant_mortality", "perinatal_mortality"})
#: Factor of each rate unit over a proportion.
RATE_SCALES = {"percent": 100, "per_1000": 1000}
#: The verdict as a value: lower than expected, within, higher than expected.
VERDICT_CODES = {"below": -1, "within": 0, "above": 1}


@dataclass(frozen=True)
class Measure:
    """One measure of a StatLine table and the ``units.csv`` columns it shows.

    Attributes
    ----------
    name : str
        Name in the ``measure`` column.
    column : str
        Column of ``units.csv`` that holds the value.
    unit : str
        ``count``, ``ratio``, ``rate`` (published as ``percent`` or ``per_1000``, see
        :func:`rate_unit`) or ``code`` (the verdict: -1, 0, 1).
    digits : int or None
        Decimals as ``units.csv`` publishes them (rates as proportions); None: not rounded
        (counts; weighted counts keep their decimals).
    bounds : tuple of str, optional
        Columns of the 95% interval (``lower``, ``upper``).
    needs : tuple of str
        Counts the value is computed from: blank (``suppressed``) when one of them is hidden.
    interval : tuple of str, optional
        The O/E-scale interval whose width makes the value ``unreliable``.
    """

    name: str
    column: str
    unit: str
    digits: int | None
    bounds: tuple[str, str] | None = None
    needs: tuple[str, ...] = ("observed",)
    interval: tuple[str, str] | None = None


_OE = ("oe_lower", "oe_upper")
#: Every measure, in table order; a table has those whose column the unit rows have.
MEASURES = (
    Measure("births", "n", "count", None, needs=("n",)),
    Measure("births_unweighted", "n_unweighted", "count", None, needs=("n",)),
    Measure("events", "observed", "count", None),
    Measure("events_unweighted", "events_unweighted", "count", None),
    Measure("expected_events", "expected", "count", 1),
    Measure("crude_rate", "crude_rate", "rate", 4, needs=("observed", "n")),
    Measure("oe_ratio", "oe", "ratio", 3, _OE, interval=_OE),
    Measure("adjusted_rate", "adjusted_rate", "rate", 4,
            ("adjusted_rate_lower", "adjusted_rate_upper"), interval=_OE),
    Measure("shrunken_oe_ratio", "shrunk_oe", "ratio", 3, ("shrunk_lower", "shrunk_upper"),
            interval=("shrunk_lower", "shrunk_upper")),
    Measure("verdict_95", "flag_95", "code", 0),
    Measure("verdict_998", "flag_998", "code", 0),
)
_BY_NAME = {m.name: m for m in MEASURES}


def rate_unit(indicator: str) -> str:
    """The unit rates of ``indicator`` are published in: ``per_1000`` for mortality
    (:data:`PER_1000`), ``percent`` otherwise."""
    return "per_1000" if indicator in PER_1000 else "percent"


def decimals(measure: str, unit: str) -> int | None:
    """Decimals a value of ``measure`` in ``unit`` is published with: those of ``units.csv``
    on the scale shown (a proportion's 4 are 2 in percent, 1 per 1,000); None for counts,
    which are whole numbers (weighted counts keep their decimals)."""
    m = _BY_NAME[measure]
    if m.digits is None or m.unit != "rate":
        return m.digits
    return m.digits - int(np.log10(RATE_SCALES[unit]))


def encode_statline(units: pd.DataFrame, indicator: str, *, region_type: str | None = None
                    ) -> pd.DataFrame:
    """Unit-table rows as a StatLine table.

    Parameters
    ----------
    units : pandas.DataFrame
        ``level, unit, period`` and the count and value columns of ``units.csv`` (one row per
        unit and period; a blank count is hidden). Measures whose column is absent are left
        out.
    indicator : str
        The indicator's code (the run's outcome).
    region_type : str, optional
        Region type of every row (default: the row's ``level``).

    Returns
    -------
    pandas.DataFrame
        :data:`COLUMNS`, one row per unit, period and measure.

    Notes
    -----
    Values are copied, never recomputed: rates are rescaled from proportions (4 decimals) to
    percent (2 decimals) or per 1,000 (1 decimal), which publishes the same digits; the
    verdict ``below``/``within``/``above`` becomes -1/0/1. A value computed from a hidden
    count (``needs``) is blank with status ``suppressed`` even where the unit rows show it;
    a shown value is ``unreliable`` when its O/E-scale interval is wider than
    :data:`~casemix.models.units.IMPRECISE_WIDTH`.
    """
    rates = rate_unit(indicator)
    keys = pd.DataFrame({"region_code": units["unit"].astype(str).to_numpy(),
                         "region_type": (units["level"].astype(str).to_numpy()
                                         if region_type is None else region_type),
                         "period": units["period"].astype(str).to_numpy(),
                         "indicator": indicator})
    keys = keys.assign(_row=np.arange(len(units)))
    parts = [_measure_rows(units, keys, m, rates).assign(_measure=i)
             for i, m in enumerate(MEASURES) if m.column in units]
    if not parts:
        return pd.DataFrame(columns=COLUMNS)
    table = pd.concat(parts, ignore_index=True).sort_values(["_row", "_measure"], kind="stable")
    return table[COLUMNS].reset_index(drop=True)


def _measure_rows(units: pd.DataFrame, keys: pd.DataFrame, m: Measure, rates: str
                  ) -> pd.DataFrame:
    """The rows of one measure."""
    hidden = units[[c for c in m.needs if c in units]].isna().any(axis=1).to_numpy()
    value = _scaled(units[m.column], m, rates)
    bounds = [_scaled(units[c], m, rates) if c in units else np.full(len(units), np.nan)
              for c in (m.bounds or ())] or [np.full(len(units), np.nan)] * 2
    value, lower, upper = (np.where(hidden, np.nan, x) for x in (value, *bounds))
    status = np.where(hidden, "suppressed", np.where(
        np.isnan(value), "unavailable", np.where(_unreliable(units, m), "unreliable", "")))
    unit = rates if m.unit == "rate" else m.unit
    return keys.assign(measure=m.name, unit=unit, value=value, lower=lower, upper=upper,
                       status=status)


def _scaled(column: pd.Series, m: Measure, rates: str) -> np.ndarray:
    """A ``units.csv`` column as the table shows it (rates rescaled, verdicts coded)."""
    if m.unit == "code":
        return column.map(VERDICT_CODES).to_numpy(dtype=float, na_value=np.nan)
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    if m.unit != "rate":
        return values
    return np.asarray(np.round(values * RATE_SCALES[rates], decimals(m.name, rates) or 0))


def _unreliable(units: pd.DataFrame, m: Measure) -> np.ndarray:
    """Whether the measure's O/E-scale interval is wider than ``IMPRECISE_WIDTH``."""
    if m.interval is None or not set(m.interval) <= set(units.columns):
        return np.zeros(len(units), dtype=bool)
    lower, upper = (pd.to_numeric(units[c], errors="coerce") for c in m.interval)
    return ((upper - lower) > IMPRECISE_WIDTH).to_numpy(dtype=bool, na_value=False)


@dataclass(frozen=True)
class DecodedStatline:
    """A StatLine table read back into the unit-table shape.

    Attributes
    ----------
    units : pandas.DataFrame
        ``level, unit, period, stratum`` (``all``) and the ``units.csv`` columns of the
        measures shown, one row per region and period (national rows excluded).
    national : pandas.DataFrame
        The national rows (``period, n, observed``).
    duplicated : pandas.DataFrame
        Rows whose key appears more than once.
    unknown : pandas.DataFrame
        Rows of a measure or unit this module does not define.
    marked : pandas.DataFrame
        Rows with status ``suppressed`` that show a value or an interval.
    indicators : tuple of str
        The indicators of the table (one for a table of ``casemix publish``; the unit rows
        are those of the first).
    """

    units: pd.DataFrame
    national: pd.DataFrame
    duplicated: pd.DataFrame
    unknown: pd.DataFrame
    marked: pd.DataFrame
    indicators: tuple[str, ...] = ()


def decode_statline(table: pd.DataFrame) -> DecodedStatline:
    """A StatLine table back in the shape of ``units.csv`` (the inverse of
    :func:`encode_statline`, up to float rounding of rescaled rates).

    Parameters
    ----------
    table : pandas.DataFrame
        :data:`COLUMNS` (``unit``, ``lower``, ``upper`` may be absent).

    Returns
    -------
    DecodedStatline
    """
    t = table.assign(**{c: pd.to_numeric(table[c], errors="coerce") if c in table else np.nan
                        for c in ("value", "lower", "upper")})
    t = t.assign(unit=t["unit"].astype(str) if "unit" in t else "",
                 status=t["status"].fillna("").astype(str),
                 region_code=t["region_code"].astype(str), period=t["period"].astype(str))
    known = t["measure"].isin(list(_BY_NAME)) & t["unit"].isin(
        ["count", "ratio", "code", *RATE_SCALES])
    duplicated = t[t.duplicated(KEY, keep=False)]
    marked = t[t["status"].eq("suppressed") & t[["value", "lower", "upper"]].notna().any(axis=1)]
    indicators = tuple(str(i) for i in pd.unique(t["indicator"]))
    first = t["indicator"].astype(str).eq(indicators[0]) if indicators else known
    wide = _wide(t[known & first].drop_duplicates(KEY))
    national = wide["level"].eq(NATIONAL_TYPE)
    return DecodedStatline(wide[~national].reset_index(drop=True),
                           wide[national].reset_index(drop=True), duplicated, t[~known], marked,
                           indicators)


def _wide(t: pd.DataFrame) -> pd.DataFrame:
    """One row per region and period with a ``units.csv`` column per measure value and
    bound."""
    index = ["region_type", "region_code", "period"]
    columns: dict[str, pd.Series] = {}
    for name, rows in t.groupby("measure", sort=False):
        m = _BY_NAME[str(name)]
        rows = rows.set_index(index)
        scale = rows["unit"].map(RATE_SCALES).fillna(1.0)
        if m.unit == "code":
            columns[m.column] = rows["value"].map({v: k for k, v in VERDICT_CODES.items()})
        else:
            columns[m.column] = rows["value"] / scale
        for column, bound in zip(m.bounds or (), ("lower", "upper"), strict=False):
            columns[column] = rows[bound] / scale
    wide = pd.DataFrame(columns) if columns else pd.DataFrame(
        index=pd.MultiIndex.from_tuples([], names=index))
    for count in ("n", "observed"):
        if count not in wide:
            wide[count] = np.nan
    wide = wide.reset_index().rename(columns={"region_type": "level", "region_code": "unit"})
    return wide.assign(stratum="all")
