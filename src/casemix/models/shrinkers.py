"""Shrinkers: how each unit's ratio is stabilised for small units.

A shrinker adds :data:`casemix.shrinkage.unit_table.SHRINKAGE_COLUMNS` (shrunken O/E with its
interval, ``prob_above``, rank with its interval) to the unit table that a risk model
(:mod:`casemix.models.risk`) produced. It is the second half of a case-mix method.

- :class:`NoShrinkage`: the plain O/E only.
- :class:`EmpiricalBayes`: Poisson-gamma empirical Bayes on each unit's (O, E).
- :class:`FayHerriot`: the Fay-Herriot model (REML) on log O/E.
- :class:`TwoStageBayes`: the two-stage Bayesian model (PyMC); per-year rows from the unit x
  year model.
- :class:`BYM2`: BYM2 spatial smoothing on an adjacency graph of the regions.
- :class:`PredictedExpected`: the predicted/expected ratio of a risk model with unit effects
  (random intercepts or the one-stage Bayesian model), as in national hospital profiling.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from casemix._params import check_one_of
from casemix.exceptions import SpecError
from casemix.models.risk import ExpectedCounts, RiskModel, _load_bayes_setting
from casemix.models.strategy import Strategy, strategy_from_dict
from casemix.models.units import UnitTable
from casemix.shrinkage.unit_table import SHRINKAGE_COLUMNS, shrink_units, shrink_units_by_year

if TYPE_CHECKING:
    from casemix.bayes.adjacency import Adjacency
    from casemix.bayes.settings import Priors, SamplerSettings

__all__ = ["BYM2", "SHRINKERS", "EmpiricalBayes", "FayHerriot", "NoShrinkage",
           "PredictedExpected", "Shrinkage", "Shrinker", "TwoStageBayes", "shrinker_from_dict"]

TRENDS = ("rw1", "shared")


@dataclass(frozen=True)
class Shrinkage:
    """Output of a shrinker: the unit table with shrinkage columns and any model fits."""

    units: UnitTable
    fits: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Shrinker(Strategy):
    """A way of shrinking unit ratios; subclasses implement :meth:`apply`.

    ``verdict_family`` is the between-unit distribution of the method's verdict
    (:mod:`casemix.verdict`): ``funnel`` without shrinkage, ``gamma`` for Poisson-gamma
    empirical Bayes, ``lognormal`` for the methods with normal unit effects on the log or
    logit scale."""

    verdict_family: ClassVar[str] = "lognormal"

    def verdict_centre(self, observed: np.ndarray, expected: np.ndarray) -> float:
        """Centre of the method's between-unit distribution on the log scale: the national
        level $\\log(\\sum O/\\sum E)$ of the comparison, the same in every method (0
        for E from a model without unit effects, whose E add up to O; a model with unit
        effects computes E at the average effect, which outliers pull away from the level of
        the other units). A fitted prior mean (the negative-binomial or Fay-Herriot
        intercept) would weight units differently in every method."""
        total = float(observed.sum())
        return float(np.log(total / expected.sum())) if total > 0 else 0.0

    def check(self, risk_model: RiskModel) -> None:
        """Raise :class:`SpecError` when this shrinker cannot follow ``risk_model``."""

    @abstractmethod
    def apply(self, units: UnitTable, expected: ExpectedCounts, *, level: float,
              seed: int) -> Shrinkage:
        """Add the shrinkage columns to ``units``."""

    def resolved(self, seed: int) -> Shrinker:
        """The strategy with every default that depends on the run filled in."""
        return self


@dataclass(frozen=True)
class NoShrinkage(Shrinker):
    """No shrinkage: the unit table keeps the plain O/E with its exact interval."""

    kind: ClassVar[str] = "none"
    verdict_family: ClassVar[str] = "funnel"

    def apply(self, units: UnitTable, expected: ExpectedCounts, *, level: float,
              seed: int) -> Shrinkage:
        return Shrinkage(units)


@dataclass(frozen=True)
class _OnCounts(Shrinker):
    """Shrinkage computed from each unit's (O, E) alone, per comparison table; per-year rows
    borrow strength from the unit's other years (:func:`shrink_units_by_year`)."""

    method: ClassVar[str] = ""

    def apply(self, units: UnitTable, expected: ExpectedCounts, *, level: float,
              seed: int) -> Shrinkage:
        return Shrinkage(self.shrink(units, level=level, seed=seed))

    def shrink(self, units: UnitTable, *, level: float, seed: int) -> UnitTable:
        """The shrinkage columns from the rows' O and E alone (the export calls this on the
        published rows, so that the prior is estimated from them only)."""
        frame = units.frame
        yearly = units.is_yearly()
        parts = [shrink_units(t, self.method, level=level, seed=seed)
                 for _, t in frame.loc[~yearly].groupby(["level", "period", "stratum"],
                                                        sort=False)]
        parts += [shrink_units_by_year(t, self.method, level=level, seed=seed)
                  for _, t in frame.loc[yearly].groupby("level", sort=False)]
        if not parts:
            return units
        return units.replace(pd.concat(parts).loc[frame.index])


@dataclass(frozen=True)
class EmpiricalBayes(_OnCounts):
    """Poisson-gamma empirical Bayes on (O, E), see
    :func:`casemix.shrinkage.empirical_bayes.poisson_gamma`."""

    kind: ClassVar[str] = "eb"
    method: ClassVar[str] = "eb"
    verdict_family: ClassVar[str] = "gamma"


@dataclass(frozen=True)
class FayHerriot(_OnCounts):
    """Fay-Herriot (REML) on log O/E, see :func:`casemix.shrinkage.fay_herriot.fay_herriot`."""

    kind: ClassVar[str] = "fay-herriot"
    method: ClassVar[str] = "fay-herriot"


@dataclass(frozen=True)
class _Bayesian(Shrinker):
    """Shared settings of the Bayesian shrinkers."""

    sampler: SamplerSettings | None = None
    priors: Priors | None = None
    trend: str = "rw1"

    def __post_init__(self) -> None:
        check_one_of("trend", self.trend, TRENDS, owner=type(self).__name__)

    @classmethod
    def _load_nested(cls, name: str, value: Any) -> Any:
        return _load_bayes_setting(name, value)

    def resolved(self, seed: int) -> Shrinker:
        from casemix.bayes.settings import Priors, SamplerSettings

        return type(self)(**{**self.settings(),
                             "sampler": self.sampler or SamplerSettings(seed=seed),
                             "priors": self.priors or Priors()})

    def _shrink(self, units: UnitTable, method: str, level: float, seed: int,
                adjacency: Adjacency | None = None) -> Shrinkage:
        from casemix.bayes.profiling import bayes_unit_shrinkage

        resolved = self.resolved(seed)
        assert isinstance(resolved, _Bayesian) and resolved.sampler is not None
        frame, fits = bayes_unit_shrinkage(units.frame, method, settings=resolved.sampler,
                                           priors=resolved.priors, adjacency=adjacency,
                                           trend=self.trend, level=level,
                                           main=units.is_main(), yearly=units.is_yearly())
        return Shrinkage(units.replace(frame), fits)


@dataclass(frozen=True)
class TwoStageBayes(_Bayesian):
    """Two-stage Bayesian model on each unit's (O, E) (:func:`casemix.bayes.fit_two_stage`);
    per-year rows from the unit x year model with ``trend`` ``rw1`` (random walk) or
    ``shared`` (:func:`casemix.bayes.fit_unit_year`)."""

    kind: ClassVar[str] = "bayes"

    def apply(self, units: UnitTable, expected: ExpectedCounts, *, level: float,
              seed: int) -> Shrinkage:
        return self._shrink(units, "bayes", level, seed)


@dataclass(frozen=True)
class BYM2(_Bayesian):
    """BYM2 spatial smoothing (:func:`casemix.bayes.fit_bym2`) for the level whose units the
    adjacency graph lists; other levels get the two-stage model (with a note).

    Parameters
    ----------
    adjacency : Adjacency
        Neighbour graph of the regions (:func:`casemix.bayes.read_adjacency`); stored with the
        run, so that the run folder rebuilds the same fit.
    """

    kind: ClassVar[str] = "bym2"
    adjacency: Adjacency | None = None

    def check(self, risk_model: RiskModel) -> None:
        if self.adjacency is None:
            raise SpecError("method 'bym2' needs an adjacency file of the regions "
                            "(adjacency=..., or --adjacency FILE on the command line).")

    def apply(self, units: UnitTable, expected: ExpectedCounts, *, level: float,
              seed: int) -> Shrinkage:
        return self._shrink(units, "bym2", level, seed, self.adjacency)


@dataclass(frozen=True)
class PredictedExpected(Shrinker):
    """Each unit's predicted/expected ratio from a risk model with unit effects
    (:class:`~casemix.models.risk.RandomUnits`, :class:`~casemix.models.risk.BayesJoint`):
    P uses the unit's own (shrunken) effect, E the average one. Filled in on the main rows
    of every level; per-year and stratified rows keep the plain O/E only."""

    kind: ClassVar[str] = "predicted-expected"

    def check(self, risk_model: RiskModel) -> None:
        if not risk_model.has_unit_effects:
            raise SpecError(
                f"The predicted/expected shrinker needs a risk model with unit effects "
                f"(RandomUnits or BayesJoint); {type(risk_model).__name__} has none. Use "
                "EmpiricalBayes, FayHerriot or a Bayesian shrinker instead.")

    def apply(self, units: UnitTable, expected: ExpectedCounts, *, level: float,
              seed: int) -> Shrinkage:
        frame = units.frame
        tables = [t.assign(level=name) for name, t in expected.unit_effects.items()]
        extra = pd.concat(tables)[["level", "unit", *SHRINKAGE_COLUMNS]]
        main = units.is_main()
        merged = frame.loc[main].merge(extra, on=["level", "unit"], how="left")
        merged.index = frame.index[main]
        rest = frame.loc[~main].assign(**dict.fromkeys(SHRINKAGE_COLUMNS, np.nan))
        return Shrinkage(units.replace(pd.concat([merged, rest]).loc[frame.index]))


#: Shrinkers by ``kind``.
SHRINKERS: dict[str, type[Shrinker]] = {
    cls.kind: cls for cls in (NoShrinkage, EmpiricalBayes, FayHerriot, TwoStageBayes, BYM2,
                              PredictedExpected)}


def shrinker_from_dict(d: dict[str, Any]) -> Shrinker:
    """Rebuild a shrinker from :meth:`Strategy.to_dict` output."""
    return strategy_from_dict(d, SHRINKERS)
