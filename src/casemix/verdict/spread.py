"""The between-unit spread used by every verdict: robust to the outliers it is meant to find.

A plain estimate of the between-unit variance (the gamma shape of Poisson-gamma empirical
Bayes, the GLMM or Fay-Herriot variance, a Bayesian tau) is inflated by the very units a
verdict should single out, so that they no longer look unusual. Every method therefore takes
its spread from one estimator: DerSimonian-Laird on log O/E after winsorising the outer 10% of
z-scores (Spiegelhalter 2005), the estimate of the over-dispersed funnel plot.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from casemix.funnel.overdispersion import estimate_dispersion, transform

__all__ = ["SPREAD_SETTINGS", "Spread", "between_unit_spread"]

#: Settings of the robust spread, the same for every method (recorded in each run).
SPREAD_SETTINGS: dict[str, Any] = {"scale": "log", "trim": "winsorise", "trim_by": 0.1,
                                   "tau2_method": "dl", "overdispersion": "estimated"}


@dataclass(frozen=True)
class Spread:
    """Robust between-unit spread of one comparison (one level, period and stratum).

    Attributes
    ----------
    tau2 : float
        Between-unit variance of the log ratio used by the verdict: the winsorised
        DerSimonian-Laird estimate (0 when it is).
    phi : float
        Multiplicative over-dispersion factor (winsorised mean of squared z-scores).
    phi_p_value : float
        $P(\\chi^2_K \\ge K\\hat\\phi)$.
    adjustment : {"additive", "none"}
        ``none`` when $\\hat\\tau^2 = 0$.
    n_units : int
    """

    tau2: float
    phi: float
    phi_p_value: float
    adjustment: str
    n_units: int

    @property
    def tau(self) -> float:
        """Between-unit standard deviation of the log ratio."""
        return math.sqrt(self.tau2)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "tau": self.tau}


def between_unit_spread(observed: npt.ArrayLike, expected: npt.ArrayLike,
                        variance: npt.ArrayLike | None = None, *,
                        centre: float = 0.0) -> Spread:
    """Robust between-unit variance of $\\log(O_k/E_k)$.

    Parameters
    ----------
    observed, expected : array-like, shape (K,)
        Observed and expected events per unit.
    variance : array-like, shape (K,), optional
        Null variance of each unit's O for a binary outcome, $V_k = \\sum p_i(1-p_i)$
        (default: Poisson, $V_k = E_k$).
    centre : float, default 0
        The log ratio the units scatter around (the comparison's national level; 0 for O/E
        against the national model).

    Returns
    -------
    Spread

    Notes
    -----
    $y_k = \\log(O_k/E_k)$ ($O_k = 0$ counts as 0.5) with null standard error
    $s_k = \\sqrt{V_k}/E_k$; $z_k = (y_k - c)/s_k$ (c the centre) are winsorised
    at their 10% and 90% quantiles, $\\hat\\phi = \\frac1K\\sum z_k^2$, and
    $\\hat\\tau^2 = \\max\\{0, (K\\hat\\phi - (K-1))/(\\sum w_k - \\sum w_k^2/\\sum w_k)\\}$
    with $w_k = s_k^{-2}$ (DerSimonian-Laird on the winsorised z-scores; Spiegelhalter DJ.
    Handling over-dispersion of performance indicators. Qual Saf Health Care 2005;14:347-351).
    No significance test gates it: after winsorising, $\\hat\\phi$ is about 0.68 when
    there is no over-dispersion, so the chi-square test of $K\\hat\\phi$ misses real
    spread, while the estimate is 0 under no over-dispersion anyway. Exactly the estimate of
    :func:`casemix.funnel.funnel` (``overdispersion="estimated"``), so that the funnel's
    flags and every method's verdict rest on the same spread. The trimming makes it robust:
    the units a verdict should single out do not inflate the spread that judges them (the
    untrimmed Poisson-gamma estimate is about 40% larger with four planted outliers among 70
    VSVs).
    """
    O = np.asarray(observed, dtype=float)
    E = np.asarray(expected, dtype=float)
    y, s, t = transform(O, E, "log", float(np.exp(centre)))
    if variance is not None:
        s = s * np.sqrt(np.asarray(variance, dtype=float) / E)
    if len(O) < 2:
        return Spread(0.0, float("nan"), float("nan"), "none", len(O))
    d = estimate_dispersion(y, s, t, trim=SPREAD_SETTINGS["trim"],
                            trim_by=SPREAD_SETTINGS["trim_by"],
                            tau2_method=SPREAD_SETTINGS["tau2_method"])
    return Spread(d.tau2, d.phi, d.phi_p_value,
                  "additive" if d.tau2 > 0 else "none", len(O))
