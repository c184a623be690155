"""Writing tables in the formats the readers accept (CSV, Parquet, SPSS)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from casemix.exceptions import DataError

__all__ = ["write_table"]


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a table by the extension of ``path``: ``.csv``, ``.parquet`` (``.pq``) or ``.sav``
    (SPSS); the folder is created. Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix in (".parquet", ".pq"):
        frame.to_parquet(path, index=False)
    elif suffix == ".sav":
        import pyreadstat

        text = frame.select_dtypes(["string", "str"]).columns
        pyreadstat.write_sav(frame.astype(dict.fromkeys(text, "object")), str(path))
    else:
        raise DataError(f"Cannot write {path.name!r}: use .csv, .parquet or .sav.")
    return path
