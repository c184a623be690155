"""The case-mix model: from a births table and a spec to expected counts and a unit comparison."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit

from casemix._params import check_one_of
from casemix.exceptions import CasemixWarning, MethodSwitchWarning, SpecError
from casemix.models.cells import Cells, compress_cells, prepare_model_data, unit_cells
from casemix.models.design import Encoding, learn_encoding
from casemix.models.glmm import fit_glmm_binomial
from casemix.models.logistic import fit_logistic, fit_logistic_fixed_effects
from casemix.models.result import CaseMixResult, coefficient_table
from casemix.models.spec import METHODS, ModelSpec
from casemix.records.exclusions import ExclusionLog
from casemix.shrinkage.predicted_expected import parametric_bootstrap, predicted_expected
from casemix.shrinkage.unit_table import (
    SHRINKAGE_COLUMNS,
    UNIT_SHRINKAGE_METHODS,
    shrink_units,
    shrink_units_by_year,
)
from casemix.standardisation.indirect import unit_comparison

if TYPE_CHECKING:
    from casemix.bayes import Adjacency, Priors, SamplerSettings

__all__ = ["CaseMixModel"]


@dataclass(frozen=True)
class _Expected:
    """Coefficients and expected counts per cell for one way of computing E."""

    names: list[str]
    coef: npt.NDArray[np.float64]
    cov: npt.NDArray[np.float64]
    expected: npt.NDArray[np.float64]
    intercept: float
    pattern_risk: npt.NDArray[np.float64]
    per_level: dict[str, npt.NDArray[np.float64]] = field(default_factory=dict)
    shrinkage: dict[str, pd.DataFrame] = field(default_factory=dict)
    parameters: dict[str, float] = field(default_factory=dict)


class CaseMixModel:
    """Case-mix adjustment of one indicator by a patient-level logistic model.

    Parameters
    ----------
    spec : ModelSpec
        Outcome, adjusters, unit levels and options (see :func:`casemix.load_spec`).
    method : {"pooled", "fixed"}, optional
        How expected counts are obtained (default: the spec's method).

        - ``pooled``: one logistic model without unit terms; E is the sum of predicted risks.
        - ``fixed``: the model includes a fixed intercept per unit (of each level in turn), so
          that case-mix coefficients are not biased by unit differences; E uses the case-mix
          coefficients only, with the intercept recalibrated so that national E equals O.
        - ``glmm``: a random intercept per unit (one model per level, Laplace or adaptive
          quadrature); E with the average intercept, and the shrinkage columns from the
          predicted/expected ratio of national hospital profiling.
        - ``eb``: pooled E, then Poisson-gamma empirical Bayes on each unit's (O, E).
        - ``fay-herriot``: pooled E, then the Fay-Herriot model (REML) on log O/E.
        - ``bayes``: pooled E, then the two-stage Bayesian model (PyMC) on each unit's (O, E);
          per-year rows from the unit x year model (``trend``).
        - ``bayes-joint``: one-stage Bayesian logistic model with case mix and unit effects
          together (one per level); E from the posterior mean coefficients.
        - ``bym2``: pooled E, then BYM2 spatial smoothing on ``adjacency`` for the level whose
          units it lists (other levels: the two-stage model, with a note).
    compress : bool, optional
        Force (True) or forbid (False) compression of births into covariate-pattern x unit
        cells; default: compress when it reduces the rows at least by half. Estimates are
        identical either way.
    n_agq : int, default 1
        Quadrature nodes of the GLMM (1 = Laplace).
    n_boot : int, default 0
        GLMM only: intervals, P(ratio > 1) and ranks from a parametric bootstrap with this many
        refits (see :func:`casemix.shrinkage.predicted_expected.parametric_bootstrap`); 0 draws
        the unit intercepts from their conditional distribution with the fixed effects held at
        their estimates (fast, slightly narrow: 92% coverage in the simulation study).
    seed : int
        Seed of the posterior draws behind shrinkage intervals and rank intervals (and of
        the MCMC sampler unless ``sampler`` sets its own).
    adjacency : Adjacency or path, optional
        ``bym2``: neighbour graph of the regions (see :func:`casemix.bayes.read_adjacency`).
    sampler : SamplerSettings, optional
        Bayesian methods: draws, warm-up, chains, sampler, progress bar.
    priors : Priors, optional
        Bayesian methods: priors (default :class:`casemix.bayes.Priors`).
    trend : {"rw1", "shared"}
        Bayesian per-year rows: random walk or shared year effects
        (:func:`casemix.bayes.fit_unit_year`).

    Examples
    --------
    >>> from casemix import CaseMixModel, load_spec
    >>> from casemix.simulation import simulate_cohort
    >>> births = simulate_cohort(20_000, seed=1).births
    >>> result = CaseMixModel(load_spec("models/big2.toml")).fit(births)  # doctest: +SKIP
    >>> result.units.head()  # doctest: +SKIP
    """

    def __init__(self, spec: ModelSpec, *, method: str | None = None,
                 compress: bool | None = None, n_agq: int = 1, n_boot: int = 0,
                 seed: int = 20261123, adjacency: Adjacency | str | Path | None = None,
                 sampler: SamplerSettings | None = None, priors: Priors | None = None,
                 trend: str = "rw1") -> None:
        self.spec = spec
        self.method = method
        self.compress = compress
        self.n_agq = n_agq
        self.n_boot = n_boot
        self.seed = seed
        self.adjacency = adjacency
        self.sampler = sampler
        self.priors = priors
        self.trend = trend
        self._bayes_fits: dict[str, Any] = {}

    def fit(self, births: pd.DataFrame) -> CaseMixResult:
        """Fit the risk model and compare units.

        Parameters
        ----------
        births : pandas.DataFrame
            Validated births in canonical columns (see :func:`casemix.load_births`).

        Returns
        -------
        CaseMixResult
        """
        method = self.method or self.spec.method
        check_one_of("method", method, METHODS, owner="CaseMixModel")
        if method == "bym2" and self.adjacency is None:
            raise SpecError("method 'bym2' needs an adjacency file of the regions "
                            "(adjacency=..., or --adjacency FILE on the command line).")
        self._bayes_fits = {}
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        data = prepare_model_data(births, self.spec)
        encoding = learn_encoding(data.frame, data.terms, self.spec.interactions)
        term_columns = [t.column for t in data.terms]
        patterns = compress_cells(data.frame, term_columns, data.y, data.w, force=self.compress)
        unit_keys = list(dict.fromkeys([*self.spec.levels, *self.spec.stratify,
                                        *(["year"] if "year" in data.frame else [])]))
        cells = compress_cells(data.frame, unit_keys, data.y, data.w,
                               within=patterns.inverse,
                               force=None if patterns.compressed else False)
        X = encoding.matrix(patterns.keys)
        timings["prepare_s"] = time.perf_counter() - t0
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            t1 = time.perf_counter()
            expected = self._expected(method, X, patterns, cells, encoding)
            timings["fit_s"] = time.perf_counter() - t1
            t2 = time.perf_counter()
            units = self._compare(cells, expected, data.years, data.exclusions)
            units = self._add_shrinkage(units, method, expected)
        kinds = dict.fromkeys((str(w.message), w.category) for w in caught)
        notes = list(dict.fromkeys(message for message, _ in kinds))
        for message, category in kinds:  # once per fit, and recorded in the result
            warnings.warn(message, category if issubclass(category, CasemixWarning)
                          else MethodSwitchWarning, stacklevel=2)
        timings["compare_s"] = time.perf_counter() - t2
        national = float(cells.y.sum() / cells.m.sum())
        return CaseMixResult(
            spec=self.spec, method=method, encoding=encoding,
            coefficients=coefficient_table(expected.names, expected.coef, expected.cov),
            coef=expected.coef, cov=expected.cov, intercept=expected.intercept,
            units=units, exclusions=data.exclusions, national_rate=national,
            n_input=data.n_input, n_analysed=len(data.frame), n_cells=len(patterns.y),
            compressed=patterns.compressed, years=data.years, timings=timings,
            cells=cells, patterns=patterns, pattern_risk=expected.pattern_risk, notes=notes,
            parameters=expected.parameters, outcome=data.y, rows=data.rows,
            bayes=dict(self._bayes_fits),
        )

    # -- expected counts -------------------------------------------------------------------
    def _expected(self, method: str, X: npt.NDArray[np.float64], patterns: Cells,
                  cells: Cells, encoding: Encoding) -> _Expected:
        """Coefficients, risk per covariate pattern and expected count per unit cell.

        Methods are looked up in ``_METHODS`` (name -> method of this class), the hook through
        which further ways of computing E (random effects, Bayesian models) plug in.
        """
        _check_separation(X, patterns, encoding)
        return getattr(self, _METHODS[method])(X, patterns, cells, encoding)

    def _pooled(self, X: npt.NDArray[np.float64], patterns: Cells, cells: Cells,
                encoding: Encoding) -> _Expected:
        """One logistic model without unit terms."""
        assert cells.pattern is not None  # set by compress_cells(within=...)
        fit = fit_logistic(X, patterns.y, patterns.m)
        risk = expit(X @ fit.coef)
        return _Expected(encoding.names, fit.coef, fit.cov, cells.m * risk[cells.pattern],
                         fit.coef[0], risk)

    def _fixed(self, X: npt.NDArray[np.float64], patterns: Cells, cells: Cells,
               encoding: Encoding) -> _Expected:
        """Fixed unit intercepts of the first level; case-mix part recentred on the nation."""
        uc = unit_cells(cells, self.spec.levels[0])
        X_fe = X[:, 1:] if uc.identity else X[uc.pattern, 1:]  # no copy of a million rows
        fit = fit_logistic_fixed_effects(X_fe, uc.unit, uc.y, uc.m, n_units=len(uc.uniques))
        lp = X[:, 1:] @ fit.coef
        total = patterns.y.sum()
        alpha = float(brentq(lambda a: (patterns.m * expit(a + lp)).sum() - total, -30, 30))
        cov = np.zeros((X.shape[1], X.shape[1]))
        cov[1:, 1:] = fit.cov
        cov[0, 0] = np.nan  # recentred intercept: not an estimate with a sampling variance
        risk = expit(alpha + lp)
        return _Expected(encoding.names, np.r_[alpha, fit.coef], cov,
                         cells.m * risk[cells.pattern], alpha, risk)

    def _glmm(self, X: npt.NDArray[np.float64], patterns: Cells, cells: Cells,
              encoding: Encoding) -> _Expected:
        """Random unit intercepts (Laplace), one model per unit level.

        E uses the fixed effects with the average (zero) unit intercept; the shrinkage columns
        compare predicted (own intercept) with expected, see
        :func:`casemix.shrinkage.predicted_expected.predicted_expected`.
        """
        assert cells.pattern is not None
        per_level, shrinkage, params = {}, {}, {}
        first_fit = None
        for level in self.spec.levels:
            uc = unit_cells(cells, level)
            Xg = X if uc.identity else X[uc.pattern]
            fit = fit_glmm_binomial(Xg, uc.unit, uc.y, uc.m, n_units=len(uc.uniques),
                                    n_agq=self.n_agq)
            first_fit = first_fit or fit
            risk = expit(X @ fit.coef)
            per_level[level] = cells.m * risk[cells.pattern]
            draws = None
            if self.n_boot:
                draws = parametric_bootstrap(Xg, uc.unit, uc.m, fit.coef, fit.modes,
                                             fit.sigma, n_boot=self.n_boot,
                                             n_agq=self.n_agq, seed=self.seed)
            table = predicted_expected(Xg @ fit.coef, uc.unit, uc.m, fit.modes, fit.mode_var,
                                       level=self.spec.confidence_level, seed=self.seed,
                                       draws=draws)
            shrinkage[level] = table.assign(unit=np.asarray(uc.uniques).astype(str))
            params[f"sigma_{level}"] = fit.sigma
            params[f"loglik_{level}"] = fit.loglik
        assert first_fit is not None
        risk = expit(X @ first_fit.coef)
        return _Expected(encoding.names, first_fit.coef, first_fit.cov,
                         per_level[self.spec.levels[0]], first_fit.coef[0], risk, per_level,
                         shrinkage, params)

    def _bayes_joint(self, X: npt.NDArray[np.float64], patterns: Cells, cells: Cells,
                     encoding: Encoding) -> _Expected:
        """One-stage Bayesian model per unit level; E from the posterior mean coefficients."""
        from casemix.bayes.joint import fit_joint

        assert cells.pattern is not None
        per_level, shrinkage, params = {}, {}, {}
        first = None
        for level in self.spec.levels:
            uc = unit_cells(cells, level)
            fit = fit_joint(X, uc.pattern, uc.unit, uc.y, uc.m,
                            units=[str(u) for u in uc.uniques], names=encoding.names,
                            priors=self.priors, settings=self._sampler_settings(),
                            level=self.spec.confidence_level)
            self._bayes_fits[level] = fit
            first = first or fit
            per_level[level] = cells.m * expit(X @ fit.extra["coef"])[cells.pattern]
            shrinkage[level] = fit.units
            params[f"tau_{level}"] = float(np.median(fit.idata["posterior"]["tau"]))
        assert first is not None
        coef, cov = first.extra["coef"], first.extra["cov"]
        risk = expit(X @ coef)
        return _Expected(encoding.names, coef, cov, per_level[self.spec.levels[0]], coef[0],
                         risk, per_level, shrinkage, params)

    def _sampler_settings(self) -> SamplerSettings:
        from casemix.bayes import SamplerSettings

        return self.sampler or SamplerSettings(seed=self.seed)

    def _bayes_shrinkage(self, units: pd.DataFrame, method: str) -> pd.DataFrame:
        from casemix.bayes.profiling import bayes_unit_shrinkage

        out, fits = bayes_unit_shrinkage(units, method, settings=self._sampler_settings(),
                                         priors=self.priors, adjacency=self.adjacency,
                                         trend=self.trend, level=self.spec.confidence_level)
        self._bayes_fits.update(fits)
        return out

    def _add_shrinkage(self, units: pd.DataFrame, method: str, expected: _Expected
                       ) -> pd.DataFrame:
        """Shrinkage columns: per comparison table for EB and Fay-Herriot; for the GLMM on the
        pooled, unstratified rows (other rows get missing values)."""
        if method in UNIT_SHRINKAGE_METHODS:
            pooled_period = units["period"].iloc[0]
            yearly = units["period"].ne(pooled_period) & units["stratum"].eq("all")
            parts = [shrink_units(t, method, level=self.spec.confidence_level, seed=self.seed)
                     for _, t in units.loc[~yearly].groupby(["level", "period", "stratum"],
                                                            sort=False)]
            parts += [shrink_units_by_year(t, method, level=self.spec.confidence_level,
                                           seed=self.seed)
                      for _, t in units.loc[yearly].groupby("level", sort=False)]
            return pd.concat(parts).loc[units.index]
        if method in ("bayes", "bym2"):
            return self._bayes_shrinkage(units, method)
        if method not in ("glmm", "bayes-joint"):
            return units
        tables = [t.assign(level=level) for level, t in expected.shrinkage.items()]
        extra = pd.concat(tables)[["level", "unit", *SHRINKAGE_COLUMNS]]
        main = units["stratum"].eq("all") & units["period"].eq(units["period"].iloc[0])
        merged = units.loc[main].merge(extra, on=["level", "unit"], how="left")
        merged.index = units.index[main]
        return pd.concat([merged, units.loc[~main]]).loc[units.index]

    # -- unit comparison -------------------------------------------------------------------
    def _compare(self, cells: Cells, expected: _Expected, years: tuple[int, ...],
                 log: ExclusionLog) -> pd.DataFrame:
        period = _period_label(years)
        national = float(cells.y.sum() / cells.m.sum())
        frame = cells.keys.assign(_y=cells.y, _m=cells.m, _e=expected.expected)
        tables = []
        for level in self.spec.levels:
            frame["_e"] = expected.per_level.get(level, expected.expected)
            log.add("comparison", level, f"{level} missing", int(
                frame.loc[frame[level].isna(), "_m"].sum()))
            tables.append(self._compare_level(frame, level, national, period, "all"))
            if self.spec.by_year and len(years) > 1:
                for year, sub in frame.groupby("year"):
                    tables.append(self._compare_level(sub, level, national, str(year), "all"))
            for column in self.spec.stratify:
                for value, sub in frame.groupby(column, dropna=False):
                    tables.append(self._compare_level(sub, level, national, period,
                                                      f"{column}={value}"))
        return pd.concat(tables, ignore_index=True)

    def _compare_level(self, frame: pd.DataFrame, level: str, national: float, period: str,
                       stratum: str) -> pd.DataFrame:
        agg = frame.groupby(level, observed=True)[["_y", "_m", "_e"]].sum()
        table = unit_comparison(agg["_y"], agg["_e"], agg["_m"], units=agg.index.astype(str),
                                level=level, national_rate=national,
                                confidence_level=self.spec.confidence_level)
        return table.assign(period=period, stratum=stratum)


_METHODS = {"pooled": "_pooled", "fixed": "_fixed", "glmm": "_glmm", "eb": "_pooled",
            "fay-herriot": "_pooled", "bayes": "_pooled", "bayes-joint": "_bayes_joint",
            "bym2": "_pooled"}


def _check_separation(X: npt.NDArray[np.float64], patterns: Cells, encoding: Encoding) -> None:
    """Indicator columns whose births all have, or all lack, the event make the maximum
    likelihood estimate infinite: stop with a message that names them and the fix."""
    indicator = np.all((X == 0) | (X == 1), axis=0)
    indicator[0] = False
    births = X.T @ patterns.m
    events = X.T @ patterns.y
    bad = indicator & ((events == 0) | (events == births))
    if bad.any():
        names = np.asarray(encoding.names)[bad]
        detail = ", ".join(f"{n} ({events[i]:g} events in {births[i]:g} births)"
                           for n, i in zip(names, np.flatnonzero(bad), strict=True))
        raise SpecError(
            f"Perfect separation: {detail}. Their odds ratios are not estimable (infinite). "
            "Merge the level with another one (levels/breaks in the spec), drop the term, or "
            "pool more years."
        )


def _period_label(years: tuple[int, ...]) -> str:
    if not years:
        return "all"
    return str(years[0]) if len(years) == 1 else f"{years[0]}-{years[-1]}"
