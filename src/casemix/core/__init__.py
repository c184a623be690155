"""The numerical core: design matrices, splines, cells, logistic and GLMM fitters, ranks.

Imports nothing of casemix but the exception tree; every statistical package and the
orchestration layer build on it.
"""

from typing import TYPE_CHECKING

from casemix._lazy import lazy_exports

if TYPE_CHECKING:
    from casemix.core.cells import (
        Cells,
        UnitCells,
        compress_cells,
        dense_unique,
        group_rows,
        unit_cells,
    )
    from casemix.core.design import DesignRows, Encoding, Term, TermEncoding, learn_encoding
    from casemix.core.glmm import GLMMFit, fit_glmm_binomial
    from casemix.core.logistic import (
        FixedEffectsFit,
        LogisticFit,
        fit_logistic,
        fit_logistic_fixed_effects,
    )
    from casemix.core.ranks import rank_summary
    from casemix.core.splines import default_knots, rcs_basis

#: The modules of the public names, imported on first use (:mod:`casemix._lazy`).
_EXPORTS = {
    "casemix.core.cells": (
        "Cells", "UnitCells", "compress_cells", "dense_unique", "group_rows", "unit_cells",
    ),
    "casemix.core.design": ("DesignRows", "Encoding", "Term", "TermEncoding", "learn_encoding"),
    "casemix.core.glmm": ("GLMMFit", "fit_glmm_binomial"),
    "casemix.core.logistic": (
        "FixedEffectsFit", "LogisticFit", "fit_logistic", "fit_logistic_fixed_effects",
    ),
    "casemix.core.ranks": ("rank_summary",),
    "casemix.core.splines": ("default_knots", "rcs_basis"),
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "Cells",
    "DesignRows",
    "Encoding",
    "FixedEffectsFit",
    "GLMMFit",
    "LogisticFit",
    "Term",
    "TermEncoding",
    "UnitCells",
    "compress_cells",
    "default_knots",
    "dense_unique",
    "fit_glmm_binomial",
    "fit_logistic",
    "fit_logistic_fixed_effects",
    "group_rows",
    "learn_encoding",
    "rank_summary",
    "rcs_basis",
    "unit_cells",
]
