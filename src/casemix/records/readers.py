"""Read births from CSV, Parquet or SPSS (.sav) files into canonical, validated columns."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pandas as pd

from casemix.exceptions import DataError
from casemix.records.mapping import PRESETS, ColumnMapping
from casemix.records.validation import InvalidPolicy, ValidationReport, validate_births

__all__ = ["load_births", "read_table"]

_READERS = {".csv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet",
            ".sav": "spss", ".zsav": "spss"}


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a raw table by its file extension (CSV, Parquet, SPSS ``.sav``/``.zsav``).

    SPSS files are read with their stored codes (value labels are not applied), so that a
    column mapping translates codes explicitly.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"Data file not found: {path}")
    kind = _READERS.get(path.suffix.lower())
    if kind is None:
        raise DataError(
            f"Cannot read {path.name!r}: unknown extension {path.suffix!r}; expected one of "
            f"{', '.join(sorted(_READERS))}."
        )
    if kind == "csv":
        # everything as text: codes keep leading zeros; validation parses numbers itself
        return pd.read_csv(path, engine="pyarrow", dtype=str)
    if kind == "parquet":
        return pd.read_parquet(path)
    import pyreadstat

    frame, _meta = pyreadstat.read_sav(str(path), apply_value_formats=False)
    return frame


def _resolve_mapping(mapping: str | Path | ColumnMapping | None) -> ColumnMapping | None:
    if mapping is None or isinstance(mapping, ColumnMapping):
        return mapping
    if isinstance(mapping, str) and mapping in PRESETS:
        return ColumnMapping.preset(mapping)
    return ColumnMapping.from_toml(mapping)


def load_births(
    source: str | Path | pd.DataFrame,
    *,
    mapping: str | Path | ColumnMapping | None = None,
    invalid: InvalidPolicy = "exclude",
    errors: Literal["raise", "report"] = "raise",
) -> ValidationReport:
    """Read, map and validate a births file (or DataFrame).

    Parameters
    ----------
    source : path or pandas.DataFrame
        CSV, Parquet or SPSS file, or a DataFrame already in memory.
    mapping : str, path or ColumnMapping, optional
        A preset name (``"perined"``), a TOML mapping file, or a mapping object. Without one, the
        columns must already carry canonical names.
    invalid : {"exclude", "missing", "error"}
        Policy for impossible values, see :func:`~casemix.records.validation.validate_births`.
    errors : {"raise", "report"}
        Raise :class:`~casemix.exceptions.DataError` on fatal problems, or return the report.

    Returns
    -------
    ValidationReport
        ``report.births`` is the typed table; ``report.exclusions`` counts what was left out.
    """
    raw = source if isinstance(source, pd.DataFrame) else read_table(source)
    resolved = _resolve_mapping(mapping)
    notes = []
    if resolved is not None:
        raw, notes = resolved.apply(raw)
    report = validate_births(raw, invalid=invalid)
    report.problems[:0] = notes
    if errors == "raise":
        report.raise_for_errors()
    return report
