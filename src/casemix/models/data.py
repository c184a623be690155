"""From births to model data: the outcome, case weights and every exclusion, counted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from casemix.core.cells import narrow
from casemix.core.design import Term
from casemix.exceptions import DataError
from casemix.indicators import derive_indicators
from casemix.models.grouped import GroupedBirths
from casemix.models.spec import ModelSpec
from casemix.records.exclusions import ExclusionLog

__all__ = ["ModelData", "analysed", "grouped_model_data", "prepare_model_data"]

_Table = TypeVar("_Table", pd.DataFrame, pd.Series)


@dataclass
class ModelData:
    """Births analysed by a model, with outcome ``y`` (0/1), weight ``w`` and variance weight
    ``v`` per row (``w`` for frequency weights, ``w**2`` for sampling weights)."""

    frame: pd.DataFrame
    y: npt.NDArray[np.float64]
    w: npt.NDArray[np.float64]
    terms: tuple[Term, ...]
    years: tuple[int, ...]
    exclusions: ExclusionLog
    n_input: int
    rows: npt.NDArray[np.intp]  # positions of the analysed births in the input table
    v: npt.NDArray[np.float64] | None = None
    #: Births per row when the rows are groups of identical births (None: one birth each).
    count: npt.NDArray[np.float64] | None = None


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
    terms = _terms(spec, years)
    needed = [t.column for t in terms] + [*spec.levels, *spec.stratify, "year"]
    needed = [c for c in dict.fromkeys(needed) if c in births]
    frame = births.loc[keep, needed].reset_index(drop=True)
    y = outcome[keep].to_numpy(dtype=float)
    w = w[keep]
    v = None if spec.weights is None else (w * w if spec.weights_kind == "sampling" else w)
    return ModelData(frame, y, w, terms, years, log, len(births), np.flatnonzero(keep), v)


def _terms(spec: ModelSpec, years: tuple[int, ...]) -> tuple[Term, ...]:
    """The spec's adjusters, with ``year`` as a categorical adjuster when years are pooled."""
    terms = spec.adjusters
    if len(years) > 1 and "year" not in {t.column for t in terms}:
        terms = (*terms, Term("year"))
    return terms


def grouped_model_data(grouped: GroupedBirths, spec: ModelSpec) -> ModelData:
    """:class:`ModelData` of births grouped to distinct rows (:mod:`casemix.engine`).

    Each row stands for ``grouped.births`` identical births: its case weight is that count,
    so cells, fits and comparisons equal those of the births (frequency weights are exact
    for identical rows). Case weights of the births themselves are not supported here.
    """
    if spec.weights is not None:
        raise DataError(f"{spec.source}: case weights ({spec.weights!r}) need the births in "
                        "memory; fit them with engine 'pandas'.")
    frame = grouped.frame
    years = tuple(sorted(int(y) for y in pd.unique(frame["year"]))) if "year" in frame else ()
    terms = _terms(spec, years)
    needed = [t.column for t in terms] + [*spec.levels, *spec.stratify, "year"]
    needed = [c for c in dict.fromkeys(needed) if c in frame]
    count = grouped.births
    n_input = grouped.validation.kept
    return ModelData(frame[needed], grouped.outcome, count.copy(), terms, years,
                     grouped.exclusions, n_input, narrow(np.arange(len(frame))), None, count)


def analysed(table: _Table, rows: npt.NDArray[np.intp]) -> _Table:
    """The rows of ``table`` (births, or a column of them) that a fit analysed, ``rows``
    being :attr:`ModelData.rows`: the table itself when every row was analysed (the rows are
    sorted positions, so as many as the table holds are all of them), without the copy that
    ``iloc`` makes (900 MB for the grouped rows of 50M births)."""
    return table if len(rows) == len(table) else table.iloc[rows]
