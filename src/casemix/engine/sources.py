"""Where births files are: one file, a folder of Parquet files, or a glob pattern."""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from casemix.exceptions import DataError
from casemix.models.grouped import files_fingerprint

__all__ = ["Source", "resolve_source"]

_KINDS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".txt": "csv", ".tsv": "csv"}


@dataclass(frozen=True)
class Source:
    """Births files read together as one table.

    Attributes
    ----------
    given : str
        The ``--data`` argument as given.
    files : tuple of pathlib.Path
        The files, sorted by path.
    kind : {"parquet", "csv"}
    """

    given: str
    files: tuple[Path, ...]
    kind: Literal["parquet", "csv"]

    def fingerprint(self) -> str:
        """SHA-256 over the files' names, sizes and bytes
        (:func:`casemix.models.grouped.files_fingerprint`)."""
        return files_fingerprint(list(self.files))


def resolve_source(data: str | Path) -> Source:
    """The files of ``data``: a ``.parquet``/``.csv`` file, a folder (its Parquet files, also in
    sub-folders such as ``year=2024/``), or a glob pattern (``births/*.parquet``).

    Raises
    ------
    DataError
        Nothing matches, a file type the engine cannot stream (SPSS: read it with engine
        ``pandas``), or Parquet and CSV files mixed.
    """
    text = str(data)
    path = Path(text)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and _kind(p) == "parquet")
        if not files:
            raise DataError(f"Folder {text} holds no Parquet files (*.parquet).")
    elif path.is_file():
        files = [path]
    elif any(ch in text for ch in "*?["):
        files = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
        if not files:
            raise DataError(f"No files match {text!r}.")
    else:
        raise DataError(f"Data file not found: {text}")
    kinds = {_kind(p) for p in files}
    if None in kinds:
        odd = sorted({p.suffix or p.name for p in files if _kind(p) is None})
        raise DataError(f"{text}: the engine reads Parquet and CSV files, not {odd} (SPSS "
                        "files: use --engine pandas).")
    if len(kinds) > 1:
        raise DataError(f"{text} mixes Parquet and CSV files; give one kind.")
    return Source(text, tuple(files), kinds.pop())  # type: ignore[arg-type]


def _kind(path: Path) -> str | None:
    return _KINDS.get(path.suffix.lower())
