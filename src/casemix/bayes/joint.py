"""One-stage Bayesian model: case-mix coefficients and unit effects estimated together."""

from __future__ import annotations

from collections.abc import Sequence

import arviz as az
import numpy as np
import numpy.typing as npt
import pymc as pm
import pytensor.tensor as pt
from scipy import sparse
from scipy.special import expit

from casemix.bayes.joint_density import JointDensity
from casemix.bayes.sampling import check_convergence, sample, sample_function
from casemix.bayes.settings import Priors, SamplerSettings
from casemix.bayes.summary import BayesFit, posterior_draws, summarise_units
from casemix.core.glmm import fit_glmm_binomial

__all__ = ["fit_joint", "joint_model", "laplace_start"]

#: Posterior draws used for the predicted/expected ratios (each costs one pass over the cells).
RATIO_DRAWS = 500


def laplace_start(X: npt.NDArray[np.float64], pattern: npt.NDArray[np.intp],
                  unit: npt.NDArray[np.intp], y: npt.NDArray[np.float64],
                  m: npt.NDArray[np.float64], n_units: int
                  ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], float]:
    """Mode and Cholesky factor of the Laplace covariance of (beta, u), and the GLMM sigma.

    The sampler works on $z$ with $(\\beta, u) = \\hat m + L z$: an affine change
    of variables that leaves the posterior unchanged but makes it nearly isotropic, so that
    NUTS takes few leapfrog steps (about 7 per draw at a million births, against hundreds
    with a diagonal mass matrix).
    """
    fit = fit_glmm_binomial(X[pattern], unit, y, m, n_units=n_units)
    mode = np.r_[fit.coef, fit.modes]
    p = expit((X @ fit.coef)[pattern] + fit.modes[unit])
    w = m * p * (1 - p)
    per_pattern = np.bincount(pattern, w, minlength=len(X))
    H_bb = (X * per_pattern[:, None]).T @ X
    S = sparse.csr_matrix((w, (pattern, unit)), shape=(len(X), n_units))
    H_bu = np.asarray((S.T @ X).T)
    H_uu = np.diag(np.bincount(unit, w, minlength=n_units) + 1 / max(fit.sigma, 1e-3) ** 2)
    H = np.block([[H_bb, H_bu], [H_bu.T, H_uu]])
    chol = np.linalg.cholesky(np.linalg.inv(H))
    return mode, chol, float(fit.sigma)


def joint_model(X: npt.NDArray[np.float64], pattern: npt.NDArray[np.intp],
                unit: npt.NDArray[np.intp], y: npt.NDArray[np.float64],
                m: npt.NDArray[np.float64], *, units: Sequence[str],
                names: Sequence[str], priors: Priors | None = None,
                start: tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None = None
                ) -> pm.Model:
    """The PyMC model of the one-stage analysis on compressed cells.

    Parameters
    ----------
    X : ndarray, shape (P, p)
        Design matrix of the covariate patterns (first column the intercept).
    pattern, unit : ndarray of int, shape (C,)
        Covariate pattern and unit of each cell (pattern x unit).
    y, m : ndarray, shape (C,)
        Events and births per cell.
    units, names : sequence of str
        Unit labels and coefficient names.
    priors : Priors, optional
    start : (mode, chol), optional
        Laplace preconditioning (:func:`laplace_start`); identity when omitted.

    Returns
    -------
    pymc.Model
        Deterministics ``beta`` (dims ``coef``) and ``u`` (dims ``unit``); free ``tau``.

    Notes
    -----
    $y_c \\sim \\text{Bin}(m_c, \\text{logit}^{-1}(x_{p(c)}^\\top\\beta + u_{k(c)}))$,
    $u_k \\sim N(0, \\tau^2)$, $\\beta_0 \\sim N(0, 5^2)$,
    $\\beta_j \\sim N(0, 2.5^2)$, $\\tau \\sim \\text{Half-Normal}(1)$ (defaults of
    :class:`Priors`). The binomial likelihood of a cell equals the product of its births'
    Bernoulli likelihoods up to a constant, so the posterior is that of the birth-level model.
    The likelihood enters as its kernel $\\sum_c y_c\\eta_c - m_c\\log(1+e^{\\eta_c})$
    (the binomial coefficients are constant).
    """
    priors = priors or Priors()
    n_coef, n_units = X.shape[1], len(units)
    size = n_coef + n_units
    mode, chol = start if start is not None else (np.zeros(size), np.eye(size))
    prior_sd = np.r_[priors.intercept_sd, np.full(n_coef - 1, priors.coef_sd)]
    with pm.Model(coords={"coef": list(names), "unit": list(units)}) as model:
        z = pm.Flat("z", shape=size)
        params = mode + pt.dot(chol, z)
        beta = pm.Deterministic("beta", params[:n_coef], dims="coef")
        u = pm.Deterministic("u", params[n_coef:], dims="unit")
        tau = priors.tau()
        pm.Potential("prior_beta", pm.logp(pm.Normal.dist(0.0, prior_sd), beta).sum())
        pm.Potential("prior_u", pm.logp(pm.Normal.dist(0.0, tau), u).sum())
        eta = pt.dot(X, beta)[pattern] + u[unit]
        pm.Potential("loglik", pt.dot(y, eta) - pt.dot(m, pt.softplus(eta)))
    return model


def fit_joint(X: npt.NDArray[np.float64], pattern: npt.NDArray[np.intp],
              unit: npt.NDArray[np.intp], y: npt.NDArray[np.float64],
              m: npt.NDArray[np.float64], *, units: Sequence[str], names: Sequence[str],
              priors: Priors | None = None, settings: SamplerSettings | None = None,
              level: float = 0.95) -> BayesFit:
    """Fit the one-stage model and summarise each unit's predicted/expected ratio.

    Parameters
    ----------
    X, pattern, unit, y, m, units, names, priors
        See :func:`joint_model`.
    settings : SamplerSettings, optional
        Default ``SamplerSettings.for_method("bayes-joint")``.
    level : float

    Returns
    -------
    BayesFit
        ``units``: shrinkage columns of $\\theta_k = P_k/E_k$ with
        $P_k = \\sum_{c \\in k} m_c\\,\\text{logit}^{-1}(x_c^\\top\\beta + u_k)$ and
        $E_k = \\sum_{c \\in k} m_c\\,\\text{logit}^{-1}(x_c^\\top\\beta)$, evaluated for
        each posterior draw (at most 500, evenly thinned), so that case-mix uncertainty is
        carried into the unit ratios. ``extra`` holds the posterior mean and covariance of
        ``beta`` (``coef``, ``cov``).

    Notes
    -----
    The ratio is the predicted/expected ratio of CMS hospital profiling (Krumholz HM et al.
    Circulation 2006;113:1683-92), here with its full posterior. Sampling is preconditioned
    by the Laplace approximation (:func:`laplace_start`). With nutpie the density is the
    compiled :class:`casemix.bayes.joint_density.JointDensity` (the same posterior; two
    chains in parallel run about 1.7 times faster on it than on the PyMC graph); with PyMC's
    sampler it is :func:`joint_model`.
    """
    settings = settings or SamplerSettings.for_method("bayes-joint")
    n_units = len(units)
    start = laplace_start(X, pattern, unit, y, m, n_units)
    if settings.backend == "nutpie":
        density = JointDensity.build(X, pattern, unit, y, m, *start[:2], priors=priors)
        idata = sample_function(
            density, density.expand, density.start(start[2]),
            shapes={"beta": (len(names),), "u": (n_units,), "tau": ()},
            coords={"coef": list(names), "unit": list(units)},
            dims={"beta": ("coef",), "u": ("unit",)}, settings=settings)
    else:
        model = joint_model(X, pattern, unit, y, m, units=units, names=names, priors=priors,
                            start=start[:2])
        idata = sample(model, settings)
    convergence = check_convergence(idata, ["beta", "u", "tau"], what="one-stage model")
    beta, u = posterior_draws(idata, "beta"), posterior_draws(idata, "u")
    keep = np.unique(np.linspace(0, len(beta) - 1, min(RATIO_DRAWS, len(beta))).astype(int))
    theta = _ratio_draws(X, pattern, unit, m, beta[keep], u[keep], n_units)
    table = summarise_units(theta, units, level=level)
    parameters = az.summary(idata, var_names=["beta", "tau"], hdi_prob=level)
    return BayesFit(idata, table, parameters, convergence, "one-stage binomial",
                    extra={"coef": beta.mean(axis=0), "cov": np.cov(beta, rowvar=False),
                           "laplace_sigma": start[2]})


def _ratio_draws(X: npt.NDArray[np.float64], pattern: npt.NDArray[np.intp],
                 unit: npt.NDArray[np.intp], m: npt.NDArray[np.float64],
                 beta: npt.NDArray[np.float64], u: npt.NDArray[np.float64], n_units: int
                 ) -> npt.NDArray[np.float64]:
    """P/E per unit for each draw of (beta, u)."""
    out = np.empty((len(beta), n_units))
    for d in range(len(beta)):
        lp = (X @ beta[d])[pattern]
        expected = np.bincount(unit, m * expit(lp), minlength=n_units)
        predicted = np.bincount(unit, m * expit(lp + u[d][unit]), minlength=n_units)
        out[d] = predicted / expected
    return out
