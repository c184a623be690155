"""Running the sampler and judging its convergence (one place for every Bayesian model)."""

from __future__ import annotations

import contextlib
import contextvars
import logging
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import arviz as az
import numpy as np
import numpy.typing as npt
import pymc as pm
from threadpoolctl import threadpool_limits

from casemix.bayes.settings import SamplerSettings, default_sampler
from casemix.exceptions import SamplingWarning

__all__ = ["Convergence", "SamplerSettings", "check_convergence", "default_sampler", "labelled",
           "sample", "sample_function"]

#: Thresholds of Vehtari et al. (2021): rank-normalised split R-hat below 1.01 and bulk and
#: tail effective sample sizes of at least 100 per chain.
RHAT_MAX = 1.01
ESS_PER_CHAIN_MIN = 100

_LABEL: contextvars.ContextVar[str] = contextvars.ContextVar("casemix_sampling_label",
                                                             default="")


@contextlib.contextmanager
def labelled(label: str) -> Iterator[None]:
    """Name what is being sampled (e.g. ``"level municipality"``) in the progress line and in
    convergence warnings of every fit inside the block."""
    token = _LABEL.set(label)
    try:
        yield
    finally:
        _LABEL.reset(token)


def _at() -> str:
    return f" at {_LABEL.get()}" if _LABEL.get() else ""


@dataclass(frozen=True)
class Convergence:
    """Convergence diagnostics of one posterior.

    Attributes
    ----------
    max_rhat : float
        Largest rank-normalised split R-hat over the monitored parameters.
    min_ess_bulk, min_ess_tail : float
        Smallest bulk and tail effective sample sizes.
    divergences : int
        Divergent transitions after warm-up.
    draws, chains : int
    sampler : str
    problems : list of str
        One sentence per failed threshold; empty when all pass.
    """

    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    divergences: int
    draws: int
    chains: int
    sampler: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every threshold is met."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """Plain values for the manifest."""
        return {**asdict(self), "ok": self.ok}


def sample(model: pm.Model, settings: SamplerSettings) -> az.InferenceData:
    """Draw from the posterior of ``model`` with NUTS.

    Parameters
    ----------
    model : pymc.Model
    settings : SamplerSettings

    Returns
    -------
    arviz.InferenceData
        With groups ``posterior`` and ``sample_stats`` (incl. ``diverging``).

    Notes
    -----
    The chains run in parallel threads (nutpie) or processes (PyMC), so BLAS is limited to
    one thread per chain while sampling: otherwise each chain's matrix products start a
    thread per core and the chains compete. On the demo cohort's one-stage model (146,338
    cells, 2 chains on 2 cores) this takes a gradient from 16 ms to 5 ms.
    """
    kwargs: dict[str, Any] = {}
    _announce(settings)
    if settings.backend == "nutpie":
        kwargs["nuts_sampler"] = "nutpie"
        kwargs["nuts_sampler_kwargs"] = {"backend": "numba"}
    else:
        kwargs["cores"] = min(settings.chains, 2)
    # PyMC logs its sampler choice and timing at INFO; keep library users' logs quiet
    logger = logging.getLogger("pymc")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
            warnings.filterwarnings("ignore", category=FutureWarning)
            warnings.filterwarnings("ignore", message=".*rhat.*")
            return pm.sample(draws=settings.draws, tune=settings.tune, chains=settings.chains,
                             random_seed=settings.seed, target_accept=settings.target_accept,
                             progressbar=settings.progressbar, model=model,
                             compute_convergence_checks=False, **kwargs)
    finally:
        logger.setLevel(level)


def sample_function(density: Callable[[npt.NDArray[np.float64]],
                                      tuple[float, npt.NDArray[np.float64]]],
                    expand: Callable[[npt.NDArray[np.float64]], dict[str, Any]],
                    start: npt.NDArray[np.float64], *, shapes: dict[str, tuple[int, ...]],
                    coords: dict[str, list[str]], dims: dict[str, tuple[str, ...]],
                    settings: SamplerSettings) -> az.InferenceData:
    """Draw with nutpie from a log density written as a Python function.

    Parameters
    ----------
    density : callable
        ``x -> (log density, gradient)`` on unconstrained coordinates of length
        ``len(start)``; it should release the GIL (numba ``nogil``) so that chains run in
        parallel threads.
    expand : callable
        ``x -> {name: value}``, the parameters stored for each draw (shapes ``shapes``).
    start : ndarray
        Centre of the initial points (each chain starts at a jittered copy, SD 0.1).
    shapes, coords, dims
        Shapes of the stored parameters, and their dimension labels.
    settings : SamplerSettings
        Must use the nutpie backend.

    Returns
    -------
    arviz.InferenceData
        With groups ``posterior`` and ``sample_stats`` (incl. ``diverging``).
    """
    import nutpie
    from nutpie.compiled_pyfunc import from_pyfunc

    _announce(settings)
    names = list(shapes)
    model = from_pyfunc(
        len(start), lambda: lambda x, **_: density(x),
        lambda seed1, seed2, chain: lambda x, **_: expand(x),
        [np.dtype("float64")] * len(names), [shapes[n] for n in names], names,
        coords=coords, dims=dims,
        make_initial_point_fn=lambda seed: start + np.random.default_rng(seed).normal(
            0.0, 0.1, len(start)))
    with threadpool_limits(limits=1, user_api="blas"):
        return nutpie.sample(model, draws=settings.draws, tune=settings.tune,
                             chains=settings.chains, seed=settings.seed,
                             target_accept=settings.target_accept,
                             progress_bar=settings.progressbar)


def _announce(settings: SamplerSettings) -> None:
    if settings.progressbar and _LABEL.get():
        print(f"Sampling {_LABEL.get()}", file=sys.stderr, flush=True)


def check_convergence(idata: az.InferenceData, var_names: list[str], *,
                      warn: bool = True, what: str = "model") -> Convergence:
    """R-hat, bulk/tail ESS and divergences of ``var_names``, with a warning when they fail.

    Parameters
    ----------
    idata : arviz.InferenceData
    var_names : list of str
        Parameters to monitor (the model's free parameters and the unit ratios).
    warn : bool
        Issue a :class:`casemix.exceptions.SamplingWarning` naming the failed checks.
    what : str
        Name of the model in the warning; the label of an enclosing :func:`labelled` block
        (the level) follows it.

    Notes
    -----
    Thresholds after Vehtari A, Gelman A, Simpson D, Carpenter B, Buerkner P-C.
    Rank-normalization, folding, and localization: an improved R-hat for assessing
    convergence of MCMC. Bayesian Analysis 2021;16:667-718: R-hat < 1.01 and ESS >= 100 per
    chain; any divergent transition means the posterior geometry was not fully explored
    (Betancourt 2017).
    """
    posterior = idata["posterior"]
    n_chains, n_draws = posterior.sizes["chain"], posterior.sizes["draw"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # arviz warns itself for a single chain
        rhat = az.rhat(idata, var_names=var_names)
        bulk = az.ess(idata, var_names=var_names, method="bulk")
        tail = az.ess(idata, var_names=var_names, method="tail")
    max_rhat = _extreme(rhat, np.nanmax)
    min_bulk, min_tail = _extreme(bulk, np.nanmin), _extreme(tail, np.nanmin)
    divergences = int(idata["sample_stats"]["diverging"].sum())
    problems = []
    if n_chains > 1 and not max_rhat < RHAT_MAX:
        problems.append(f"R-hat up to {max_rhat:.3f} (threshold {RHAT_MAX})")
    ess_min = ESS_PER_CHAIN_MIN * n_chains
    if min(min_bulk, min_tail) < ess_min:
        problems.append(f"effective sample size down to {min(min_bulk, min_tail):.0f} "
                        f"(threshold {ess_min})")
    if divergences:
        problems.append(f"{divergences} divergent transitions")
    result = Convergence(max_rhat, min_bulk, min_tail, divergences, n_draws, n_chains,
                         str(idata["posterior"].attrs.get("inference_library", "")), problems)
    if warn and problems:
        warnings.warn(f"The {what}{_at()} did not pass its convergence checks: "
                      f"{'; '.join(problems)}. Increase draws/tune or target_accept before "
                      "using its summaries.", SamplingWarning, stacklevel=2)
    return result


def _extreme(dataset: Any, reducer: Any) -> float:
    values = [reducer(np.asarray(dataset[name])) for name in dataset.data_vars]
    return float(reducer(values)) if values else float("nan")
