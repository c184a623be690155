"""Margins tables (population totals) and the cell of each birth in them.

A margins table is a CSV file in one of two forms:

- **long** (for raking): columns ``margin, value, total``; one row per cell of a margin.
  A margin is a variable (``maternal_age``) or a cross-classification of variables joined
  by ``:`` (``municipality:age_group``), and its values are joined the same way
  (``GM0363:25-29``).
- **wide** (for post-stratification): one column per stratum variable and a ``total``
  column; one row per cell of their full cross-classification. It is read as one long
  margin ``a:b:c``.

Values of a numeric column (``maternal_age``, ``parity``) may be bands: ``<20``, ``20-24``
(whole years: 20 <= x < 25), ``40+``, and whole numbers beside them (``0, 1, 2, 3+``); a
birth is put in the band that covers it, and a value no band covers is an error. The value
``missing`` is the cell of the births whose value is missing (income not linked); without
it, a missing value is an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from casemix.exceptions import DataError

__all__ = ["Margin", "Margins", "cell_codes", "read_margins"]

LONG = ("margin", "value", "total")
#: The value of a margin cell for births whose value of the variable is missing.
MISSING = "missing"
SEP = ":"
_BAND = re.compile(r"^\s*(?:<\s*(?P<lt>-?\d+(?:\.\d+)?)|(?P<lo>-?\d+(?:\.\d+)?)\s*-\s*"
                   r"(?P<hi>-?\d+(?:\.\d+)?)|(?P<ge>-?\d+(?:\.\d+)?)\s*\+)\s*$")


@dataclass(frozen=True)
class Margin:
    """One margin: the variables it classifies by, and the population total of each cell.

    Attributes
    ----------
    name : str
        ``a`` or ``a:b`` (a cross-classification).
    variables : tuple of str
        The columns of the births it classifies by.
    values : tuple of str
        Cell labels (``x`` or ``x:y``), in the order of the table.
    totals : numpy.ndarray
        Population total of each cell.
    """

    name: str
    variables: tuple[str, ...]
    values: tuple[str, ...]
    totals: npt.NDArray[np.float64]


@dataclass(frozen=True)
class Margins:
    """The margins of a weighting, in the order of the table (raking visits them so)."""

    margins: tuple[Margin, ...]

    @property
    def variables(self) -> tuple[str, ...]:
        """Every variable used by a margin, once, in order of appearance."""
        return tuple(dict.fromkeys(v for m in self.margins for v in m.variables))

    def to_frame(self) -> pd.DataFrame:
        """The long form ``margin, value, total``."""
        return pd.DataFrame({
            "margin": [m.name for m in self.margins for _ in m.values],
            "value": [v for m in self.margins for v in m.values],
            "total": np.concatenate([m.totals for m in self.margins])})

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> Margins:
        """Margins from a long (``margin, value, total``) or wide (strata + ``total``) frame.

        Raises
        ------
        DataError
            No ``total`` column, a missing or negative total, a value with the wrong number
            of ``:`` parts, or a cell listed twice.
        """
        if "total" not in frame.columns:
            raise DataError("A margins table needs a 'total' column: long form "
                            "'margin, value, total' or wide form (strata columns + 'total').")
        if not set(LONG) <= set(frame.columns):
            strata = [c for c in frame.columns if c != "total"]
            if not strata:
                raise DataError("A wide margins table needs stratum columns beside 'total'.")
            frame = pd.DataFrame({
                "margin": SEP.join(strata),
                "value": frame[strata].map(_text).agg(SEP.join, axis=1),
                "total": frame["total"]})
        totals = pd.to_numeric(frame["total"], errors="coerce")
        bad = totals.isna() | (totals < 0)
        if bad.any():
            rows = ", ".join(str(i + 2) for i in np.flatnonzero(bad.to_numpy())[:5])
            raise DataError(f"Margins: {int(bad.sum())} totals missing or negative (CSV lines "
                            f"{rows}); every cell needs a population total >= 0.")
        out = []
        for name, rows in frame.assign(total=totals).groupby("margin", sort=False):
            out.append(_margin(str(name), rows))
        return cls(tuple(out))


def _margin(name: str, rows: pd.DataFrame) -> Margin:
    variables = tuple(v.strip() for v in name.split(SEP))
    values = tuple(SEP.join(p.strip() for p in _text(v).split(SEP)) for v in rows["value"])
    wrong = [v for v in values if len(v.split(SEP)) != len(variables)]
    if wrong:
        raise DataError(f"Margin {name!r}: value {wrong[0]!r} does not have "
                        f"{len(variables)} parts joined by ':' ({len(wrong)} such rows).")
    dup = pd.Index(values)[pd.Index(values).duplicated()]
    if len(dup):
        raise DataError(f"Margin {name!r}: cell {dup[0]!r} is listed {values.count(dup[0])} "
                        "times; give each cell one total.")
    return Margin(SEP.join(variables), variables, values,
                  rows["total"].to_numpy(dtype=float))


def read_margins(path: str | Path) -> Margins:
    """Read a margins table (CSV, long or wide form; see the module docstring).

    Parameters
    ----------
    path : path
        The CSV file. Values are read as text, so codes keep their leading zeros.

    Returns
    -------
    Margins
    """
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    frame.columns = [c.strip() for c in frame.columns]
    return Margins.from_frame(frame)


def _text(value: object) -> str:
    """One value as the text of a margins table: whole numbers without ``.0``."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _bands(labels: list[str]) -> list[tuple[float, float]] | None:
    """``(lower, upper)`` of each label when every label is a band or a whole number (the
    band of that number, as ``0, 1, 2, 3+`` for parity) and one at least is a band; else
    None (the values are then matched as text)."""
    out = []
    for label in labels:
        m = _BAND.match(label)
        if m is None:
            if not re.fullmatch(r"\s*-?\d+\s*", label):
                return None
            out.append((float(label), float(label) + 1.0))
        elif m["lt"] is not None:
            out.append((-np.inf, float(m["lt"])))
        elif m["ge"] is not None:
            out.append((float(m["ge"]), np.inf))
        else:
            out.append((float(m["lo"]), float(m["hi"]) + 1.0))
    return out if any(_BAND.match(label) for label in labels) else None


def _encode(values: pd.Series, column: str, labels: list[str]
            ) -> tuple[npt.NDArray[np.intp], list[str]]:
    """Codes and their labels of one column (missing values: the label ``missing`` if the
    margins have it, else code -1)."""
    codes, found = _codes(values, column, [x for x in labels if x != MISSING])
    if MISSING in labels and (codes < 0).any():
        return np.where(codes < 0, len(found), codes).astype(np.intp), [*found, MISSING]
    return codes, found


def _codes(values: pd.Series, column: str, labels: list[str]
           ) -> tuple[npt.NDArray[np.intp], list[str]]:
    """Codes (-1: missing) and their labels of one column; a numeric column whose margin
    values are all bands is binned (an error names the values no band covers)."""
    bands = _bands(labels)
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if bands is None or not numeric:
        codes, uniques = pd.factorize(values, sort=False)
        return codes, [_text(u) for u in uniques]
    x = values.to_numpy(dtype=float, na_value=np.nan)
    lower = np.array([b[0] for b in bands])
    upper = np.array([b[1] for b in bands])
    order = np.argsort(lower)
    idx = order[np.clip(np.searchsorted(lower[order], x, side="right") - 1, 0, None)]
    inside = (x >= lower[idx]) & (x < upper[idx])
    uncovered = ~inside & ~np.isnan(x)
    if uncovered.any():
        bad = pd.Series(x[uncovered]).value_counts().sort_index()
        shown = ", ".join(f"{v:g} ({n:,} rows)" for v, n in bad.head(5).items())
        raise DataError(f"Column {column!r}: {int(uncovered.sum()):,} births have values that "
                        f"no band of the margins covers ({', '.join(labels)}): {shown}. "
                        "Add a band (e.g. '<20' or '45+') to the margins table.")
    return np.where(np.isnan(x), -1, idx).astype(np.intp), list(labels)


def _part_labels(margins: Margins, variable: str) -> list[str]:
    """Every value the margins give ``variable`` (the part of each cell label)."""
    seen: dict[str, None] = {}
    for m in margins.margins:
        if variable in m.variables:
            k = m.variables.index(variable)
            seen.update(dict.fromkeys(v.split(SEP)[k] for v in m.values))
    return list(seen)


def classify(births: pd.DataFrame, margins: Margins
             ) -> dict[str, tuple[npt.NDArray[np.intp], list[str]]]:
    """Each margin variable of the births as codes into labels of the margins table
    (numeric columns binned); a missing column or value is an error with counts."""
    absent = [v for v in margins.variables if v not in births.columns]
    if absent:
        raise DataError(f"The margins use columns the births do not have: {absent}.")
    out = {}
    for v in margins.variables:
        out[v] = _encode(births[v], v, _part_labels(margins, v))
        n_missing = int((out[v][0] < 0).sum())
        if n_missing:
            raise DataError(f"Column {v!r} is missing for {n_missing:,} of {len(births):,} "
                            "births: they cannot be weighted. Give them the category "
                            f"'{MISSING}' in the margins (with its own total), or exclude them "
                            "explicitly first.")
    return out


def cell_codes(encoded: dict[str, tuple[npt.NDArray[np.intp], list[str]]], margin: Margin
               ) -> npt.NDArray[np.intp]:
    """The cell (index into ``margin.values``) of every birth.

    Parameters
    ----------
    encoded : dict
        The births' margin variables as codes and labels (:func:`classify`).
    margin : Margin

    Returns
    -------
    numpy.ndarray of int

    Raises
    ------
    DataError
        Births whose cell is not in the margin (named, with counts).
    """
    codes = np.zeros(len(encoded[margin.variables[0]][0]), dtype=np.int64)
    sizes = []
    for v in margin.variables:
        c, uniques = encoded[v]
        codes = codes * max(len(uniques), 1) + c
        sizes.append(max(len(uniques), 1))
    combined, first = np.unique(codes, return_inverse=True)
    digits = np.unravel_index(combined, sizes)
    names = [SEP.join(encoded[v][1][d[j]] for v, d in zip(margin.variables, digits,
                                                          strict=True))
             for j in range(len(combined))]
    where = pd.Index(margin.values).get_indexer(names)
    if (where < 0).any():
        counts = np.bincount(first, minlength=len(combined))
        bad = sorted(((names[j], int(counts[j])) for j in np.flatnonzero(where < 0)),
                     key=lambda t: -t[1])
        shown = ", ".join(f"{n!r} ({c:,} births)" for n, c in bad[:5])
        raise DataError(f"Margin {margin.name!r}: {sum(c for _, c in bad):,} births fall in "
                        f"{len(bad)} cells that the margins table does not list: {shown}. "
                        "Add these cells (with their totals) to the margins table.")
    return where[first.ravel()].astype(np.intp)
