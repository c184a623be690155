"""BYM2 spatial smoothing of unit ratios on an adjacency graph (Riebler et al. 2016)."""

from __future__ import annotations

from collections.abc import Sequence

import arviz as az
import numpy as np
import numpy.typing as npt
import pymc as pm
import pytensor.tensor as pt

from casemix.bayes.adjacency import Adjacency
from casemix.bayes.sampling import check_convergence, sample
from casemix.bayes.settings import Priors, SamplerSettings
from casemix.bayes.summary import BayesFit, posterior_draws, summarise_units
from casemix.bayes.two_stage import _check_inputs

__all__ = ["bym2_model", "fit_bym2"]

#: SD of each component's sum of ICAR effects per region: the soft sum-to-zero constraint of
#: Morris et al. (2019).
SUM_TO_ZERO_SD = 0.001


def bym2_model(observed: npt.ArrayLike, expected: npt.ArrayLike, adjacency: Adjacency, *,
               covariates: npt.ArrayLike | None = None,
               covariate_names: Sequence[str] | None = None,
               priors: Priors | None = None) -> pm.Model:
    """The PyMC model of BYM2 with Poisson counts.

    Parameters
    ----------
    observed, expected : array-like, shape (K,)
        Events and expected events per region, in the order of ``adjacency.units``.
    adjacency : Adjacency
        Neighbour graph; may be disconnected and may have islands.
    covariates : array-like, shape (K, p), optional
        Area-level covariates (their coefficients are ``beta``).
    covariate_names : sequence of str, optional
    priors : Priors, optional
        ``intercept_sd``, ``coef_sd``, ``tau_sd`` (for :math:`\\sigma`) and ``rho_beta``.

    Returns
    -------
    pymc.Model
        Deterministic ``theta`` (each region's relative risk O/E) and ``spatial_share``.

    Notes
    -----
    :math:`O_i \\sim \\text{Poisson}(E_i\\theta_i)`,
    :math:`\\log\\theta_i = \\beta_0 + x_i^\\top\\beta + \\sigma\\big(\\sqrt{\\rho/s_{c(i)}}\\,
    \\phi_i + \\sqrt{1-\\rho}\\,\\varepsilon_i\\big)`, :math:`\\varepsilon_i \\sim N(0, 1)`,
    :math:`\\phi` an intrinsic CAR, :math:`p(\\phi) \\propto \\exp(-\\tfrac12
    \\sum_{i\\sim j}(\\phi_i-\\phi_j)^2)`. Disconnected graphs follow Freni-Sterrantino,
    Ventrucci & Rue (2018): each connected component has its own sum-to-zero constraint
    and its own scaling factor :math:`s_c` (:func:`icar_scaling_factor`), and an island's
    :math:`\\phi_i` is :math:`N(0, 1)`, so its effect is unstructured with the same total
    variance :math:`\\sigma^2`.
    Riebler A, Sorbye SH, Simpson D, Rue H. An intuitive Bayesian spatial model for disease
    mapping that accounts for scaling. Stat Methods Med Res 2016;25:1145-65. Freni-Sterrantino
    A, Ventrucci M, Rue H. A note on intrinsic conditional autoregressive models for
    disconnected graphs. Spatial and Spatio-temporal Epidemiology 2018;26:25-34. Morris M,
    Wheeler-Martin K, Simpson D, Mooney SJ, Gelman A, DiMaggio C. Bayesian hierarchical
    spatial models: implementing the Besag York Mollie model in Stan. Spatial and
    Spatio-temporal Epidemiology 2019;31:100301.
    """
    priors = priors or Priors()
    O, E, _ = _check_inputs(observed, expected, None, "poisson")
    if len(O) != adjacency.n:
        raise ValueError(f"bym2_model: {len(O)} counts for {adjacency.n} regions.")
    components = adjacency.components()
    scale = adjacency.scaling_factors()
    sizes = np.bincount(components)
    island = sizes[components] == 1
    coords = {"unit": list(adjacency.units)}
    X = None
    if covariates is not None:
        X = np.asarray(covariates, dtype=float).reshape(len(O), -1)
        coords["covariate"] = list(covariate_names or [f"x{j}" for j in range(X.shape[1])])
    with pm.Model(coords=coords) as model:
        beta0 = pm.Normal("beta0", 0.0, priors.intercept_sd)
        lp = beta0 + (pt.dot(X, pm.Normal("beta", 0.0, priors.coef_sd, dims="covariate"))
                      if X is not None else 0.0)
        sigma = pm.HalfNormal("sigma", priors.tau_sd)
        rho = pm.Beta("rho", *priors.rho_beta)
        phi = pm.Flat("phi", dims="unit")
        _icar_potential(phi, adjacency.edges, components, island)
        eps = pm.Normal("eps", 0.0, 1.0, dims="unit")
        effect = sigma * (pt.sqrt(rho / scale) * phi + pt.sqrt(1 - rho) * eps)
        log_theta = lp + effect
        pm.Poisson("O", E * pt.exp(log_theta), observed=O, dims="unit")
        pm.Deterministic("theta", pt.exp(log_theta), dims="unit")
    return model


def _icar_potential(phi: pt.TensorVariable, edges: npt.NDArray[np.intp],
                    components: npt.NDArray[np.intp], island: npt.NDArray[np.bool_]) -> None:
    """Pairwise-difference ICAR density, soft sum-to-zero per component, N(0, 1) islands."""
    if len(edges):
        diff = phi[edges[:, 0]] - phi[edges[:, 1]]
        pm.Potential("icar", -0.5 * pt.sum(diff**2))
    connected = np.unique(components[~island])
    if len(connected):
        sizes = np.bincount(components)[connected]
        onehot = (components[None, :] == connected[:, None]).astype(float)
        sums = pt.dot(onehot, phi)
        pm.Potential("sum_to_zero", pm.logp(pm.Normal.dist(0.0, SUM_TO_ZERO_SD * sizes), sums))
    if island.any():
        pm.Potential("islands", pm.logp(pm.Normal.dist(0.0, 1.0), phi[np.flatnonzero(island)]))


def fit_bym2(observed: npt.ArrayLike, expected: npt.ArrayLike, adjacency: Adjacency, *,
             covariates: npt.ArrayLike | None = None,
             covariate_names: Sequence[str] | None = None, priors: Priors | None = None,
             settings: SamplerSettings | None = None, level: float = 0.95) -> BayesFit:
    """Fit BYM2 and summarise each region's relative risk.

    Parameters
    ----------
    observed, expected, adjacency, covariates, covariate_names, priors
        See :func:`bym2_model`.
    settings : SamplerSettings, optional
    level : float

    Returns
    -------
    BayesFit
        ``units`` with the shrinkage columns; ``parameters`` summarises ``beta0``, ``beta``,
        ``sigma`` and ``rho``.
    """
    settings = settings or SamplerSettings()
    model = bym2_model(observed, expected, adjacency, covariates=covariates,
                       covariate_names=covariate_names, priors=priors)
    idata = sample(model, settings)
    names = ["beta0", *(["beta"] if covariates is not None else []), "sigma", "rho"]
    convergence = check_convergence(idata, [*names, "theta"], what="BYM2 model")
    table = summarise_units(posterior_draws(idata, "theta"), adjacency.units, level=level)
    parameters = az.summary(idata, var_names=names, hdi_prob=level)
    return BayesFit(idata, table, parameters, convergence, "bym2")
