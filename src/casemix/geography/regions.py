"""Region tables: which GGD region, care-office region, VSV and safety region each
municipality belongs to, by year.

A region table is a CSV table with one row per municipality and year: ``municipality``,
``year`` and any of the level columns ``ggd_region``, ``care_office_region``, ``vsv``,
``safety_region``. The unit columns of harmonised births are derived from it, with the table
of the reference year.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from casemix.exceptions import DataError

__all__ = ["REGION_LEVELS", "RegionTable", "read_regions"]

#: The level columns a region table may have (any subset), in order.
REGION_LEVELS = ("ggd_region", "care_office_region", "vsv", "safety_region")
#: How many examples an error message shows.
_EXAMPLES = 5


@dataclass(frozen=True, eq=False)
class RegionTable:
    """A validated table of municipality -> region, by year.

    Attributes
    ----------
    table : pandas.DataFrame
        ``municipality`` (str), ``year`` (int) and the level columns present (str), sorted by
        year and municipality.
    source : str
        Where the table came from, for messages.

    Notes
    -----
    Build one with :func:`read_regions` (a file) or :meth:`from_frame` (a DataFrame).
    """

    table: pd.DataFrame
    source: str = "region table"

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, *, source: str = "region table") -> RegionTable:
        """Check a region table and return it as a :class:`RegionTable`.

        Parameters
        ----------
        frame : pandas.DataFrame
            ``municipality``, ``year`` and any of :data:`REGION_LEVELS` (names compared
            ignoring case and surrounding spaces; other columns are left out).
        source : str
            Where the table came from, for messages.

        Returns
        -------
        RegionTable

        Raises
        ------
        casemix.exceptions.DataError
            ``municipality`` or ``year`` is missing; a year is not a whole number; a code is
            empty; or a municipality appears twice in one year.
        """
        names = {str(c).strip().casefold(): c for c in frame.columns}
        missing = [c for c in ("municipality", "year") if c not in names]
        if missing:
            raise DataError(f"{source}: the region table has no column {', '.join(missing)}; "
                            f"it has: {', '.join(map(str, frame.columns)) or 'none'}. A region "
                            "table needs municipality, year and any of "
                            f"{', '.join(REGION_LEVELS)}.")
        columns = ["municipality", "year", *(c for c in REGION_LEVELS if c in names)]
        table = pd.DataFrame({c: frame[names[c]].to_numpy() for c in columns})
        table["year"] = _years(table["year"], source)
        for column in ("municipality", *columns[2:]):
            table[column] = _codes(table[column], column, source)
        _check_unique(table, source)
        table = table.sort_values(["year", "municipality"], kind="stable")
        return cls(table.reset_index(drop=True), source)

    @property
    def levels(self) -> list[str]:
        """The level columns of the table."""
        return [c for c in REGION_LEVELS if c in self.table.columns]

    @property
    def years(self) -> list[int]:
        """The years of the table."""
        return sorted(int(y) for y in self.table["year"].unique())

    def for_year(self, year: int) -> pd.DataFrame:
        """The regions of ``year``, indexed by municipality.

        Raises
        ------
        casemix.exceptions.DataError
            The table has no rows for ``year`` (the message lists the years it has).
        """
        rows = self.table[self.table["year"] == year]
        if rows.empty:
            raise DataError(f"{self.source}: the region table has no rows for {year}; it has "
                            f"the years {', '.join(map(str, self.years))}. Add the "
                            f"municipalities of {year} or choose one of these years.")
        return rows.drop(columns="year").set_index("municipality")


def read_regions(path: str | Path) -> RegionTable:
    """Read and check a region table (CSV).

    Parameters
    ----------
    path : path
        CSV with ``municipality``, ``year`` and any of :data:`REGION_LEVELS`.

    Returns
    -------
    RegionTable

    Raises
    ------
    casemix.exceptions.DataError
        The file is missing or its table is invalid (see :meth:`RegionTable.from_frame`).

    Notes
    -----
    Codes are read as text, so that leading zeros stay.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"Region table not found: {path}. Check the path.")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    return RegionTable.from_frame(frame, source=str(path))


def _years(values: pd.Series, source: str) -> pd.Series:
    number = pd.to_numeric(values, errors="coerce")
    bad = number.isna() | (number % 1 != 0)
    if bad.any():
        shown = ", ".join(repr(str(v)) for v in values[bad].head(_EXAMPLES))
        raise DataError(f"{source}: year is not a whole number in {int(bad.sum())} rows: "
                        f"{shown}. Give the calendar year, e.g. 2024.")
    return number.astype("int64")


def _codes(values: pd.Series, column: str, source: str) -> pd.Series:
    codes = values.astype("string").str.strip()
    empty = codes.isna() | (codes == "")
    if empty.any():
        raise DataError(f"{source}: {column} is empty in {int(empty.sum())} rows. Fill in every "
                        "code, or leave the column out.")
    return codes.astype(str)


def _check_unique(table: pd.DataFrame, source: str) -> None:
    repeated = table.duplicated(["municipality", "year"], keep=False)
    if repeated.any():
        pairs = table[repeated].drop_duplicates(["municipality", "year"])
        shown = ", ".join(f"{r.municipality} in {r.year}" for r in
                          pairs.head(_EXAMPLES).itertuples())
        raise DataError(f"{source}: {len(pairs)} municipalities appear more than once in a year "
                        f"({int(repeated.sum())} rows): {shown}. Keep one row per municipality "
                        "and year.")
