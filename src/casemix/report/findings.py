"""Key findings of a run in words: the dispersion between units first, then the verdict."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from casemix.models import verdict_counts

__all__ = ["LevelFindings", "key_findings"]


@dataclass(frozen=True)
class LevelFindings:
    """What the report says first about one unit level (all from the published tables)."""

    level: str
    dispersion: str
    verdict: str
    national: str
    counts: dict[str, Any]


def _spread_of(verdict: dict[str, Any], level: str, period: str) -> dict[str, Any] | None:
    for s in verdict.get("spread", []):
        if s["level"] == level and s["period"] == period and s["stratum"] == "all":
            return s
    return None


def _dispersion_sentence(level: str, spread: dict[str, Any] | None) -> str:
    if spread is None or spread.get("phi") is None or not math.isfinite(spread["phi"]):
        return f"Too few {level} units are published to estimate the variation between them."
    phi, tau = spread["phi"], spread["tau"]
    if spread["adjustment"] == "none":
        return (f"The {level} units differ no more than chance alone explains: the spread of "
                f"their O/E is {phi:.2f} times what sampling variation gives (phi; test of no "
                f"over-dispersion p = {spread['phi_p_value']:.2f}), so the verdict allows for "
                "sampling variation only.")
    factor = math.exp(1.959963984540054 * tau)
    return (f"The {level} units differ more than chance alone explains: the spread of their "
            f"O/E is {phi:.2f} times what sampling variation gives (phi), and after case-mix "
            f"adjustment the true O/E of 95% of units lies within a factor {factor:.2f} of "
            f"the national level (between-unit standard deviation tau = {tau:.3f} on the log "
            "scale, a robust estimate). This normal variation is not a finding about any one "
            "unit.")


def _names(units: pd.DataFrame, column: str) -> str:
    flagged = units[units[column].isin(["above", "below"])]
    return ", ".join(f"{u} ({f})" for u, f in zip(flagged["unit"].astype(str), flagged[column],
                                                   strict=True))


def key_findings(units: pd.DataFrame, verdict: dict[str, Any], period: str,
                 levels: list[str]) -> list[LevelFindings]:
    """The report's first section, per level.

    Parameters
    ----------
    units : pandas.DataFrame
        Main rows of the published ``units.csv`` (all levels).
    verdict : dict
        The published verdict summary (:attr:`casemix.models.disclosed.DisclosedRun.verdict`).
    period : str
        Label of the pooled period.
    levels : list of str
    """
    counts = verdict_counts(units).set_index("level")
    out = []
    for level in levels:
        u = units[(units["level"] == level) & ~units["suppressed"].astype(bool)]
        c = counts.loc[level].to_dict() if level in counts.index else {}
        n998 = c.get("above_998", 0) + c.get("below_998", 0)
        n95 = c.get("above_95", 0) + c.get("below_95", 0)
        published = c.get("published", 0)
        verdict_text = (
            f"{n998} of {published} published {level} units are unusual beyond this normal "
            f"variation at 99.8%" + (f": {_names(u, 'flag_998')}" if n998 else "")
            + f"; {n95} at 95%" + (f" ({_names(u, 'flag_95')})" if n95 else "") + ".")
        differ = int(u["flag_poisson_95"].isin(["above", "below"]).sum())
        national = (
            f"Whether a unit differs from the national average is a different question: "
            f"{differ} of {published} {level} units do at 95% when only sampling variation is "
            "allowed for (flag_poisson_95), as most units do at national scale; the shrunken "
            "intervals and prob_above answer it per unit. Ranks are not a league table: read "
            "every position with its interval.")
        out.append(LevelFindings(level, _dispersion_sentence(level, _spread_of(
            verdict, level, period)), verdict_text, national, c))
    return out
