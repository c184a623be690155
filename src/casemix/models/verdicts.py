"""The headline verdict of a run: ``flag_95`` and ``flag_998`` of every comparison.

Each shrinker names its between-unit distribution (``verdict_family``) and its national
level (``verdict_centre``); the spread is the same robust estimate in every method
(:func:`casemix.verdict.between_unit_spread`). See :mod:`casemix.verdict`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from casemix.models.shrinkers import Shrinker
from casemix.models.units import UnitTable
from casemix.verdict import SPREAD_SETTINGS, VERDICT_COLUMNS, describe_verdict, unit_verdict

__all__ = ["apply_verdict", "verdict_counts"]

GROUP = ["level", "period", "stratum"]


def apply_verdict(units: UnitTable, shrinker: Shrinker, *,
                  published: pd.Series | None = None) -> tuple[UnitTable, dict[str, Any]]:
    """Set the verdict columns of every comparison (level x period x stratum).

    Parameters
    ----------
    units : UnitTable
        With ``observed``, ``expected`` and (binary outcomes) ``variance``.
    shrinker : Shrinker
        Gives the between-unit family and centre of the method.
    published : pandas.Series of bool, optional
        Only these rows take part (the export: the spread and the verdict come from the
        published units alone); the others keep missing verdict columns.

    Returns
    -------
    (units, summary)
        The table with :data:`casemix.verdict.VERDICT_COLUMNS` set, and the summary recorded
        in the run: ``family``, ``method`` (a sentence), ``settings`` and per comparison the
        spread (``tau2``, ``tau``, ``phi``, ``adjustment``, ``centre``, ``n_units``).
    """
    frame = units.frame.copy()
    mask = (pd.Series(True, index=frame.index) if published is None
            else published.reindex(frame.index, fill_value=False))
    frame[VERDICT_COLUMNS] = frame[VERDICT_COLUMNS].astype(object)
    if published is not None:
        frame.loc[~mask, VERDICT_COLUMNS] = None
    spreads = []
    family = shrinker.verdict_family
    for key, t in frame.loc[mask].groupby(GROUP, sort=False):
        O = t["observed"].to_numpy(dtype=float)
        E = t["expected"].to_numpy(dtype=float)
        V = t["variance"].to_numpy(dtype=float) if "variance" in t else None
        centre = shrinker.verdict_centre(O, E)
        verdict = unit_verdict(O, E, family=family, variance=V, centre=centre)
        for column in VERDICT_COLUMNS:
            frame.loc[t.index, column] = verdict.table[column].to_numpy()
        spreads.append({**dict(zip(GROUP, map(str, key), strict=True)),
                        **verdict.spread.to_dict(), "centre": centre})
    frame["verdict_p"] = pd.to_numeric(frame["verdict_p"], errors="coerce")
    summary = {"family": family, "method": describe_verdict(family),
               "settings": dict(SPREAD_SETTINGS), "spread": spreads}
    return units.replace(frame), summary


def verdict_counts(units: pd.DataFrame) -> pd.DataFrame:
    """Units flagged by the headline verdict per level, on the main rows given.

    Parameters
    ----------
    units : pandas.DataFrame
        Main rows of a unit table (one per unit and level), e.g. the published
        ``units.csv`` rows of :meth:`UnitTable.main`; suppressed rows are not counted.

    Returns
    -------
    pandas.DataFrame
        Per ``level``: ``units``, ``published``, ``above_95``, ``below_95``, ``above_998``,
        ``below_998``, and ``unusual_998`` (the unit codes flagged at 99.8%).
    """
    rows = []
    for level, t in units.groupby("level", sort=False):
        shown = (t[~t["suppressed"].astype(bool)] if "suppressed" in t else t)
        # units, not rows: a table with several periods (unit x year) has a row per period
        row: dict[str, Any] = {"level": level, "units": t["unit"].nunique(),
                               "published": shown["unit"].nunique()}
        for name in ("95", "998"):
            flags = shown[f"flag_{name}"]
            row[f"above_{name}"] = int((flags == "above").sum())
            row[f"below_{name}"] = int((flags == "below").sum())
        row["unusual_998"] = ", ".join(
            f"{u} ({f})" for u, f in zip(shown["unit"].astype(str), shown["flag_998"],
                                         strict=True) if f in ("above", "below"))
        rows.append(row)
    return pd.DataFrame(rows, columns=["level", "units", "published", "above_95", "below_95",
                                       "above_998", "below_998", "unusual_998"])
