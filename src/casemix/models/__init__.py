"""Orchestration: the case-mix model (a risk model plus a shrinker), its frozen result and the
run folder.

This package sits on top of the numerical core (:mod:`casemix.core`) and the statistical
packages (standardisation, shrinkage, bayes, funnel, calibration, disclosure); report,
workflow and CLI are built on it. See ``docs/architecture.md``.
"""

from typing import TYPE_CHECKING

from casemix._lazy import lazy_exports

if TYPE_CHECKING:
    from casemix.models.casemix_model import CaseMixModel
    from casemix.models.data import ModelData, prepare_model_data
    from casemix.models.methods import METHOD_NAMES, METHODS, build_method, method_name
    from casemix.models.result import CaseMixResult, coefficient_table, predict_risk
    from casemix.models.risk import (
        BayesJoint,
        ExpectedCounts,
        FixedUnits,
        Pooled,
        RandomUnits,
        RiskModel,
        RiskProblem,
    )
    from casemix.models.runs import FrozenModel, Run, load_model, load_run, save_run
    from casemix.models.shrinkers import (
        BYM2,
        EmpiricalBayes,
        FayHerriot,
        NoShrinkage,
        PredictedExpected,
        Shrinkage,
        Shrinker,
        TwoStageBayes,
    )
    from casemix.models.spec import MediatorWarning, ModelSpec, load_spec
    from casemix.models.units import UnitTable
    from casemix.models.verdicts import apply_verdict, verdict_counts

#: The modules of the public names, imported on first use (:mod:`casemix._lazy`).
_EXPORTS = {
    "casemix.models.casemix_model": ("CaseMixModel",),
    "casemix.models.data": ("ModelData", "prepare_model_data"),
    "casemix.models.methods": ("METHOD_NAMES", "METHODS", "build_method", "method_name"),
    "casemix.models.result": ("CaseMixResult", "coefficient_table", "predict_risk"),
    "casemix.models.risk": (
        "BayesJoint", "ExpectedCounts", "FixedUnits", "Pooled", "RandomUnits", "RiskModel",
        "RiskProblem",
    ),
    "casemix.models.runs": ("FrozenModel", "Run", "load_model", "load_run", "save_run"),
    "casemix.models.shrinkers": (
        "BYM2", "EmpiricalBayes", "FayHerriot", "NoShrinkage", "PredictedExpected", "Shrinkage",
        "Shrinker", "TwoStageBayes",
    ),
    "casemix.models.spec": ("MediatorWarning", "ModelSpec", "load_spec"),
    "casemix.models.units": ("UnitTable",),
    "casemix.models.verdicts": ("apply_verdict", "verdict_counts"),
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "BYM2",
    "METHODS",
    "METHOD_NAMES",
    "BayesJoint",
    "CaseMixModel",
    "CaseMixResult",
    "EmpiricalBayes",
    "ExpectedCounts",
    "FayHerriot",
    "FixedUnits",
    "FrozenModel",
    "MediatorWarning",
    "ModelData",
    "ModelSpec",
    "NoShrinkage",
    "Pooled",
    "PredictedExpected",
    "RandomUnits",
    "RiskModel",
    "RiskProblem",
    "Run",
    "Shrinkage",
    "Shrinker",
    "TwoStageBayes",
    "UnitTable",
    "apply_verdict",
    "build_method",
    "coefficient_table",
    "load_model",
    "load_run",
    "load_spec",
    "method_name",
    "predict_risk",
    "prepare_model_data",
    "save_run",
    "verdict_counts",
]
