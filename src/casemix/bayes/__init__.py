"""Bayesian hierarchical models (PyMC): full posterior uncertainty for unit comparisons.

- :mod:`~casemix.bayes.two_stage`: O ~ Poisson(E theta) or binomial, on aggregated data.
- :mod:`~casemix.bayes.joint`: one-stage logistic model with case mix and unit effects.
- :mod:`~casemix.bayes.bym2`: BYM2 spatial smoothing on an adjacency graph of regions.
- :mod:`~casemix.bayes.trend`: unit x year model (random walk or shared year effects).
"""

from casemix.bayes.adjacency import Adjacency, icar_scaling_factor, read_adjacency
from casemix.bayes.bym2 import bym2_model, fit_bym2
from casemix.bayes.joint import fit_joint, joint_model
from casemix.bayes.priors import Priors
from casemix.bayes.sampling import Convergence, SamplerSettings, check_convergence, sample
from casemix.bayes.summary import BayesFit, posterior_draws, summarise_units
from casemix.bayes.trend import fit_unit_year, unit_year_model
from casemix.bayes.two_stage import fit_two_stage, two_stage_model

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
    "posterior_draws",
    "read_adjacency",
    "sample",
    "summarise_units",
    "two_stage_model",
    "unit_year_model",
]
