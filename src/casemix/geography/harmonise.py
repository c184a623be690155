"""Harmonising births to the municipal boundaries of one reference year.

The reference-date rule (as in RIVM's monitoring: residence on a fixed reference date, the
boundaries of one reference year):

* a birth of year ``t`` carries the municipality code valid on **1 January of ``t``** (every
  change dated on or before that day is already in its code);
* harmonising to reference year ``Y`` uses the boundaries of **1 January of ``Y``**: a birth
  of year ``t <= Y`` gets every change dated after 1 January of ``t`` and on or before
  1 January of ``Y``, in date order (changes chain);
* a birth of year ``t > Y`` has its changes dated after 1 January of ``Y`` and on or before
  1 January of ``t`` undone, latest first. That is possible when the crosswalk is usable
  backwards for its code: the code has a single old code in that change (a rename, a piece
  of a split, the remaining part of a boundary correction). A code formed from several old
  codes (a merger after ``Y``) cannot be undone: an error.

A split gives a birth fractional shares (the population shares of the crosswalk); its
municipality column holds the piece with the largest share (ties: the first in code order),
and the shares table lists every piece.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from casemix.exceptions import DataError
from casemix.geography.crosswalk import Crosswalk
from casemix.geography.regions import RegionTable

__all__ = ["SHARES_COLUMNS", "Harmonised", "harmonise"]

#: Columns of the shared assignment table.
SHARES_COLUMNS = ("birth_id", "level", "unit", "share")
#: Columns of the log of recoded births.
LOG_COLUMNS = ("birth_id", "year", "old_code", "new_code", "share", "date")
#: How many examples an error message shows.
_EXAMPLES = 5
#: Shares are compared rounded to this many decimals when the largest piece is chosen.
_SHARE_DECIMALS = 12


@dataclass(frozen=True, eq=False)
class Harmonised:
    """Births recoded to the boundaries of a reference year.

    Attributes
    ----------
    births : pandas.DataFrame
        One row per birth, in the input order: the code column recoded (a split birth holds
        its largest piece), and, with a region table, its level columns derived from the
        table of the reference year (overwriting columns of the same name).
    shares : pandas.DataFrame
        The shared assignment of split births: ``birth_id``, ``level``, ``unit``, ``share``,
        one row per birth, level and unit; the shares of a birth and level sum to 1. A level
        is listed for a birth only when its pieces lie in different units of that level.
        Births not listed keep their single unit of the births table.
    log : pandas.DataFrame
        One row per recoded birth and piece: ``birth_id``, ``year``, ``old_code``,
        ``new_code``, ``share``, ``date`` (ISO date of the last change applied). It holds
        birth_ids: it stays in the secure environment and is not an export.
    changes : pandas.DataFrame
        Per ``old_code``, ``new_code`` and ``date``: ``births`` recoded that way and their
        ``weight`` (the sum of their shares).
    reference_year : int
    column : str
        The code column that was recoded.
    levels : tuple of str
        The unit columns derived from the region table (empty without one).
    counts : dict of str to int
        The counts below, by name.
    n_births, n_recoded, n_split, n_missing, n_backward : int
        Births in, births recoded, births split over several units, births without a code
        (left as they are), births of years after the reference year recoded backwards.
    """

    births: pd.DataFrame
    shares: pd.DataFrame
    log: pd.DataFrame
    changes: pd.DataFrame
    reference_year: int
    column: str = "municipality"
    levels: tuple[str, ...] = ()
    counts: dict[str, int] = field(default_factory=dict)
    _regions: pd.DataFrame | None = field(default=None, repr=False)

    def expanded(self, weight: str = "share") -> pd.DataFrame:
        """The births with one row per municipality piece, for weighted analyses.

        Parameters
        ----------
        weight : str, default "share"
            Name of the weight column: 1 for a whole birth, the piece's share for a piece
            of a split birth (the weights of a birth sum to 1).

        Returns
        -------
        pandas.DataFrame
            The births table, a split birth repeated once per piece with that piece's
            municipality and derived unit columns; the input order is kept, pieces in code
            order. ``birth_id`` repeats across the pieces of a birth.

        Notes
        -----
        Give ``weight`` as the case-weight column of a model spec (``weights = "share"``) to
        count split births by their population shares; the totals per year are those of the
        births.
        """
        pieces = self.shares[self.shares["level"] == self.column]
        out = self.births.assign(**{weight: 1.0, "_order": np.arange(len(self.births)),
                                    "_piece": 0})
        if pieces.empty:
            return out.drop(columns=["_order", "_piece"])
        split = out["birth_id"].isin(pieces["birth_id"])
        rep = out[split].drop(columns=weight).merge(
            pieces[["birth_id", "unit", "share"]].rename(columns={"share": weight}),
            on="birth_id")
        rep[self.column] = rep.pop("unit").astype(out[self.column].dtype)
        rep["_piece"] = rep.groupby("_order").cumcount()
        regions = self._regions if self._regions is not None else pd.DataFrame()
        for level in self.levels:
            rep[level] = regions[level].reindex(rep[self.column]).to_numpy()
        both = pd.concat([out[~split], rep[out.columns]], ignore_index=True)
        both = both.sort_values(["_order", "_piece"], kind="stable")
        return both.drop(columns=["_order", "_piece"]).reset_index(drop=True)

    def unit_years(self, level: str | None = None) -> pd.DataFrame:
        """Births per unit and year on the boundaries of the reference year.

        Parameters
        ----------
        level : str, optional
            The unit column (default: the harmonised code column); a derived level
            counts split births by the shares of its units.

        Returns
        -------
        pandas.DataFrame
            ``level``, ``unit``, ``year``, ``births`` (a split birth counts by its shares,
            so counts can be fractional), one row per unit and year with births.

        Notes
        -----
        Every year is counted on the same boundaries, so that the trend of a unit compares
        like with like. The counts are microdata-level: disclosure control applies before
        anything leaves the secure environment.
        """
        level = level or self.column
        births = self.births[["birth_id", "year", level]]
        shared = self.shares[self.shares["level"] == level]
        whole = births[~births["birth_id"].isin(shared["birth_id"])].assign(births=1.0)
        year = births.set_index("birth_id")["year"]
        parts = shared.assign(year=year.reindex(shared["birth_id"]).to_numpy()).rename(
            columns={"unit": level, "share": "births"})
        table = pd.concat([whole[["year", level, "births"]], parts[["year", level, "births"]]])
        table = table.groupby([level, "year"], as_index=False)["births"].sum()
        return table.rename(columns={level: "unit"}).assign(level=level)[
            ["level", "unit", "year", "births"]]

    @property
    def n_births(self) -> int:
        return self.counts.get("births", len(self.births))

    @property
    def n_recoded(self) -> int:
        return self.counts.get("recoded", 0)

    @property
    def n_split(self) -> int:
        return self.counts.get("split", 0)

    @property
    def n_missing(self) -> int:
        return self.counts.get("missing", 0)

    @property
    def n_backward(self) -> int:
        return self.counts.get("backward", 0)


def harmonise(
    births: pd.DataFrame,
    crosswalk: Crosswalk,
    reference_year: int,
    *,
    column: str = "municipality",
    regions: RegionTable | None = None,
) -> Harmonised:
    """Recode the births' municipality codes to the boundaries of ``reference_year``.

    Parameters
    ----------
    births : pandas.DataFrame
        Needs ``birth_id``, ``year`` and ``column``.
    crosswalk : Crosswalk
        The dated changes (:func:`~casemix.geography.read_crosswalk`).
    reference_year : int
        The year whose boundaries (on 1 January) the births are recoded to.
    column : str, default "municipality"
        The column of municipality codes.
    regions : RegionTable, optional
        Municipality -> regions by year; the unit columns of its levels are derived from its
        table of ``reference_year``, and every harmonised code must be in that table.

    Returns
    -------
    Harmonised

    Raises
    ------
    casemix.exceptions.DataError
        A column is missing or ``year`` has missing values; a code of a birth after the
        reference year comes from a merger that cannot be undone; a code was abolished
        before its birth's year; or (with ``regions``) a harmonised code is not in the region
        table of the reference year. The message names the column, the codes, how many
        births they have, and the fix.

    Notes
    -----
    The reference-date rule is the module's (:mod:`casemix.geography.harmonise`). The work
    is done once per distinct (code, year) pair and change date, and spread over the births
    with numpy indexing: a million births take about a second. Births with a missing code
    are left as they are (counted in ``n_missing``). Without ``regions``, a code that no
    change names is taken to be unchanged.

    The log and the shares table hold birth_ids: like the births, they stay in the secure
    environment and are never an export.
    """
    year = _check_births(births, column)
    codes = births[column].astype("string")
    pairs, inverse = _pairs(codes, year)
    pieces = _trace(pairs, crosswalk, reference_year, column)
    _check_abolished(pieces, pairs, crosswalk, reference_year, column)
    if regions is not None:
        _check_in_regions(pieces, pairs, crosswalk, regions, reference_year, column)
    pieces = _ranked(pieces)
    main = pieces.drop_duplicates("pair").set_index("pair")["code"].reindex(pairs.index)
    out = births.copy()
    out[column] = _spread(main.to_numpy(object), inverse, births[column], births.index)
    levels = [] if regions is None else regions.levels
    if regions is not None:
        table = regions.for_year(reference_year)
        for level in levels:
            mapped = table[level].reindex(main.to_numpy(object)).to_numpy(object)
            out[level] = _spread(mapped, inverse, births.get(level), births.index)
    counted = _counted(pieces, pairs)
    return Harmonised(
        births=out,
        shares=_shares(pieces, inverse, births["birth_id"], column, levels, regions,
                       reference_year),
        log=_log(pieces, pairs, inverse, births["birth_id"], year),
        changes=_changes(pieces, pairs),
        reference_year=int(reference_year), column=column, levels=tuple(levels),
        counts=_counts(counted, pairs, inverse),
        _regions=None if regions is None else regions.for_year(reference_year))


def _check_births(births: pd.DataFrame, column: str) -> np.ndarray:
    """The births' years as int64, after checking the needed columns."""
    missing = [c for c in ("birth_id", "year", column) if c not in births.columns]
    if missing:
        raise DataError(f"The births have no column {', '.join(missing)} (needed to harmonise "
                        f"{column}); they have: {', '.join(map(str, births.columns[:12]))}"
                        f"{', ...' if len(births.columns) > 12 else ''}. Map the columns to "
                        "the canonical names first.")
    year = pd.to_numeric(births["year"], errors="coerce")
    if year.isna().any():
        raise DataError(f"year: {int(year.isna().sum())} births have no year of birth; a code "
                        "is harmonised by its year. Fill in the year or leave these births "
                        "out.")
    return year.to_numpy(dtype="int64")


def _pairs(codes: pd.Series, year: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """The distinct (code, year) pairs with their birth counts, and each birth's pair
    (-1 for a missing code)."""
    code_index, code_values = pd.factorize(codes.to_numpy(), use_na_sentinel=True)
    years, year_index = np.unique(year, return_inverse=True)
    key = code_index.astype("int64") * len(years) + year_index
    key[code_index < 0] = -1
    unique, inverse = np.unique(key, return_inverse=True)
    inverse = inverse.astype("int64")
    if len(unique) and unique[0] == -1:  # missing codes: no pair
        inverse -= 1
        unique = unique[1:]
    pairs = pd.DataFrame({"code": np.asarray(code_values, dtype=object)[unique // len(years)],
                          "year": years[unique % len(years)]})
    pairs["births"] = np.bincount(inverse[inverse >= 0], minlength=len(pairs))
    return pairs, inverse


def _trace(pairs: pd.DataFrame, crosswalk: Crosswalk, reference_year: int,
           column: str) -> pd.DataFrame:
    """Pieces of each pair: ``pair``, ``code`` (harmonised), ``share``, ``date`` of the
    last change applied (NaT when none), ``backward`` (undone changes)."""
    start = pd.Timestamp(year=int(reference_year), month=1, day=1)
    pieces = pd.DataFrame({"pair": pairs.index.to_numpy(), "code": pairs["code"].to_numpy(),
                           "share": 1.0, "date": pd.NaT, "backward": False,
                           "born": pd.to_datetime(pairs["year"].astype(str) + "-01-01")})
    pieces["date"] = pieces["date"].astype("datetime64[ns]")
    for date in (d for d in crosswalk.dates if d <= start):
        pieces = _forward(pieces, crosswalk.on(date), date)
    later = [d for d in crosswalk.dates if d > start]
    mergers: list[pd.DataFrame] = []
    for date in reversed(later):
        pieces, merged = _backward(pieces, crosswalk.on(date), date)
        mergers.append(merged)
    if any(len(m) for m in mergers):
        raise _merger_error(pd.concat(mergers), pairs, reference_year, column)
    grouped = pieces.groupby(["pair", "code"], sort=False, as_index=False)
    return grouped.agg(share=("share", "sum"), date=("date", "max"),
                       backward=("backward", "any"))


def _forward(pieces: pd.DataFrame, change: pd.DataFrame, date: pd.Timestamp) -> pd.DataFrame:
    """Apply the change of ``date`` to the pieces of births born before it."""
    hit = (pieces["born"] < date) & pieces["code"].isin(change["old_code"]).to_numpy()
    if not hit.any():
        return pieces
    moved = pieces[hit].merge(change[["old_code", "new_code", "share"]], left_on="code",
                              right_on="old_code", suffixes=("", "_change"))
    moved = moved.assign(code=moved["new_code"], share=moved["share"] * moved["share_change"],
                         date=date)[pieces.columns]
    return pd.concat([pieces[~hit], moved], ignore_index=True)


def _backward(pieces: pd.DataFrame, change: pd.DataFrame, date: pd.Timestamp
              ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Undo the change of ``date`` for the pieces of births born on or after it; also the
    pieces whose code is a merger of several old codes (which cannot be undone)."""
    sources = change.groupby("new_code")["old_code"].agg(["nunique", "first"])
    hit = (pieces["born"] >= date) & pieces["code"].isin(sources.index).to_numpy()
    if not hit.any():
        return pieces, pieces.iloc[:0].assign(change_date=date)
    several = pieces["code"].map(sources["nunique"]).fillna(0).to_numpy() > 1
    merged = pieces[hit & several].assign(change_date=date)
    undone = hit & ~several
    pieces = pieces.copy()
    pieces.loc[undone, "code"] = pieces.loc[undone, "code"].map(sources["first"])
    pieces.loc[undone, "date"] = date
    pieces.loc[undone, "backward"] = True
    return pieces, merged


def _merger_error(merged: pd.DataFrame, pairs: pd.DataFrame, reference_year: int,
                  column: str) -> DataError:
    found = merged.assign(births=pairs["births"].to_numpy()[merged["pair"].to_numpy()],
                          year=pairs["year"].to_numpy()[merged["pair"].to_numpy()])
    per_code = found.groupby(["code", "change_date"]).agg(
        births=("births", "sum"), first=("year", "min"), last=("year", "max"))
    shown = ", ".join(f"{code} (formed on {date:%Y-%m-%d}; {int(r.births):,} births of "
                      f"{_years(r.first, r.last)})" for (code, date), r in
                      per_code.head(_EXAMPLES).iterrows())
    latest = int(found["year"].max())
    return DataError(
        f"{column}: {len(per_code)} codes of births after the reference year {reference_year} "
        f"were formed by a merger after 1 January {reference_year}, which cannot be undone: "
        f"{shown}{', ...' if len(per_code) > _EXAMPLES else ''}. Choose a reference year of "
        f"{latest} or later, or leave out the births after {reference_year}.")


def _abolished(crosswalk: Crosswalk, until: pd.Timestamp) -> dict[str, pd.Timestamp]:
    """Codes whose last change on or before ``until`` ended them, with that date."""
    state: dict[str, pd.Timestamp | None] = {}
    for date in (d for d in crosswalk.dates if d <= until):
        change = crosswalk.on(date)
        new = set(change["new_code"])
        state.update(dict.fromkeys(set(change["old_code"]) - new, date))
        state.update(dict.fromkeys(new))
    return {code: date for code, date in state.items() if date is not None}


def _check_abolished(pieces: pd.DataFrame, pairs: pd.DataFrame, crosswalk: Crosswalk,
                     reference_year: int, column: str) -> None:
    """A harmonised code that the crosswalk ended by the reference date: its births carry a
    code abolished before their year."""
    ended = _abolished(crosswalk, pd.Timestamp(year=int(reference_year), month=1, day=1))
    stale = pieces[pieces["code"].isin(list(ended))]
    if stale.empty:
        return
    found = pairs.loc[stale["pair"].unique()]
    per_code = found.groupby("code").agg(births=("births", "sum"), first=("year", "min"),
                                         last=("year", "max"))
    shown = ", ".join(f"{code} (ended {ended[code]:%Y-%m-%d}; {int(r.births):,} births of "
                      f"{_years(r.first, r.last)})" for code, r in
                      per_code.head(_EXAMPLES).iterrows())
    raise DataError(
        f"{column}: {len(per_code)} codes were abolished on or before 1 January of the year of "
        f"their births (a birth of year t carries the code valid on 1 January of t): {shown}"
        f"{', ...' if len(per_code) > _EXAMPLES else ''}. Correct the codes of these births, "
        "or the dates of the crosswalk.")


def _check_in_regions(pieces: pd.DataFrame, pairs: pd.DataFrame, crosswalk: Crosswalk,
                      regions: RegionTable, reference_year: int, column: str) -> None:
    """Every harmonised code must be a municipality of the reference year's table."""
    known = regions.for_year(reference_year).index
    absent = pieces[~pieces["code"].isin(known)]
    if absent.empty:
        return
    births = pairs["births"].to_numpy()[absent["pair"].to_numpy()]
    per_code = pd.Series(births).groupby(absent["code"].to_numpy()).sum().sort_index()
    named = crosswalk.codes
    parts = []
    for label, codes in (("neither in the crosswalk nor", [c for c in per_code.index
                                                          if c not in named]),
                         ("(after harmonising) not", [c for c in per_code.index if c in named])):
        if codes:
            shown = ", ".join(f"{c} ({int(per_code[c]):,} births)" for c in codes[:_EXAMPLES])
            parts.append(f"{len(codes)} codes are {label} in the region table for "
                         f"{reference_year}: {shown}{', ...' if len(codes) > _EXAMPLES else ''}")
    raise DataError(f"{column}: {'; '.join(parts)}. Add these municipalities to the region "
                    f"table of {reference_year} (or their changes to the crosswalk), or "
                    "correct the codes of these births.")


def _ranked(pieces: pd.DataFrame) -> pd.DataFrame:
    """Pieces ordered per pair: largest share first, ties in code order."""
    order = pieces.assign(_rounded=pieces["share"].round(_SHARE_DECIMALS))
    order = order.sort_values(["pair", "_rounded", "code"], ascending=[True, False, True],
                              kind="stable")
    return order.drop(columns="_rounded").reset_index(drop=True)


def _spread(per_pair: np.ndarray, inverse: np.ndarray, like: pd.Series | None,
            index: pd.Index) -> pd.Series:
    """Per-pair values spread over the births (missing where a birth has no pair)."""
    values = np.empty(len(inverse), dtype=object)
    has = inverse >= 0
    values[has] = per_pair[inverse[has]]
    values[~has] = None
    dtype = like.dtype if like is not None and like.dtype == "string" else "string"
    return pd.Series(values, index=index, dtype=dtype)


def _counted(pieces: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """Per pair: number of pieces, whether recoded (split or a new code), whether backward."""
    per = pieces.groupby("pair").agg(pieces=("code", "size"), first=("code", "first"),
                                     backward=("backward", "any"))
    per = per.reindex(pairs.index)
    per["split"] = per["pieces"] > 1
    per["recoded"] = per["split"] | (per["first"].to_numpy() != pairs["code"].to_numpy())
    return per


def _counts(per: pd.DataFrame, pairs: pd.DataFrame, inverse: np.ndarray) -> dict[str, int]:
    n = pairs["births"].to_numpy()
    return {"births": len(inverse), "missing": int((inverse < 0).sum()),
            "recoded": int(n[per["recoded"].to_numpy()].sum()),
            "split": int(n[per["split"].to_numpy()].sum()),
            "backward": int(n[(per["recoded"] & per["backward"]).to_numpy()].sum())}


def _births_of(pairs_wanted: np.ndarray, inverse: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the births whose pair is flagged in ``pairs_wanted``, and their pairs."""
    has = inverse >= 0
    rows = np.flatnonzero(has & pairs_wanted[np.where(has, inverse, 0)])
    return rows, inverse[rows]


def _shares(pieces: pd.DataFrame, inverse: np.ndarray, birth_id: pd.Series, column: str,
            levels: Sequence[str], regions: RegionTable | None,
            reference_year: int) -> pd.DataFrame:
    """The shared assignment of split births, long: one row per birth, level and unit."""
    split = pieces["pair"].value_counts()
    split = split[split > 1].index
    parts = pieces[pieces["pair"].isin(split)][["pair", "code", "share"]]
    if parts.empty:
        return pd.DataFrame({c: pd.Series(dtype=float if c == "share" else object)
                             for c in SHARES_COLUMNS})
    tables = [parts.rename(columns={"code": "unit"}).assign(level=column)]
    if regions is not None:
        table = regions.for_year(reference_year)
        for level in levels:
            mapped = parts.assign(unit=table[level].reindex(parts["code"]).to_numpy())
            mapped = mapped.groupby(["pair", "unit"], as_index=False, sort=False)["share"].sum()
            several = mapped.groupby("pair")["unit"].transform("size") > 1
            tables.append(mapped[several].assign(level=level))
    per_pair = pd.concat(tables, ignore_index=True)[["pair", "level", "unit", "share"]]
    wanted = np.zeros(int(pieces["pair"].max()) + 1, dtype=bool)
    wanted[split.to_numpy()] = True
    rows, pair = _births_of(wanted, inverse)
    out = pd.DataFrame({"row": rows, "pair": pair}).merge(per_pair, on="pair")
    rank = {name: i for i, name in enumerate([column, *levels])}
    out = out.assign(_level=out["level"].map(rank)).sort_values(
        ["row", "_level", "unit"], kind="stable")
    out.insert(0, "birth_id", birth_id.to_numpy()[out["row"].to_numpy()])
    return out[list(SHARES_COLUMNS)].reset_index(drop=True)


def _log(pieces: pd.DataFrame, pairs: pd.DataFrame, inverse: np.ndarray,
         birth_id: pd.Series, year: np.ndarray) -> pd.DataFrame:
    """One row per recoded birth and piece (birth_ids: stays in the secure environment)."""
    per = pieces.groupby("pair").agg(n=("code", "size"), first=("code", "first"))
    recoded = (per["n"] > 1) | (per["first"] != pairs["code"].reindex(per.index))
    wanted = np.zeros(len(pairs), dtype=bool)
    wanted[per.index[recoded].to_numpy()] = True
    rows, pair = _births_of(wanted, inverse)
    recoded_pieces = pieces[pieces["pair"].isin(per.index[recoded])]
    out = pd.DataFrame({"row": rows, "pair": pair}).merge(
        recoded_pieces[["pair", "code", "share", "date"]], on="pair").sort_values(
        ["row"], kind="stable")
    return pd.DataFrame({
        "birth_id": birth_id.to_numpy()[out["row"].to_numpy()],
        "year": year[out["row"].to_numpy()],
        "old_code": pairs["code"].to_numpy()[out["pair"].to_numpy()],
        "new_code": out["code"].to_numpy(),
        "share": out["share"].to_numpy(),
        "date": out["date"].dt.strftime("%Y-%m-%d").to_numpy(),
    })


def _changes(pieces: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """Births recoded per old code, new code and date of the last change."""
    moved = pieces[pieces["date"].notna()]
    moved = moved.assign(old_code=pairs["code"].to_numpy()[moved["pair"].to_numpy()],
                         births=pairs["births"].to_numpy()[moved["pair"].to_numpy()])
    moved = moved.assign(weight=moved["births"] * moved["share"])
    out = moved.groupby(["date", "old_code", "code"], as_index=False).agg(
        births=("births", "sum"), weight=("weight", "sum"))
    out = out.rename(columns={"code": "new_code"})
    out["date"] = out["date"].dt.strftime("%Y-%m-%d")
    return out[["old_code", "new_code", "date", "births", "weight"]]


def _years(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}..{last}"
