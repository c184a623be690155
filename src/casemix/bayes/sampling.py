"""Running the sampler and judging its convergence (one place for every Bayesian model)."""

from __future__ import annotations

import logging
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import arviz as az
import numpy as np
import pymc as pm
from threadpoolctl import threadpool_limits

from casemix.bayes.settings import SamplerSettings, default_sampler
from casemix.exceptions import SamplingWarning

__all__ = ["Convergence", "SamplerSettings", "check_convergence", "default_sampler", "sample"]

#: Thresholds of Vehtari et al. (2021): rank-normalised split R-hat below 1.01 and bulk and
#: tail effective sample sizes of at least 100 per chain.
RHAT_MAX = 1.01
ESS_PER_CHAIN_MIN = 100


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
        Name of the model in the warning.

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
        warnings.warn(f"The {what} did not pass its convergence checks: "
                      f"{'; '.join(problems)}. Increase draws/tune or target_accept before "
                      "using its summaries.", SamplingWarning, stacklevel=2)
    return result


def _extreme(dataset: Any, reducer: Any) -> float:
    values = [reducer(np.asarray(dataset[name])) for name in dataset.data_vars]
    return float(reducer(values)) if values else float("nan")
