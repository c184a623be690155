"""Synthetic national birth cohorts with known truth (demo data and method validation)."""

from casemix.simulation.boundary_changes import BoundaryChanges, with_boundary_changes
from casemix.simulation.cohort import NATIONAL_TARGETS, SimulatedCohort, simulate_cohort
from casemix.simulation.extract import RegistryExtract, registry_extract
from casemix.simulation.geography import Geography, make_geography
from casemix.simulation.published import PUBLISHED_DEFINITIONS, published_figures

__all__ = ["NATIONAL_TARGETS", "PUBLISHED_DEFINITIONS", "BoundaryChanges", "Geography",
           "RegistryExtract", "SimulatedCohort", "make_geography", "published_figures",
           "registry_extract", "simulate_cohort", "with_boundary_changes"]
