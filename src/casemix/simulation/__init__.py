"""Synthetic national birth cohorts with known truth (demo data and method validation)."""

from casemix.simulation.boundary_changes import BoundaryChanges, with_boundary_changes
from casemix.simulation.cohort import NATIONAL_TARGETS, SimulatedCohort, simulate_cohort
from casemix.simulation.extract import RegistryExtract, registry_extract
from casemix.simulation.geography import Geography, make_geography
from casemix.simulation.nonresponse import (
    NonResponse,
    apply_nonresponse,
    nonresponse_study,
    register_margins,
)
from casemix.simulation.published import PUBLISHED_DEFINITIONS, published_figures

__all__ = ["NATIONAL_TARGETS", "PUBLISHED_DEFINITIONS", "BoundaryChanges", "Geography",
           "NonResponse", "RegistryExtract", "SimulatedCohort", "apply_nonresponse",
           "make_geography", "nonresponse_study", "published_figures", "register_margins",
           "registry_extract", "simulate_cohort", "with_boundary_changes"]
