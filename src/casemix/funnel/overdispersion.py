"""Over-dispersion of funnel plots: z-scores on a transformed scale, trimming, phi and tau^2.

Reference: Spiegelhalter DJ. Handling over-dispersion of performance indicators. Qual Saf
Health Care 2005;14:347-351, and Funnel plots for comparing institutional performance. Stat Med
2005;24:1185-1202.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import optimize
from scipy.special import chdtrc

from casemix._params import check_in_range, check_one_of
from casemix.core.ranks import average_ranks

__all__ = ["SCALES", "TRIMS", "Dispersion", "estimate_dispersion", "transform"]

FloatArray = npt.NDArray[np.float64]
SCALES = ("log", "sqrt", "arcsine")
TRIMS = ("winsorise", "truncate", "truncate_rank", "none")


def transform(numerator: npt.ArrayLike, denominator: npt.ArrayLike, scale: str,
              target: float) -> tuple[FloatArray, FloatArray, float]:
    """Estimates, their null standard errors and the target on the transformed scale.

    Parameters
    ----------
    numerator, denominator : array-like
        Observed and expected counts (``log``, ``sqrt``: ratios O/E), or events and
        denominators (``arcsine``: proportions).
    scale : {"log", "sqrt", "arcsine"}
    target : float
        Target ratio (usually 1) or target proportion.

    Returns
    -------
    (y, s, t)
        ``log``: $y = \\log(O/E)$, $s = 1/\\sqrt{E}$ (with $O = 0$ replaced
        by 0.5); ``sqrt``: $y = \\sqrt{O/E}$, $s = 1/(2\\sqrt{E})$, so that
        $z = 2(\\sqrt O - \\sqrt E)$; ``arcsine``: $y = \\arcsin\\sqrt{x/n}$,
        $s = 1/(2\\sqrt n)$; $t$ is the transformed target.
    """
    check_one_of("scale", scale, SCALES, owner="transform")
    o = np.asarray(numerator, dtype=float)
    e = np.asarray(denominator, dtype=float)
    if scale == "log":
        return np.log(np.where(o > 0, o, 0.5) / e), 1 / np.sqrt(target * e), float(
            np.log(target))
    if scale == "sqrt":
        return np.sqrt(o / e), 1 / (2 * np.sqrt(e)), float(np.sqrt(target))
    return np.arcsin(np.sqrt(o / e)), 1 / (2 * np.sqrt(e)), float(np.arcsin(np.sqrt(target)))


def back_transform(value: npt.ArrayLike, scale: str) -> FloatArray:
    """Inverse of :func:`transform` for limits (ratio or proportion)."""
    v = np.asarray(value, dtype=float)
    if scale == "log":
        return np.exp(v)
    if scale == "sqrt":
        return np.clip(v, 0, None) ** 2
    return np.sin(np.clip(v, 0, np.pi / 2)) ** 2


@dataclass(frozen=True)
class Dispersion:
    """Over-dispersion estimates.

    Attributes
    ----------
    z : ndarray
        Unadjusted z-scores $(y_k - t)/s_k$.
    used : ndarray of bool
        Units used for the estimates (all except truncated ones).
    phi : float
        Multiplicative over-dispersion factor $\\hat\\phi = \\frac1K\\sum z_k^2$ (trimmed).
    phi_p_value : float
        $P(\\chi^2_{K} \\ge K\\hat\\phi)$: small values indicate over-dispersion.
    tau2 : float
        Additive between-unit variance on the transformed scale (DerSimonian-Laird or REML).
    tau2_method : str
    """

    z: FloatArray
    used: npt.NDArray[np.bool_]
    phi: float
    phi_p_value: float
    tau2: float
    tau2_method: str


def _trimmed(z: FloatArray, trim: str, trim_by: float) -> tuple[FloatArray, npt.NDArray[
        np.bool_]]:
    """Winsorised z-scores (extremes set to the trim_by and 1 - trim_by quantiles, R's type 7),
    or truncated (extreme units left out): at the same quantiles, or by rank groups as
    FunnelPlotR's SHMI method (``sp = floor(rank / (K + 1) / trim_by)``, keep
    ``0 < sp < 1/trim_by - 1``)."""
    if trim == "none" or trim_by == 0:
        return z, np.ones(len(z), dtype=bool)
    if trim == "truncate_rank":
        groups = np.floor(average_ranks(z) / (len(z) + 1) / trim_by + 1e-12)
        keep = (groups > 0) & (groups < round(1 / trim_by) - 1)
        return z[keep], keep
    lo, hi = np.quantile(z, [trim_by, 1 - trim_by])
    if trim == "winsorise":
        return np.clip(z, lo, hi), np.ones(len(z), dtype=bool)
    keep = (z >= lo) & (z <= hi)
    return z[keep], keep


def _tau2_reml(y: FloatArray, s: FloatArray, target: float) -> float:
    """Between-unit variance by maximum likelihood with the mean fixed at the target (with a
    known mean, REML and ML coincide)."""
    def nll(tau2: float) -> float:
        v = s**2 + tau2
        return 0.5 * float(np.sum(np.log(v) + (y - target) ** 2 / v))

    upper = max(1.0, float(np.var(y)) * 10)
    res = optimize.minimize_scalar(nll, bounds=(0.0, upper), method="bounded",
                                   options={"xatol": 1e-12})
    return 0.0 if nll(0.0) <= nll(float(res.x)) else float(res.x)


def estimate_dispersion(y: FloatArray, s: FloatArray, target: float, *, trim: str = "winsorise",
                        trim_by: float = 0.1, tau2_method: str = "dl") -> Dispersion:
    """Estimate the multiplicative factor and the additive variance of over-dispersion.

    Notes
    -----
    $z_k = (y_k - t)/s_k$; after winsorising (or truncating) the outer ``trim_by`` of
    z-scores, $\\hat\\phi = \\frac1K\\sum_k z_k^2$ over the K units used; under no
    over-dispersion $K\\hat\\phi \\sim \\chi^2_K$ (the target is known). DerSimonian-Laird:
    $\\hat\\tau^2 = \\max\\{0, (K\\hat\\phi - (K-1)) / (\\sum w_k - \\sum w_k^2/\\sum w_k)\\}$
    with $w_k = 1/s_k^2$; REML (``tau2_method="reml"``): maximum likelihood of
    $y_k \\sim N(t, s_k^2 + \\tau^2)$ with the mean fixed at the target.
    """
    check_one_of("trim", trim, TRIMS, owner="estimate_dispersion")
    check_one_of("tau2_method", tau2_method, ("dl", "reml"), owner="estimate_dispersion")
    check_in_range("trim_by", trim_by, 0.0, 0.49, owner="estimate_dispersion")
    z = (y - target) / s
    zt, used = _trimmed(z, trim, trim_by)
    K = len(zt)
    phi = float(np.mean(zt**2))
    p_value = float(chdtrc(K, K * phi))
    if tau2_method == "dl":
        w = 1 / s[used] ** 2
        tau2 = max(0.0, (K * phi - (K - 1)) / (w.sum() - (w**2).sum() / w.sum()))
    else:
        tau2 = _tau2_reml(y[used], s[used], target)
    return Dispersion(z, used, phi, p_value, float(tau2), tau2_method)
