"""Births shared between units: the assignment table of (birth, level, unit, share) rows.

A birth whose care is split between VSVs (a practice connected to several VSVs, a mother who
moved, a municipality split by a boundary change) is listed with one row per unit it is
shared with; its shares of a level add up to 1. Births not listed belong to the unit of their
column in the births table, as always. The births table keeps one row per birth, so the risk
model is fitted on births; only the unit comparison spreads a shared birth over its units.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from casemix.exceptions import DataError

__all__ = ["SHARE_COLUMNS", "SHARE_TOLERANCE", "Shares", "read_shares", "shares_from_episodes",
           "shares_from_frame"]

#: Columns of an assignment table.
SHARE_COLUMNS = ("birth_id", "level", "unit", "share")
#: The shares of one birth at one level must add up to 1 within this.
SHARE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Shares:
    """A validated assignment table.

    Attributes
    ----------
    frame : pandas.DataFrame
        ``birth_id, level, unit, share`` (strings, strings, strings, float), one row per
        birth per level per unit, every share in (0, 1], the shares of a (birth, level)
        adding up to 1.
    """

    frame: pd.DataFrame

    @property
    def levels(self) -> tuple[str, ...]:
        """Levels at which some birth is shared."""
        return tuple(sorted(pd.unique(self.frame["level"])))

    def for_level(self, level: str) -> pd.DataFrame:
        """The rows of one level."""
        return self.frame[self.frame["level"] == level]

    def n_shared(self, level: str) -> int:
        """Births shared at ``level``."""
        return int(self.for_level(level)["birth_id"].nunique())

    def only(self, levels: Sequence[str]) -> Shares:
        """The rows of ``levels`` (e.g. the levels a model compares)."""
        return Shares(self.frame[self.frame["level"].isin(list(levels))].reset_index(drop=True))

    def check_births(self, birth_ids: pd.Series) -> None:
        """Every shared birth must be in the births table.

        Raises
        ------
        DataError
            Naming the birth ids, with how many rows are affected.
        """
        known = pd.Index(birth_ids.astype(str))
        unknown = ~self.frame["birth_id"].isin(known)
        if unknown.any():
            ids = self.frame.loc[unknown, "birth_id"].drop_duplicates()
            raise DataError(f"Shares: column 'birth_id' has {len(ids):,} birth(s) that are "
                            f"not in the births table ({int(unknown.sum()):,} rows), e.g. "
                            f"{ids.head(3).tolist()}.")

    def fingerprint(self) -> str:
        """SHA-256 of the table in a canonical order (recorded in the run folder)."""
        frame = self.frame.sort_values(list(SHARE_COLUMNS[:3])).reset_index(drop=True)
        text = frame.to_csv(index=False, float_format="%.17g")
        return hashlib.sha256(text.encode()).hexdigest()


def read_shares(path: str | Path) -> Shares:
    """Read and validate an assignment table (CSV or Parquet).

    Parameters
    ----------
    path : str or Path
        A file with the columns ``birth_id, level, unit, share``.

    Returns
    -------
    Shares
    """
    from casemix.records.readers import read_table

    return shares_from_frame(read_table(path), source=str(path))


def shares_from_frame(frame: pd.DataFrame, *, source: str = "shares") -> Shares:
    """Validate an assignment table held in memory.

    Raises
    ------
    DataError
        A column is missing, a share is not in (0, 1], a (birth, level, unit) is listed twice,
        or the shares of a birth at a level do not add up to 1; each names the column, the
        values and how many rows are affected.
    """
    missing = [c for c in SHARE_COLUMNS if c not in frame]
    if missing:
        raise DataError(f"{source}: the assignment table needs the columns "
                        f"{', '.join(SHARE_COLUMNS)}; missing: {', '.join(missing)}.")
    out = pd.DataFrame({c: frame[c].astype("string").astype(object)
                        for c in SHARE_COLUMNS[:3]})
    out["share"] = _shares(frame["share"], source)
    for column in SHARE_COLUMNS[:3]:
        blank = out[column].isna() | out[column].eq("")
        if blank.any():
            raise DataError(f"{source}: column {column!r} is empty in {int(blank.sum()):,} "
                            "rows.")
    twice = out.duplicated(list(SHARE_COLUMNS[:3]), keep=False)
    if twice.any():
        ids = out.loc[twice, "birth_id"].drop_duplicates().head(3).tolist()
        raise DataError(f"{source}: {int(twice.sum()):,} rows repeat a (birth_id, level, unit), "
                        f"e.g. births {ids}: list each unit of a birth once.")
    total = out.groupby(["birth_id", "level"], sort=False)["share"].sum()
    off = total[np.abs(total - 1) > SHARE_TOLERANCE]
    if len(off):
        example = ", ".join(f"{b} at {lv}: {s:.6g}" for (b, lv), s in off.head(3).items())
        raise DataError(f"{source}: column 'share' must add up to 1 per birth and level; "
                        f"{len(off):,} (birth, level) pairs do not ({example}).")
    return Shares(out.reset_index(drop=True))


def _shares(column: pd.Series, source: str) -> npt.NDArray[np.float64]:
    values = pd.to_numeric(column, errors="coerce").to_numpy(float, na_value=np.nan)
    bad = ~((values > 0) & (values <= 1))
    if bad.any():
        raise DataError(f"{source}: column 'share' must be a number in (0, 1]; "
                        f"{int(bad.sum()):,} rows are not (e.g. "
                        f"{column[bad].head(3).tolist()}).")
    return values


def shares_from_episodes(episodes: pd.DataFrame, *, level: str, unit: str | None = None,
                         by: str | None = None) -> Shares:
    """Shares from care episodes: each birth's units in proportion to its episodes.

    Parameters
    ----------
    episodes : pandas.DataFrame
        One row per care episode: ``birth_id``, the unit column and (optionally) the
        amount of care of the episode in column ``by`` (contacts, days, or 1 per phase of
        care: pregnancy, birth, postnatal).
    level : str
        Level the units belong to (e.g. ``"vsv"``).
    unit : str, optional
        Column holding the unit code (default: ``level``).
    by : str, optional
        Column of the amount of care; default: each distinct unit of a birth gets an equal
        share.

    Returns
    -------
    Shares
        Only the births with more than one unit (the others keep the unit of their column in
        the births table, which should be the same unit).

    Notes
    -----
    The share of unit $u$ in birth $i$ is $s_{iu} = a_{iu} / \\sum_v a_{iv}$ with
    $a_{iu}$ the care of the birth's episodes in $u$ (or 1 per unit).
    """
    unit = unit or level
    missing = [c for c in ("birth_id", unit, *([by] if by else [])) if c not in episodes]
    if missing:
        raise DataError(f"Episodes: column(s) {', '.join(missing)} are missing.")
    amount = (pd.Series(1.0, index=episodes.index) if by is None else
              pd.to_numeric(episodes[by], errors="coerce"))
    bad = ~(amount >= 0)
    if bad.any():
        raise DataError(f"Episodes: column {by!r} must be a number >= 0; {int(bad.sum()):,} "
                        f"rows are not (e.g. {episodes.loc[bad, by].head(3).tolist()}).")
    frame = pd.DataFrame({"birth_id": episodes["birth_id"].astype(str),
                          "unit": episodes[unit].astype(str), "a": amount.to_numpy(float)})
    care = frame.groupby(["birth_id", "unit"], sort=True)["a"].agg(
        "sum" if by else "max").reset_index()
    total = care.groupby("birth_id")["a"].transform("sum")
    none = total <= 0
    if none.any():
        ids = care.loc[none, "birth_id"].drop_duplicates()
        raise DataError(f"Episodes: {len(ids):,} births have no care in column {by!r} "
                        f"(all zero), e.g. {ids.head(3).tolist()}.")
    care = care.assign(share=care["a"] / total, level=level)
    care = care[care["a"] > 0]  # a unit without care of the birth has no share of it
    care = care[care.groupby("birth_id")["unit"].transform("size") > 1]
    return shares_from_frame(care[list(SHARE_COLUMNS)], source="episodes")
