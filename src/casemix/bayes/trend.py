"""Unit x year model: each year's ratio borrows strength from the unit's other years."""

from __future__ import annotations

from collections.abc import Sequence

import arviz as az
import numpy as np
import numpy.typing as npt
import pandas as pd
import pymc as pm
import pytensor.tensor as pt

from casemix._params import check_one_of
from casemix.bayes.sampling import check_convergence, sample
from casemix.bayes.settings import Priors, SamplerSettings
from casemix.bayes.summary import BayesFit, posterior_draws, summarise_units
from casemix.bayes.two_stage import CENTRED_MIN_EVENTS, _check_inputs

__all__ = ["TRENDS", "fit_unit_year", "unit_year_model"]

TRENDS = ("rw1", "shared")


def unit_year_model(observed: npt.ArrayLike, expected: npt.ArrayLike, unit: Sequence[str],
                    year: Sequence[int], *, trend: str = "rw1",
                    priors: Priors | None = None, centred: bool | None = None) -> pm.Model:
    """The PyMC model of unit-year ratios.

    Parameters
    ----------
    observed, expected : array-like, shape (N,)
        Events and expected events per unit-year (long format; missing unit-years allowed).
    unit, year : sequence, shape (N,)
        Unit label and year of each row.
    trend : {"rw1", "shared"}
        ``rw1``: each unit follows its own first-order random walk over the years;
        ``shared``: a stable unit level plus independent unit-year deviations.
    priors : Priors, optional
    centred : bool, optional
        Parametrisation of the unit levels; default: centred when the median unit has at
        least 100 events over all years (informative data; non-centred otherwise).

    Returns
    -------
    pymc.Model
        Deterministic ``theta`` (one per input row, dimension ``row``).

    Notes
    -----
    Both trends share $O_{kt} \\sim \\text{Poisson}(E_{kt}\\theta_{kt})$ and national
    year effects $\\gamma_t \\sim N(0, \\sigma_\\gamma^2)$ constrained to sum to zero
    (all units move together, e.g. after a change in registration; the constraint separates
    them from $\\mu$).

    ``rw1``: $\\log\\theta_{kt} = \\mu + \\gamma_t + w_{kt}$, with
    $w_{kt} = a_k + r_{kt} - \\bar r_k$, $a_k \\sim N(0, \\tau^2)$ (the unit's
    mean level), $r_{kt} = r_{k,t-1} + \\sigma\\,\\epsilon_{kt}$:
    a year is shrunk towards its neighbouring years, so a unit's trend is estimated
    smoothly and its latest year borrows from the years before it.

    ``shared``: $\\log\\theta_{kt} = \\mu + \\gamma_t + u_k + \\delta_{kt}$,
    $u_k \\sim N(0, \\tau^2)$, $\\delta_{kt} \\sim N(0, \\sigma^2)$: every year
    is shrunk towards the unit's multi-year level.

    Hyperpriors: $\\tau \\sim \\text{Half-Normal}(\\text{tau\\_sd})$,
    $\\sigma, \\sigma_\\gamma \\sim \\text{Half-Normal}(\\text{trend\\_sd})$,
    $\\mu \\sim N(0, \\text{mu\\_sd}^2)$. Knorr-Held L. Bayesian modelling of
    inseparable space-time variation in disease risk. Stat Med 2000;19:2555-67 (types of
    interaction); Bernardinelli L et al. Bayesian analysis of space-time variation in disease
    risk. Stat Med 1995;14:2433-43.
    """
    check_one_of("trend", trend, TRENDS, owner="unit_year_model")
    priors = priors or Priors()
    O, E, _ = _check_inputs(observed, expected, None, "poisson")
    k, units = pd.factorize(pd.Series(unit, dtype=str))
    t, years = pd.factorize(pd.Series(year), sort=True)
    if len(k) != len(O) or len(t) != len(O):
        raise ValueError("unit_year_model: observed, expected, unit and year need one length.")
    coords = {"unit": list(units), "year": [str(y) for y in years], "row": np.arange(len(O))}
    K, T = len(units), len(years)
    if centred is None:
        centred = bool(np.median(np.bincount(k, O)) >= CENTRED_MIN_EVENTS)
    with pm.Model(coords=coords) as model:
        mu = pm.Normal("mu", 0.0, priors.mu_sd)
        sigma_year = pm.HalfNormal("sigma_year", priors.trend_sd)
        gamma = pm.Deterministic(  # non-centred: few years make sigma_year vague
            "gamma", sigma_year * pm.ZeroSumNormal("gamma_z", sigma=1.0, dims="year"),
            dims="year")
        tau = priors.tau()
        sigma = pm.HalfNormal("sigma", priors.trend_sd)
        if centred:
            level = pm.Normal("level", mu, tau, dims="unit")
        else:
            level = mu + tau * pm.Normal("level_z", 0.0, 1.0, dims="unit")
        if trend == "rw1":
            steps = pm.Normal("step_z", 0.0, 1.0, shape=(K, max(T - 1, 0)))
            walk = pt.concatenate([pt.zeros((K, 1)), pt.cumsum(sigma * steps, axis=1)], axis=1)
            walk = walk - walk.mean(axis=1, keepdims=True)  # level = the unit's mean year
            effect = level[:, None] + walk
        else:
            dev = sigma * pm.Normal("dev_z", 0.0, 1.0, shape=(K, T))
            effect = level[:, None] + dev
        log_theta = gamma[t] + effect[k, t]
        pm.Poisson("O", E * pt.exp(log_theta), observed=O, dims="row")
        pm.Deterministic("theta", pt.exp(log_theta), dims="row")
    return model


def fit_unit_year(observed: npt.ArrayLike, expected: npt.ArrayLike, unit: Sequence[str],
                  year: Sequence[int], *, trend: str = "rw1", priors: Priors | None = None,
                  settings: SamplerSettings | None = None, level: float = 0.95) -> BayesFit:
    """Fit the unit x year model and summarise every unit-year.

    Parameters
    ----------
    observed, expected, unit, year, trend, priors
        See :func:`unit_year_model`.
    settings : SamplerSettings, optional
    level : float

    Returns
    -------
    BayesFit
        ``units`` with columns ``unit``, ``year`` and the shrinkage columns (ranks within
        each year), in the order of the input rows.
    """
    settings = settings or SamplerSettings()
    model = unit_year_model(observed, expected, unit, year, trend=trend, priors=priors)
    idata = sample(model, settings)
    names = ["mu", "tau", "sigma", "sigma_year"]
    convergence = check_convergence(idata, [*names, "theta"], what=f"unit x year ({trend})")
    years = pd.factorize(pd.Series(year), sort=True)[0]
    table = summarise_units(posterior_draws(idata, "theta"), list(map(str, unit)),
                            level=level, groups=years)
    table.insert(1, "year", np.asarray(year))
    parameters = az.summary(idata, var_names=names, hdi_prob=level)
    return BayesFit(idata, table, parameters, convergence, f"unit x year {trend}")
