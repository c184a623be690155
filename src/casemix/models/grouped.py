"""Births grouped to distinct rows: what a case-mix model needs from a births file that does
not fit in memory (built by :mod:`casemix.engine`)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from casemix.records.exclusions import ExclusionLog

if TYPE_CHECKING:
    from casemix.records import ValidationReport

__all__ = ["BIRTHS", "OUTCOME", "GroupedBirths", "files_fingerprint", "model_columns",
           "pattern_columns", "subgroup_columns", "subgroup_key"]

#: Column of :attr:`GroupedBirths.frame` with the 0/1 outcome of the row's births.
OUTCOME = "_outcome"
#: Column of :attr:`GroupedBirths.frame` with the number of births of the row.
BIRTHS = "_births"


def files_fingerprint(paths: list[Path]) -> str:
    """SHA-256 over files' names, sizes and bytes (read in 1 MB blocks), in the given order."""
    h = hashlib.sha256()
    for path in paths:
        h.update(f"{path.name}:{path.stat().st_size}".encode())
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def model_columns(spec: object, columns: list[str]) -> list[str]:
    """The columns of ``columns`` that a fit of ``spec`` keeps per birth: adjusters, unit
    levels, strata and year (the columns of :func:`casemix.models.data.prepare_model_data`)."""
    wanted = [t.column for t in spec.adjusters]  # type: ignore[attr-defined]
    wanted += [*spec.levels, *spec.stratify, "year"]  # type: ignore[attr-defined]
    return [c for c in dict.fromkeys(wanted) if c in columns]


def pattern_columns(spec: object, columns: list[str]) -> list[str]:
    """The model's columns without its unit levels: births equal in these have the same
    covariate pattern, hence the same predicted risk."""
    levels = set(spec.levels)  # type: ignore[attr-defined]
    return [c for c in model_columns(spec, columns) if c not in levels]


def subgroup_columns(spec: object, columns: list[str]) -> list[str]:
    """The calibration subgroups (:data:`casemix.models.disclosed.SUBGROUPS`) in ``columns``
    that are not among the model's columns: they get a table of their own
    (:attr:`GroupedBirths.subgroups`), so that they do not multiply the grouped rows."""
    from casemix.models.disclosed import SUBGROUPS

    used = set(model_columns(spec, columns))
    return [c for c in SUBGROUPS if c in columns and c not in used]


def subgroup_key(name: str, column: str) -> str:
    """Key of the grouped table of subgroup ``column`` of spec ``name`` among an engine's
    grouped tables."""
    return f"{name}\x1f{column}"


@dataclass
class GroupedBirths:
    """The analysed births of one model, grouped to distinct rows of the columns it uses.

    Every statistic of a fit is a sum over births, and births with the same values of the
    model's columns and the same outcome contribute identically: a fit on the groups with
    their counts is the fit on the births (identical cells, :func:`casemix.core.compress_cells`).

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per distinct combination of the model's columns (:func:`model_columns`) and
        the outcome (:data:`OUTCOME`, 0/1), with its births (:data:`BIRTHS`); sorted by all
        columns, so that it does not depend on the order of the births or on the engine.
    validation : ValidationReport
        The validation of the whole file (problems, exclusions and rows read, summed over
        the batches; ``births`` is empty).
    exclusions : ExclusionLog
        The model's own exclusions (indicator denominators, years, weights), counted.
    engine : str
        What built it (``duckdb``, ``pyspark``, ``pandas``).
    source : str
        The data it was read from (file, folder or glob).
    source_sha256 : str or None
        Fingerprint of the source files (:func:`files_fingerprint`).
    notes : list of str
        What a run of these births leaves out, for its manifest.
    subgroups : dict
        Calibration subgroup outside the model's columns (:func:`subgroup_columns`) -> the
        analysed births grouped by the covariate-pattern columns (:func:`pattern_columns`),
        that subgroup and the outcome, with their births: what calibration by the subgroup
        needs (pattern x subgroup cells), without the units.
    """

    frame: pd.DataFrame
    validation: ValidationReport
    exclusions: ExclusionLog = field(default_factory=ExclusionLog)
    engine: str = "pandas"
    source: str = ""
    source_sha256: str | None = None
    notes: list[str] = field(default_factory=list)
    subgroups: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def births(self) -> npt.NDArray[np.float64]:
        """Births per row."""
        return self.frame[BIRTHS].to_numpy(dtype=float)

    @property
    def outcome(self) -> npt.NDArray[np.float64]:
        """The 0/1 outcome of each row's births."""
        return self.frame[OUTCOME].to_numpy(dtype=float)

    @property
    def n_analysed(self) -> int:
        """Births analysed (the sum of the counts)."""
        return int(self.frame[BIRTHS].sum())

    def fingerprint(self) -> str:
        """SHA-256 of the grouped table (column names, types and values): the same births
        give the same fingerprint whatever their order and whichever engine grouped them."""
        h = hashlib.sha256()
        h.update(",".join(f"{c}:{self.frame[c].dtype}" for c in self.frame.columns).encode())
        h.update(pd.util.hash_pandas_object(self.frame, index=False).to_numpy().tobytes())
        return h.hexdigest()
