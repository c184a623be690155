"""Patient-level risk models: specs, design encoding, splines, logistic fits, case-mix model."""

from casemix.models.casemix_model import CaseMixModel
from casemix.models.cells import Cells, ModelData, compress_cells, prepare_model_data
from casemix.models.design import Encoding, Term, TermEncoding, learn_encoding
from casemix.models.logistic import (
    FixedEffectsFit,
    LogisticFit,
    fit_logistic,
    fit_logistic_fixed_effects,
)
from casemix.models.result import CaseMixResult, coefficient_table, predict_risk
from casemix.models.spec import METHODS, MediatorWarning, ModelSpec, load_spec
from casemix.models.splines import default_knots, rcs_basis

__all__ = [
    "METHODS",
    "CaseMixModel",
    "CaseMixResult",
    "Cells",
    "Encoding",
    "FixedEffectsFit",
    "LogisticFit",
    "MediatorWarning",
    "ModelData",
    "ModelSpec",
    "Term",
    "TermEncoding",
    "coefficient_table",
    "compress_cells",
    "default_knots",
    "fit_logistic",
    "fit_logistic_fixed_effects",
    "learn_encoding",
    "load_spec",
    "predict_risk",
    "prepare_model_data",
    "rcs_basis",
]
