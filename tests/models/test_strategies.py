"""A method is a risk model plus a shrinker: names, settings, round trips and refusals."""

from __future__ import annotations

import json

import pytest

from casemix import CaseMixModel, ModelSpec, ParameterError, SpecError, Term
from casemix.bayes.adjacency import Adjacency
from casemix.bayes.settings import Priors, SamplerSettings
from casemix.models import (
    BYM2,
    METHODS,
    BayesJoint,
    EmpiricalBayes,
    FayHerriot,
    FixedUnits,
    NoShrinkage,
    Pooled,
    PredictedExpected,
    RandomUnits,
    TwoStageBayes,
    build_method,
    method_name,
)
from casemix.models.risk import risk_model_from_dict
from casemix.models.shrinkers import shrinker_from_dict

SPEC = ModelSpec(name="t", outcome="event", adjusters=(Term("parity"),), levels=("vsv",))
GRAPH = Adjacency.from_pairs([("a", "b"), ("b", "c")], units=["a", "b", "c", "d"])

STRATEGIES = [
    Pooled(), FixedUnits(), RandomUnits(n_agq=5, n_boot=20),
    BayesJoint(SamplerSettings(draws=50, tune=60, chains=3, seed=7, target_accept=0.95),
               Priors(tau_precision_gamma=(0.001, 0.001))),
    NoShrinkage(), EmpiricalBayes(), FayHerriot(),
    TwoStageBayes(SamplerSettings(seed=1), Priors(tau_sd=0.5), trend="shared"),
    BYM2(SamplerSettings(seed=2), None, "rw1", GRAPH), PredictedExpected(),
]


@pytest.mark.parametrize("strategy", STRATEGIES, ids=lambda s: type(s).__name__)
def test_settings_round_trip_through_json(strategy):
    load = risk_model_from_dict if hasattr(strategy, "has_unit_effects") else (
        shrinker_from_dict)
    again = load(json.loads(json.dumps(strategy.to_dict())))
    assert again == strategy


def test_the_named_methods_keep_their_meaning():
    pairs = {name: (type(r).__name__, type(s).__name__) for name, (r, s) in METHODS.items()}
    assert pairs == {
        "pooled": ("Pooled", "NoShrinkage"), "fixed": ("FixedUnits", "NoShrinkage"),
        "glmm": ("RandomUnits", "PredictedExpected"), "eb": ("Pooled", "EmpiricalBayes"),
        "fay-herriot": ("Pooled", "FayHerriot"), "bayes": ("Pooled", "TwoStageBayes"),
        "bayes-joint": ("BayesJoint", "PredictedExpected"), "bym2": ("Pooled", "BYM2")}
    for name, (risk, shrinker) in METHODS.items():
        assert method_name(risk, shrinker) == name
    assert method_name(FixedUnits(), EmpiricalBayes()) == "fixed+eb"


def test_options_go_to_the_strategy_that_owns_them():
    risk, shrinker = build_method("glmm", n_agq=3, n_boot=10)
    assert risk == RandomUnits(n_agq=3, n_boot=10) and shrinker == PredictedExpected()
    risk, shrinker = build_method("bym2", adjacency=GRAPH, trend="shared")
    assert shrinker.adjacency is GRAPH and shrinker.trend == "shared"


@pytest.mark.parametrize("method,option", [("eb", {"n_agq": 5}), ("pooled", {"n_boot": 10}),
                                           ("glmm", {"adjacency": GRAPH}),
                                           ("fay-herriot", {"sampler": SamplerSettings()}),
                                           ("bayes-joint", {"trend": "shared"})])
def test_an_option_the_method_does_not_use_is_an_error(method, option):
    """Formerly silently ignored."""
    (name,) = option
    with pytest.raises(SpecError, match=rf"does not use '{name}'.*applies to method"):
        CaseMixModel(SPEC, method=method, **option).strategies()


def test_predicted_expected_needs_unit_effects():
    with pytest.raises(SpecError, match="needs a risk model with unit effects"):
        CaseMixModel(SPEC, risk_model=Pooled(), shrinker=PredictedExpected()).strategies()


def test_bym2_needs_an_adjacency():
    with pytest.raises(SpecError, match="adjacency"):
        CaseMixModel(SPEC, method="bym2").strategies()


def test_unknown_method_is_a_spec_error():
    with pytest.raises(SpecError, match=r"must be one of 'pooled'.*Got 'ebb' instead"):
        CaseMixModel(SPEC, method="ebb").strategies()


def test_bayesian_defaults_take_the_run_seed():
    risk, shrinker = CaseMixModel(SPEC, method="bayes", seed=99).strategies()
    assert shrinker.sampler == SamplerSettings(seed=99) and shrinker.priors == Priors()
    risk, _ = CaseMixModel(SPEC, method="bayes-joint", seed=5).strategies()
    assert risk.sampler.seed == 5


def test_one_stage_model_has_its_own_sampler_defaults():
    joint = SamplerSettings.for_method("bayes-joint", seed=5)
    assert (joint.chains, joint.tune, joint.draws, joint.target_accept) == (2, 300, 2500, 0.65)
    assert SamplerSettings.for_method("bayes-joint", draws=10).draws == 10
    assert SamplerSettings.for_method("bayes") == SamplerSettings()
    assert SamplerSettings().chains == 4


def test_parameter_errors_belong_to_the_exception_tree():
    """check_one_of used to raise a plain ValueError."""
    with pytest.raises(ParameterError, match="'sampler' parameter of SamplerSettings"):
        SamplerSettings(sampler="stan")
    with pytest.raises(ParameterError, match="'trend' parameter of TwoStageBayes"):
        TwoStageBayes(trend="rw2")
    with pytest.raises(ParameterError):
        RandomUnits(n_agq=0)
    assert issubclass(ParameterError, ValueError)


def test_progressbar_is_not_a_setting_of_the_fit():
    """A display choice: the CLI's progress bars must not make its run folder differ."""
    assert SamplerSettings(progressbar=True).to_dict() == SamplerSettings().to_dict()


def test_describe_names_non_default_settings():
    assert RandomUnits(n_boot=30).describe() == "RandomUnits(n_boot=30)"
    assert Pooled().describe() == "Pooled()"
