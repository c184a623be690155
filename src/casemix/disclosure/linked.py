"""Linked tables as one system: count cells and the linear relations between them.

Every count that a set of exported files shows or implies is a *cell*: a numerator O, a
denominator n, the complement n - O, a total, a count of births without a unit code. The files
are linked by exact linear relations that an attacker knows: units add up to the national
total, years to the pooled period, strata to "all", municipalities to their region, subgroups to
the overall total, n = O + (n - O). Suppression must hold on this whole system, not table by
table (tau-ARGUS and sdcTable work the same way on linked and hierarchical tables).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse

__all__ = ["Cell", "LinkedCells"]


@dataclass(frozen=True)
class Cell:
    """Where a cell is shown: ``file``, ``row`` key and ``column`` (for findings)."""

    file: str
    row: str
    column: str


@dataclass
class LinkedCells:
    """Count cells and the equalities ``A x = 0`` between them.

    Build with :meth:`cell` and :meth:`add_sum`; a cell's ``value`` is its true count (the
    writer knows it) or, for a hidden cell read back from files, NaN.

    Attributes
    ----------
    published : list of bool
        Whether the cell's exact value can be read from the files.
    lower, upper : list of float
        What is known of a hidden cell without any relation: counts are >= 0; a count shown
        as ``<10`` lies in [0, 9].
    kind : list of str
        ``shown``: a count that a file shows (or would show, were it not suppressed);
        ``masked``: a count a file shows as ``<10``; ``implied``: a count no file shows but
        that follows from those that do (complements n - O); ``total``: a sum no file shows
        (national totals of years or strata, births without a unit code).
        :class:`~casemix.disclosure.attack.Protection` judges each kind by its own rule.
    """

    keys: list[str] = field(default_factory=list)
    where: list[Cell] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    published: list[bool] = field(default_factory=list)
    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    kind: list[str] = field(default_factory=list)
    _index: dict[str, int] = field(default_factory=dict, repr=False)
    _rows: list[int] = field(default_factory=list, repr=False)
    _cols: list[int] = field(default_factory=list, repr=False)
    _coef: list[float] = field(default_factory=list, repr=False)
    _n_relations: int = 0

    def cell(self, key: str, value: float = np.nan, *, published: bool = False,
             where: Cell | None = None, lower: float = 0.0, upper: float = np.inf,
             kind: str = "shown") -> int:
        """The index of cell ``key``, created on first use; later calls may publish it, make
        an implied cell a shown one, or narrow its bounds (never widen them)."""
        i = self._index.get(key)
        if i is None:
            i = len(self.keys)
            self._index[key] = i
            self.keys.append(key)
            self.where.append(where or Cell("", key, ""))
            self.values.append(float(value))
            self.published.append(bool(published))
            self.lower.append(float(lower))
            self.upper.append(float(upper))
            self.kind.append(kind)
            return i
        if np.isnan(self.values[i]) and not np.isnan(value):
            self.values[i] = float(value)
        if published and not self.published[i]:
            self.published[i] = True
            self.where[i] = where or self.where[i]
        if self.kind[i] in ("implied", "total") or kind == "masked":
            self.kind[i] = kind
        self.lower[i] = max(self.lower[i], lower)
        self.upper[i] = min(self.upper[i], upper)
        return i

    def __contains__(self, key: str) -> bool:
        return key in self._index

    def index(self, key: str) -> int:
        """The index of an existing cell."""
        return self._index[key]

    def add_relation(self, coefficients: Mapping[int, float]) -> None:
        """Add the equality ``sum(coef * x[cell]) = 0``."""
        for column, coef in coefficients.items():
            self._rows.append(self._n_relations)
            self._cols.append(column)
            self._coef.append(float(coef))
        self._n_relations += 1

    def add_sum(self, total: int, parts: Iterable[int]) -> None:
        """Add ``x[total] = sum(x[parts])`` (a part listed twice counts twice)."""
        coefficients: dict[int, float] = {total: -1.0}
        for p in parts:
            coefficients[p] = coefficients.get(p, 0.0) + 1.0
        self.add_relation(coefficients)

    @property
    def n(self) -> int:
        """Number of cells."""
        return len(self.keys)

    def matrix(self) -> sparse.csr_matrix:
        """The relations as a sparse matrix ``A`` (one row per relation)."""
        return sparse.csr_matrix((self._coef, (self._rows, self._cols)),
                                 shape=(self._n_relations, self.n))

    def arrays(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_],
                              npt.NDArray[np.float64], npt.NDArray[np.float64],
                              npt.NDArray[np.str_]]:
        """``values, published, lower, upper, kind`` as arrays."""
        return (np.asarray(self.values, dtype=float), np.asarray(self.published, dtype=bool),
                np.asarray(self.lower, dtype=float), np.asarray(self.upper, dtype=float),
                np.asarray(self.kind, dtype=str))

    def to_frame(self) -> pd.DataFrame:
        """One row per cell: ``key, file, row, column, value, published, lower, upper,
        kind``."""
        return pd.DataFrame({
            "key": self.keys, "file": [w.file for w in self.where],
            "row": [w.row for w in self.where], "column": [w.column for w in self.where],
            "value": self.values, "published": self.published, "lower": self.lower,
            "upper": self.upper, "kind": self.kind})
