"""Design matrices whose encoding is learned once and rebuilt exactly on new data.

A :class:`Term` says how one case-mix variable enters the model (categorical, linear or
restricted cubic spline); :func:`learn_encoding` fixes the levels, reference category, knots
and missing-value handling on the fitting data; :class:`Encoding` rebuilds the same columns for
any later table (annual refit, scoring a new year) and serialises to plain JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any, Literal, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from casemix.core.cells import group_codes
from casemix.core.splines import default_knots, median_of_counts, rcs_basis
from casemix.exceptions import DataError, SpecError

__all__ = ["DesignRows", "Encoding", "Term", "TermEncoding", "learn_encoding",
           "learn_encoding_codes"]

MISSING = "missing"
TermKind = Literal["categorical", "linear", "spline"]


@dataclass(frozen=True)
class Term:
    """How one variable enters the risk model.

    Parameters
    ----------
    column : str
        Column of the births table.
    kind : {"categorical", "linear", "spline"}
        Dummy-coded factor, a linear term, or a restricted cubic spline.
    reference : str, optional
        Reference level of a categorical term (default: the first level in sorted order, or the
        canonical order of the schema).
    levels : sequence of str, optional
        Explicit level order of a categorical term.
    knots : sequence of float, optional
        Spline knots (default: Harrell's quantiles for ``n_knots``).
    n_knots : int, default 5
        Number of spline knots when ``knots`` is not given.
    missing : {"category", "indicator", "error"}, default "category" for categorical terms and
        "indicator" for continuous ones
        Missing values become their own level (categorical), or the median plus an indicator
        column ``column=missing`` (continuous), or are an error.
    breaks : sequence of float, optional
        Cut a numeric column into categories at these increasing breaks (intervals closed on
        the left: ``x < b1``, ``b1 <= x < b2``, ..., ``x >= bk``).
    labels : sequence of str, optional
        Labels of the ``len(breaks) + 1`` categories (default ``<b1``, ``b1-b2``, ``>=bk``).
    """

    column: str
    kind: TermKind = "categorical"
    reference: str | None = None
    levels: tuple[str, ...] | None = None
    knots: tuple[float, ...] | None = None
    n_knots: int = 5
    missing: Literal["category", "indicator", "error"] | None = None
    breaks: tuple[float, ...] | None = None
    labels: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("categorical", "linear", "spline"):
            raise SpecError(f"Term {self.column!r}: kind must be categorical, linear or spline; "
                            f"got {self.kind!r}.")
        if self.breaks is not None:
            if self.kind != "categorical" or list(self.breaks) != sorted(set(self.breaks)):
                raise SpecError(f"Term {self.column!r}: breaks need a categorical term and "
                                f"strictly increasing values; got {self.breaks}.")
            if self.labels is not None and len(self.labels) != len(self.breaks) + 1:
                raise SpecError(f"Term {self.column!r}: {len(self.breaks)} breaks need "
                                f"{len(self.breaks) + 1} labels; got {len(self.labels)}.")
        elif self.labels is not None:
            raise SpecError(f"Term {self.column!r}: labels are only used with breaks.")

    def bin_labels(self) -> tuple[str, ...]:
        """Labels of the categories made by ``breaks``."""
        if self.labels is not None:
            return tuple(self.labels)
        b = [f"{x:g}" for x in self.breaks or ()]
        inner = [f"{lo}-{hi}" for lo, hi in pairwise(b)]
        return (f"<{b[0]}", *inner, f">={b[-1]}")


@dataclass(frozen=True)
class TermEncoding:
    """What was learned for one term at fit time (JSON-serialisable)."""

    column: str
    kind: TermKind
    levels: tuple[str, ...] = ()
    reference: str | None = None
    knots: tuple[float, ...] = ()
    fill_value: float | None = None
    missing: str = "category"
    has_missing_column: bool = False
    breaks: tuple[float, ...] = ()
    bin_labels: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        """Names of the design columns of this term."""
        if self.kind == "categorical":
            return [f"{self.column}={lv}" for lv in self.levels if lv != self.reference]
        base = ([self.column] if self.kind == "linear"
                else [f"{self.column}_rcs{j + 1}" for j in range(len(self.knots) - 1)])
        return base + ([f"{self.column}=missing"] if self.has_missing_column else [])

    def label_codes(self, values: pd.Series) -> tuple[npt.NDArray[np.intp], npt.NDArray[Any]]:
        """Factorise ``values`` into codes and their labels (strings, ``"missing"``).

        Only the distinct values are converted to labels (numbers without ``.0``), so the cost
        per row is one factorisation.
        """
        if self.breaks:
            x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            codes = np.searchsorted(np.asarray(self.breaks), x, side="right")
            codes[np.isnan(x)] = len(self.breaks) + 1
            return codes.astype(np.intp), np.asarray([*self.bin_labels, MISSING], dtype=object)
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        u = pd.Series(uniques)
        if pd.api.types.is_float_dtype(u.dtype) and (u % 1 == 0).all():
            u = u.astype("Int64")
        labels = np.asarray([*u.astype("string").astype(object), MISSING], dtype=object)
        return np.where(codes < 0, len(u), codes).astype(np.intp), labels

    def codes(self, values: pd.Series) -> npt.NDArray[np.intp]:
        """Integer level codes of a categorical term; unseen levels are an error."""
        raw, labels = self.label_codes(values)
        present = np.bincount(raw, minlength=len(labels)) > 0
        lookup = pd.Index(self.levels).get_indexer(labels)
        unseen = present & (lookup < 0)
        if unseen.any():
            counts = np.bincount(raw, minlength=len(labels))
            listed = ", ".join(f"{labels[k]!r} ({counts[k]:,} rows)"
                               for k in np.flatnonzero(unseen)[:5])
            if labels[np.flatnonzero(unseen)[0]] == MISSING and self.missing == "error":
                raise DataError(f"Column '{self.column}' has missing values and the model spec "
                                "says missing = 'error'.")
            raise DataError(
                f"Column '{self.column}' has levels not seen when the model was fitted: "
                f"{listed}. Known levels: {list(self.levels)}."
            )
        return lookup[raw]

    def columns(self, values: pd.Series) -> npt.NDArray[np.float64]:
        """Design columns of this term for ``values``."""
        if self.kind == "categorical":
            return self.indicators(self.codes(values))
        x, miss = self._filled(values)
        base = x[:, None] if self.kind == "linear" else rcs_basis(x, self.knots)
        if self.has_missing_column:
            base = np.column_stack([base, miss.astype(float)])
        return np.asfortranarray(base)

    def indicators(self, codes: npt.NDArray[np.integer[Any]],
                   out: npt.NDArray[np.float64] | None = None) -> npt.NDArray[np.float64]:
        """Dummy columns of a categorical term for its level codes (:meth:`codes`), written
        into ``out`` (e.g. the term's columns of a design) if given."""
        keep = [i for i, lv in enumerate(self.levels) if lv != self.reference]
        if out is None:
            out = np.zeros((len(codes), len(keep)), order="F")  # copied into F-order X
        else:
            out[...] = 0.0
        position = np.full(len(self.levels), -1)
        position[keep] = np.arange(len(keep))
        rows = np.flatnonzero(position[codes] >= 0)
        out[rows, position[codes[rows]]] = 1.0
        return out

    def _filled(self, values: pd.Series) -> tuple[npt.NDArray[np.float64],
                                                  npt.NDArray[np.bool_]]:
        """Values of a continuous term with missing ones filled, and where they were."""
        x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        miss = np.isnan(x)
        if miss.any() and not self.has_missing_column:
            raise DataError(
                f"Column '{self.column}' has {int(miss.sum()):,} missing values and the model "
                "was fitted without a missing indicator for it (missing = 'error')."
            )
        x = np.where(miss, self.fill_value if self.fill_value is not None else 0.0, x)
        x += 0.0  # -0.0 as 0.0: they are one covariate pattern (and one design row)
        return x, miss

    def row_codes(self, values: pd.Series) -> npt.NDArray[np.int64]:
        """A code per row that determines the term's design columns: the level code of a
        categorical term; for a continuous one, the rank of the filled value and whether it
        was missing. The codes depend on the set of values, not on their order."""
        if self.kind == "categorical":
            return self.codes(values).astype(np.int64)
        x, miss = self._filled(values)
        # sorted: the codes, and so the order of the design rows, do not depend on the order
        # of the records (the same rows from births in memory and from grouped births)
        codes = pd.factorize(x.view(np.int64), sort=True)[0].astype(np.int64)
        return codes * 2 + miss if self.has_missing_column else codes

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON representation."""
        return {"column": self.column, "kind": self.kind, "levels": list(self.levels),
                "reference": self.reference, "knots": list(self.knots),
                "fill_value": self.fill_value, "missing": self.missing,
                "has_missing_column": self.has_missing_column, "breaks": list(self.breaks),
                "bin_labels": list(self.bin_labels)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TermEncoding:
        """Inverse of :meth:`to_dict`."""
        return cls(d["column"], d["kind"], tuple(d["levels"]), d["reference"],
                   tuple(d["knots"]), d["fill_value"], d["missing"], d["has_missing_column"],
                   tuple(d.get("breaks", ())), tuple(d.get("bin_labels", ())))


def _learn_categorical_codes(term: Term, values: pd.Series,
                             at: npt.NDArray[np.intp] | None = None
                             ) -> tuple[TermEncoding, npt.NDArray[np.signedinteger[Any]] | None]:
    """The learned encoding of a categorical term and the level code of the values at
    positions ``at`` (default: all; :meth:`TermEncoding.row_codes`, from the factorisation
    that learned the levels; None when a value has no level, which
    :meth:`TermEncoding.codes` reports)."""
    missing = term.missing or "category"
    breaks = tuple(float(b) for b in term.breaks or ())
    bins = term.bin_labels() if term.breaks is not None else ()
    enc = TermEncoding(term.column, "categorical", missing=missing, breaks=breaks,
                       bin_labels=bins)
    raw, all_labels = enc.label_codes(values)
    counts = np.bincount(raw, minlength=len(all_labels))
    seen_labels = list(dict.fromkeys(
        lab for lab, c in zip(all_labels[:-1], counts[:-1], strict=True) if c))
    n_missing = int(counts[-1])  # the last label is the missing-value sentinel
    if bins:
        levels = [lv for lv in bins if lv in set(seen_labels)]
    elif term.levels is not None:
        unknown = sorted(set(seen_labels) - set(term.levels))
        if unknown:
            raise DataError(f"Column '{term.column}' has levels {unknown} that the spec's "
                            f"levels {list(term.levels)} do not list.")
        levels = [lv for lv in term.levels if lv in set(seen_labels)]
    elif isinstance(values.dtype, pd.CategoricalDtype):
        levels = [str(c) for c in values.cat.categories if str(c) in set(seen_labels)]
    else:
        levels = sorted(seen_labels, key=_natural_key)
    if n_missing:
        if missing == "error":
            raise DataError(f"Column '{term.column}' has {n_missing:,} missing values and the "
                            "spec says missing = 'error'.")
        if MISSING not in levels:
            levels.append(MISSING)
    if len(levels) < 2:
        raise SpecError(f"Term '{term.column}' has fewer than two levels in the data "
                        f"({levels}); drop it from the spec.")
    reference = term.reference if term.reference is not None else levels[0]
    if reference not in levels:
        raise SpecError(f"Reference level {reference!r} of '{term.column}' is not in the data; "
                        f"levels are {levels}.")
    enc = TermEncoding(term.column, "categorical", tuple(levels), reference, missing=missing,
                       breaks=breaks, bin_labels=bins)
    # TermEncoding.codes(values): the same factorisation, the same lookup of its labels
    lookup = pd.Index(enc.levels).get_indexer(all_labels)
    if (lookup[counts > 0] < 0).any():  # a value without a level: codes() says which
        return enc, None
    # 16-bit codes: a quarter of the memory of int64
    small = lookup.astype(np.int16 if len(enc.levels) < 2**15 else np.int64)
    return enc, small[raw if at is None else raw[at]]


def _natural_key(label: str) -> tuple[int, float | str]:
    try:
        return (0, float(label))
    except ValueError:
        return (1, label)


def _learn_continuous(term: Term, values: pd.Series,
                      counts: npt.NDArray[np.float64] | None = None) -> TermEncoding:
    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    missing = term.missing or "indicator"
    miss = np.isnan(x)
    if miss.any() and missing == "error":
        n_missing = int(miss.sum() if counts is None else counts[miss].sum())
        raise DataError(f"Column '{term.column}' has {n_missing:,} missing values and the "
                        "spec says missing = 'error'.")
    knots: tuple[float, ...] = ()
    if term.kind == "spline":
        knots = tuple(term.knots) if term.knots is not None else tuple(
            default_knots(x, term.n_knots, counts).tolist())
    fill = None
    if miss.any():
        fill = (float(np.median(x[~miss])) if counts is None
                else median_of_counts(x[~miss], counts[~miss]))
    return TermEncoding(term.column, term.kind, knots=knots, fill_value=fill, missing=missing,
                        has_missing_column=bool(miss.any()))


@dataclass(frozen=True)
class Encoding:
    """The learned encoding of all terms and interactions; rebuilds the design exactly.

    Attributes
    ----------
    terms : tuple of TermEncoding
    interactions : tuple of (str, str)
        Pairs of term columns; their design columns are multiplied pairwise.
    """

    terms: tuple[TermEncoding, ...]
    interactions: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @property
    def names(self) -> list[str]:
        """All column names, intercept first."""
        names = ["(Intercept)"]
        by = {t.column: t for t in self.terms}
        for t in self.terms:
            names += t.names
        for a, b in self.interactions:
            names += [f"{x}:{y}" for x in by[a].names for y in by[b].names]
        return names

    def matrix(self, data: pd.DataFrame) -> npt.NDArray[np.float64]:
        """Design matrix (intercept first) for ``data``."""
        missing = [t.column for t in self.terms if t.column not in data]
        if missing:
            raise DataError(f"Column(s) {missing} needed by the model are not in the data.")
        blocks = {t.column: t.columns(data[t.column]) for t in self.terms}
        n = len(data)
        parts = [np.ones((n, 1)), *blocks.values()]
        for a, b in self.interactions:
            parts.append((blocks[a][:, :, None] * blocks[b][:, None, :]).reshape(n, -1))
        out = np.empty((n, sum(p.shape[1] for p in parts)), order="F")
        col = 0
        for part in parts:  # Fortran order: what the least-squares kernels want
            out[:, col:col + part.shape[1]] = part
            col += part.shape[1]
        return out

    def design_rows(self, data: pd.DataFrame,
                    codes: Sequence[npt.NDArray[np.signedinteger[Any]] | None] | None = None
                    ) -> DesignRows:
        """The distinct rows of :meth:`matrix` for ``data`` and the row of each record
        (``matrix(data)`` is ``design_rows(data).expanded()``, to the bit).

        Parameters
        ----------
        data : pandas.DataFrame
        codes : sequence of ndarray or None, optional
            Per term, :meth:`TermEncoding.row_codes` of the rows of ``data`` if already known
            (e.g. from :func:`learn_encoding_codes`), or None to compute them here.

        Notes
        -----
        A design row is a function of the terms' codes (:meth:`TermEncoding.row_codes`):
        the records are grouped by their codes (:func:`casemix.core.cells.group_codes`), and
        the matrix is built for the first record of each group: the dummy columns of
        categorical terms from the codes already found (not from the values again), the
        columns of continuous terms from the values of those records. Covariate patterns on
        raw values (a maternal age in years under age bands, a continuous SES under SES
        bands) share far fewer design rows: 221,373 rows for 995,246 patterns of a million
        simulated births.
        """
        missing = [t.column for t in self.terms if t.column not in data]
        if missing:
            raise DataError(f"Column(s) {missing} needed by the model are not in the data.")
        if not self.terms:  # the intercept alone
            return DesignRows.of(self.matrix(data))
        known = list(codes) if codes is not None else [None] * len(self.terms)
        row_codes = [t.row_codes(data[t.column]) if c is None else c
                     for t, c in zip(self.terms, known, strict=True)]
        # the codes order as the terms' values and start at 0: grouped with their exact
        # number of values, the combinations stay few enough to be marked in a table
        index, first = group_codes(len(data), [
            (c, int(c.max(initial=0)) + 1) for c in row_codes])
        return DesignRows(self._rows_matrix(data, row_codes, first), index)

    def _rows_matrix(self, data: pd.DataFrame, codes: list[npt.NDArray[np.int64]],
                     first: npt.NDArray[np.intp]) -> npt.NDArray[np.float64]:
        """:meth:`matrix` of the records ``first``, with the dummy columns of categorical
        terms from their level codes ``codes`` written straight into the matrix (no block
        per term copied into it afterwards: the same values, one pass over the matrix)."""
        n = len(first)
        widths = {t.column: len(t.names) for t in self.terms}
        out = np.empty((n, 1 + sum(widths.values()) + sum(
            widths[a] * widths[b] for a, b in self.interactions)), order="F")
        out[:, 0] = 1.0
        blocks, col = {}, 1
        for t, c in zip(self.terms, codes, strict=True):
            view = out[:, col:col + widths[t.column]]
            if t.kind == "categorical":
                t.indicators(c[first], out=view)
            else:
                view[...] = t.columns(data[t.column].iloc[first])
            blocks[t.column], col = view, col + widths[t.column]
        for a, b in self.interactions:
            out[:, col:col + widths[a] * widths[b]] = (
                blocks[a][:, :, None] * blocks[b][:, None, :]).reshape(n, -1)
            col += widths[a] * widths[b]
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON representation."""
        return {"terms": [t.to_dict() for t in self.terms],
                "interactions": [list(p) for p in self.interactions]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Encoding:
        """Inverse of :meth:`to_dict`."""
        return cls(tuple(TermEncoding.from_dict(t) for t in d["terms"]),
                   tuple((a, b) for a, b in d["interactions"]))


@dataclass(frozen=True)
class DesignRows:
    """The distinct rows of a design matrix and the row of each record.

    Attributes
    ----------
    matrix : ndarray, shape (n_rows, p)
        The distinct design rows (Fortran order).
    index : ndarray of int, shape (n_records,)
        Row of ``matrix`` of each record: the records' design is ``matrix[index]``.

    Notes
    -----
    Records with one design row have one risk under any model of the design, so sums over
    records that a fit or a diagnostic needs (events and births) are sums over rows of the
    records' sums: $X^T W X = \\sum_r (\\sum_{i: r(i) = r} w_i) x_r x_r^T$, at the cost of the
    rows, not of the records.
    """

    matrix: npt.NDArray[np.float64]
    index: npt.NDArray[np.intp]

    @classmethod
    def of(cls, X: npt.NDArray[np.float64]) -> DesignRows:
        """One row per record (a design given as a whole)."""
        return cls(np.asfortranarray(X), np.arange(len(X), dtype=np.intp))

    @property
    def n_rows(self) -> int:
        """Number of distinct rows."""
        return len(self.matrix)

    def sums(self, v: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Sums of a per-record ``v`` per row."""
        # bincount with float weights returns float64 (the stubs say intp)
        return cast("npt.NDArray[np.float64]", np.bincount(
            self.index, weights=np.asarray(v, dtype=float), minlength=self.n_rows))

    def expanded(self) -> npt.NDArray[np.float64]:
        """The design of every record (Fortran order)."""
        out = np.empty((len(self.index), self.matrix.shape[1]), order="F")
        for j in range(self.matrix.shape[1]):
            np.take(self.matrix[:, j], self.index, out=out[:, j])
        return out


def learn_encoding(
    data: pd.DataFrame, terms: Sequence[Term], interactions: Sequence[tuple[str, str]] = (),
    counts: npt.NDArray[np.float64] | None = None,
) -> Encoding:
    """Learn levels, references, knots and missing handling of ``terms`` on ``data``; with
    ``counts``, each row stands for that many births (grouped births: the knots and fill
    values are those of the births, to the last digit)."""
    # the codes at no rows: none are wanted
    return learn_encoding_codes(data, terms, interactions, counts,
                                at=np.zeros(0, dtype=np.intp))[0]


def learn_encoding_codes(
    data: pd.DataFrame, terms: Sequence[Term], interactions: Sequence[tuple[str, str]] = (),
    counts: npt.NDArray[np.float64] | None = None, *,
    at: npt.NDArray[np.intp] | None = None,
) -> tuple[Encoding, list[npt.NDArray[np.signedinteger[Any]] | None]]:
    """:func:`learn_encoding`, and per term the :meth:`TermEncoding.row_codes` of the rows
    ``at`` of ``data`` (positions; default all) for categorical terms (None for continuous
    ones).

    Notes
    -----
    The codes are the level codes of the factorisation that learned the levels, so that
    :meth:`Encoding.design_rows` need not factorise the values again: rows with equal values
    have equal codes, so the codes of covariate patterns are those of one row of each
    (``at``; 10 factorisations fewer for the 995,246 patterns of a million simulated births,
    and only the patterns' codes kept).
    """
    columns = [t.column for t in terms]
    absent = [c for c in columns if c not in data]
    if absent:
        raise DataError(f"Column(s) {absent} named in the model spec are not in the data.")
    for a, b in interactions:
        if a not in columns or b not in columns:
            raise SpecError(f"Interaction ({a}, {b}) needs both variables as terms of the model.")
    learned = [
        _learn_categorical_codes(t, data[t.column], at) if t.kind == "categorical"
        else (_learn_continuous(t, data[t.column], counts), None) for t in terms
    ]
    encoding = Encoding(tuple(e for e, _ in learned),
                        tuple(tuple(p) for p in interactions))  # type: ignore[misc]
    return encoding, [c for _, c in learned]
