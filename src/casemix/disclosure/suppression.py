"""Small-count suppression of aggregated tables before they leave the secure environment."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["DEFAULT_THRESHOLD", "SuppressionLog", "check_threshold", "mask_small_counts",
           "suppress_counts"]

DEFAULT_THRESHOLD = 10


@dataclass
class SuppressionLog:
    """Every suppressed cell with its reason (kept inside the secure environment)."""

    entries: list[dict[str, object]] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """Columns ``group, unit, reason``."""
        return pd.DataFrame(self.entries, columns=["group", "unit", "reason"])

    def __len__(self) -> int:
        return len(self.entries)


def suppress_counts(
    table: pd.DataFrame,
    *,
    numerator: str = "numerator",
    denominator: str = "denominator",
    derived: Sequence[str] = ("rate",),
    group_by: Sequence[str] = ("level", "indicator"),
    unit: str = "unit",
    threshold: int = DEFAULT_THRESHOLD,
) -> tuple[pd.DataFrame, SuppressionLog]:
    """Suppress small counts, their complements and everything computed from them.

    Parameters
    ----------
    table : pandas.DataFrame
        Aggregated table with one row per unit and group.
    numerator, denominator : str
        Count columns.
    derived : sequence of str
        Columns computed from the counts (rates, ratios, intervals), blanked with them.
    group_by : sequence of str
        Columns that define a set of units whose counts add up to a published total (secondary
        suppression works within each set).
    unit : str
        Column naming the unit.
    threshold : int, default 10
        Counts below this value are suppressed.

    Returns
    -------
    (pandas.DataFrame, SuppressionLog)
        The table with a boolean ``suppressed`` column and suppressed cells set to missing, and
        the log of every suppression.

    Notes
    -----
    Primary suppression: a row is suppressed when its numerator, its complement (denominator
    minus numerator) or its denominator is below ``threshold``; the numerator and derived
    columns are blanked, and the denominator too when it is itself below the threshold.
    Secondary suppression: when exactly one row of a set is suppressed, the row with the next
    smallest numerator is suppressed as well (with its denominator when the first row's
    denominator was blanked), so that the first cannot be recovered from the set's total by
    subtraction.
    """
    out = table.copy()
    num = out[numerator].to_numpy(dtype=float)
    den = out[denominator].to_numpy(dtype=float)
    primary = (num < threshold) | ((den - num) < threshold) | (den < threshold)
    suppressed = primary.copy()
    blank_den = den < threshold
    log = SuppressionLog()
    keys = [c for c in group_by if c in out]
    groups = out.groupby(keys, sort=False).indices if keys else {(): np.arange(len(out))}
    for group, rows in groups.items():
        rows = np.asarray(rows)
        for r in rows[primary[rows]]:
            log.entries.append({"group": group, "unit": out[unit].iat[r],
                                "reason": f"count below {threshold}"})
        if primary[rows].sum() == 1 and len(rows) > 1:
            rest = rows[~primary[rows]]
            second = rest[np.argmin(num[rest])]
            suppressed[second] = True
            if blank_den[rows].any():  # else the small denominator follows from the total
                blank_den[second] = True
            log.entries.append({"group": group, "unit": out[unit].iat[second],
                                "reason": "secondary: protects a single suppressed cell"})
    for column in (numerator, denominator):
        if pd.api.types.is_integer_dtype(out[column].dtype):
            out[column] = out[column].astype("Int64")
    present = [c for c in derived if c in out]
    rates = [c for c in present if pd.api.types.is_numeric_dtype(out[c].dtype)]
    labels = [c for c in present if c not in rates]
    out[rates] = out[rates].astype(float)
    out[labels] = out[labels].astype(object)
    out.loc[suppressed, [numerator, *rates]] = pd.NA
    out.loc[suppressed, labels] = None
    out.loc[blank_den, denominator] = pd.NA
    out["suppressed"] = suppressed
    return out, log


def mask_small_counts(table: pd.DataFrame, column: str = "n_rows",
                      threshold: int = DEFAULT_THRESHOLD) -> pd.DataFrame:
    """Show counts below ``threshold`` as ``"<threshold"`` (for logs of counts, such as the
    exclusion log, where no rate is computed from them)."""
    out = table.copy()
    counts = out[column].astype(object)
    out[column] = counts.where(out[column] >= threshold, f"<{threshold}")
    return out


def check_threshold(threshold: int, *, override: bool = False) -> dict[str, object]:
    """Validate a disclosure threshold and return the record for the manifest.

    Thresholds below :data:`DEFAULT_THRESHOLD` lower the protection of exported tables and
    need ``override=True`` (the CLI flag ``--allow-small-counts``); the override is recorded.
    """
    if threshold < 1:
        raise ValueError(f"The disclosure threshold must be >= 1. Got {threshold!r} instead.")
    if threshold < DEFAULT_THRESHOLD and not override:
        raise ValueError(
            f"A disclosure threshold of {threshold} is below the default of "
            f"{DEFAULT_THRESHOLD}; outputs could identify births. Pass --allow-small-counts "
            "(override=True) to do this deliberately; the override is recorded in the manifest."
        )
    return {"threshold": threshold, "override": bool(threshold < DEFAULT_THRESHOLD)}
