"""Bayesian hierarchical models (PyMC): full posterior uncertainty for unit comparisons.

- :mod:`~casemix.bayes.two_stage`: O ~ Poisson(E theta) or binomial, on aggregated data.
- :mod:`~casemix.bayes.joint`: one-stage logistic model with case mix and unit effects.
- :mod:`~casemix.bayes.bym2`: BYM2 spatial smoothing on an adjacency graph of regions.
- :mod:`~casemix.bayes.trend`: unit x year model (random walk or shared year effects).
- :mod:`~casemix.bayes.settings`: sampler settings and priors as plain data (no PyMC).

Names are imported on first use (PEP 562), so that ``from casemix.bayes import
SamplerSettings`` or reading an adjacency file does not load PyMC (about 3 s).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from casemix.bayes.adjacency import Adjacency, icar_scaling_factor, read_adjacency
    from casemix.bayes.bym2 import bym2_model, fit_bym2
    from casemix.bayes.joint import fit_joint, joint_model
    from casemix.bayes.sampling import Convergence, check_convergence, labelled, sample
    from casemix.bayes.settings import Priors, SamplerSettings
    from casemix.bayes.summary import BayesFit, posterior_draws, summarise_units
    from casemix.bayes.trend import fit_unit_year, unit_year_model
    from casemix.bayes.two_stage import fit_two_stage, two_stage_model

#: Public name -> submodule that defines it.
_WHERE = {
    "Adjacency": "adjacency", "icar_scaling_factor": "adjacency", "read_adjacency": "adjacency",
    "bym2_model": "bym2", "fit_bym2": "bym2", "fit_joint": "joint", "joint_model": "joint",
    "Convergence": "sampling", "check_convergence": "sampling", "labelled": "sampling",
    "sample": "sampling",
    "Priors": "settings", "SamplerSettings": "settings", "BayesFit": "summary",
    "posterior_draws": "summary", "summarise_units": "summary", "fit_unit_year": "trend",
    "unit_year_model": "trend", "fit_two_stage": "two_stage", "two_stage_model": "two_stage",
}

__all__ = [
    "Adjacency",
    "BayesFit",
    "Convergence",
    "Priors",
    "SamplerSettings",
    "bym2_model",
    "check_convergence",
    "fit_bym2",
    "fit_joint",
    "fit_two_stage",
    "fit_unit_year",
    "icar_scaling_factor",
    "joint_model",
    "labelled",
    "posterior_draws",
    "read_adjacency",
    "sample",
    "summarise_units",
    "two_stage_model",
    "unit_year_model",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"casemix.bayes.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'casemix.bayes' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
