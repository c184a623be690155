"""Synthetic national birth cohorts with known truth (demo data and method validation)."""

from casemix.simulation.cohort import NATIONAL_TARGETS, SimulatedCohort, simulate_cohort
from casemix.simulation.geography import Geography, make_geography

__all__ = ["NATIONAL_TARGETS", "Geography", "SimulatedCohort", "make_geography",
           "simulate_cohort"]
