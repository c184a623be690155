"""``casemix publish``: a run's disclosure-controlled tables as a publication table.

The values come only from the files of the run folder that may leave the secure environment
(``units.csv`` and the national totals of ``calibration.csv``, both written by
:func:`casemix.models.runs.save_run`), never from the births: what they hide stays hidden, and
so does every value computed from a hidden count. The format is defined in
:mod:`casemix.workflow.statline`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from casemix._params import check_one_of
from casemix.exceptions import CasemixError
from casemix.models.runs import Run, load_run
from casemix.workflow.statline import NATIONAL_CODE, NATIONAL_TYPE, decimals, encode_statline

__all__ = ["FORMATS", "publish_run", "statline_table", "write_statline"]

#: Formats of ``casemix publish --format``.
FORMATS = ("statline",)


def statline_table(run: Run | str | Path) -> pd.DataFrame:
    """The publication table of a run in the StatLine long format.

    Parameters
    ----------
    run : Run or path
        A run folder (``casemix fit`` or ``refit``); read with
        :func:`~casemix.models.runs.load_run`, so an incomplete or edited folder is refused.

    Returns
    -------
    pandas.DataFrame
        ``region_code, region_type, period, indicator, measure, unit, value, lower, upper,
        status`` (:data:`casemix.workflow.statline.COLUMNS`): one row per region, period and
        measure, national rows (``NL01``, ``nederland``) first.

    Notes
    -----
    The regions are the rows of ``units.csv`` over all births (stratum ``all``) of every
    level and period; strata are not published. The national rows (births, events, crude
    rate of the pooled period) come from ``calibration.csv``, the national totals the run
    publishes anyway; a run written without diagnostics has none. See
    :func:`casemix.workflow.statline.encode_statline` for the measures and status codes.
    """
    run = run if isinstance(run, Run) else load_run(run)
    units = pd.read_csv(run.folder / "units.csv", dtype={"unit": str, "period": str})
    main = units[units["stratum"].astype(str).eq("all")]
    indicator = run.spec.outcome
    period = str(run.manifest.get("period") or main["period"].iloc[0])
    national = _national(run.folder / "calibration.csv", period)
    parts = [encode_statline(national, indicator, region_type=NATIONAL_TYPE)
             if national is not None else None, encode_statline(main, indicator)]
    return pd.concat([p for p in parts if p is not None], ignore_index=True)


def _national(calibration: Path, period: str) -> pd.DataFrame | None:
    """Births, events and crude rate of the nation from ``calibration.csv``."""
    if not calibration.is_file():
        return None
    total = pd.read_csv(calibration).iloc[0]
    n, events = float(total["n"]), float(total["events"])
    return pd.DataFrame({"level": [NATIONAL_TYPE], "unit": [NATIONAL_CODE],
                         "period": [period], "n": [n], "observed": [events],
                         "crude_rate": [round(events / n, 4) if n > 0 else np.nan]})


def write_statline(table: pd.DataFrame, path: str | Path) -> Path:
    """Write a StatLine table as CSV: each value with the decimals of its measure
    (:func:`casemix.workflow.statline.decimals`; counts as whole numbers), blanks empty;
    written to a temporary file first and renamed, so a reader never sees half a table."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    digits = [decimals(m, u) for m, u in zip(table["measure"], table["unit"], strict=True)]
    out = table.assign(**{c: _text(table[c], digits) for c in ("value", "lower", "upper")})
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        out.to_csv(partial, index=False)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def _text(values: pd.Series, digits: list[int | None]) -> list[str]:
    """Values with fixed decimals (``14.80``, ``-1``); counts as whole numbers, weighted ones
    as their shortest repr; blank for a missing value."""
    return ["" if pd.isna(v) else f"{v:.{d}f}" if d is not None else str(int(v))
            if float(v).is_integer() else repr(float(v))
            for v, d in zip(values, digits, strict=True)]


def publish_run(run: str | Path, out: str | Path, *, format: str = "statline"
                ) -> pd.DataFrame:
    """Write the publication table of ``run`` to ``out`` (``casemix publish``).

    Parameters
    ----------
    run : path
        A run folder.
    out : path
        The CSV file to write (replaced when it exists); not inside the run folder.
    format : {"statline"}
        The table format (:data:`FORMATS`).

    Returns
    -------
    pandas.DataFrame
        The table written.

    Raises
    ------
    CasemixError
        An unknown format, an ``out`` that is not a ``.csv`` file or lies in the run folder,
        or no complete run at ``run``.
    """
    check_one_of("format", format, FORMATS, owner="casemix publish")
    out = Path(out)
    if out.suffix.lower() != ".csv":
        raise CasemixError(f"Cannot write {out.name!r}: a publication table is a .csv file "
                           "(the audit reads CSV).")
    if Path(run).resolve() in out.resolve().parents:
        raise CasemixError(f"Write the publication table outside the run folder {run} (run "
                           "folders are never changed after they are written).")
    table = statline_table(run)
    write_statline(table, out)
    return table
