"""Compression of rows into cells: unique key combinations with summed events and weights."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["Cells", "UnitCells", "compress_cells", "dense_unique", "group_codes", "group_rows",
           "integer_offsets", "narrow", "sorted_sums", "stable_order", "unit_cells"]

#: Compress only when the cells are fewer than this share of the rows.
COMPRESSION_LIMIT = 0.5
#: :func:`dense_unique` marks keys in a table of at most this many bins (or 8 per key, if
#: more): 5 bytes a bin.
DENSE_BINS = 2**23


@dataclass
class Cells:
    """Rows collapsed to unique combinations of key columns.

    Attributes
    ----------
    keys : pandas.DataFrame
        One row per cell with the original values of the key columns.
    y, m : ndarray
        Sum of weighted events and of weights per cell.
    inverse : ndarray of int
        Cell index of each analysed row.
    compressed : bool
        False when compression did not pay off and each row is its own cell.
    pattern : ndarray of int, optional
        For unit cells: index of the covariate pattern of each cell.
    m2 : ndarray, optional
        Variance weight per cell: the sum over its rows of $w$ for frequency weights, of
        $w^2$ for sampling weights (and $w s^2$, $(w s)^2$ for births shared with share
        $s$), so that the null variance of the cell's weighted events is $m_2 p (1 - p)$.
        None: equal to ``m`` (frequency weights, nothing shared).
    count : ndarray, optional
        Unweighted births (rows) per cell: what disclosure thresholds count. None: ``m``.
    events : ndarray, optional
        Unweighted events per cell. None: ``y``.
    """

    keys: pd.DataFrame
    y: npt.NDArray[np.float64]
    m: npt.NDArray[np.float64]
    inverse: npt.NDArray[np.signedinteger[Any]]
    compressed: bool
    pattern: npt.NDArray[np.intp] | None = None
    m2: npt.NDArray[np.float64] | None = None
    count: npt.NDArray[np.float64] | None = None
    events: npt.NDArray[np.float64] | None = None

    @property
    def variance_weight(self) -> npt.NDArray[np.float64]:
        """``m2``, or ``m`` when the cells have no variance weights of their own."""
        return self.m if self.m2 is None else self.m2

    @property
    def births(self) -> npt.NDArray[np.float64]:
        """Unweighted births per cell (``count``, or ``m`` when not recorded)."""
        return self.m if self.count is None else self.count

    @property
    def unweighted_events(self) -> npt.NDArray[np.float64]:
        """Unweighted events per cell (``events``, or ``y`` when not recorded)."""
        return self.y if self.events is None else self.events


def _codes(column: pd.Series | npt.NDArray[np.intp]) -> tuple[npt.NDArray[np.int64], int]:
    """Codes 1.. of the values of ``column`` in sorted order (missing -> 0) and their number.

    Categoricals use their codes (the order of their categories, as ``pd.factorize`` with
    ``sort=True``) and integers of a moderate range (nullable or not) their offset from the
    minimum, without hashing; unused values only widen the radix of :func:`group_rows`.
    Strings stored by pyarrow are dictionary-encoded by pyarrow (10x faster than
    ``pd.factorize(sort=True)``, which converts them to Python strings first).
    """
    if isinstance(column, pd.Series) and isinstance(column.dtype, pd.CategoricalDtype):
        return column.cat.codes.to_numpy().astype(np.int64) + 1, len(column.cat.categories) + 1
    if pd.api.types.is_integer_dtype(column.dtype):
        offsets = integer_offsets(column, max(DENSE_BINS, 2 * len(column)))
        if offsets is not None:
            return offsets
    arrow = _arrow_codes(column)
    if arrow is not None:
        return arrow
    if isinstance(column.dtype, np.dtype) and column.dtype.kind == "f":
        return _float_codes(column)
    # sorted codes: the groups come out in the order of their values, whatever the order of
    # the rows, so that births read in any order (or by any engine) give identical cells
    codes, uniques = pd.factorize(column, use_na_sentinel=True, sort=True)
    return codes.astype(np.int64) + 1, len(uniques) + 1


def _float_codes(column: pd.Series | npt.NDArray[np.floating[Any]]
                 ) -> tuple[npt.NDArray[np.int64], int]:
    """Sorted codes 1.. (missing: 0) of a float column and their number + 1: the codes of
    ``pd.factorize(sort=True)``, from hashing the values and ranking only the distinct ones
    (28 ms instead of 50-100 ms for 999,399 continuous SES values)."""
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    rank = np.empty(len(uniques) + 1, dtype=np.int64)
    rank[0] = 0  # missing
    # distinct values (one of 0.0 and -0.0, which hash as one): no ties to order
    rank[1 + np.argsort(np.asarray(uniques, dtype=float))] = np.arange(1, len(uniques) + 1)
    return rank[codes + 1], len(uniques) + 1


def integer_offsets(column: pd.Series | npt.NDArray[np.integer[Any]], max_range: int
                    ) -> tuple[npt.NDArray[np.int64], int] | None:
    """Codes 1.. of an integer or boolean column (nullable or not; missing: 0) as offsets
    from its minimum, and their number + 1; None when its range reaches ``max_range`` or
    its values do not fit in int64 (then factorise it)."""
    values = column if isinstance(column, pd.Series) else pd.Series(column, copy=False)
    low, high = values.min(), values.max()
    if pd.isna(low):  # no rows, or all missing
        return np.zeros(len(values), dtype=np.int64), 1
    low, high = int(low), int(high)
    if high - low >= max_range:
        return None
    try:
        codes = values.to_numpy(dtype=np.int64, na_value=low - 1) - (low - 1)
    except (OverflowError, ValueError, TypeError):  # beyond int64 (unsigned 64-bit values)
        return None
    return codes, high - low + 2


def _arrow_codes(column: pd.Series | npt.NDArray[np.intp]
                 ) -> tuple[npt.NDArray[np.int64], int] | None:
    """Sorted codes 1.. (missing: 0) of a string column stored by pyarrow and their number
    + 1 (None for other columns): the distinct values are encoded by pyarrow, then ranked in
    code-point order (the order of ``pd.factorize(sort=True)``)."""
    if not isinstance(column, pd.Series) or not pd.api.types.is_string_dtype(column.dtype):
        return None
    to_arrow = getattr(column.array, "__arrow_array__", None)
    if to_arrow is None:
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    arrow = to_arrow()
    if not (pa.types.is_string(arrow.type) or pa.types.is_large_string(arrow.type)):
        return None
    whole = arrow.combine_chunks() if isinstance(arrow, pa.ChunkedArray) else arrow
    encoded = pc.dictionary_encode(whole)  # type: ignore[attr-defined]
    uniques = encoded.dictionary
    rank = np.empty(len(uniques) + 1, dtype=np.int64)
    rank[0] = 0  # missing
    order = pc.sort_indices(uniques).to_numpy()  # type: ignore[attr-defined]
    rank[1 + order] = np.arange(1, len(uniques) + 1)
    indices = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return rank[indices + 1], len(uniques) + 1


def group_rows(columns: Sequence[pd.Series | npt.NDArray[np.intp]]) -> tuple[
        npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Group rows by the combination of ``columns`` (missing is a value of its own).

    Returns
    -------
    (inverse, first)
        Group index of each row, and the first row of each group.

    Notes
    -----
    Groups are numbered in the lexicographic order of their values (missing first within a
    column), not in the order of the rows. The columns are coded (see ``_codes``) and combined
    into one integer code by mixed-radix arithmetic, so finding the groups is a single
    :func:`dense_unique` over int64 codes (O(n) for a moderate radix).
    """
    return group_codes(len(columns[0]), (_codes(column) for column in columns))


def group_codes(n: int, coded: Iterable[tuple[npt.NDArray[np.integer[Any]], int]]) -> tuple[
        npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """:func:`group_rows` of ``n`` rows whose columns are already coded: ``(codes, size)``
    pairs with codes in ``0 .. size - 1`` in the order of the values.

    Groups are numbered in the lexicographic order of the codes, so any codes that order as
    the values give the groups of :func:`group_rows`; exact sizes keep the radix small
    (the terms' level codes of a design: 1.1M combinations, marked in a table, instead of the
    11.4M that the codes of ``group_rows``, with a missing value and unused values each,
    would sort).
    """
    combined = np.zeros(n, dtype=np.int64)
    radix = 1
    for codes, size in coded:
        if radix * size >= 2**62:  # would overflow: renumber what we have first
            # the rank of each combination (pd.factorize(sort=True) codes, without hashing)
            combined = dense_unique(combined, radix)[1].astype(np.int64)
            radix = int(combined.max()) + 1
        combined = combined * size + codes
        radix *= size
    values, inverse = dense_unique(combined, radix)
    # a row of each group (the first: written last in reverse order); any row would do for
    # the group's values, this one is the row np.unique(return_index=True) names
    first = np.empty(len(values), dtype=np.intp)
    first[inverse[::-1]] = np.arange(n - 1, -1, -1, dtype=np.intp)
    return inverse, first


def dense_unique(key: npt.NDArray[np.int64], size: int) -> tuple[
        npt.NDArray[np.int64], npt.NDArray[np.intp]]:
    """The sorted distinct values of ``key`` (integers in ``0 .. size - 1``) and the index of
    each key among them: ``numpy.unique(key, return_inverse=True)``, in O(n) when ``size`` is
    moderate.

    Notes
    -----
    ``numpy.unique`` sorts all n keys. When ``size`` is at most :data:`DENSE_BINS` (or eight
    bins per key) the keys are marked in a table of ``size`` bins instead: the marked bins
    are the distinct values in order, and their running count is the inverse. Larger ranges
    (the table would take too much memory) sort the keys (:func:`_sorted_unique`), or, when a
    random sample of a million keys repeats itself much (:func:`_few_distinct`), hash them
    (``pandas.factorize``) and sort only the distinct values: the same result, 0.15 s
    instead of 1.1-1.6 s for the 685,300 covariate patterns among 13M grouped rows of 50M
    births, but slower than sorting when nearly every key is distinct (2.8 s against 1.8 s
    for their 10.4M unit cells).
    """
    if size > max(DENSE_BINS, 8 * len(key)) or len(key) >= 2**31:
        if _few_distinct(key):
            codes, distinct = pd.factorize(key)
            order = np.argsort(distinct)
            rank = np.empty(len(distinct), dtype=np.intp)
            rank[order] = np.arange(len(distinct), dtype=np.intp)
            return np.asarray(distinct[order], dtype=np.int64), rank[codes]
        return _sorted_unique(key, size)
    used = np.zeros(size, dtype=bool)
    used[key] = True
    # a 32-bit running count: the table is 5 bytes a bin, not 16
    rank = np.cumsum(used, dtype=np.int32)
    return np.flatnonzero(used).astype(np.int64), rank[key].astype(np.intp) - 1


def _sorted_unique(key: npt.NDArray[np.int64], size: int) -> tuple[
        npt.NDArray[np.int64], npt.NDArray[np.intp]]:
    """``numpy.unique(key, return_inverse=True)`` for keys ``0 .. size - 1`` from their
    stable order (:func:`_key_order`): the distinct values and inverse do not depend on how
    the keys were sorted, so the result is numpy's to the last element."""
    order = _key_order(key, size)
    ordered = key[order]
    new = np.empty(len(key), dtype=bool)
    new[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    inverse = np.empty(len(key), dtype=np.intp)
    inverse[order] = np.cumsum(new, dtype=np.intp) - 1
    return ordered[new], inverse


#: Keys with at most one descent in this many pairs are sorted by timsort (see
#: :func:`_key_order`).
_NEARLY_SORTED = 16


def _key_order(key: npt.NDArray[np.int64], size: int) -> npt.NDArray[np.intp]:
    """The stable order of integer keys ``0 .. size - 1``.

    Notes
    -----
    Keys in nearly sorted order (the grouped rows of :mod:`casemix.engine` come so, and so
    do their combined codes; at most one descent in :data:`_NEARLY_SORTED` pairs) are
    sorted by numpy's stable sort, timsort, which merges the sorted runs: 3 ms instead of
    the 63 ms of ``numpy.unique``'s quicksort for the 999,399 grouped rows of a million
    births. Other keys take a least-significant-digit radix sort in 16-bit digits, each
    pass numpy's O(n) stable sort of ``uint16``: 28 ms against 78 ms (quicksort) and 95 ms
    (timsort) for a million random keys below $2^{27}$.
    """
    n = len(key)
    descents = np.count_nonzero(key[1:] < key[:-1]) if n > 1 else 0
    if descents * _NEARLY_SORTED <= n:
        return np.argsort(key, kind="stable")
    order: npt.NDArray[np.intp] | None = None
    shift = 0
    while shift == 0 or (size - 1) >> shift:
        digit = ((key >> shift) & 0xFFFF).astype(np.uint16)
        order = (np.argsort(digit, kind="stable") if order is None
                 else order[np.argsort(digit[order], kind="stable")])
        shift += 16
    assert order is not None
    return order


#: Keys sampled by :func:`_few_distinct` (and the fewest keys it samples at all).
_SAMPLE = 2**20


def _few_distinct(key: npt.NDArray[np.int64]) -> bool:
    """Whether a random sample of :data:`_SAMPLE` keys holds fewer than half as many distinct
    values (then the keys repeat enough for hashing to beat sorting them). Only the speed of
    :func:`dense_unique` depends on it, never its result."""
    if len(key) < 2 * _SAMPLE:
        return False
    sample = key[np.random.default_rng(0).integers(0, len(key), _SAMPLE)]
    return len(pd.unique(sample)) < _SAMPLE // 2


def stable_order(codes: npt.NDArray[np.intp], k: int) -> npt.NDArray[np.intp]:
    """Stable order of ``codes`` (integers ``0 .. k - 1``): codes of at most 16 bits are
    sorted as such, for which numpy's stable sort is a radix sort (O(n)); wider ones by
    :func:`_key_order` (timsort when nearly sorted, else a radix sort in 16-bit digits)."""
    if k <= 2**16:
        return np.argsort(codes.astype(np.uint16), kind="stable")
    return _key_order(codes, k)


def sorted_sums(values: npt.NDArray[np.float64], sizes: npt.NDArray[np.intp]
                ) -> npt.NDArray[np.float64]:
    """Sums of ``values`` per group when each group's rows are contiguous (``sizes`` rows
    each, in group order; empty groups sum to 0): ``np.add.reduceat``, about 10x faster than
    ``bincount`` at 13M rows."""
    out = np.zeros(len(sizes))
    filled = sizes > 0
    if filled.any():
        starts = np.cumsum(sizes) - sizes
        out[filled] = np.add.reduceat(values, starts[filled])
    return out


def compress_cells(
    frame: pd.DataFrame, keys: Sequence[str], y: npt.NDArray[np.float64],
    w: npt.NDArray[np.float64], *, force: bool | None = None,
    within: npt.NDArray[np.intp] | None = None,
    v: npt.NDArray[np.float64] | None = None,
) -> Cells:
    """Collapse rows with identical values of ``keys`` into cells with summed counts.

    Parameters
    ----------
    frame : pandas.DataFrame
        Analysed births.
    keys : sequence of str
        Columns that define a cell.
    y, w : ndarray
        Outcome (0/1) and case weight per row.
    force : bool, optional
        Always (True) or never (False) compress; default: compress when the cells number
        fewer than half the rows.
    within : ndarray of int, optional
        A pattern index per row that is part of the key (recorded as ``Cells.pattern``).
    v : ndarray, optional
        Variance weight per row (see :attr:`Cells.m2`); given, the cells also record their
        unweighted births and events.
    """
    columns: list[pd.Series | npt.NDArray[np.intp]] = [frame[k] for k in keys]
    if within is not None:
        columns.insert(0, within)
    inverse, first = group_rows(columns) if columns else (
        np.zeros(len(frame), dtype=np.intp), np.zeros(1, dtype=np.intp))
    compress = force if force is not None else len(first) < COMPRESSION_LIMIT * len(frame)
    if not compress:  # each row its own cell: no copies
        extra = {} if v is None else {"m2": v.copy(), "count": np.ones(len(frame)),
                                      "events": np.asarray(y, dtype=float).copy()}
        return Cells(frame[list(keys)], y * w, w.copy(), np.arange(len(frame)), False,
                     within, **extra)
    n = len(first)
    yc, mc = _sums(inverse, y * w, n), _sums(inverse, w, n)
    extra = {} if v is None else {"m2": _sums(inverse, v, n), "count": _sums(inverse, None, n),
                                  "events": _sums(inverse, y, n)}
    return Cells(frame[list(keys)].iloc[first].reset_index(drop=True), yc, mc, narrow(inverse),
                 True, None if within is None else within[first], **extra)


def narrow(index: npt.NDArray[np.intp]) -> npt.NDArray[np.signedinteger[Any]]:
    """``index`` (positions, ``0 <= index < 2**31``) as int32: half the memory of the
    row-to-cell indices that a fit keeps (100 MB for 13M grouped rows); numpy indexes and
    counts with them alike."""
    return index.astype(np.int32) if len(index) < 2**31 else index


def _sums(inverse: npt.NDArray[np.intp], values: npt.NDArray[np.float64] | None,
          n: int) -> npt.NDArray[np.float64]:
    """Sum of ``values`` (None: count of rows) per group, as float."""
    # bincount with float weights returns float64 (the stubs say intp)
    return cast("npt.NDArray[np.float64]",
                np.bincount(inverse, weights=values, minlength=n).astype(float))


@dataclass(frozen=True)
class UnitCells:
    """Cells regrouped by covariate pattern x unit of one level (births without a unit code
    left out)."""

    unit: npt.NDArray[np.intp]
    uniques: pd.Index
    pattern: npt.NDArray[np.intp]
    y: npt.NDArray[np.float64]
    m: npt.NDArray[np.float64]
    identity: bool  # pattern is 0..n-1: the pattern design can be used without copying


def unit_cells(cells: Cells, level: str, rows: npt.NDArray[np.intp] | None = None, *,
               by_unit: bool = False) -> UnitCells:
    """Regroup unit cells by covariate pattern x unit code of ``level`` (in the order of
    pattern, then unit number; ``by_unit``: of unit number, then pattern; units are numbered
    in order of appearance).

    With ``rows`` (the design row of each pattern, :class:`casemix.core.DesignRows`), the
    cells are regrouped by design row x unit instead, and ``UnitCells.pattern`` is the design
    row: cells of one unit with one design row have one risk under a model of that design.
    """
    assert cells.pattern is not None
    unit_codes, uniques = pd.factorize(cells.keys[level])
    has_unit = unit_codes >= 0
    K = max(1, len(uniques))
    pattern = (cells.pattern[has_unit] if rows is None
               else rows[cells.pattern[has_unit]]).astype(np.int64)
    # one integer key per (pattern, unit): its distinct values in order are the groups of
    # group_rows([pattern, unit]) without factorising either column again
    P = int(pattern.max()) + 1 if len(pattern) else 1
    key = (unit_codes[has_unit] * P + pattern) if by_unit else pattern * K + unit_codes[has_unit]
    values, inverse = dense_unique(key, P * K)
    # bincount with float weights returns float64 (the stubs say intp)
    y = cast("npt.NDArray[np.float64]",
             np.bincount(inverse, weights=cells.y[has_unit], minlength=len(values)))
    m = cast("npt.NDArray[np.float64]",
             np.bincount(inverse, weights=cells.m[has_unit], minlength=len(values)))
    unit, first_pattern = ((values // P, values % P) if by_unit else (values % K, values // K))
    first_pattern = first_pattern.astype(np.intp)
    identity = bool(np.array_equal(first_pattern, np.arange(len(first_pattern))))
    return UnitCells(unit.astype(np.intp), pd.Index(uniques), first_pattern, y, m, identity)
