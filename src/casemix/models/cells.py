"""Preparing births for a risk model: outcome, weights, exclusions, and compression to cells."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from casemix.exceptions import DataError
from casemix.indicators import derive_indicators
from casemix.models.design import Term
from casemix.models.spec import ModelSpec
from casemix.records.exclusions import ExclusionLog

__all__ = ["Cells", "ModelData", "UnitCells", "compress_cells", "group_rows", "prepare_model_data",
           "unit_cells"]

#: Compress only when the cells are fewer than this share of the rows.
COMPRESSION_LIMIT = 0.5


@dataclass
class ModelData:
    """Births analysed by a model, with outcome ``y`` (0/1) and weight ``w`` per row."""

    frame: pd.DataFrame
    y: npt.NDArray[np.float64]
    w: npt.NDArray[np.float64]
    terms: tuple[Term, ...]
    years: tuple[int, ...]
    exclusions: ExclusionLog
    n_input: int
    rows: npt.NDArray[np.intp]  # positions of the analysed births in the input table


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
    """

    keys: pd.DataFrame
    y: npt.NDArray[np.float64]
    m: npt.NDArray[np.float64]
    inverse: npt.NDArray[np.intp]
    compressed: bool
    pattern: npt.NDArray[np.intp] | None = None


def _outcome(births: pd.DataFrame, spec: ModelSpec, log: ExclusionLog) -> pd.Series:
    """The 0/1 outcome as nullable boolean (NA = not in the denominator, counted)."""
    if spec.is_indicator:
        flags = derive_indicators(births, [spec.outcome], settings=spec.definitions)
        log.extend(ExclusionLog([e for e in flags.exclusions.entries
                                 if e["scope"] == spec.outcome]))
        return flags.flags[spec.outcome]
    if spec.outcome not in births:
        raise DataError(f"Outcome {spec.outcome!r} is neither an indicator nor a column of the "
                        "data.")
    raw = births[spec.outcome]
    num = pd.to_numeric(raw.astype("object"), errors="coerce")
    bad = raw.notna() & ~num.isin([0, 1])
    if bad.any():
        values = raw[bad].astype(str).value_counts().head(5).to_dict()
        raise DataError(f"Outcome column {spec.outcome!r} must be 0/1 or boolean; "
                        f"{int(bad.sum()):,} rows have other values: {values}.")
    log.add("model", spec.outcome, f"{spec.outcome} missing", int(raw.isna().sum()))
    return num.astype("boolean")


def _weights(births: pd.DataFrame, spec: ModelSpec) -> npt.NDArray[np.float64]:
    if spec.weights is None:
        return np.ones(len(births))
    if spec.weights not in births:
        raise DataError(f"Weights column {spec.weights!r} is not in the data.")
    w = pd.to_numeric(births[spec.weights], errors="coerce").to_numpy(float, na_value=np.nan)
    bad = ~(w >= 0)
    if bad.any():
        raise DataError(f"Weights column {spec.weights!r} must be >= 0 and not missing; "
                        f"{int(bad.sum()):,} rows are not (e.g. "
                        f"{births.loc[bad, spec.weights].head(3).tolist()}).")
    return w


def prepare_model_data(births: pd.DataFrame, spec: ModelSpec) -> ModelData:
    """Select the births a model analyses; every exclusion is counted by reason.

    Rows leave when the outcome is undefined (indicator denominators), the year is not one of
    the spec's years, or the case weight is zero. Terms get ``year`` added as a categorical
    adjuster when several years are pooled.
    """
    log = ExclusionLog()
    outcome = _outcome(births, spec, log)
    keep = outcome.notna().to_numpy().copy()
    years_present = births.loc[keep, "year"] if "year" in births else pd.Series(dtype=int)
    if spec.years is not None:
        in_years = births["year"].isin(spec.years).to_numpy()
        log.add("model", "all", f"year not in {list(spec.years)}", int((keep & ~in_years).sum()))
        keep &= in_years
        years_present = births.loc[keep, "year"]
    w = _weights(births, spec)
    log.add("model", "all", "case weight 0", int((keep & (w == 0)).sum()))
    keep &= w > 0
    years = tuple(sorted(int(y) for y in pd.unique(years_present)))
    terms = spec.adjusters
    if len(years) > 1 and "year" not in {t.column for t in terms}:
        terms = (*terms, Term("year"))
    needed = [t.column for t in terms] + [*spec.levels, *spec.stratify, "year"]
    needed = [c for c in dict.fromkeys(needed) if c in births]
    frame = births.loc[keep, needed].reset_index(drop=True)
    y = outcome[keep].to_numpy(dtype=float)
    return ModelData(frame, y, w[keep], terms, years, log, len(births), np.flatnonzero(keep))


def _codes(column: pd.Series | npt.NDArray[np.intp]) -> tuple[npt.NDArray[np.int64], int]:
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    codes = codes.astype(np.int64) + 1  # missing -> 0
    return codes, len(uniques) + 1


def group_rows(columns: Sequence[pd.Series | npt.NDArray[np.intp]]) -> tuple[
        npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Group rows by the combination of ``columns`` (missing is a value of its own).

    Returns
    -------
    (inverse, first)
        Group index of each row, and the first row of each group.

    Notes
    -----
    The columns are factorised and combined into one integer code by mixed-radix arithmetic,
    so finding the groups is a single ``numpy.unique`` over int64 codes.
    """
    n = len(columns[0])
    combined = np.zeros(n, dtype=np.int64)
    radix = 1
    for column in columns:
        codes, size = _codes(column)
        if radix * size >= 2**62:  # would overflow: renumber what we have first
            combined = pd.factorize(combined)[0].astype(np.int64)
            radix = int(combined.max()) + 1
        combined = combined * size + codes
        radix *= size
    _, first, inverse = np.unique(combined, return_index=True, return_inverse=True)
    return inverse.ravel().astype(np.intp), first.astype(np.intp)


def compress_cells(
    frame: pd.DataFrame, keys: Sequence[str], y: npt.NDArray[np.float64],
    w: npt.NDArray[np.float64], *, force: bool | None = None,
    within: npt.NDArray[np.intp] | None = None,
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
    """
    columns: list[pd.Series | npt.NDArray[np.intp]] = [frame[k] for k in keys]
    if within is not None:
        columns.insert(0, within)
    inverse, first = group_rows(columns) if columns else (
        np.zeros(len(frame), dtype=np.intp), np.zeros(1, dtype=np.intp))
    compress = force if force is not None else len(first) < COMPRESSION_LIMIT * len(frame)
    if not compress:  # each row its own cell: no copies
        return Cells(frame[list(keys)], y * w, w.copy(), np.arange(len(frame)), False,
                     within)
    # bincount with float weights returns float64 (the stubs say intp)
    yc = cast("npt.NDArray[np.float64]", np.bincount(inverse, weights=y * w, minlength=len(first)))
    mc = cast("npt.NDArray[np.float64]", np.bincount(inverse, weights=w, minlength=len(first)))
    return Cells(frame[list(keys)].iloc[first].reset_index(drop=True), yc, mc, inverse,
                 True, None if within is None else within[first])


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


def unit_cells(cells: Cells, level: str) -> UnitCells:
    """Regroup unit cells by covariate pattern x unit code of ``level``."""
    assert cells.pattern is not None
    unit_codes, uniques = pd.factorize(cells.keys[level])
    has_unit = unit_codes >= 0
    inverse, first = group_rows([cells.pattern[has_unit], unit_codes[has_unit]])
    # bincount with float weights returns float64 (the stubs say intp)
    y = cast("npt.NDArray[np.float64]",
             np.bincount(inverse, weights=cells.y[has_unit], minlength=len(first)))
    m = cast("npt.NDArray[np.float64]",
             np.bincount(inverse, weights=cells.m[has_unit], minlength=len(first)))
    pattern = cells.pattern[has_unit][first]
    identity = bool(np.array_equal(pattern, np.arange(len(pattern))))
    return UnitCells(unit_codes[has_unit][first], pd.Index(uniques), pattern, y, m, identity)
