"""Non-response in a simulated cohort, and how weighting to register margins repairs it.

The population register (here: the full simulated cohort) gives the margins; the
respondents are the births that a survey-like linkage reached. Response depends on the
household income quintile, which the model without SES adjustment (``spec.without_ses()``,
the policy view of the design brief) does not adjust for, and on the unit: in a few VSVs
births of the two lowest income quintiles respond much less.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from casemix.models import CaseMixModel, ModelSpec
from casemix.weighting import Margins, rake

__all__ = ["AGE_BANDS", "NonResponse", "apply_nonresponse", "nonresponse_study",
           "register_margins"]

#: Maternal-age bands of the register margin (whole years, see docs/weights.md).
AGE_BANDS = ("<25", "25-29", "30-34", "35-39", "40+")


@dataclass(frozen=True)
class NonResponse:
    """Respondents of a cohort and how they were chosen.

    Attributes
    ----------
    respondents : pandas.DataFrame
        The births that responded.
    probability : numpy.ndarray
        Response probability of every birth of the cohort.
    affected : tuple of str
        VSVs where low-income births respond worse.
    """

    respondents: pd.DataFrame
    probability: npt.NDArray[np.float64]
    affected: tuple[str, ...]


def _income_group(births: pd.DataFrame) -> pd.Series:
    q = births["income_quintile"]
    return q.astype("Int64").astype(str).where(q.notna(), "missing")


def apply_nonresponse(births: pd.DataFrame, *, affected: Sequence[str] | None = None,
                      n_affected: int = 4, response: float = 0.92,
                      unit_response: float = 0.8, low_income_response: float = 0.3,
                      seed: int = 20261206) -> NonResponse:
    """Draw respondents: response depends on income and, in a few VSVs, more so.

    Parameters
    ----------
    births : pandas.DataFrame
        A cohort (:func:`casemix.simulation.simulate_cohort`).
    affected : sequence of str, optional
        VSVs with worse response; default the ``n_affected`` largest.
    response : float
        Response probability elsewhere.
    unit_response, low_income_response : float
        In the affected VSVs: response of births in income quintiles 3 to 5, and of births
        in quintiles 1 and 2 or without a linked income.
    seed : int

    Returns
    -------
    NonResponse
    """
    group = _income_group(births)
    if affected is None:
        affected = births["vsv"].value_counts().index[:n_affected].tolist()
    in_unit = births["vsv"].isin(list(affected)).to_numpy()
    low = group.isin(["1", "2", "missing"]).to_numpy()
    p = np.where(in_unit, np.where(low, low_income_response, unit_response), response)
    responded = np.random.default_rng(seed).uniform(size=len(births)) < p
    return NonResponse(births[responded].reset_index(drop=True), p, tuple(affected))


def register_margins(population: pd.DataFrame) -> Margins:
    """The register's margins: births per VSV x income quintile (births without a linked
    income in the cell ``missing``), and per maternal-age band."""
    cross = pd.Series(1, index=population.index).groupby(
        [population["vsv"], _income_group(population)]).size()
    age = pd.cut(population["maternal_age"], [-np.inf, 25, 30, 35, 40, np.inf], right=False,
                 labels=list(AGE_BANDS)).value_counts().reindex(list(AGE_BANDS))
    return Margins.from_frame(pd.concat([
        pd.DataFrame({"margin": "vsv:income_quintile",
                      "value": [f"{v}:{g}" for v, g in cross.index], "total": cross.to_numpy()}),
        pd.DataFrame({"margin": "maternal_age", "value": list(AGE_BANDS),
                      "total": age.to_numpy()})]))


def _vsv(spec: ModelSpec, births: pd.DataFrame) -> pd.DataFrame:
    """log O/E per VSV with its 95% interval (log scale)."""
    units = CaseMixModel(spec).fit(births).units
    vsv = units[(units["level"] == "vsv") & (units["stratum"] == "all")]
    return pd.DataFrame({c: np.log(vsv[c].astype(float).to_numpy())
                         for c in ("oe", "oe_lower", "oe_upper")},
                        index=vsv["unit"].to_numpy())


def _covers(fit: pd.DataFrame, truth: pd.Series) -> pd.Series:
    return (fit["oe_lower"] <= truth) & (truth <= fit["oe_upper"])


def nonresponse_study(births: pd.DataFrame, spec: ModelSpec, *, seed: int = 20261206,
                      **nonresponse: object) -> tuple[pd.DataFrame, dict[str, float]]:
    """Fit ``spec`` on the full cohort (the truth), on the respondents unweighted and on the
    respondents with raking weights to the register margins.

    Parameters
    ----------
    births : pandas.DataFrame
        The full cohort.
    spec : ModelSpec
        The model (its adjusters must not include income for the study to show bias).
    seed : int
        Seed of the response draw.
    **nonresponse
        Passed to :func:`apply_nonresponse`.

    Returns
    -------
    (pandas.DataFrame, dict)
        Per VSV: ``truth, unweighted, weighted`` (log O/E) and ``affected``; and the mean
        absolute errors of log O/E against the truth (``mae_unweighted``, ``mae_weighted``
        over the affected VSVs, ``*_other`` over the rest), the response rate, the design
        effect of the weights, and the share of VSVs whose 95% O/E interval holds the truth
        (``coverage_unweighted``, ``coverage_weighted``), and the mean ratio of the weighted
        intervals' widths (log scale) with the weights as sampling weights (the effective
        sample size) to those were they frequency weights (``width_ratio``).
    """
    nr = apply_nonresponse(births, seed=seed, **nonresponse)  # type: ignore[arg-type]
    weights = rake(nr.respondents, register_margins(births))
    weighted = nr.respondents.assign(weight=weights.weights)
    truth = _vsv(spec, births)["oe"]
    plain = _vsv(spec, nr.respondents)
    sampling = _vsv(dataclasses.replace(spec, weights="weight", weights_kind="sampling"),
                    weighted)
    frequency = _vsv(dataclasses.replace(spec, weights="weight", weights_kind="frequency"),
                     weighted)
    table = pd.DataFrame({"truth": truth, "unweighted": plain["oe"],
                          "weighted": sampling["oe"]})
    table["affected"] = table.index.isin(nr.affected)
    table["covered_unweighted"] = _covers(plain, truth)
    table["covered_weighted"] = _covers(sampling, truth)
    table["width_ratio"] = ((sampling["oe_upper"] - sampling["oe_lower"])
                            / (frequency["oe_upper"] - frequency["oe_lower"]))
    err = table[["unweighted", "weighted"]].sub(table["truth"], axis=0).abs()
    a = table["affected"].to_numpy()
    summary = {"mae_unweighted": float(err["unweighted"][a].mean()),
               "mae_weighted": float(err["weighted"][a].mean()),
               "mae_unweighted_other": float(err["unweighted"][~a].mean()),
               "mae_weighted_other": float(err["weighted"][~a].mean()),
               "response_rate": len(nr.respondents) / len(births),
               "deff": float(weights.design_effects["deff"].iloc[0]),
               "iterations": float(weights.iterations),
               "coverage_unweighted": float(table["covered_unweighted"].mean()),
               "coverage_weighted": float(table["covered_weighted"].mean()),
               "width_ratio": float(table["width_ratio"].mean())}
    return table, summary
