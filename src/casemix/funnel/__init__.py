"""Funnel plots with exact limits and over-dispersion (Spiegelhalter 2005)."""

from casemix.funnel.funnel import PRESETS, FunnelResult, funnel
from casemix.funnel.limits import binomial_limit, poisson_limit
from casemix.funnel.overdispersion import Dispersion, estimate_dispersion, transform

__all__ = [
    "PRESETS",
    "Dispersion",
    "FunnelResult",
    "binomial_limit",
    "estimate_dispersion",
    "funnel",
    "poisson_limit",
    "transform",
]
