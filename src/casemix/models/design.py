"""Design matrices whose encoding is learned once and rebuilt exactly on new data.

A :class:`Term` says how one case-mix variable enters the model (categorical, linear or
restricted cubic spline); :func:`learn_encoding` fixes the levels, reference category, knots
and missing-value handling on the fitting data; :class:`Encoding` rebuilds the same columns for
any later table (annual refit, scoring a new year) and serialises to plain JSON.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from casemix.exceptions import DataError, SpecError
from casemix.models.splines import default_knots, rcs_basis

__all__ = ["Encoding", "Term", "TermEncoding", "learn_encoding"]

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
    """

    column: str
    kind: TermKind = "categorical"
    reference: str | None = None
    levels: tuple[str, ...] | None = None
    knots: tuple[float, ...] | None = None
    n_knots: int = 5
    missing: Literal["category", "indicator", "error"] | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("categorical", "linear", "spline"):
            raise SpecError(f"Term {self.column!r}: kind must be categorical, linear or spline; "
                            f"got {self.kind!r}.")


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

    @property
    def names(self) -> list[str]:
        """Names of the design columns of this term."""
        if self.kind == "categorical":
            return [f"{self.column}={lv}" for lv in self.levels if lv != self.reference]
        base = ([self.column] if self.kind == "linear"
                else [f"{self.column}_rcs{j + 1}" for j in range(len(self.knots) - 1)])
        return base + ([f"{self.column}=missing"] if self.has_missing_column else [])

    def labels(self, values: pd.Series) -> pd.Series:
        """Categorical labels as strings, missing as ``"missing"`` (numbers without ``.0``)."""
        if pd.api.types.is_float_dtype(values.dtype) and (values.dropna() % 1 == 0).all():
            values = values.astype("Int64")
        out = values.astype("string").astype(object)
        return out.where(values.notna(), MISSING)

    def codes(self, values: pd.Series) -> npt.NDArray[np.intp]:
        """Integer level codes of a categorical term; unseen levels are an error."""
        labels = self.labels(values)
        codes = pd.Index(self.levels).get_indexer(labels)
        if (codes < 0).any():
            bad = labels[codes < 0].value_counts().head(5)
            listed = ", ".join(f"{k!r} ({n:,} rows)" for k, n in bad.items())
            raise DataError(
                f"Column '{self.column}' has levels not seen when the model was fitted: "
                f"{listed}. Known levels: {list(self.levels)}."
            )
        if self.missing == "error" and MISSING not in self.levels and (labels == MISSING).any():
            raise DataError(f"Column '{self.column}' has missing values and the model spec "
                            "says missing = 'error'.")
        return codes

    def columns(self, values: pd.Series) -> npt.NDArray[np.float64]:
        """Design columns of this term for ``values``."""
        if self.kind == "categorical":
            codes = self.codes(values)
            keep = [i for i, lv in enumerate(self.levels) if lv != self.reference]
            return (codes[:, None] == np.asarray(keep)[None, :]).astype(float)
        x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        miss = np.isnan(x)
        if miss.any() and not self.has_missing_column:
            raise DataError(
                f"Column '{self.column}' has {int(miss.sum()):,} missing values and the model "
                "was fitted without a missing indicator for it (missing = 'error')."
            )
        x = np.where(miss, self.fill_value if self.fill_value is not None else 0.0, x)
        base = x[:, None] if self.kind == "linear" else rcs_basis(x, self.knots)
        if self.has_missing_column:
            base = np.column_stack([base, miss.astype(float)])
        return base

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON representation."""
        return {"column": self.column, "kind": self.kind, "levels": list(self.levels),
                "reference": self.reference, "knots": list(self.knots),
                "fill_value": self.fill_value, "missing": self.missing,
                "has_missing_column": self.has_missing_column}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TermEncoding:
        """Inverse of :meth:`to_dict`."""
        return cls(d["column"], d["kind"], tuple(d["levels"]), d["reference"],
                   tuple(d["knots"]), d["fill_value"], d["missing"], d["has_missing_column"])


def _learn_categorical(term: Term, values: pd.Series) -> TermEncoding:
    missing = term.missing or "category"
    enc = TermEncoding(term.column, "categorical", missing=missing)
    labels = enc.labels(values)
    seen = pd.unique(labels[labels != MISSING])
    if term.levels is not None:
        unknown = sorted(set(seen) - set(term.levels))
        if unknown:
            raise DataError(f"Column '{term.column}' has levels {unknown} that the spec's "
                            f"levels {list(term.levels)} do not list.")
        levels = [lv for lv in term.levels if lv in set(seen)]
    elif isinstance(values.dtype, pd.CategoricalDtype):
        levels = [str(c) for c in values.cat.categories if str(c) in set(seen)]
    else:
        levels = sorted(seen, key=_natural_key)
    if (labels == MISSING).any():
        if missing == "error":
            raise DataError(f"Column '{term.column}' has {int((labels == MISSING).sum()):,} "
                            "missing values and the spec says missing = 'error'.")
        levels.append(MISSING)
    if len(levels) < 2:
        raise SpecError(f"Term '{term.column}' has fewer than two levels in the data "
                        f"({levels}); drop it from the spec.")
    reference = term.reference if term.reference is not None else levels[0]
    if reference not in levels:
        raise SpecError(f"Reference level {reference!r} of '{term.column}' is not in the data; "
                        f"levels are {levels}.")
    return TermEncoding(term.column, "categorical", tuple(levels), reference, missing=missing)


def _natural_key(label: str) -> tuple[int, float | str]:
    try:
        return (0, float(label))
    except ValueError:
        return (1, label)


def _learn_continuous(term: Term, values: pd.Series) -> TermEncoding:
    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    missing = term.missing or "indicator"
    miss = np.isnan(x)
    if miss.any() and missing == "error":
        raise DataError(f"Column '{term.column}' has {int(miss.sum()):,} missing values and the "
                        "spec says missing = 'error'.")
    knots: tuple[float, ...] = ()
    if term.kind == "spline":
        knots = tuple(term.knots) if term.knots is not None else tuple(
            default_knots(x, term.n_knots).tolist())
    fill = float(np.median(x[~miss])) if miss.any() else None
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
        parts = [np.ones((len(data), 1)), *blocks.values()]
        for a, b in self.interactions:
            parts.append((blocks[a][:, :, None] * blocks[b][:, None, :]).reshape(len(data), -1))
        return np.ascontiguousarray(np.hstack(parts))

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON representation."""
        return {"terms": [t.to_dict() for t in self.terms],
                "interactions": [list(p) for p in self.interactions]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Encoding:
        """Inverse of :meth:`to_dict`."""
        return cls(tuple(TermEncoding.from_dict(t) for t in d["terms"]),
                   tuple((a, b) for a, b in d["interactions"]))


def learn_encoding(
    data: pd.DataFrame, terms: Sequence[Term], interactions: Sequence[tuple[str, str]] = ()
) -> Encoding:
    """Learn levels, references, knots and missing handling of ``terms`` on ``data``."""
    columns = [t.column for t in terms]
    absent = [c for c in columns if c not in data]
    if absent:
        raise DataError(f"Column(s) {absent} named in the model spec are not in the data.")
    for a, b in interactions:
        if a not in columns or b not in columns:
            raise SpecError(f"Interaction ({a}, {b}) needs both variables as terms of the model.")
    learned = tuple(
        _learn_categorical(t, data[t.column]) if t.kind == "categorical"
        else _learn_continuous(t, data[t.column]) for t in terms
    )
    return Encoding(learned, tuple(tuple(p) for p in interactions))  # type: ignore[misc]
