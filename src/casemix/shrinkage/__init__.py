"""Shrinkage of unit effects: empirical Bayes, Fay-Herriot, rank intervals.

All functions work on aggregated data (observed and expected counts, or events and births).
The random-intercept GLMM lives in :mod:`casemix.core.glmm`.
"""

from casemix.core.ranks import rank_summary
from casemix.shrinkage.empirical_bayes import (
    BetaBinomialFit,
    PoissonGammaFit,
    PoissonGammaYearFit,
    beta_binomial,
    poisson_gamma,
    poisson_gamma_by_year,
)
from casemix.shrinkage.fay_herriot import (
    FH_BACKTRANSFORMS,
    FH_METHODS,
    FayHerriotFit,
    FayHerriotYearFit,
    fay_herriot,
    fay_herriot_by_year,
    log_backtransform,
)
from casemix.shrinkage.unit_table import (
    SHRINKAGE_COLUMNS,
    log_ratio_direct,
    shrink_units,
    shrink_units_by_year,
)

__all__ = [
    "FH_BACKTRANSFORMS",
    "FH_METHODS",
    "SHRINKAGE_COLUMNS",
    "BetaBinomialFit",
    "FayHerriotFit",
    "FayHerriotYearFit",
    "PoissonGammaFit",
    "PoissonGammaYearFit",
    "beta_binomial",
    "fay_herriot",
    "fay_herriot_by_year",
    "log_backtransform",
    "log_ratio_direct",
    "poisson_gamma",
    "poisson_gamma_by_year",
    "rank_summary",
    "shrink_units",
    "shrink_units_by_year",
]
