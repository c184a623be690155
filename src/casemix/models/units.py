"""The unit table: per unit O, E and O/E, for the pooled period, each year and each stratum."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from casemix.core.cells import Cells, stable_order
from casemix.records.exclusions import ExclusionLog
from casemix.standardisation.indirect import unit_comparison
from casemix.standardisation.poisson_binomial import (
    poisson_binomial_ratio_interval,
    poisson_binomial_units,
)

__all__ = ["DERIVED_COLUMNS", "IMPRECISE_WIDTH", "UnitTable", "cell_variance", "compare_units",
           "period_label", "row_groups"]

#: Columns blanked together with a suppressed observed count (all computable from it).
DERIVED_COLUMNS = ["crude_rate", "oe", "oe_lower", "oe_upper", "adjusted_rate",
                   "adjusted_rate_lower", "adjusted_rate_upper", "z", "p_value", "flag_95",
                   "flag_998", "flag_poisson_95", "flag_poisson_998", "verdict_p",
                   "shrunk_oe", "shrunk_lower", "shrunk_upper", "prob_above"]

#: A unit is marked imprecise (the report) or unreliable (publication tables) when its 95%
#: O/E interval is wider than this: it cannot tell about half the national rate from about one
#: and a half times it (for O = E the Byar interval is that wide up to about 17 expected
#: events).
IMPRECISE_WIDTH = 1.0

#: Stratum label of the rows over all births of a unit.
ALL = "all"


def period_label(years: Sequence[int]) -> str:
    """Label of the pooled period: ``"2024"``, ``"2020-2024"``, or ``"all"`` without years."""
    if not years:
        return ALL
    return str(years[0]) if len(years) == 1 else f"{years[0]}-{years[-1]}"


@dataclass(frozen=True)
class UnitTable:
    """The long unit-comparison table and the selections every consumer needs.

    A row is one unit of one level in one period and stratum. The *main* rows cover the
    pooled period and all births; *yearly* rows (``by_year``) one year each; *strata* rows
    (``stratify``) one value of a stratifying variable each, over the pooled period.

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns ``level, unit, ..., period, stratum`` (see
        :data:`casemix.standardisation.indirect.UNIT_COLUMNS`).
    period : str
        Label of the pooled period (:func:`period_label` of the analysed years).
    """

    frame: pd.DataFrame
    period: str

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, years: Sequence[int] | None = None) -> UnitTable:
        """Wrap a unit table read from ``units.csv``; the pooled period comes from ``years``
        (the run's manifest) or, without them, is the one label that is not a single year."""
        if years:
            return cls(frame, period_label(sorted(years)))
        labels = pd.unique(frame["period"].astype(str))
        pooled = [p for p in labels if not p.isdigit()]
        return cls(frame, str(pooled[0] if pooled else labels[0]))

    def _select(self, level: str | None, mask: pd.Series) -> pd.DataFrame:
        if level is not None:
            mask = mask & self.frame["level"].eq(level)
        return self.frame.loc[mask]

    def is_main(self) -> pd.Series:
        """Boolean mask of the main rows (pooled period, stratum ``all``)."""
        return (self.frame["period"].astype(str).eq(self.period)
                & self.frame["stratum"].eq(ALL))

    def is_yearly(self) -> pd.Series:
        """Boolean mask of the per-year rows (stratum ``all``, one year)."""
        return (~self.frame["period"].astype(str).eq(self.period)
                & self.frame["stratum"].eq(ALL))

    def main(self, level: str | None = None) -> pd.DataFrame:
        """Rows of the pooled period over all births (one per unit of each level)."""
        return self._select(level, self.is_main())

    def yearly(self, level: str | None = None) -> pd.DataFrame:
        """Rows of single years (``by_year``)."""
        return self._select(level, self.is_yearly())

    def strata(self, level: str | None = None) -> pd.DataFrame:
        """Rows of single strata (``stratify``) over the pooled period."""
        return self._select(level, ~self.frame["stratum"].eq(ALL))

    def groups(self) -> list[pd.DataFrame]:
        """One table per comparison (level x period x stratum), in table order."""
        return [t for _, t in self.frame.groupby(["level", "period", "stratum"], sort=False)]

    def replace(self, frame: pd.DataFrame) -> UnitTable:
        """The same selections on a new frame (e.g. with shrinkage columns added)."""
        return UnitTable(frame, self.period)


def compare_units(cells: Cells, expected: npt.NDArray[np.float64],
                  per_level: dict[str, npt.NDArray[np.float64]], *, levels: Sequence[str],
                  stratify: Sequence[str], by_year: bool, years: tuple[int, ...],
                  confidence_level: float, log: ExclusionLog,
                  level_cells_of: dict[str, tuple[Cells, npt.NDArray[np.float64]]] | None = None
                  ) -> UnitTable:
    """O, E and O/E per unit for each level, the pooled period, each year and each stratum.

    Parameters
    ----------
    cells : Cells
        Unit cells (keys: the levels, stratifying variables and ``year``).
    expected : ndarray
        Expected count of each cell; ``per_level`` overrides it for levels with their own
        model (random or Bayesian unit effects).
    log : ExclusionLog
        Receives the births without a unit code, per level.
    level_cells_of : dict, optional
        Levels at which births are shared between units: their own cells (each shared birth
        spread over its units by its shares) and expected counts, replacing ``cells``.

    Notes
    -----
    With case weights or shares the null variance of a unit's O is that of a weighted sum,
    $V = \\sum_c m_{2,c}\\, p_c (1 - p_c)$ (:func:`cell_variance`); intervals and the
    Poisson flags use the effective counts $O/k$ and $E/k$ with the design effect
    $k = V / \\sum_c m_c p_c (1 - p_c)$ (Kish 1965; $k = 1$ for frequency weights), and
    ``n_effective`` is $n/k$.
    """
    national = float(cells.y.sum() / cells.m.sum())
    tables = []
    for level in levels:
        level_cells, level_expected = (level_cells_of or {}).get(
            level, (cells, per_level.get(level, expected)))
        frame = _cell_frame(level_cells, level_expected)
        log.add("comparison", level, f"{level} missing",
                int(frame.loc[frame[level].isna(), "_n" if "_n" in frame else "_m"].sum()))
        tables += [_compare_level(sub, level, national, period, stratum, confidence_level)
                   for sub, period, stratum in row_groups(frame, stratify=stratify,
                                                          by_year=by_year, years=years)]
    return UnitTable(pd.concat(tables, ignore_index=True), period_label(years))


def row_groups(frame: pd.DataFrame, *, stratify: Sequence[str], by_year: bool,
               years: tuple[int, ...]) -> Iterator[tuple[pd.DataFrame, str, str]]:
    """The cells behind each block of unit-table rows: ``(cells, period, stratum)`` for the
    pooled period, each year (``by_year`` with several years) and each stratum value."""
    period = period_label(years)
    yield frame, period, ALL
    if by_year and len(years) > 1:
        for year, sub in frame.groupby("year"):
            yield sub, str(year), ALL
    for column in stratify:
        for value, sub in frame.groupby(column, dropna=False):
            yield sub, period, f"{column}={value}"


def cell_variance(expected: npt.NDArray[np.float64], births: npt.NDArray[np.float64],
                  variance_weight: npt.NDArray[np.float64] | None = None
                  ) -> npt.NDArray[np.float64]:
    """Null variance of the events of each cell, $m p (1 - p)$ with
    $p = e/m$ (the births of a cell share one covariate pattern, hence one risk).

    With frequency weights ``m`` is the sum of weights and the variance
    $\\sum w p(1-p)$; with sampling weights or shares, ``variance_weight`` is
    $m_2 = \\sum (w s)^2$ and the variance that of a weighted sum,
    $m_2 p (1 - p)$."""
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(births > 0, expected / births, 0.0)
        v = expected * (1 - p)
        if variance_weight is None:
            return v
        return v * np.where(births > 0, variance_weight / births, 0.0)


def _cell_frame(cells: Cells, expected: npt.NDArray[np.float64]) -> pd.DataFrame:
    """The cells' keys with their sums: ``_y, _m, _e`` (weighted), ``_v`` (null variance),
    ``_v1`` (the variance were the weights whole births), ``_n`` (unweighted births) and
    ``_plain`` (weights of whole births); for cells of whole births (no ``m2``) only
    ``_y, _m, _e, _v`` (and ``_n`` where recorded): the others would repeat them (a fifth of
    the memory of the comparison at 50M births)."""
    v1 = cell_variance(expected, cells.m)
    if cells.m2 is None:  # whole births: _v1 is _v, _n is _m and every cell is plain
        extra = {} if cells.count is None else {"_n": cells.count}
        return _frame_of(cells.keys, _y=cells.y, _m=cells.m, _e=expected, _v=v1, **extra)
    v = cell_variance(expected, cells.m, cells.m2)
    return _frame_of(cells.keys, _y=cells.y, _m=cells.m, _e=expected, _v=v, _v1=v1,
                     _n=cells.births, _plain=cells.m2 == cells.m)


def _frame_of(keys: pd.DataFrame, **arrays: npt.NDArray[Any]) -> pd.DataFrame:
    """``keys`` with ``arrays`` as further columns, all without copies (``assign`` copies
    every array: 415 MB more at the comparison's peak for 10M cells). The comparison only
    reads the frame."""
    return pd.DataFrame({**{c: keys[c] for c in keys.columns}, **arrays}, copy=False)


def _compare_level(frame: pd.DataFrame, level: str, national: float, period: str,
                   stratum: str, confidence_level: float) -> pd.DataFrame:
    weighted = "_plain" in frame  # see _cell_frame
    grouped = frame.groupby(level, observed=True)
    agg = grouped[["_y", "_m", "_e", "_v", "_v1"] if weighted else ["_y", "_m", "_e", "_v"]].sum()
    codes = _group_numbers(frame[level], grouped)
    plain = frame["_plain"].to_numpy() if weighted else np.ones(len(frame), dtype=bool)
    k = None if plain.all() else _design_effect(agg["_v"].to_numpy(), agg["_v1"].to_numpy())
    table = unit_comparison(agg["_y"], agg["_e"], agg["_m"], units=agg.index.astype(str),
                            level=level, national_rate=national,
                            confidence_level=confidence_level, variance=agg["_v"],
                            design_effect=k)
    if k is not None:
        table["n_effective"] = agg["_m"].to_numpy() / k
    m = frame["_m"].to_numpy(dtype=float)
    # whole births in every cell of the unit: no cell of the unit that is not
    present = codes >= 0
    not_whole = ~(plain & (m == np.round(m)))[present]
    whole = np.bincount(codes[present], weights=not_whole, minlength=len(agg)) == 0
    table = _poisson_binomial(table, frame, codes, whole, national, confidence_level)
    return table.assign(period=period, stratum=stratum, variance=agg["_v"].to_numpy())


def _group_numbers(column: pd.Series, grouped: Any) -> npt.NDArray[np.intp]:
    """Each cell's row in the sums of ``grouped`` (``column`` grouped with ``observed=True``,
    sorted), -1 without a unit code: from a categorical's codes (the observed categories in
    their order), otherwise ``ngroup``."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        raw = column.cat.codes.to_numpy()
        rank = np.full(len(column.cat.categories) + 1, -1, dtype=np.intp)
        used = np.bincount(raw[raw >= 0], minlength=len(column.cat.categories)) > 0
        rank[:-1][used] = np.arange(int(used.sum()))
        return rank[raw]  # code -1 (missing) takes the last entry, -1
    return np.nan_to_num(grouped.ngroup().to_numpy(dtype=float), nan=-1).astype(np.intp)


def _design_effect(v: npt.NDArray[np.float64], v1: npt.NDArray[np.float64]
                   ) -> npt.NDArray[np.float64]:
    """$k = V / V_1$ per unit (1 where the unit has no variance at all)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(v1 > 0, v / v1, 1.0)


def _merge_equal_risks(births: npt.NDArray[np.float64], risk: npt.NDArray[np.float64],
                       group: npt.NDArray[np.intp]) -> tuple[
        npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.intp]]:
    """The cells of one unit with one risk as one cell with their births summed, in the
    order of unit, then risk.

    Notes
    -----
    The sum of independent Binomial(a, p) and Binomial(b, p) is Binomial(a + b, p), so every
    unit's Poisson-binomial distribution is unchanged; its tails cost a pass over fewer cells
    (at 50M births, 10.4M cells of 70 VSVs hold 750,460 distinct unit x risk pairs: the cells
    of the years and strata of one design row).

    The cells are put in that order by the risks' bit patterns (for risks in (0, 1) they
    order as the values) after the unit (:func:`_unit_risk_order`): cells already in unit
    order sort each unit's bits; others take one sort of the unit and the bits above the
    smallest risk's packed into one integer when they fit in 63 bits (54 bits of risks and
    340 municipalities do: 61 ms), otherwise a stable radix sort on the bits, then on the
    unit (111 ms for the 999,382 cells of a million births); no hashing of the risks
    (``group_rows`` on them took 0.17-0.25 s). Cells of one unit and risk may come in any
    order: births are whole numbers, so their sums are exact in any order.
    """
    order = _unit_risk_order(risk, group)
    group, risk = group[order], risk[order]
    new = np.empty(len(order), dtype=bool)
    new[:1] = True
    new[1:] = (group[1:] != group[:-1]) | (risk[1:] != risk[:-1])
    starts = np.flatnonzero(new)
    return np.add.reduceat(births[order], starts), risk[starts], group[starts]


def _unit_risk_order(risk: npt.NDArray[np.float64], group: npt.NDArray[np.intp]
                     ) -> npt.NDArray[np.intp]:
    """An order of the cells by unit, then risk (cells of one unit and risk in any order).

    Cells already in unit order (as :func:`_poisson_binomial` gathers them) sort each
    unit's risks on their own: 43 ms instead of the 60 ms of one sort of the packed keys
    for the 999,382 cells of 340 municipalities (min of 7; shorter sorts, the same order
    of the keys).
    """
    bits = risk.view(np.int64)  # risks in (0, 1): their bits order as the values
    if len(group) > 1 and bool(np.all(group[1:] >= group[:-1])):
        bounds = np.flatnonzero(np.diff(group)) + 1
        order = np.empty(len(group), dtype=np.intp)
        for start, stop in zip(np.r_[0, bounds].tolist(), np.r_[bounds, len(group)].tolist(),
                               strict=True):
            order[start:stop] = np.argsort(bits[start:stop]) + start
        return order
    low = int(bits.min())
    width = (int(bits.max()) - low).bit_length()
    top = int(group.max())
    if (top + 1) << width <= 2**63 - 1:
        return np.argsort((group.astype(np.int64) << width) | (bits - low))
    order = stable_order(bits - low, int(bits.max()) - low + 1)
    return order[stable_order(group[order], top + 1)]


def _poisson_binomial(table: pd.DataFrame, frame: pd.DataFrame, codes: npt.NDArray[np.intp],
                      whole: npt.NDArray[np.bool_], national: float, confidence_level: float
                      ) -> pd.DataFrame:
    """Exact Poisson-binomial test and O/E intervals from the cells' risks (a binary outcome
    with known risks, :mod:`casemix.standardisation.poisson_binomial`) for the units whose
    cells are ``whole`` births (``codes``: each cell's unit, the row of ``table``; -1 for no
    unit); for units with case weights or shared births (not whole births) the Poisson
    versions on the effective counts stay."""
    present = codes >= 0
    group = codes[present]
    keep = whole[group]
    if not keep.any():
        return table
    rows = np.flatnonzero(whole)
    # the kept cells in unit order (stable), gathered once in that order: the units then
    # need no sorted copies of their own (a gigabyte less at the peak at 50M births)
    cells = np.flatnonzero(present)[keep]
    # a kept unit's number among the kept units (its position in ``rows``)
    group = (np.cumsum(whole) - 1)[group[keep]]
    order = stable_order(group, len(rows))
    cells, group = cells[order], group[order]
    del order
    births = frame["_m"].to_numpy(dtype=float)[cells]
    risk = frame["_e"].to_numpy(dtype=float)[cells]
    del cells
    risk /= births
    np.clip(risk, 1e-12, 1 - 1e-12, out=risk)
    births, risk, group = _merge_equal_risks(births, risk, group)
    units = poisson_binomial_units(births, risk, group, len(rows))
    del births, risk, group
    O = table["observed"].to_numpy(dtype=float)[rows]
    out = table.iloc[rows].copy()
    lo, hi = poisson_binomial_ratio_interval(units, O, level=confidence_level)
    rate = national
    out["oe_lower"], out["oe_upper"] = lo, hi
    out["adjusted_rate_lower"], out["adjusted_rate_upper"] = lo * rate, hi * rate
    up, down = units.upper_tail(O), units.lower_tail(O)
    out["p_value"] = np.minimum(1.0, 2 * np.minimum(up, down))
    # the interval at level L lies above 1 exactly when P(X >= O) < (1 - L)/2 (the limits
    # invert the same tails), so the flags need no interval of their own
    for lev, name in ((0.95, "flag_poisson_95"), (0.998, "flag_poisson_998")):
        alpha = (1 - lev) / 2
        out[name] = np.where(up < alpha, "above", np.where(down < alpha, "below", "within"))
    if len(rows) == len(table):
        return out
    table = table.copy()
    for column in ("oe_lower", "oe_upper", "adjusted_rate_lower", "adjusted_rate_upper",
                   "p_value", "flag_poisson_95", "flag_poisson_998"):
        table.iloc[rows, table.columns.get_loc(column)] = out[column].to_numpy()
    return table
