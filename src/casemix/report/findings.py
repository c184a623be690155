"""Key findings of a run in words: the dispersion between units first, then the verdict."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from casemix.models import verdict_counts
from casemix.report.columns import FLAGS, LEVELS
from casemix.report.formatting import Formatter

__all__ = ["LevelFindings", "key_findings"]

Z_95 = 1.959963984540054


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


def _dispersion_sentence(name: str, spread: dict[str, Any] | None, fmt: Formatter) -> str:
    """Notes: the factor is $\\exp(1.96\\,\\tau)$, within which the true O/E of 95% of
    units lies under a normal between-unit distribution on the log scale."""
    _ = fmt.lang.gettext
    if spread is None or spread.get("phi") is None or not math.isfinite(spread["phi"]):
        return _("Too few %(level)s units are published to estimate the variation between "
                 "them.", level=name)
    phi, tau = spread["phi"], spread["tau"]
    if spread["adjustment"] == "none":
        return _("The %(level)s units differ no more than chance alone explains: the spread "
                 "of their O/E is %(phi)s times what sampling variation gives (phi; test of no "
                 "over-dispersion p = %(p)s), so the verdict allows for sampling variation "
                 "only.", level=name, phi=fmt.number(phi, 2), p=fmt.p_value(
                     spread["phi_p_value"]))
    return _("The %(level)s units differ more than chance alone explains: the spread of their "
             "O/E is %(phi)s times what sampling variation gives (phi), and after case-mix "
             "adjustment the true O/E of 95%% of units lies within a factor %(factor)s of the "
             "national level (between-unit standard deviation tau = %(tau)s on the log scale, "
             "a robust estimate). This normal variation is not a finding about any one unit.",
             level=name, phi=fmt.number(phi, 2), factor=fmt.number(math.exp(Z_95 * tau), 2),
             tau=fmt.number(tau, 3))


def _names(units: pd.DataFrame, column: str, fmt: Formatter) -> str:
    flagged = units[units[column].isin(["above", "below"])]
    return ", ".join(f"{u} ({fmt.lang.gettext(FLAGS[f])})" for u, f in
                     zip(flagged["unit"].astype(str), flagged[column], strict=True))


def _verdict_sentence(name: str, u: pd.DataFrame, c: dict[str, Any], fmt: Formatter) -> str:
    _ = fmt.lang.gettext
    n998 = int(c.get("above_998", 0) + c.get("below_998", 0))
    n95 = int(c.get("above_95", 0) + c.get("below_95", 0))
    published = int(c.get("published", 0))
    text = _("%(n)s of %(published)s published %(level)s units are unusual beyond this "
             "normal variation at 99.8%%", n=fmt.count(n998), published=fmt.count(published),
             level=name)
    if n998:
        text += ": " + _names(u, "flag_998", fmt)
    text += _("; %(n)s at 95%%", n=fmt.count(n95))
    if n95:
        text += f" ({_names(u, 'flag_95', fmt)})"
    return text + "."


def key_findings(units: pd.DataFrame, verdict: dict[str, Any], period: str,
                 levels: list[str], fmt: Formatter | None = None) -> list[LevelFindings]:
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
    fmt : Formatter, optional
        Language and number format (default English).
    """
    fmt = fmt or Formatter.of("en")
    _ = fmt.lang.gettext
    counts = verdict_counts(units).set_index("level")
    out = []
    for level in levels:
        name = _(LEVELS.get(level, level))
        u = units[(units["level"] == level) & ~units["suppressed"].astype(bool)]
        c = counts.loc[level].to_dict() if level in counts.index else {}
        published = int(c.get("published", 0))
        differ = int(u["flag_poisson_95"].isin(["above", "below"]).sum())
        national = _(
            "Whether a unit differs from the national average is a different question: "
            "%(n)s of %(published)s %(level)s units do at 95%% when only sampling variation "
            "is allowed for, as most units do at national scale; the shrunken intervals "
            "answer it per unit. Ranks are not a league table: read every position with its "
            "interval.", n=fmt.count(differ), published=fmt.count(published), level=name)
        out.append(LevelFindings(level, _dispersion_sentence(
            name, _spread_of(verdict, level, period), fmt), _verdict_sentence(name, u, c, fmt),
            national, c))
    return out
