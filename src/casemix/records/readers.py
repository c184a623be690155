"""Read births from CSV, Parquet or SPSS (.sav) files into canonical, validated columns."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import pandas as pd

from casemix.exceptions import DataError
from casemix.records.mapping import PRESETS, ColumnMapping
from casemix.records.schema import COLUMNS
from casemix.records.validation import InvalidPolicy, Problem, ValidationReport, validate_births

__all__ = ["load_births", "read_table"]

_READERS = {".csv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet",
            ".sav": "spss", ".zsav": "spss"}


def read_table(path: str | Path, *, text_columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Read a raw table by its file extension (CSV, Parquet, SPSS ``.sav``/``.zsav``).

    Parameters
    ----------
    path : path
        The file.
    text_columns : sequence of str, optional
        CSV only: columns read as text (codes such as ``0363`` keep their leading zeros); the
        other columns are typed by the reader. Default: every column as text (validation
        parses numbers itself), which is slower for large files.

    Notes
    -----
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
        if text_columns is None:
            return pd.read_csv(path, engine="pyarrow", dtype=str)
        import pyarrow as pa
        from pyarrow import csv as pa_csv

        options = pa_csv.ConvertOptions(column_types=dict.fromkeys(text_columns, pa.string()),
                                        strings_can_be_null=True)
        return pa_csv.read_csv(path, convert_options=options).to_pandas()
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


def _text_columns(mapping: ColumnMapping | None) -> list[str]:
    """Source names of the identifier and code columns (read as text from CSV)."""
    ids = [name for name, col in COLUMNS.items() if col.kind in ("id", "category")]
    ids += ["mortality_code"]
    if mapping is None:
        return ids
    return ids + [s for s, t in mapping.columns.items() if t in ids]


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
    resolved = _resolve_mapping(mapping)
    raw = source if isinstance(source, pd.DataFrame) else read_table(
        source, text_columns=_text_columns(resolved))
    notes: list[Problem] = []
    if resolved is not None:
        raw, notes = resolved.apply(raw)
    report = validate_births(raw, invalid=invalid)
    report.problems[:0] = notes
    if errors == "raise":
        report.raise_for_errors()
    return report
