"""Posterior draws of unit ratios to the tidy shrinkage columns of the unit table."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import arviz as az
import numpy as np
import numpy.typing as npt
import pandas as pd

from casemix.bayes.sampling import Convergence
from casemix.core.ranks import rank_summary

__all__ = ["BayesFit", "posterior_draws", "summarise_units"]


@dataclass
class BayesFit:
    """Result of one Bayesian model.

    Attributes
    ----------
    idata : arviz.InferenceData
        Posterior draws (``posterior``) and sampler statistics (``sample_stats``).
    units : pandas.DataFrame
        One row per unit (per unit and year for the trend model): ``unit`` (``year``), then
        ``shrunk_oe`` (posterior median O/E), ``shrunk_lower``, ``shrunk_upper`` (equal-tailed
        credible interval), ``prob_above`` ($P(\\theta > 1 \\mid \\text{data})$),
        ``rank``, ``rank_lower``, ``rank_upper`` (rank 1 = lowest ratio) and
        ``posterior_mean``, ``posterior_sd`` of the ratio.
    parameters : pandas.DataFrame
        Posterior summary (mean, sd, quantiles, R-hat, ESS) of the hyperparameters.
    convergence : Convergence
    model : str
        Which model was fitted.
    """

    idata: az.InferenceData
    units: pd.DataFrame
    parameters: pd.DataFrame
    convergence: Convergence
    model: str
    extra: dict[str, Any] = field(default_factory=dict)


def posterior_draws(idata: az.InferenceData, name: str) -> npt.NDArray[np.float64]:
    """Draws of variable ``name`` with chains stacked: shape (chains x draws, ...)."""
    values = np.asarray(idata["posterior"][name])
    return values.reshape(-1, *values.shape[2:])


def summarise_units(theta: npt.NDArray[np.float64], units: Any, *, level: float = 0.95,
                    groups: npt.NDArray[np.intp] | None = None) -> pd.DataFrame:
    """Shrinkage columns from joint posterior draws of the units' ratios.

    Parameters
    ----------
    theta : ndarray, shape (n_draws, K)
        Posterior draws of each unit's true O/E.
    units : array-like, shape (K,)
        Unit labels.
    level : float
        Credible level.
    groups : ndarray of int, optional
        Rank within these groups (e.g. years) instead of over all K units.

    Returns
    -------
    pandas.DataFrame
        ``unit, shrunk_oe, shrunk_lower, shrunk_upper, prob_above, rank, rank_lower,
        rank_upper, posterior_mean, posterior_sd``.

    Notes
    -----
    The point estimate is the posterior median (invariant under the log transform, so the
    same whether one summarises $\\theta$ or $\\log\\theta$); the rank interval is
    the equal-tailed interval of each unit's rank over the draws, which carries the
    uncertainty of every unit (Goldstein & Spiegelhalter 1996).
    """
    q = (1 - level) / 2
    lower, median, upper = np.quantile(theta, [q, 0.5, 1 - q], axis=0)
    out = pd.DataFrame({
        "unit": np.asarray(units).astype(str), "shrunk_oe": median, "shrunk_lower": lower,
        "shrunk_upper": upper, "prob_above": (theta > 1).mean(axis=0),
        "rank": np.nan, "rank_lower": np.nan, "rank_upper": np.nan,
        "posterior_mean": theta.mean(axis=0), "posterior_sd": theta.std(axis=0, ddof=1),
    })
    groups = np.zeros(theta.shape[1], dtype=np.intp) if groups is None else groups
    cols = [out.columns.get_loc(c) for c in ("rank", "rank_lower", "rank_upper")]
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        out.iloc[idx, cols] = rank_summary(median[idx], theta[:, idx], level=level).to_numpy()
    return out
