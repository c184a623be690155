"""Settings of the Bayesian models (sampler and priors) as plain data.

This module imports neither PyMC nor ArviZ, so that settings can be built, stored in a run
folder and read back without loading the sampler.
"""

from __future__ import annotations

import importlib.util
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from casemix._params import check_in_range, check_one_of
from casemix.exceptions import ParameterError

if TYPE_CHECKING:
    import pytensor.tensor as pt

__all__ = ["METHOD_DEFAULTS", "SAMPLERS", "Priors", "SamplerSettings", "default_sampler"]

SAMPLERS = ("auto", "nutpie", "pymc")


def default_sampler() -> str:
    """``nutpie`` when it is installed (Rust NUTS, chains in threads, faster adaptation),
    otherwise PyMC's own NUTS."""
    return "nutpie" if importlib.util.find_spec("nutpie") else "pymc"


#: Sampler defaults that differ from :class:`SamplerSettings` per method. The one-stage model
#: (``bayes-joint``) is Laplace-preconditioned, so its posterior is close to a standard normal:
#: a short warm-up adapts it (300, nutpie's own default), and the acceptance rate that is
#: optimal for HMC on such targets (0.651, Beskos et al. 2013, Bernoulli 19:1501-34) halves
#: the leapfrog steps per draw against 0.8 (7 against 15 at 340 municipalities), with no
#: divergences. Each gradient is a pass over every cell, so it runs two long chains (two
#: cores) rather than four short ones: 2,500 draws keep the largest R-hat of the demo
#: cohort's 340 municipalities below 1.01 (1,500 draws at 0.8 gave 1.009 and 1.010 for two
#: seeds; 3,000 at 0.65 gave 1.003). Timings in ``benchmarks/bench_bayes_joint.py``.
METHOD_DEFAULTS: dict[str, dict[str, Any]] = {
    "bayes-joint": {"chains": 2, "tune": 300, "draws": 2500, "target_accept": 0.65},
}


@dataclass(frozen=True)
class SamplerSettings:
    """How to run NUTS.

    Parameters
    ----------
    draws, tune : int
        Kept draws and warm-up (adaptation) iterations per chain.
    chains : int
        Independent chains; R-hat needs at least 2, and 4 make it a reliable check (Vehtari
        et al. 2021). They run in parallel on the cores.
    seed : int
        Seed of everything random in the sampler: the same seed gives the same draws.
    sampler : {"auto", "nutpie", "pymc"}
        NUTS implementation; ``auto`` takes :func:`default_sampler`.
    target_accept : float
        Target acceptance rate of the step-size adaptation; raise it (0.95, 0.99) when
        divergences are reported.
    progressbar : bool
        Show sampling progress.

    Notes
    -----
    The defaults are those of the unit-level models (``bayes``, ``bym2``, unit x year); the
    one-stage model has its own (:data:`METHOD_DEFAULTS`, :meth:`for_method`). Four chains of
    1,000 draws bring the largest of the 340 R-hats of the demo cohort's municipality level
    to 1.007 (with two chains 1.013, noise of a maximum over many parameters, not a failure
    to mix).
    """

    draws: int = 1000
    tune: int = 1000
    chains: int = 4
    seed: int = 20261123
    sampler: str = "auto"
    target_accept: float = 0.9
    progressbar: bool = False

    def __post_init__(self) -> None:
        check_one_of("sampler", self.sampler, SAMPLERS, owner="SamplerSettings")
        check_in_range("target_accept", self.target_accept, 0.5, 0.999, owner="SamplerSettings")
        if self.chains < 1 or self.draws < 1 or self.tune < 0:
            raise ParameterError(f"SamplerSettings needs chains >= 1, draws >= 1 and tune >= 0; "
                             f"got chains={self.chains}, draws={self.draws}, tune={self.tune}.")

    def to_dict(self) -> dict[str, Any]:
        """Plain values (JSON) of everything that determines the draws; :meth:`from_dict`
        reads them back. ``progressbar`` is a display choice and is left out."""
        d = asdict(self)
        d.pop("progressbar")
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SamplerSettings:
        """Settings from :meth:`to_dict` output."""
        return cls(**d)

    @classmethod
    def for_method(cls, method: str, **options: Any) -> SamplerSettings:
        """Settings with the defaults of ``method`` (:data:`METHOD_DEFAULTS`), overridden by
        ``options``."""
        return cls(**{**METHOD_DEFAULTS.get(method, {}), **options})

    @property
    def backend(self) -> str:
        """The sampler actually used."""
        return default_sampler() if self.sampler == "auto" else self.sampler



@dataclass(frozen=True)
class Priors:
    """Weakly informative priors shared by the Bayesian models.

    Parameters
    ----------
    mu_sd : float, default 1
        $\\mu \\sim N(0, \\text{mu\\_sd}^2)$: the national level of
        $\\log\\theta$ (two-stage and trend models; the logit level in the binomial
        variant). With E calibrated to the nation, $\\mu$ is near 0; a standard normal
        admits average ratios from 0.14 to 7.
    tau_sd : float, default 1
        Between-unit SD $\\tau \\sim \\text{Half-Normal}(\\text{tau\\_sd})$: 95 % prior
        mass below 1.96 on the log scale, a 50-fold spread of true ratios, far wider than
        regional differences in perinatal outcomes (weakly informative, Gelman 2006).
    tau_precision_gamma : tuple of float, optional
        Instead of the half-normal, the classic BUGS prior
        $1/\\tau^2 \\sim \\text{Gamma}(a, b)$ (e.g. ``(0.001, 0.001)``); only for
        reproducing published BUGS analyses, it is not uninformative (Gelman 2006).
    coef_sd : float, default 2.5
        Case-mix coefficients (one-stage model) and covariate effects (BYM2):
        $\\beta_j \\sim N(0, \\text{coef\\_sd}^2)$; odds ratios up to about 130 are
        a priori plausible, and with national data the prior has no influence.
    intercept_sd : float, default 5
        Intercept of the one-stage and BYM2 models: $\\beta_0 \\sim N(0,
        \\text{intercept\\_sd}^2)$.
    rho_beta : tuple of float, default (0.5, 0.5)
        BYM2 share of spatially structured variance $\\rho \\sim \\text{Beta}(a, b)$
        (Riebler et al. 2016 also propose a PC prior; the Beta(0.5, 0.5) is the one used by
        the Stan case study of Morris et al. 2019).
    trend_sd : float, default 0.5
        Unit x year model: SD of year-to-year changes (random walk) or of unit-year
        deviations, $\\sigma \\sim \\text{Half-Normal}(\\text{trend\\_sd})$.

    Notes
    -----
    Gelman A. Prior distributions for variance parameters in hierarchical models. Bayesian
    Analysis 2006;1:515-34. Riebler A, Sorbye SH, Simpson D, Rue H. An intuitive Bayesian
    spatial model for disease mapping that accounts for scaling. Stat Methods Med Res
    2016;25:1145-65.
    """

    mu_sd: float = 1.0
    tau_sd: float = 1.0
    tau_precision_gamma: tuple[float, float] | None = None
    coef_sd: float = 2.5
    intercept_sd: float = 5.0
    rho_beta: tuple[float, float] = (0.5, 0.5)
    trend_sd: float = 0.5

    def to_dict(self) -> dict[str, Any]:
        """Plain values (JSON); :meth:`from_dict` reads them back."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Priors:
        """Priors from :meth:`to_dict` output."""
        values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v
                                  for k, v in d.items()}
        return cls(**values)

    def tau(self, name: str = "tau") -> pt.TensorVariable:
        """Between-unit SD in the current model context."""
        import pymc as pm
        import pytensor.tensor as pt

        if self.tau_precision_gamma is None:
            return pm.HalfNormal(name, sigma=self.tau_sd)
        a, b = self.tau_precision_gamma
        precision = pm.Gamma(f"{name}_precision", alpha=a, beta=b)
        return pm.Deterministic(name, 1 / pt.sqrt(precision))
