"""Risk models: how the expected count of each unit is computed.

A risk model turns covariate patterns and unit cells into coefficients and expected counts
(and, for models with unit effects, each unit's predicted/expected summary). It is one half of
a case-mix method; the other half is a shrinker (:mod:`casemix.models.shrinkers`).

- :class:`Pooled`: one logistic model without unit terms.
- :class:`FixedUnits`: fixed unit intercepts, case-mix part recentred on the nation.
- :class:`RandomUnits`: random unit intercepts (GLMM, Laplace or adaptive quadrature).
- :class:`BayesJoint`: the one-stage Bayesian model with case mix and unit effects together.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit

from casemix.core.cells import Cells, unit_cells
from casemix.core.design import DesignRows, Encoding
from casemix.core.glmm import fit_glmm_binomial
from casemix.core.logistic import fit_logistic, fit_logistic_fixed_effects
from casemix.exceptions import ParameterError
from casemix.models.strategy import Strategy, strategy_from_dict
from casemix.shrinkage.predicted_expected import parametric_bootstrap, predicted_expected

if TYPE_CHECKING:
    from casemix.bayes.settings import Priors, SamplerSettings

__all__ = ["RISK_MODELS", "BayesJoint", "ExpectedCounts", "FixedUnits", "Pooled",
           "RandomUnits", "RiskModel", "RiskProblem", "risk_model_from_dict"]


@dataclass(frozen=True)
class RiskProblem:
    """What a risk model is fitted on.

    Attributes
    ----------
    design : DesignRows
        The distinct design rows (intercept first) and the row of each covariate pattern.
    patterns : Cells
        Covariate patterns with events ``y`` and births ``m``.
    cells : Cells
        Pattern x unit (x stratum x year) cells; ``cells.pattern`` indexes ``patterns``.
    encoding : Encoding
        Names of the columns of ``X``.
    levels : tuple of str
        Unit levels compared.
    confidence_level : float
    seed : int
        Seed of every random draw of the fit.
    """

    design: DesignRows
    patterns: Cells
    cells: Cells
    encoding: Encoding
    levels: tuple[str, ...]
    confidence_level: float
    seed: int

    @cached_property
    def X(self) -> npt.NDArray[np.float64]:  # noqa: N802 (the design matrix)
        """Design matrix of the covariate patterns (one row per pattern), built once."""
        return self.design.expanded()


@dataclass(frozen=True)
class ExpectedCounts:
    """Coefficients and expected counts of a fitted risk model.

    Attributes
    ----------
    names, coef, cov
        Coefficient names, estimates and covariance (case-mix part).
    expected : ndarray
        Expected count per unit cell (first level's model where there is one per level).
    intercept : float
    pattern_risk : ndarray
        Predicted risk per covariate pattern.
    per_level : dict of str to ndarray
        Expected counts per unit cell for levels with a model of their own.
    unit_effects : dict of str to pandas.DataFrame
        Models with unit effects: per level, each unit's predicted/expected ratio with its
        interval, ``prob_above`` and rank interval (see :class:`PredictedExpected`).
    parameters : dict of str to float
        Variance components and log-likelihoods by level.
    fits : dict
        Bayesian fits by level (their posteriors are written to the run folder).
    """

    names: list[str]
    coef: npt.NDArray[np.float64]
    cov: npt.NDArray[np.float64]
    expected: npt.NDArray[np.float64]
    intercept: float
    pattern_risk: npt.NDArray[np.float64]
    per_level: dict[str, npt.NDArray[np.float64]] = field(default_factory=dict)
    unit_effects: dict[str, pd.DataFrame] = field(default_factory=dict)
    parameters: dict[str, float] = field(default_factory=dict)
    fits: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RiskModel(Strategy):
    """A way of computing expected counts; subclasses implement :meth:`fit`."""

    #: Whether the model estimates an effect per unit (a predicted/expected ratio).
    has_unit_effects: ClassVar[bool] = False

    @abstractmethod
    def fit(self, problem: RiskProblem) -> ExpectedCounts:
        """Fit the model and return coefficients and expected counts."""

    def resolved(self, seed: int) -> RiskModel:
        """The strategy with every default that depends on the run filled in."""
        return self


@dataclass(frozen=True)
class Pooled(RiskModel):
    """One logistic model without unit terms; E is the sum of predicted risks."""

    kind: ClassVar[str] = "pooled"

    def fit(self, problem: RiskProblem) -> ExpectedCounts:
        """Fit on the distinct design rows (events and births summed over their patterns:
        the same likelihood as on the patterns)."""
        cells, patterns, design = problem.cells, problem.patterns, problem.design
        assert cells.pattern is not None  # set by compress_cells(within=...)
        fit = fit_logistic(design.matrix, design.sums(patterns.y), design.sums(patterns.m))
        risk = expit(design.matrix @ fit.coef)[design.index]
        return ExpectedCounts(problem.encoding.names, fit.coef, fit.cov,
                              cells.m * risk[cells.pattern], fit.coef[0], risk)


@dataclass(frozen=True)
class FixedUnits(RiskModel):
    """Fixed intercepts for the units of the first level, so that the case-mix coefficients
    are not biased by unit differences; E uses the case-mix coefficients only, with the
    intercept recalibrated so that national E equals O (provider-profiling style)."""

    kind: ClassVar[str] = "fixed"

    def fit(self, problem: RiskProblem) -> ExpectedCounts:
        """Fit on design row x unit cells (the same likelihood as on pattern x unit cells)."""
        cells, patterns, design = problem.cells, problem.patterns, problem.design
        assert cells.pattern is not None
        X = design.matrix
        uc = unit_cells(cells, problem.levels[0], rows=design.index, by_unit=True)
        fit = fit_logistic_fixed_effects(X[:, 1:], uc.unit, uc.y, uc.m, n_units=len(uc.uniques),
                                         pattern=None if uc.identity and len(X) == len(uc.y)
                                         else uc.pattern)
        lp = X[:, 1:] @ fit.coef
        total, births = patterns.y.sum(), design.sums(patterns.m)
        alpha = float(brentq(lambda a: (births * expit(a + lp)).sum() - total, -30, 30))
        cov = np.zeros((X.shape[1], X.shape[1]))
        cov[1:, 1:] = fit.cov
        cov[0, 0] = np.nan  # recentred intercept: not an estimate with a sampling variance
        risk = expit(alpha + lp)[design.index]
        return ExpectedCounts(problem.encoding.names, np.r_[alpha, fit.coef], cov,
                              cells.m * risk[cells.pattern], alpha, risk)


@dataclass(frozen=True)
class RandomUnits(RiskModel):
    """Random unit intercepts (one model per level), fitted by Laplace (``n_agq = 1``) or
    adaptive Gauss-Hermite quadrature.

    E uses the fixed effects with the average (zero) unit intercept; each unit's
    predicted/expected summary (:func:`casemix.shrinkage.predicted_expected.predicted_expected`)
    is kept in ``unit_effects`` for the :class:`~casemix.models.shrinkers.PredictedExpected`
    shrinker.

    Parameters
    ----------
    n_agq : int, default 1
        Quadrature nodes (1 = Laplace).
    n_boot : int, default 0
        Intervals, P(ratio > 1) and ranks from a parametric bootstrap with this many refits
        (:func:`casemix.shrinkage.predicted_expected.parametric_bootstrap`); 0 draws the unit
        intercepts from their conditional distribution with the fixed effects held at their
        estimates (fast, slightly narrow: 92% coverage in the simulation study).
    """

    kind: ClassVar[str] = "random"
    has_unit_effects: ClassVar[bool] = True
    n_agq: int = 1
    n_boot: int = 0

    def __post_init__(self) -> None:
        if self.n_agq < 1 or self.n_boot < 0:
            raise ParameterError(f"RandomUnits needs n_agq >= 1 and n_boot >= 0; got "
                                 f"n_agq={self.n_agq}, n_boot={self.n_boot}.")

    def fit(self, problem: RiskProblem) -> ExpectedCounts:
        cells, X = problem.cells, problem.X
        assert cells.pattern is not None
        per_level, effects, params, fits = {}, {}, {}, []
        for level in problem.levels:
            uc = unit_cells(cells, level)
            Xg = X if uc.identity else X[uc.pattern]
            fit = fit_glmm_binomial(Xg, uc.unit, uc.y, uc.m, n_units=len(uc.uniques),
                                    n_agq=self.n_agq)
            fits.append(fit)
            per_level[level] = cells.m * expit(X @ fit.coef)[cells.pattern]
            draws = None
            if self.n_boot:
                draws = parametric_bootstrap(Xg, uc.unit, uc.m, fit.coef, fit.modes,
                                             fit.sigma, n_boot=self.n_boot,
                                             n_agq=self.n_agq, seed=problem.seed)
            table = predicted_expected(Xg @ fit.coef, uc.unit, uc.m, fit.modes, fit.mode_var,
                                       level=problem.confidence_level, seed=problem.seed,
                                       draws=draws)
            effects[level] = table.assign(unit=np.asarray(uc.uniques).astype(str))
            params[f"sigma_{level}"] = fit.sigma
            params[f"loglik_{level}"] = fit.loglik
        first = fits[0]
        return ExpectedCounts(problem.encoding.names, first.coef, first.cov,
                              per_level[problem.levels[0]], first.coef[0],
                              expit(X @ first.coef), per_level, effects, params)


@dataclass(frozen=True)
class BayesJoint(RiskModel):
    """One-stage Bayesian logistic model per level with case mix and unit effects together
    (:func:`casemix.bayes.joint.fit_joint`); E from the posterior mean coefficients.

    Parameters
    ----------
    sampler : SamplerSettings, optional
        Draws, warm-up, chains, target acceptance; default
        ``SamplerSettings.for_method("bayes-joint", seed=seed)`` with the run's seed.
    priors : Priors, optional
        Default :class:`casemix.bayes.settings.Priors`.
    """

    kind: ClassVar[str] = "bayes-joint"
    has_unit_effects: ClassVar[bool] = True
    sampler: SamplerSettings | None = None
    priors: Priors | None = None

    @classmethod
    def _load_nested(cls, name: str, value: Any) -> Any:
        return _load_bayes_setting(name, value)

    def resolved(self, seed: int) -> BayesJoint:
        from casemix.bayes.settings import Priors, SamplerSettings

        return BayesJoint(self.sampler or SamplerSettings.for_method("bayes-joint", seed=seed),
                          self.priors or Priors())

    def fit(self, problem: RiskProblem) -> ExpectedCounts:
        from casemix.bayes.joint import fit_joint
        from casemix.bayes.sampling import labelled

        cells, X = problem.cells, problem.X
        assert cells.pattern is not None
        resolved = self.resolved(problem.seed)
        per_level, effects, params, fits = {}, {}, {}, {}
        for level in problem.levels:
            uc = unit_cells(cells, level)
            with labelled(f"level {level}"):
                fit = fit_joint(X, uc.pattern, uc.unit, uc.y, uc.m,
                                units=[str(u) for u in uc.uniques],
                                names=problem.encoding.names, priors=resolved.priors,
                                settings=resolved.sampler, level=problem.confidence_level)
            fits[level] = fit
            per_level[level] = cells.m * expit(X @ fit.extra["coef"])[cells.pattern]
            effects[level] = fit.units
            params[f"tau_{level}"] = float(np.median(fit.idata["posterior"]["tau"]))
        first = fits[problem.levels[0]]
        coef, cov = first.extra["coef"], first.extra["cov"]
        return ExpectedCounts(problem.encoding.names, coef, cov,
                              per_level[problem.levels[0]], coef[0], expit(X @ coef),
                              per_level, effects, params, fits)


def _load_bayes_setting(name: str, value: Any) -> Any:
    """Rebuild ``sampler``, ``priors`` or ``adjacency`` settings from plain data."""
    if name == "sampler":
        from casemix.bayes.settings import SamplerSettings

        return SamplerSettings.from_dict(value)
    if name == "priors":
        from casemix.bayes.settings import Priors

        return Priors.from_dict(value)
    if name == "adjacency":
        from casemix.bayes.adjacency import Adjacency

        return Adjacency.from_dict(value)
    return value


#: Risk models by ``kind``.
RISK_MODELS: dict[str, type[RiskModel]] = {
    cls.kind: cls for cls in (Pooled, FixedUnits, RandomUnits, BayesJoint)}


def risk_model_from_dict(d: dict[str, Any]) -> RiskModel:
    """Rebuild a risk model from :meth:`Strategy.to_dict` output."""
    return strategy_from_dict(d, RISK_MODELS)
