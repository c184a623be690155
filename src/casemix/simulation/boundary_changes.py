"""Synthetic municipal boundary changes for a simulated cohort (``casemix simulate
--boundary-changes``).

The changes are the package's synthetic crosswalk (``resources/geography/
synthetic_crosswalk.csv``), dated 1 January of the last simulated year: the historical
municipalities GM9001 and GM9002 merge into GM0001, and GM9003 is split over GM0002 (60%)
and GM0003 (40%). Births of earlier years carry the codes valid then, so that harmonising
them to the last year (:func:`casemix.geography.harmonise`) gives back the simulated codes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from importlib.resources import files

import numpy as np
import pandas as pd

from casemix.exceptions import ParameterError
from casemix.geography import Crosswalk
from casemix.simulation.cohort import SimulatedCohort

__all__ = ["BoundaryChanges", "cohort_with_boundary_changes", "synthetic_crosswalk",
           "with_boundary_changes"]

#: The level columns of the synthetic region table (a birth's VSV is where it was born, not
#: derived from its municipality: the simulation sends 15% of births to a second VSV).
REGION_COLUMNS = ("ggd_region", "care_office_region")


@dataclass(frozen=True)
class BoundaryChanges:
    """Births with historical codes, and the tables that harmonise them.

    Attributes
    ----------
    births : pandas.DataFrame
        The cohort's births; those of years before the change carry the historical codes.
    crosswalk : pandas.DataFrame
        ``old_code, new_code, date, share`` (date ISO), as written to ``<stem>_crosswalk.csv``.
    regions : pandas.DataFrame
        ``municipality, year, ggd_region, care_office_region`` for every simulated year, as
        written to ``<stem>_regions.csv``.
    """

    births: pd.DataFrame
    crosswalk: pd.DataFrame
    regions: pd.DataFrame


def synthetic_crosswalk(year: int) -> pd.DataFrame:
    """The synthetic crosswalk, dated 1 January of ``year``.

    Parameters
    ----------
    year : int
        The year of the change (the last simulated year).

    Returns
    -------
    pandas.DataFrame
        ``old_code, new_code, date, share``.
    """
    path = files("casemix.resources").joinpath("geography/synthetic_crosswalk.csv")
    with path.open("r", encoding="utf-8") as handle:
        table = pd.read_csv(handle, dtype={"old_code": str, "new_code": str, "date": str})
    return table.assign(date=f"{int(year):04d}-01-01")


def with_boundary_changes(births: pd.DataFrame, municipalities: pd.DataFrame, *,
                          seed: int) -> BoundaryChanges:
    """Give the births of years before the last one the codes valid then.

    Parameters
    ----------
    births : pandas.DataFrame
        Simulated births (``year``, ``municipality``) with the current codes.
    municipalities : pandas.DataFrame
        The simulated municipalities with their ``ggd_region`` and ``care_office_region``.
    seed : int
        Seed of which births of the merged municipality lived in GM9001 or GM9002 (its own
        random stream: the cohort itself does not change).

    Returns
    -------
    BoundaryChanges

    Raises
    ------
    casemix.exceptions.ParameterError
        The geography lacks a municipality the synthetic crosswalk names.

    Notes
    -----
    A merged birth lived in GM9001 or GM9002 with probability one half each; every birth of
    GM0002 and GM0003 lived in GM9003. The historical municipalities belong to the regions
    of their largest successor (GM9003 to those of GM0002).
    """
    last = int(births["year"].max())
    table = synthetic_crosswalk(last)
    Crosswalk.from_frame(table, source="synthetic crosswalk")  # checks the shipped table
    regions = municipalities.set_index("municipality")[list(REGION_COLUMNS)]
    absent = sorted(set(table["new_code"]) - set(regions.index))
    if absent:
        raise ParameterError(f"--boundary-changes needs the municipalities {', '.join(absent)} "
                             "in the simulated geography; simulate at least 3 municipalities.")
    before = births["year"].to_numpy() < last
    code = births["municipality"].to_numpy(object).copy()
    rng = np.random.default_rng([int(seed), 9001])
    for new_code, old in _predecessors(table).items():
        hit = before & (code == new_code)
        code[hit] = np.asarray(old, dtype=object)[rng.integers(len(old), size=int(hit.sum()))]
    out = births.assign(municipality=pd.Series(code, index=births.index,
                                               dtype=births["municipality"].dtype))
    return BoundaryChanges(out, table, _regions(regions, table, sorted(births["year"].unique())))


def cohort_with_boundary_changes(cohort: SimulatedCohort, *, seed: int
                                 ) -> tuple[SimulatedCohort, BoundaryChanges]:
    """The cohort with the births of :func:`with_boundary_changes`, and the changes.

    Parameters
    ----------
    cohort : SimulatedCohort
        A simulated cohort (with its geography).
    seed : int
        As for :func:`with_boundary_changes`.

    Returns
    -------
    tuple of SimulatedCohort and BoundaryChanges
        The cohort with the historical codes (its truth, geography and probabilities as
        they were: they are those of the current codes) and the parameters recording the
        changes under ``boundary_changes``; and the changes themselves.

    Raises
    ------
    casemix.exceptions.ParameterError
        The cohort has no geography.
    """
    if cohort.geography is None:
        raise ParameterError("--boundary-changes needs a cohort with its simulated geography.")
    changes = with_boundary_changes(cohort.births, cohort.geography.municipalities, seed=seed)
    parameters = {**cohort.parameters,
                  "boundary_changes": changes.crosswalk.to_dict("records")}
    return replace(cohort, births=changes.births, parameters=parameters), changes


def _predecessors(table: pd.DataFrame) -> dict[str, list[str]]:
    """Current code -> the historical codes its births may have carried."""
    return {new: sorted(group["old_code"]) for new, group in table.groupby("new_code")}


def _regions(regions: pd.DataFrame, table: pd.DataFrame, years: list[int]) -> pd.DataFrame:
    """The region table of every simulated year: historical codes before the last year."""
    largest = table.sort_values(["old_code", "share", "new_code"], ascending=[True, False, True])
    largest = largest.drop_duplicates("old_code").set_index("old_code")["new_code"]
    historical = regions.loc[largest.to_numpy()].set_axis(largest.index)
    earlier = pd.concat([regions.drop(index=table["new_code"].unique()), historical]).sort_index()
    frames = [(regions if year == years[-1] else earlier).rename_axis("municipality")
              .reset_index().assign(year=int(year)) for year in years]
    out = pd.concat(frames, ignore_index=True)
    return out[["municipality", "year", *REGION_COLUMNS]]
