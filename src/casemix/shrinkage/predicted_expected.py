"""Predicted/expected ratios of a random-intercept model (hospital-profiling construction)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import expit

from casemix.shrinkage.ranks import rank_summary

__all__ = ["predicted_expected"]

FloatArray = npt.NDArray[np.float64]
_GRID = np.linspace(-7.0, 7.0, 57)  # offsets in posterior standard deviations


def predicted_expected(
    eta: FloatArray,
    units: npt.NDArray[np.intp],
    m: FloatArray,
    modes: FloatArray,
    mode_var: FloatArray,
    *,
    level: float = 0.95,
    n_draws: int = 4000,
    seed: int = 20261123,
) -> pd.DataFrame:
    """Predicted/expected ratio per unit with intervals, P(ratio > 1) and rank intervals.

    Parameters
    ----------
    eta : ndarray
        Fixed-effects linear predictor per cell (unit effect excluded).
    units : ndarray of int
        Unit index 0..K-1 per cell.
    m : ndarray
        Births per cell (weighted).
    modes, mode_var : ndarray, shape (K,)
        Conditional modes of the unit intercepts and their conditional variances.

    Returns
    -------
    pandas.DataFrame
        Per unit: ``predicted``, ``expected``, ``shrunk_oe`` (= predicted/expected),
        ``shrunk_lower``, ``shrunk_upper``, ``prob_above``, ``rank``, ``rank_lower``,
        ``rank_upper``.

    Notes
    -----
    :math:`P_k = \\sum_{i \\in k} \\mathrm{expit}(x_i^T\\hat\\beta + \\hat u_k)` is what the
    unit's births are predicted to experience with the unit's own (shrunken) intercept;
    :math:`E_k = \\sum_{i \\in k} \\mathrm{expit}(x_i^T\\hat\\beta)` what they would experience in
    an average unit. :math:`P_k/E_k` is the standardised ratio of national hospital-profiling
    programmes (Krumholz HM et al. Circulation 2006;113:1683-1692; Ash AS et al., COPSS-CMS
    white paper, 2012). Intervals and ranks come from draws of the unit intercepts from their
    approximate conditional distribution :math:`N(\\hat u_k, 1/D_k)`, with the fixed effects
    held at their estimates (their uncertainty is small next to that of a unit's intercept in
    national data). :math:`P_k(u)` is evaluated on a grid of intercepts and interpolated.
    """
    K = len(modes)
    sd = np.sqrt(mode_var)
    expected = np.bincount(units, weights=m * expit(eta), minlength=K)
    predicted = np.bincount(units, weights=m * expit(eta + modes[units]), minlength=K)
    grid = np.empty((K, len(_GRID)))
    for g, t in enumerate(_GRID):
        u = modes + t * sd
        grid[:, g] = np.bincount(units, weights=m * expit(eta + u[units]), minlength=K)
    z = np.random.default_rng(seed).standard_normal((n_draws, K))
    pos = np.clip((z - _GRID[0]) / (_GRID[1] - _GRID[0]), 0, len(_GRID) - 1 - 1e-9)
    idx = pos.astype(int)
    frac = pos - idx
    cols = np.arange(K)[None, :]
    draws = (grid[cols, idx] * (1 - frac) + grid[cols, idx + 1] * frac) / expected[None, :]
    alpha = (1 - level) / 2
    ratio = predicted / expected
    table = pd.DataFrame({
        "predicted": predicted, "expected": expected, "shrunk_oe": ratio,
        "shrunk_lower": np.quantile(draws, alpha, axis=0),
        "shrunk_upper": np.quantile(draws, 1 - alpha, axis=0),
        "prob_above": (draws > 1).mean(axis=0),
    })
    return pd.concat([table, rank_summary(ratio, draws, level=level)], axis=1)
