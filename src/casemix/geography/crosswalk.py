"""Municipality crosswalks: the dated boundary changes between municipality codes.

A crosswalk is a CSV table with one row per piece of a change:

``old_code``
    The municipality code before the change.
``new_code``
    A code the old municipality's population goes to (``old_code`` itself for the part
    that stays, in a boundary correction).
``date``
    The day the change takes effect, ISO ``YYYY-MM-DD`` (Dutch changes mostly take effect on
    1 January).
``share``
    The share of the old municipality's population that goes to ``new_code``: 1 for a merger
    or a rename, fractions for a split. The shares of one ``old_code`` on one date sum to 1.

Changes chain: ``A -> B`` in 2019 and ``B -> C`` in 2022 take a code of 2018 to ``C``. The
rows of one date are one simultaneous change, applied once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from casemix.exceptions import DataError

__all__ = ["CROSSWALK_COLUMNS", "Crosswalk", "read_crosswalk"]

#: The columns of a crosswalk, in order.
CROSSWALK_COLUMNS = ("old_code", "new_code", "date", "share")
#: How far the shares of one old code on one date may be from 1.
SHARE_TOLERANCE = 1e-9
#: How many examples an error message shows.
_EXAMPLES = 5


@dataclass(frozen=True, eq=False)
class Crosswalk:
    """A validated table of dated municipality changes.

    Attributes
    ----------
    table : pandas.DataFrame
        ``old_code``, ``new_code`` (str), ``date`` (``datetime64``), ``share`` (float), sorted
        by date, old and new code.
    source : str
        Where the table came from, for messages.

    Notes
    -----
    Build one with :func:`read_crosswalk` (a file) or :meth:`from_frame` (a DataFrame); both
    check the table (see :meth:`from_frame`).
    """

    table: pd.DataFrame
    source: str = "crosswalk"

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, *, source: str = "crosswalk") -> Crosswalk:
        """Check a crosswalk table and return it as a :class:`Crosswalk`.

        Parameters
        ----------
        frame : pandas.DataFrame
            Columns ``old_code``, ``new_code``, ``date``, ``share`` (names compared ignoring
            case and surrounding spaces; other columns, such as names, are kept aside).
        source : str
            Where the table came from, for messages.

        Returns
        -------
        Crosswalk

        Raises
        ------
        casemix.exceptions.DataError
            A column is missing; a code is empty; a date is not ``YYYY-MM-DD``; a share is
            not a number in (0, 1]; a row is repeated; or the shares of an old code on a date
            do not sum to 1 (within 1e-9). The message names the column, the values, the
            rows affected and the fix.
        """
        table = _columns(frame, source)
        table = table.assign(old_code=_codes(table, "old_code", source),
                             new_code=_codes(table, "new_code", source),
                             date=_dates(table, source), share=_shares(table, source))
        _check_unique(table, source)
        _check_sums(table, source)
        table = table.sort_values(["date", "old_code", "new_code"], kind="stable")
        return cls(table.reset_index(drop=True), source)

    @property
    def dates(self) -> list[pd.Timestamp]:
        """The dates of the changes, in order."""
        return sorted(self.table["date"].unique())

    @property
    def codes(self) -> set[str]:
        """Every code the crosswalk names (old or new)."""
        return set(self.table["old_code"]) | set(self.table["new_code"])

    def on(self, date: pd.Timestamp) -> pd.DataFrame:
        """The rows of the change of ``date``."""
        return self.table[self.table["date"] == date]


def read_crosswalk(path: str | Path) -> Crosswalk:
    """Read and check a crosswalk CSV file.

    Parameters
    ----------
    path : path
        CSV with columns ``old_code, new_code, date, share`` (comma-separated, UTF-8).

    Returns
    -------
    Crosswalk

    Raises
    ------
    casemix.exceptions.DataError
        The file is missing or its table is invalid (see :meth:`Crosswalk.from_frame`).

    Notes
    -----
    Codes are read as text (``GM0363`` and ``0363`` keep their spelling); dates must be ISO.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"Crosswalk file not found: {path}. Check the path.")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    return Crosswalk.from_frame(frame, source=str(path))


def _columns(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """The four crosswalk columns, found ignoring case and spaces."""
    names = {str(c).strip().casefold(): c for c in frame.columns}
    missing = [c for c in CROSSWALK_COLUMNS if c not in names]
    if missing:
        raise DataError(f"{source}: the crosswalk has no column {', '.join(missing)}; it has: "
                        f"{', '.join(map(str, frame.columns)) or 'none'}. A crosswalk needs "
                        f"the columns {', '.join(CROSSWALK_COLUMNS)}.")
    return pd.DataFrame({c: frame[names[c]].to_numpy() for c in CROSSWALK_COLUMNS})


def _codes(table: pd.DataFrame, column: str, source: str) -> pd.Series:
    codes = table[column].astype("string").str.strip()
    empty = codes.isna() | (codes == "")
    if empty.any():
        raise DataError(f"{source}: {column} is empty in {int(empty.sum())} rows (lines "
                        f"{_rows(empty)}). Fill in the municipality code.")
    return codes.astype(str)


def _dates(table: pd.DataFrame, source: str) -> pd.Series:
    text = table["date"].astype("string").str.strip()
    dates = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    bad = dates.isna()
    if bad.any():
        raise DataError(f"{source}: date is not an ISO date (YYYY-MM-DD) in {int(bad.sum())} "
                        f"rows: {_values(text[bad])} (lines {_rows(bad)}). Write the day the "
                        "change takes effect, e.g. 2024-01-01.")
    return dates


def _shares(table: pd.DataFrame, source: str) -> pd.Series:
    shares = pd.to_numeric(table["share"], errors="coerce")
    bad = shares.isna() | ~np.isfinite(shares) | (shares <= 0) | (shares > 1)
    if bad.any():
        raise DataError(f"{source}: share is not a number in (0, 1] in {int(bad.sum())} rows: "
                        f"{_values(table['share'][bad])} (lines {_rows(bad)}). Give the share "
                        "of the old municipality's population going to new_code (1 for a "
                        "merger or a rename).")
    return shares.astype(float)


def _check_unique(table: pd.DataFrame, source: str) -> None:
    repeated = table.duplicated(["old_code", "new_code", "date"], keep=False)
    if repeated.any():
        pairs = table[repeated].drop_duplicates(["old_code", "new_code", "date"])
        shown = ", ".join(f"{r.old_code} -> {r.new_code} on {r.date:%Y-%m-%d}"
                          for r in pairs.head(_EXAMPLES).itertuples())
        raise DataError(f"{source}: {int(repeated.sum())} rows repeat an old_code, new_code and "
                        f"date: {shown}. Keep one row per piece (add their shares).")


def _check_sums(table: pd.DataFrame, source: str) -> None:
    sums = table.groupby(["old_code", "date"])["share"].sum()
    off = sums[(sums - 1).abs() > SHARE_TOLERANCE]
    if len(off):
        shown = ", ".join(f"{code} on {date:%Y-%m-%d}: {total:.12g}"
                          for (code, date), total in off.head(_EXAMPLES).items())
        raise DataError(f"{source}: share: the shares of {len(off)} old codes on their date do "
                        f"not sum to 1 (within {SHARE_TOLERANCE:g}): {shown}"
                        f"{', ...' if len(off) > _EXAMPLES else ''}. Give every piece of the "
                        "old municipality, with shares that sum to 1.")


def _rows(mask: pd.Series) -> str:
    """File line numbers of the first flagged rows (the header is line 1)."""
    lines = (np.flatnonzero(mask.to_numpy()) + 2)[:_EXAMPLES]
    return ", ".join(map(str, lines)) + (", ..." if int(mask.sum()) > _EXAMPLES else "")


def _values(values: pd.Series) -> str:
    shown = [repr(str(v)) for v in values.head(_EXAMPLES)]
    return ", ".join(shown) + (", ..." if len(values) > _EXAMPLES else "")
