"""The named case-mix methods: each name is a risk model plus a shrinker.

Adding a method is one strategy class (in :mod:`casemix.models.risk` or
:mod:`casemix.models.shrinkers`) and one line in :data:`METHODS`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from casemix.exceptions import SpecError
from casemix.models.risk import BayesJoint, FixedUnits, Pooled, RandomUnits, RiskModel
from casemix.models.shrinkers import (
    BYM2,
    EmpiricalBayes,
    FayHerriot,
    NoShrinkage,
    PredictedExpected,
    Shrinker,
    TwoStageBayes,
)

__all__ = ["METHODS", "METHOD_NAMES", "build_method", "method_name"]

#: Method name -> (risk model, shrinker) with default settings.
METHODS: dict[str, tuple[RiskModel, Shrinker]] = {
    "pooled": (Pooled(), NoShrinkage()),
    "fixed": (FixedUnits(), NoShrinkage()),
    "glmm": (RandomUnits(), PredictedExpected()),
    "eb": (Pooled(), EmpiricalBayes()),
    "fay-herriot": (Pooled(), FayHerriot()),
    "bayes": (Pooled(), TwoStageBayes()),
    "bayes-joint": (BayesJoint(), PredictedExpected()),
    "bym2": (Pooled(), BYM2()),
}
METHOD_NAMES: tuple[str, ...] = tuple(METHODS)


def _fields(strategy: Any) -> set[str]:
    return {f.name for f in dataclasses.fields(strategy)}


def build_method(name: str, **options: Any) -> tuple[RiskModel, Shrinker]:
    """The risk model and shrinker of method ``name`` with ``options`` set.

    Parameters
    ----------
    name : str
        One of :data:`METHOD_NAMES`.
    **options
        Settings of either strategy (``n_agq``, ``n_boot``, ``sampler``, ``priors``,
        ``trend``, ``adjacency``); ``None`` means "not given". An option that neither
        strategy of the method has is an error, never silently ignored. ``adjacency`` may be
        a path (read with :func:`casemix.bayes.read_adjacency`).

    Raises
    ------
    SpecError
        Unknown method, or an option the method does not use.
    """
    if name not in METHODS:
        raise SpecError(f"The 'method' parameter must be one of "
                        f"{', '.join(map(repr, METHOD_NAMES))}. Got {name!r} instead.")
    risk, shrinker = METHODS[name]
    given = {k: v for k, v in options.items() if v is not None}
    if isinstance(given.get("adjacency"), str | Path):
        from casemix.bayes.adjacency import read_adjacency

        given["adjacency"] = read_adjacency(given["adjacency"])
    risk_options = {k: v for k, v in given.items() if k in _fields(risk)}
    shrink_options = {k: v for k, v in given.items() if k in _fields(shrinker)}
    unused = sorted(set(given) - set(risk_options) - set(shrink_options))
    if unused:
        owners = sorted(m for m, (r, s) in METHODS.items()
                        if set(unused) & (_fields(r) | _fields(s)))
        raise SpecError(
            f"Method {name!r} ({type(risk).__name__} + {type(shrinker).__name__}) does not use "
            f"{', '.join(map(repr, unused))}; "
            + (f"it applies to method(s) {', '.join(owners)}." if owners else
               "no method has such a setting."))
    return (dataclasses.replace(risk, **risk_options),
            dataclasses.replace(shrinker, **shrink_options))


def method_name(risk: RiskModel, shrinker: Shrinker) -> str:
    """The name in :data:`METHODS` of this combination of strategy kinds, or
    ``"<risk kind>+<shrinker kind>"`` for a combination without a name."""
    for name, (r, s) in METHODS.items():
        if r.kind == risk.kind and s.kind == shrinker.kind:
            return name
    return f"{risk.kind}+{shrinker.kind}"
