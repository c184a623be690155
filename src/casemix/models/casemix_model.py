"""The case-mix model: a risk model plus a shrinker, fitted on a births table."""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from casemix.core.cells import Cells, compress_cells
from casemix.core.design import DesignRows, Encoding, learn_encoding_codes
from casemix.exceptions import CasemixWarning, DataError, SpecError
from casemix.models.data import grouped_model_data, prepare_model_data
from casemix.models.grouped import GroupedBirths
from casemix.models.methods import build_method, method_name
from casemix.models.result import CaseMixResult, coefficient_table
from casemix.models.risk import RiskModel, RiskProblem
from casemix.models.shared import checked_shares, shared_cells
from casemix.models.shrinkers import Shrinker
from casemix.models.spec import ModelSpec
from casemix.models.units import compare_units
from casemix.models.verdicts import apply_verdict
from casemix.records.shares import Shares

if TYPE_CHECKING:
    from casemix.bayes.adjacency import Adjacency
    from casemix.bayes.settings import Priors, SamplerSettings

__all__ = ["CaseMixModel"]

DEFAULT_SEED = 20261123


class CaseMixModel:
    """Case-mix adjustment of one indicator by a patient-level logistic model.

    Parameters
    ----------
    spec : ModelSpec
        Outcome, adjusters, unit levels and options (see :func:`casemix.load_spec`).
    method : str, optional
        A named method (default: the spec's), i.e. a risk model plus a shrinker from
        :data:`casemix.models.methods.METHODS`:

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
    risk_model : RiskModel, optional
        Replaces the method's risk model (:mod:`casemix.models.risk`).
    shrinker : Shrinker, optional
        Replaces the method's shrinker (:mod:`casemix.models.shrinkers`).
    compress : bool, optional
        Forbid (False) compression of births into covariate-pattern x unit cells; default
        (None or True): compress, into cells in the order of their values, so that the same
        births in any order, in memory or grouped by :mod:`casemix.engine`, give the same
        cells to the last digit. Estimates are identical either way.
    seed : int
        Seed of every random draw: shrinkage and rank intervals, the GLMM bootstrap, and the
        MCMC sampler unless ``sampler`` sets its own. Recorded in the result and run folder.
    n_agq, n_boot : int, optional
        Settings of :class:`~casemix.models.risk.RandomUnits` (``glmm``): quadrature nodes
        (1 = Laplace) and parametric-bootstrap refits (0 = conditional draws).
    adjacency : Adjacency or path, optional
        Setting of :class:`~casemix.models.shrinkers.BYM2` (``bym2``): the neighbour graph.
    sampler : SamplerSettings, optional
        Bayesian methods: draws, warm-up, chains, target acceptance, progress bar.
    priors : Priors, optional
        Bayesian methods (default :class:`casemix.bayes.settings.Priors`).
    trend : {"rw1", "shared"}, optional
        ``bayes``/``bym2`` per-year rows: random walk or shared year effects.

    Notes
    -----
    Options that the chosen method does not use are an error (never silently ignored).

    Examples
    --------
    >>> from casemix import CaseMixModel, load_spec
    >>> from casemix.simulation import simulate_cohort
    >>> births = simulate_cohort(20_000, seed=1).births
    >>> result = CaseMixModel(load_spec("models/big2.toml")).fit(births)  # doctest: +SKIP
    >>> result.units.head()  # doctest: +SKIP
    """

    def __init__(self, spec: ModelSpec, *, method: str | None = None,
                 risk_model: RiskModel | None = None, shrinker: Shrinker | None = None,
                 compress: bool | None = None, seed: int = DEFAULT_SEED,
                 n_agq: int | None = None, n_boot: int | None = None,
                 adjacency: Adjacency | str | Path | None = None,
                 sampler: SamplerSettings | None = None, priors: Priors | None = None,
                 trend: str | None = None) -> None:
        self.spec = spec
        self.method = method
        self.risk_model = risk_model
        self.shrinker = shrinker
        self.compress = compress
        self.seed = seed
        self.n_agq = n_agq
        self.n_boot = n_boot
        self.adjacency = adjacency
        self.sampler = sampler
        self.priors = priors
        self.trend = trend

    def strategies(self) -> tuple[RiskModel, Shrinker]:
        """The risk model and shrinker this model fits, with every setting resolved.

        Raises
        ------
        SpecError
            Unknown method, an option the method does not use, or a shrinker that cannot
            follow the risk model.
        """
        risk, shrinker = build_method(
            self.method or self.spec.method, n_agq=self.n_agq, n_boot=self.n_boot,
            adjacency=self.adjacency, sampler=self.sampler, priors=self.priors,
            trend=self.trend)
        risk = (self.risk_model or risk).resolved(self.seed)
        shrinker = (self.shrinker or shrinker).resolved(self.seed)
        shrinker.check(risk)
        return risk, shrinker

    def fit(self, births: pd.DataFrame | GroupedBirths,
            shares: Shares | pd.DataFrame | None = None) -> CaseMixResult:
        """Fit the risk model, compare units and shrink their ratios.

        Parameters
        ----------
        births : pandas.DataFrame or GroupedBirths
            Validated births in canonical columns (see :func:`casemix.load_births`), or the
            births of a file grouped out of core by :func:`casemix.engine.scan_births` (the
            same fit: identical cells).
        shares : Shares or pandas.DataFrame, optional
            Births shared between units (:mod:`casemix.records.shares`: ``birth_id, level,
            unit, share``). The risk model is fitted on births, once each; O, E and n of a
            unit add its shares of the births it shares, and its intervals and tests use the
            variance of that weighted sum.

        Returns
        -------
        CaseMixResult
        """
        risk, shrinker = self.strategies()
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        if isinstance(births, GroupedBirths):
            if shares is not None:
                raise SpecError("Births shared between units are matched by birth_id: fit "
                                "the births in memory (engine 'pandas').")
            data = grouped_model_data(births, self.spec)
        else:
            self.spec.check_data(list(births.columns))
            shares = checked_shares(shares, births, self.spec, risk)
            data = prepare_model_data(births, self.spec)
        _check_events(data.y, data.w, self.spec)
        term_columns = [t.column for t in data.terms]
        patterns = compress_cells(data.frame, term_columns, data.y, data.w,
                                  force=self.compress is not False)
        # the design's codes of a birth of each pattern, found while learning the encoding
        encoding, pattern_codes = learn_encoding_codes(
            data.frame, data.terms, self.spec.interactions, data.count,
            at=_pattern_rows(patterns))
        unit_keys = list(dict.fromkeys([*self.spec.levels, *self.spec.stratify,
                                        *(["year"] if "year" in data.frame else [])]))
        force = patterns.compressed  # compressed patterns: compressed (sorted) unit cells
        cells = compress_cells(data.frame, unit_keys, data.y, data.w, within=patterns.inverse,
                               force=force, v=data.v)
        design = encoding.design_rows(patterns.keys, codes=pattern_codes)
        del pattern_codes
        timings["prepare_s"] = time.perf_counter() - t0
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            t1 = time.perf_counter()
            _check_separation(design, patterns, encoding)
            expected = risk.fit(RiskProblem(design, patterns, cells, encoding, self.spec.levels,
                                            self.spec.confidence_level, self.seed))
            timings["fit_s"] = time.perf_counter() - t1
            t2 = time.perf_counter()
            level_cells = {} if shares is None else shared_cells(
                shares, births, data, patterns, cells, expected,  # type: ignore[arg-type]
                unit_keys, force=force)
            units = compare_units(cells, expected.expected, expected.per_level,
                                  levels=self.spec.levels, stratify=self.spec.stratify,
                                  by_year=self.spec.by_year, years=data.years,
                                  confidence_level=self.spec.confidence_level,
                                  log=data.exclusions, level_cells_of=level_cells)
            shrunk = shrinker.apply(units, expected, level=self.spec.confidence_level,
                                    seed=self.seed)
            table, verdict = apply_verdict(shrunk.units, shrinker)
            timings["compare_s"] = time.perf_counter() - t2
        notes = _reissue(caught)
        national = float(cells.y.sum() / cells.m.sum())
        result = CaseMixResult(
            spec=self.spec, method=method_name(risk, shrinker), risk_model=risk,
            shrinker=shrinker, seed=self.seed, encoding=encoding,
            coefficients=coefficient_table(expected.names, expected.coef, expected.cov),
            coef=expected.coef, cov=expected.cov, intercept=expected.intercept,
            unit_table=table, verdict=verdict, exclusions=data.exclusions, national_rate=national,
            n_input=data.n_input,
            n_analysed=len(data.frame) if data.count is None else int(data.count.sum()),
            n_cells=len(patterns.y),
            compressed=patterns.compressed, years=data.years, timings=timings,
            cells=cells, patterns=patterns, pattern_risk=expected.pattern_risk, notes=notes,
            parameters=expected.parameters, outcome=data.y, rows=data.rows,
            row_births=data.count,
            bayes={**expected.fits, **shrunk.fits},
            level_cells={k: c for k, (c, _) in level_cells.items()}, shares=shares,
        )
        result._cache["design_rows"] = design  # for direct standardisation and disclosure
        return result


def _reissue(caught: list[warnings.WarningMessage]) -> list[str]:
    """Issue the warnings of a fit once each, with their own category; return the casemix
    ones as notes for the result (foreign warnings, e.g. from PyTensor, are passed on but are
    not notes of the method)."""
    notes: list[str] = []
    seen: set[tuple[str, type[Warning]]] = set()
    for w in caught:
        key = (str(w.message), w.category)
        if key in seen:
            continue
        seen.add(key)
        if issubclass(w.category, CasemixWarning):
            notes.append(str(w.message))
            warnings.warn(str(w.message), w.category, stacklevel=3)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return notes


def _pattern_rows(patterns: Cells) -> npt.NDArray[np.intp] | None:
    """A birth (row of the analysed births) of each covariate pattern, None when each birth
    is its own pattern: its births share the terms' values, hence their design codes."""
    if not patterns.compressed:
        return None
    row = np.empty(len(patterns.y), dtype=np.intp)
    row[patterns.inverse] = np.arange(len(patterns.inverse))  # the last birth of each
    return row


def _check_separation(design: DesignRows, patterns: Cells, encoding: Encoding) -> None:
    """Indicator columns whose births all have, or all lack, the event make the maximum
    likelihood estimate infinite: stop with a message that names them and the fix."""
    X = design.matrix
    indicator = np.all((X == 0) | (X == 1), axis=0)
    indicator[0] = False
    births = X.T @ design.sums(patterns.m)
    events = X.T @ design.sums(patterns.y)
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


def _check_events(y: np.ndarray, w: np.ndarray, spec: ModelSpec) -> None:
    """An outcome without events (or without non-events) among the analysed births has
    nothing to adjust: say so, naming the indicator and the spec, before any fitting."""
    n = len(y)
    events = float(np.sum(w * y))
    if n == 0:
        raise DataError(f"{spec.source}: no births are analysed for outcome {spec.outcome!r} "
                        "(see the exclusions: definitions, years, weights).")
    if events == 0 or events == float(np.sum(w)):
        which = "no events" if events == 0 else "only events"
        raise DataError(f"{spec.source}: outcome {spec.outcome!r} has {which} among the "
                        f"{n:,} births analysed: nothing to adjust. Check the indicator "
                        "definitions and the data, or pool more years.")
