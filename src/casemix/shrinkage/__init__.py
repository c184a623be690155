"""Shrinkage of unit effects: empirical Bayes, Fay-Herriot, rank intervals.

All functions work on aggregated data (observed and expected counts, or events and births).
The random-intercept GLMM lives in :mod:`casemix.core.glmm`.
"""

from casemix.core.ranks import rank_summary
from casemix.shrinkage.empirical_bayes import (
    BetaBinomialFit,
    PoissonGammaFit,
    beta_binomial,
    poisson_gamma,
)
from casemix.shrinkage.fay_herriot import FH_METHODS, FayHerriotFit, fay_herriot
from casemix.shrinkage.unit_table import SHRINKAGE_COLUMNS, log_ratio_direct, shrink_units

__all__ = [
    "FH_METHODS",
    "SHRINKAGE_COLUMNS",
    "BetaBinomialFit",
    "FayHerriotFit",
    "PoissonGammaFit",
    "beta_binomial",
    "fay_herriot",
    "log_ratio_direct",
    "poisson_gamma",
    "rank_summary",
    "shrink_units",
]
