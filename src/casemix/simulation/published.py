"""A sample table of published figures for simulated births (demo input of ``casemix align``
and ``casemix report --reference``)."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from casemix.alignment import REFERENCE_COLUMNS
from casemix.indicators import DefinitionSettings, indicator_rates
from casemix.records import validate_births

__all__ = ["PUBLISHED_DEFINITIONS", "published_figures"]

#: Indicator -> definitions preset it is published under in the sample table: the Big2 family
#: as the Kansrijke Start monitor counts it, perinatal mortality as older Perined editions
#: (22+0 weeks, neonatal deaths to day 7), so that the alignment has differences to explain.
PUBLISHED_DEFINITIONS: dict[str, str] = {
    "preterm": "monitor-2022", "sga": "monitor-2022", "big2": "monitor-2022",
    "perinatal_mortality": "perined-22wk"}


def published_figures(
    births: pd.DataFrame,
    *,
    level: str = "vsv",
    definitions: Mapping[str, str] | None = None,
    threshold: int = 10,
) -> pd.DataFrame:
    """Figures per unit, year and indicator as a registry would publish them.

    Parameters
    ----------
    births : pandas.DataFrame
        Canonical births (e.g. ``simulate_cohort(...).births``); validated here.
    level : str
        Unit level of the table (a unit column, or ``national``).
    definitions : mapping, optional
        Indicator -> definitions preset (default :data:`PUBLISHED_DEFINITIONS`).
    threshold : int
        Publication suppression: a numerator below it is blank, and a denominator below it
        blanks both.

    Returns
    -------
    pandas.DataFrame
        ``unit, year, indicator, numerator, denominator`` (the format of
        :func:`casemix.alignment.align`), counts as nullable integers.
    """
    births = validate_births(births).births
    rows = [_counts(births, level, indicator, preset)
            for indicator, preset in (definitions or PUBLISHED_DEFINITIONS).items()]
    table = pd.concat(rows, ignore_index=True)[list(REFERENCE_COLUMNS)]
    return _suppressed(table, threshold)


def _counts(births: pd.DataFrame, level: str, indicator: str, preset: str) -> pd.DataFrame:
    settings = DefinitionSettings.from_preset(preset)
    out = []
    for year, sub in births.groupby("year"):
        table, _ = indicator_rates(sub, None if level == "national" else level,
                                   indicators=[indicator], settings=settings, threshold=None)
        keep = (table["level"] == level) & (table["indicator"] == indicator)
        out.append(table[keep].assign(year=int(year)))
    return pd.concat(out, ignore_index=True)


def _suppressed(table: pd.DataFrame, threshold: int) -> pd.DataFrame:
    out = table.astype({"numerator": "Int64", "denominator": "Int64"})
    small_d = out["denominator"] < threshold
    out.loc[small_d | (out["numerator"] < threshold), "numerator"] = pd.NA
    out.loc[small_d, "denominator"] = pd.NA
    return out.sort_values(["year", "indicator", "unit"], ignore_index=True)
