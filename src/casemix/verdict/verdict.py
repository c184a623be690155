"""The verdict on each unit: unusual beyond the normal variation between units, or not.

One verdict per unit, with the same robust between-unit spread in every method
(:func:`casemix.verdict.between_unit_spread`):

- ``funnel`` (methods without shrinkage: pooled, fixed): the over-dispersed funnel plot
  (additive random effects on log O/E, Spiegelhalter 2005), so that ``units.csv`` and
  ``funnel_<level>.csv`` flag the same units;
- ``gamma`` (Poisson-gamma empirical Bayes) and ``lognormal`` (Fay-Herriot, GLMM, Bayesian
  models): the mixed predictive p-value of Marshall and Spiegelhalter (2007) under the
  method's between-unit distribution with the robust spread.

"Does the unit differ from the national average?" is a different question, answered by the
Poisson (or Poisson-binomial) flags ``flag_poisson_*``, the shrunken interval and
``prob_above``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import ndtr

from casemix._params import check_one_of
from casemix.exceptions import MethodSwitchWarning
from casemix.funnel import funnel
from casemix.verdict.mixed_predictive import mixed_predictive
from casemix.verdict.spread import SPREAD_SETTINGS, Spread, between_unit_spread

__all__ = ["VERDICT_COLUMNS", "VERDICT_FAMILIES", "UnitVerdict", "describe_verdict",
           "unit_verdict"]

#: Between-unit models of the verdict: the funnel, or a mixed predictive check.
VERDICT_FAMILIES = ("funnel", "lognormal", "gamma")
#: Columns of the verdict in the unit table.
VERDICT_COLUMNS = ["verdict_p", "flag_95", "flag_998"]
LEVELS = {"flag_95": 0.95, "flag_998": 0.998}


@dataclass(frozen=True)
class UnitVerdict:
    """Verdict on the units of one comparison.

    Attributes
    ----------
    table : pandas.DataFrame
        Per unit (input order): ``p_above``, ``p_below`` (one-sided tail probabilities),
        ``verdict_p`` (two-sided: twice the smaller tail, at most 1), ``flag_95`` and
        ``flag_998`` (``above``, ``below`` or ``within``).
    spread : Spread
        The robust between-unit spread used.
    family : str
    centre : float
    """

    table: pd.DataFrame
    spread: Spread
    family: str
    centre: float


def describe_verdict(family: str) -> str:
    """One sentence naming the verdict's method (for the run's manifest and the report)."""
    check_one_of("family", family, VERDICT_FAMILIES, owner="describe_verdict")
    spread = (f"between-unit spread: DerSimonian-Laird tau^2 on log O/E after winsorising "
              f"{SPREAD_SETTINGS['trim_by']:.0%} of z-scores at each end (robust to the "
              "outliers it is meant to find)")
    if family == "funnel":
        return ("over-dispersed funnel limits (additive random effects on log O/E, "
                f"Spiegelhalter 2005); {spread}")
    model = ("gamma (Poisson-gamma)" if family == "gamma" else "lognormal")
    return (f"mixed predictive p-value (Marshall and Spiegelhalter 2007) with a {model} "
            "between-unit distribution centred at the national level of the comparison; "
            f"{spread}")


def unit_verdict(observed: npt.ArrayLike, expected: npt.ArrayLike, *, family: str,
                 variance: npt.ArrayLike | None = None, centre: float = 0.0,
                 spread: Spread | None = None) -> UnitVerdict:
    """Is each unit unusual beyond the variation between units?

    Parameters
    ----------
    observed, expected : array-like, shape (K,)
        Observed and expected events of the units of one comparison.
    family : {"funnel", "lognormal", "gamma"}
        See the module docstring.
    variance : array-like, optional
        Null variance of O for a binary outcome, $\\sum p_i(1-p_i)$ per unit.
    centre : float, default 0
        Log of the national level the units are judged against: the funnel's target is
        $e^{c}$, the mixed predictive's between-unit distribution is centred there.
    spread : Spread, optional
        Default: :func:`between_unit_spread` of these units.

    Returns
    -------
    UnitVerdict

    Notes
    -----
    ``funnel``: a unit is flagged at level L when its O/E lies outside
    $\\exp(\\pm z_{(1+L)/2}\\sqrt{s_k^2 + \\tau^2})$ with $s_k = \\sqrt{V_k}/E_k$
    (exact limits when $\\hat\\tau^2 = 0$), exactly the limits of
    :func:`casemix.funnel.funnel` with ``overdispersion="estimated"``; ``verdict_p`` is
    $2\\Phi(-|z^{adj}_k|)$. Mixed predictive: see
    :func:`casemix.verdict.mixed_predictive`.
    """
    check_one_of("family", family, VERDICT_FAMILIES, owner="unit_verdict")
    O = np.asarray(observed, dtype=float)
    E = np.asarray(expected, dtype=float)
    spread = spread or between_unit_spread(O, E, variance, centre=centre)
    if family == "funnel":
        table = _funnel_verdict(O, E, variance, centre)
    else:
        up, down = mixed_predictive(O, E, tau2=spread.tau2, centre=centre, family=family,
                                    variance=variance)
        table = pd.DataFrame({"p_above": up, "p_below": down})
        for name, level in LEVELS.items():
            alpha = (1 - level) / 2
            table[name] = np.where(up < alpha, "above", np.where(down < alpha, "below",
                                                                 "within"))
    table["verdict_p"] = np.minimum(1.0, 2 * np.minimum(table["p_above"], table["p_below"]))
    return UnitVerdict(table[["p_above", "p_below", *VERDICT_COLUMNS]], spread, family,
                       float(centre))


def _funnel_verdict(O: npt.NDArray[np.float64], E: npt.NDArray[np.float64],
                    variance: npt.ArrayLike | None, centre: float) -> pd.DataFrame:
    if len(O) < 2:
        return pd.DataFrame({"p_above": np.ones(len(O)), "p_below": np.ones(len(O)),
                             **dict.fromkeys(LEVELS, "within")})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MethodSwitchWarning)
        f = funnel(O, E, kind="ratio", variance=variance, target=float(np.exp(centre)),
                   overdispersion=SPREAD_SETTINGS["overdispersion"])
    z = f.units["z_adjusted"].to_numpy()
    return pd.DataFrame({"p_above": ndtr(-z), "p_below": ndtr(z),
                         "flag_95": f.units["flag_95"].to_numpy(),
                         "flag_998": f.units["flag_998"].to_numpy()})
