"""The report of a weighting, disclosure-controlled: margins achieved, design effects per
unit, trimming.

One table (CSV) with a row per count and the columns :data:`COLUMNS`:

- ``table = design``: ``level = national`` (all births) and every unit of each unit level
  (plus the unit ``<missing>``: births without a code), with ``n`` births, the sum of their
  weights, Kish's design effect, the effective sample size and the smallest and largest
  weight;
- ``table = margin``: every cell of every margin (``level`` = the margin, ``unit`` = the
  cell), with ``n`` births, the sum of their weights, the ``target`` and the ``deviation``;
- ``table = trimming``: births whose weight was trimmed at the ``lower`` and ``upper``
  ``bound``.

Every ``n`` is a count of births and a cell of one linked system (:func:`link_report`):
the units of a level add up to all births, the cells of a margin too, and a cell of a
cross-classified margin (``municipality:age_group``) adds up over each variable to the cell
of the other variables (``municipality = GM0363``), which is the same count wherever it is
shown. A row whose count is hidden is blank in every column computed from its births.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from casemix.disclosure import DEFAULT_THRESHOLD, LinkedCells, Protection, protect
from casemix.disclosure.linked import Cell
from casemix.weighting.design_effects import NATIONAL, design_effects
from casemix.weighting.margins import SEP
from casemix.weighting.result import Weights

__all__ = ["COLUMNS", "MISSING", "SIGNATURE", "VALUES", "link_report", "weights_report"]

COLUMNS = ["table", "level", "unit", "n", "sum_weights", "target", "deviation", "deff",
           "n_effective", "min_weight", "max_weight", "bound"]
#: Columns computed from a row's births: blank when its count is hidden.
VALUES = ["sum_weights", "target", "deviation", "deff", "n_effective", "min_weight",
          "max_weight"]
#: The columns by which the audit recognises a weights report.
SIGNATURE = {"table", "level", "unit", "n", "sum_weights", "n_effective", "deff"}
#: Unit label of the births without a code of a level.
MISSING = "<missing>"
ALL = "births"


def _design(w: npt.NDArray[np.float64], births: pd.DataFrame, levels: list[str]
            ) -> pd.DataFrame:
    """Design effects overall and per unit, with each level's births without a code."""
    by = births[levels].astype(object).where(births[levels].notna(), MISSING)
    d = design_effects(w, by=by if levels else None)
    codes = [pd.factorize(by[lv], sort=True)[0] for lv in levels]
    extremes = []
    for c in codes:
        k = c.max() + 1
        lo = np.full(k, np.inf)
        hi = np.full(k, -np.inf)
        np.minimum.at(lo, c, w)
        np.maximum.at(hi, c, w)
        extremes.append(pd.DataFrame({"min_weight": lo, "max_weight": hi}))
    first = pd.DataFrame({"min_weight": [w.min()], "max_weight": [w.max()]})
    d = pd.concat([d, pd.concat([first, *extremes], ignore_index=True)], axis=1)
    return d.assign(table="design")


def _margins(result: Weights) -> pd.DataFrame:
    f = result.fit
    return pd.DataFrame({"table": "margin", "level": f["margin"], "unit": f["value"],
                         "n": f["n"], "sum_weights": f["achieved"], "target": f["target"],
                         "deviation": f["deviation"]})


def _trimming(result: Weights) -> pd.DataFrame:
    t = result.trimming
    if not t:
        return pd.DataFrame(columns=COLUMNS)
    return pd.DataFrame({"table": "trimming", "level": NATIONAL[0], "unit": ["lower", "upper"],
                         "n": [t["n_lower"], t["n_upper"]], "bound": [t["lower"], t["upper"]]})


def _key(table: str, level: str, unit: str) -> str:
    """The cell of a row: the same count has the same key in every table
    (``vsv=V01`` as a unit and as a margin cell; ``a=x|b=y`` for a cross-classification)."""
    if level == NATIONAL[0]:
        return ALL
    parts = sorted(zip(level.split(SEP), str(unit).split(SEP), strict=True))
    return "|".join(f"{v}={x}" for v, x in parts)


def link_report(cells: LinkedCells, report: pd.DataFrame, *, file: str
                ) -> npt.NDArray[np.intp]:
    """Add the counts of a weights report and their relations to ``cells``.

    Parameters
    ----------
    cells : LinkedCells
    report : pandas.DataFrame
        A weights report (:data:`COLUMNS`); a blank ``n`` is hidden.
    file : str
        Its file name (for findings).

    Returns
    -------
    numpy.ndarray of int
        The cell of each row's ``n`` (-1 for trimming rows, which no relation links).
    """
    rows = np.full(len(report), -1, dtype=np.intp)
    n = pd.to_numeric(report["n"], errors="coerce").to_numpy(dtype=float)
    for i, (table, level, unit) in enumerate(report[["table", "level", "unit"]].astype(
            str).itertuples(index=False)):
        if table == "trimming":
            continue
        key = _key(table, level, unit)
        rows[i] = cells.cell(key, n[i], published=not np.isnan(n[i]),
                             where=Cell(file, f"{table} {level} {unit}", "n"))
    total = cells.cell(ALL, kind="implied")
    groups = report[rows >= 0].groupby(["table", "level"], sort=False).indices
    for (_, level), idx in groups.items():
        if level != NATIONAL[0]:
            cells.add_sum(total, [int(r) for r in rows[rows >= 0][idx]])
    _nest(cells, sorted({cells.keys[r] for r in rows[rows >= 0] if "|" in cells.keys[r]}))
    return rows


def _nest(cells: LinkedCells, keys: list[str]) -> None:
    """A cell of a cross-classification is part of the cell of its other variables: for
    each variable, the cells that differ only in it add up to that cell."""
    families: dict[tuple[str, str], list[int]] = {}
    for key in keys:
        parts = key.split("|")
        names = tuple(p.split("=")[0] for p in parts)
        for k in range(len(parts)):
            rest = "|".join(parts[:k] + parts[k + 1:])
            families.setdefault((f"{names}:{names[k]}", rest), []).append(cells.index(key))
    for (_, rest), siblings in families.items():
        cells.add_sum(cells.cell(rest, kind="implied"), siblings)


def weights_report(result: Weights, births: pd.DataFrame, levels: list[str], *,
                   threshold: int = DEFAULT_THRESHOLD) -> pd.DataFrame:
    """The report of a weighting, with every count below ``threshold`` hidden and what it
    could be derived from (linked secondary suppression, :func:`casemix.disclosure.protect`).

    Parameters
    ----------
    result : Weights
    births : pandas.DataFrame
        The weighted births (for the unit columns).
    levels : list of str
        Unit levels to report (``vsv``, ``municipality``, ...), those present in ``births``.
    threshold : int, default 10
        Counts of 1 to ``threshold - 1`` births are hidden, and so are targets below it.

    Returns
    -------
    pandas.DataFrame
        :data:`COLUMNS`, with hidden counts and everything computed from them blank.
    """
    design = _design(result.weights, births, levels)
    report = pd.concat([design, _margins(result), _trimming(result)], ignore_index=True)
    report = report.reindex(columns=COLUMNS)
    report["n"] = report["n"].astype(float)
    cells = LinkedCells()
    rows = link_report(cells, report, file="report")
    n = report["n"].to_numpy(dtype=float)
    target = pd.to_numeric(report["target"], errors="coerce").to_numpy(dtype=float)
    small = ((n > 0) & (n < threshold)) | ((target > 0) & (target < threshold))
    values, published, *_ = cells.arrays()
    hidden = ~published
    hidden[rows[(rows >= 0) & small]] = True
    kind = np.asarray(cells.kind)
    hidden = protect(cells, hidden, Protection(threshold, float(threshold)),
                     last_resort=np.asarray(cells.keys) == ALL)
    blank = small | np.where(rows >= 0, hidden[np.clip(rows, 0, None)], False)
    del values, kind
    report.loc[blank, ["n", *VALUES]] = np.nan
    report["n"] = report["n"].astype("Int64")
    return report
