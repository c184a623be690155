"""Shrinkage of unit effects: empirical Bayes, Fay-Herriot, rank intervals.

All functions work on aggregated data (observed and expected counts, or events and births).
The random-intercept GLMM lives in :mod:`casemix.core.glmm`.
"""

from typing import TYPE_CHECKING

from casemix._lazy import lazy_exports
from casemix.shrinkage.fay_herriot import (
    FH_BACKTRANSFORMS,
    FH_METHODS,
    FayHerriotFit,
    FayHerriotYearFit,
    fay_herriot,
    fay_herriot_by_year,
    log_backtransform,
)

if TYPE_CHECKING:
    from casemix.core.ranks import rank_summary
    from casemix.shrinkage.empirical_bayes import (
        BetaBinomialFit,
        PoissonGammaFit,
        PoissonGammaYearFit,
        beta_binomial,
        poisson_gamma,
        poisson_gamma_by_year,
    )
    from casemix.shrinkage.unit_table import (
        SHRINKAGE_COLUMNS,
        log_ratio_direct,
        shrink_units,
        shrink_units_by_year,
    )

#: The modules of the public names, imported on first use (:mod:`casemix._lazy`).
_EXPORTS = {
    "casemix.core.ranks": ("rank_summary",),
    "casemix.shrinkage.empirical_bayes": (
        "BetaBinomialFit", "PoissonGammaFit", "PoissonGammaYearFit", "beta_binomial",
        "poisson_gamma", "poisson_gamma_by_year",
    ),
    "casemix.shrinkage.unit_table": (
        "SHRINKAGE_COLUMNS", "log_ratio_direct", "shrink_units", "shrink_units_by_year",
    ),
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

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
