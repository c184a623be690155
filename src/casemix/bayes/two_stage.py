"""Two-stage hierarchical model on aggregated data: each unit's (O, E), or (O, E, n)."""

from __future__ import annotations

from collections.abc import Sequence

import arviz as az
import numpy as np
import numpy.typing as npt
import pymc as pm
import pytensor.tensor as pt
from scipy.special import logit

from casemix._params import check_one_of
from casemix.bayes.sampling import check_convergence, sample
from casemix.bayes.settings import Priors, SamplerSettings
from casemix.bayes.summary import BayesFit, posterior_draws, summarise_units
from casemix.exceptions import DataError

__all__ = ["LIKELIHOODS", "fit_two_stage", "two_stage_model"]

LIKELIHOODS = ("poisson", "binomial")
#: Centred parametrisation when the median unit has at least this many events (data then
#: dominate the prior and the non-centred form samples badly; Betancourt & Girolami 2015).
CENTRED_MIN_EVENTS = 100


def two_stage_model(observed: npt.ArrayLike, expected: npt.ArrayLike, *,
                    births: npt.ArrayLike | None = None, likelihood: str = "poisson",
                    units: Sequence[str] | None = None, priors: Priors | None = None,
                    centred: bool | None = None) -> pm.Model:
    """The PyMC model of the two-stage analysis.

    Parameters
    ----------
    observed, expected : array-like, shape (K,)
        Observed events and expected events (from the case-mix model) per unit.
    births : array-like, shape (K,), optional
        Births per unit; required by the binomial likelihood.
    likelihood : {"poisson", "binomial"}
    units : sequence of str, optional
        Unit labels (coordinates of the ``unit`` dimension).
    priors : Priors, optional
    centred : bool, optional
        Parametrisation of the unit effects; default: centred when the median unit has at
        least 100 events.

    Returns
    -------
    pymc.Model
        With the deterministic ``theta`` (each unit's true O/E).

    Notes
    -----
    Poisson: $O_k \\sim \\text{Poisson}(E_k\\theta_k)$,
    $\\log\\theta_k \\sim N(\\mu, \\tau^2)$.
    Binomial (proportions, for indicators that are not rare):
    $O_k \\sim \\text{Bin}(n_k, p_k)$,
    $\\text{logit}\\,p_k = \\text{logit}(E_k/n_k) + b_k$, $b_k \\sim N(\\mu,
    \\tau^2)$, and $\\theta_k = n_k p_k / E_k$. With $E_k = n_k/2$ this is the
    random-effects logistic model of the BUGS example "Surgical". Priors: :class:`Priors`.
    Spiegelhalter DJ, Abrams KR, Myles JP. Bayesian approaches to clinical trials and
    health-care evaluation. Wiley 2004, ch. 10 (institutional comparisons).
    """
    check_one_of("likelihood", likelihood, LIKELIHOODS, owner="two_stage_model")
    priors = priors or Priors()
    O, E, n = _check_inputs(observed, expected, births, likelihood)
    labels = list(units) if units is not None else [str(i) for i in range(len(O))]
    centred = bool(np.median(O) >= CENTRED_MIN_EVENTS) if centred is None else centred
    with pm.Model(coords={"unit": labels}) as model:
        mu = pm.Normal("mu", 0.0, priors.mu_sd)
        tau = priors.tau()
        if centred:
            b = pm.Normal("b", mu, tau, dims="unit")
        else:
            z = pm.Normal("z", 0.0, 1.0, dims="unit")
            b = pm.Deterministic("b", mu + tau * z, dims="unit")
        if likelihood == "poisson":
            pm.Poisson("O", E * pt.exp(b), observed=O, dims="unit")
            pm.Deterministic("theta", pt.exp(b), dims="unit")
        else:
            assert n is not None
            p = pm.math.invlogit(logit(E / n) + b)
            pm.Binomial("O", n=n, p=p, observed=O, dims="unit")
            pm.Deterministic("theta", n * p / E, dims="unit")
    return model


def fit_two_stage(observed: npt.ArrayLike, expected: npt.ArrayLike, *,
                  births: npt.ArrayLike | None = None, likelihood: str = "poisson",
                  units: Sequence[str] | None = None, priors: Priors | None = None,
                  settings: SamplerSettings | None = None, level: float = 0.95,
                  centred: bool | None = None) -> BayesFit:
    """Fit the two-stage model and summarise each unit's posterior.

    Parameters
    ----------
    observed, expected, births, likelihood, units, priors, centred
        See :func:`two_stage_model`.
    settings : SamplerSettings, optional
    level : float
        Credible level of the intervals.

    Returns
    -------
    BayesFit
        ``units`` holds the shrinkage columns (posterior median O/E, credible interval,
        ``prob_above`` = $P(\\theta_k > 1)$, rank interval).

    Examples
    --------
    >>> from casemix.bayes import SamplerSettings, fit_two_stage
    >>> fit = fit_two_stage([30, 52, 41], [40.2, 45.0, 41.3],
    ...                     settings=SamplerSettings(draws=200, tune=200))  # doctest: +SKIP
    >>> fit.units[["unit", "shrunk_oe", "prob_above"]]  # doctest: +SKIP
    """
    settings = settings or SamplerSettings()
    model = two_stage_model(observed, expected, births=births, likelihood=likelihood,
                            units=units, priors=priors, centred=centred)
    idata = sample(model, settings)
    convergence = check_convergence(idata, ["mu", "tau", "theta"], what="two-stage model")
    labels = list(model.coords["unit"])
    table = summarise_units(posterior_draws(idata, "theta"), labels, level=level)
    parameters = az.summary(idata, var_names=["mu", "tau"], hdi_prob=level)
    return BayesFit(idata, table, parameters, convergence, f"two-stage {likelihood}")


def _check_inputs(observed: npt.ArrayLike, expected: npt.ArrayLike,
                  births: npt.ArrayLike | None, likelihood: str
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    O = np.asarray(observed, dtype=float)
    E = np.asarray(expected, dtype=float)
    if O.shape != E.shape or O.ndim != 1 or len(O) < 2:
        raise DataError(f"observed and expected need the same length >= 2; got {O.shape} and "
                        f"{E.shape}.")
    _positive("expected", E)
    if (O < 0).any() or np.any(np.round(O) != O):
        bad = (O < 0) | (np.round(O) != O)
        raise DataError(f"observed must be whole counts >= 0: {int(bad.sum())} units have "
                        f"e.g. {O[bad][0]:g}.")
    if likelihood == "poisson":
        return O, E, None
    if births is None:
        raise DataError("The binomial likelihood needs the births per unit (births=).")
    n = np.asarray(births, dtype=float)
    _positive("births", n)
    over = (n < O) | (n <= E)
    if over.any():
        raise DataError(f"observed and expected must be below births: {int(over.sum())} units "
                        "violate it.")
    return O, E, n


def _positive(name: str, values: np.ndarray) -> None:
    bad = ~(values > 0) | ~np.isfinite(values)
    if bad.any():
        raise DataError(f"{name} must be positive and finite: {int(bad.sum())} units have "
                        f"e.g. {values[bad][0]!r}.")

