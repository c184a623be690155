"""Patient-level risk models: model terms and design encoding, splines, logistic regression."""

from casemix.models.design import Encoding, Term, TermEncoding, learn_encoding
from casemix.models.logistic import LogisticFit, compress, fit_logistic
from casemix.models.splines import default_knots, rcs_basis

__all__ = [
    "Encoding",
    "LogisticFit",
    "Term",
    "TermEncoding",
    "compress",
    "default_knots",
    "fit_logistic",
    "learn_encoding",
    "rcs_basis",
]
