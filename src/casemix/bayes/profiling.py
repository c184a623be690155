"""Bayesian shrinkage columns for the unit table of a case-mix fit (methods bayes, bym2)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from casemix.bayes.adjacency import Adjacency, read_adjacency
from casemix.bayes.bym2 import fit_bym2
from casemix.bayes.sampling import labelled
from casemix.bayes.settings import Priors, SamplerSettings
from casemix.bayes.summary import BayesFit
from casemix.bayes.trend import fit_unit_year
from casemix.bayes.two_stage import fit_two_stage
from casemix.exceptions import MethodSwitchWarning
from casemix.shrinkage.unit_table import SHRINKAGE_COLUMNS

__all__ = ["bayes_unit_shrinkage"]


def bayes_unit_shrinkage(units: pd.DataFrame, method: str, *, settings: SamplerSettings,
                         priors: Priors | None = None,
                         adjacency: Adjacency | str | Path | None = None,
                         main: pd.Series, yearly: pd.Series, trend: str = "rw1",
                         level: float = 0.95) -> tuple[pd.DataFrame, dict[str, BayesFit]]:
    """Add the shrinkage columns from Bayesian models to a unit comparison table.

    Parameters
    ----------
    units : pandas.DataFrame
        Output of the unit comparison (``level, unit, observed, expected, period, stratum``).
    method : {"bayes", "bym2"}
        Two-stage model, or BYM2 on ``adjacency`` for the level whose units it lists.
    settings, priors, adjacency, trend, level
        See :class:`casemix.models.shrinkers.TwoStageBayes` and
        :class:`casemix.models.shrinkers.BYM2`.
    main, yearly : pandas.Series of bool
        Masks of the pooled-period rows and of the per-year rows (stratum ``all``), see
        :class:`casemix.models.UnitTable`.

    Returns
    -------
    units : pandas.DataFrame
        With :data:`SHRINKAGE_COLUMNS` on the pooled-period rows of every level (two-stage or
        BYM2) and on the per-year rows (unit x year model); stratified rows get missing
        values (stratum-specific ratios are descriptive).
    fits : dict of str to BayesFit
        Keyed ``"<level>"`` and ``"<level> by year"``.
    """
    graph = read_adjacency(adjacency) if isinstance(adjacency, str | Path) else adjacency
    out = units.copy()
    for column in SHRINKAGE_COLUMNS:
        out[column] = np.nan
    fits: dict[str, BayesFit] = {}
    spatial = _spatial_level(units.loc[main], graph) if method == "bym2" else None
    for name, table in units.loc[main].groupby("level", sort=False):
        with labelled(f"level {name}"):
            fit = _fit_level(table, name, spatial, graph, priors, settings, level)
        fits[str(name)] = fit
        out.loc[table.index, SHRINKAGE_COLUMNS] = fit.units[SHRINKAGE_COLUMNS].to_numpy()
    for name, table in units.loc[yearly].groupby("level", sort=False):
        with labelled(f"level {name} by year"):
            fit = fit_unit_year(table["observed"], table["expected"], table["unit"],
                                table["period"].astype(int), trend=trend, priors=priors,
                                settings=settings, level=level)
        fits[f"{name} by year"] = fit
        out.loc[table.index, SHRINKAGE_COLUMNS] = fit.units[SHRINKAGE_COLUMNS].to_numpy()
    return out, fits


def _fit_level(table: pd.DataFrame, name: Any, spatial: str | None, graph: Adjacency | None,
               priors: Priors | None, settings: SamplerSettings, level: float) -> BayesFit:
    """BYM2 for the spatial level, the two-stage model for every other one."""
    if name == spatial:
        assert graph is not None
        fit = fit_bym2(table["observed"], table["expected"], graph.reorder(table["unit"]),
                       priors=priors, settings=settings, level=level)
        fit.units = fit.units.set_index("unit").loc[table["unit"].astype(str)].reset_index()
        return fit
    if spatial is not None:  # method bym2, on a level the graph does not list
        warnings.warn(f"BYM2: the adjacency file does not list the {name} units; "
                      f"level {name} got the two-stage model.", MethodSwitchWarning,
                      stacklevel=3)
    return fit_two_stage(table["observed"], table["expected"], units=table["unit"],
                         priors=priors, settings=settings, level=level)


def _spatial_level(main: pd.DataFrame, graph: Adjacency | None) -> str:
    """The level whose units are the regions of the adjacency graph."""
    assert graph is not None
    regions = set(graph.units)
    overlap = {name: len(set(t["unit"].astype(str)) & regions) / len(t)
               for name, t in main.groupby("level", sort=False)}
    best = max(overlap, key=overlap.__getitem__)
    if overlap[best] < 1:
        table = main[main["level"] == best]
        graph.reorder(table["unit"])  # raises, naming the regions that do not match
    return str(best)
