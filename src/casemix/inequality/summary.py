"""Inequality measures per unit from a breakdown table: extremes' difference and ratio, and the
slope and relative index of inequality, blank where a group they use is hidden."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from casemix.inequality.measures import extreme_groups, sii_rii
from casemix.standardisation import poisson_ratio_interval, proportion_interval

if TYPE_CHECKING:
    from casemix.inequality.breakdowns import BreakdownDimension

__all__ = ["INEQUALITY_COLUMNS", "inequality_measures"]

INEQUALITY_COLUMNS = ["level", "unit", "indicator", "breakdown", "rates", "measure",
                      "comparison", "value", "lower", "upper", "confidence", "suppressed",
                      "note"]
_KEYS = ["level", "unit", "indicator", "breakdown"]


def _pairs(dim: BreakdownDimension, groups: list[str]) -> list[tuple[str, str]]:
    """(group 1, group 2) compared: the extremes of an ordered variable (most disadvantaged
    first), else every group against the reference."""
    if dim.ordered:
        return [(groups[0], groups[-1])]
    return [(g, str(dim.reference)) for g in groups if g != dim.reference]


def _used(dim: BreakdownDimension, present: Sequence[str]) -> list[str]:
    """Groups an inequality measure uses: the declared ones (not ``missing``)."""
    if dim.ordered:
        return [g for g in dim.groups if g in present]
    return [g for g in present if g != "missing"]


def _hidden(t: pd.DataFrame) -> pd.Series:
    """Rows whose numerator or denominator is hidden."""
    return t["numerator"].isna() | t["denominator"].isna()


def _extremes(t: pd.DataFrame, dim: BreakdownDimension, level: float) -> list[dict[str, Any]]:
    """Rate difference and ratio rows of one breakdown (every unit and indicator)."""
    wide = t.set_index([*_KEYS, "group"])
    groups = _used(dim, list(dict.fromkeys(t["group"])))
    out: list[dict[str, Any]] = []
    for first, second in _pairs(dim, groups):
        a = wide.xs(first, level="group")
        b = wide.xs(second, level="group").reindex(a.index)
        hidden = _hidden(a) | _hidden(b)
        if dim.ordered:  # the ordered measures use every group: all must be shown
            shown = (~_hidden(wide)).groupby(level=_KEYS).all()
            hidden |= ~shown.reindex(a.index, fill_value=False)
        empty = (a["denominator"].fillna(0) <= 0) | (b["denominator"].fillna(0) <= 0)
        ok = ~hidden & ~empty
        est = extreme_groups(a.loc[ok, "numerator"].astype(float),
                             a.loc[ok, "denominator"].astype(float),
                             b.loc[ok, "numerator"].astype(float),
                             b.loc[ok, "denominator"].astype(float), level=level)
        comparison = f"{first} vs {second}"
        for measure, (v, lo, hi) in {
                "rate_difference": (est.difference, est.difference_lower,
                                    est.difference_upper),
                "rate_ratio": (est.ratio, est.ratio_lower, est.ratio_upper)}.items():
            values = {k: np.full(len(a), np.nan) for k in ("value", "lower", "upper")}
            for k, arr in zip(values, (v, lo, hi), strict=True):
                values[k][ok.to_numpy()] = arr
            for i, key in enumerate(a.index):
                note = ("a group it uses is suppressed" if hidden.iat[i] else
                        "a group without births" if empty.iat[i] else "")
                out.append({**dict(zip(_KEYS, key, strict=True)), "rates": "crude",
                            "measure": measure, "comparison": comparison,
                            "value": values["value"][i], "lower": values["lower"][i],
                            "upper": values["upper"][i], "suppressed": bool(hidden.iat[i]),
                            "note": note})
    return out


def _sii_input(t: pd.DataFrame, rates: str) -> pd.DataFrame:
    """Value and 95% limits per group for phe_sii (phe_sii reads limits as 95% always)."""
    o = t["numerator"].to_numpy(float)
    n = t["denominator"].to_numpy(float)
    if rates == "crude":
        ci = proportion_interval(o, n, level=0.95, method="wilson")
        return t.assign(value=o / n, lo=ci.lower, hi=ci.upper)
    e = t["expected"].to_numpy(float)
    ci = poisson_ratio_interval(o, e, level=0.95, method="exact")
    scale = (t["adjusted_rate"] / t["oe"]).to_numpy(float)  # the national rate
    return t.assign(value=t["adjusted_rate"], lo=ci.lower * scale, hi=ci.upper * scale)


def _sii(t: pd.DataFrame, dim: BreakdownDimension, level: float, repetitions: int,
         seed: int) -> list[dict[str, Any]]:
    """SII and RII rows of one ordered breakdown, crude (proportions) and adjusted (rates)."""
    groups = _used(dim, list(dict.fromkeys(t["group"])))
    t = t[t["group"].isin(groups)]
    t = t.assign(rank=t["group"].map({g: i for i, g in enumerate(groups)}))
    out: list[dict[str, Any]] = []
    for rates in ("crude", "adjusted"):
        good = ~_hidden(t) & (t["denominator"] > 0) & (t["numerator"] > 0)
        if rates == "crude":
            good &= t["numerator"] < t["denominator"]
        else:
            good &= t["expected"] > 0
        complete = good.groupby([t[k] for k in _KEYS]).transform("all")
        hidden = _hidden(t).groupby([t[k] for k in _KEYS]).any()
        ready = t[complete]
        res = pd.DataFrame()
        if len(ready):
            res = sii_rii(_sii_input(ready, rates), quantile="rank", value="value",
                          population="denominator", lower="lo", upper="hi", group_by=_KEYS,
                          value_type="proportion" if rates == "crude" else "rate",
                          confidence=level, repetitions=repetitions, seed=seed,
                          min_quantiles=min(3, len(groups)))
        done = res.set_index(_KEYS) if len(res) else pd.DataFrame()
        for key in t[_KEYS].drop_duplicates().itertuples(index=False):
            row = tuple(key)
            is_hidden = bool(hidden.loc[row])
            got = done.loc[row] if len(done) and row in done.index else None
            note = ("a group it uses is suppressed" if is_hidden else "" if got is not None
                    else "a group without events or births")
            for measure in ("sii", "rii"):
                out.append({**dict(zip(_KEYS, row, strict=True)), "rates": rates,
                            "measure": measure, "comparison": " < ".join(groups),
                            "value": np.nan if got is None else float(got[measure]),
                            "lower": np.nan if got is None else float(got[f"{measure}_lower"]),
                            "upper": np.nan if got is None else float(got[f"{measure}_upper"]),
                            "suppressed": is_hidden, "note": note})
    return out


def inequality_measures(table: pd.DataFrame, dims: Sequence[BreakdownDimension], *,
                        level: float = 0.95, repetitions: int = 10_000,
                        seed: int = 20261204) -> pd.DataFrame:
    """Inequality measures of every unit, indicator and breakdown of a breakdown table.

    Parameters
    ----------
    table : pandas.DataFrame
        :attr:`casemix.inequality.Breakdowns.table` (hidden numerators are NA).
    dims : sequence of BreakdownDimension
    level : float
        Confidence level.
    repetitions, seed : int
        Monte-Carlo replicates and seed of the SII/RII limits.

    Returns
    -------
    pandas.DataFrame
        :data:`INEQUALITY_COLUMNS`. Ordered breakdowns: rate difference and ratio of the
        first against the last group (crude), SII and RII over the ordered groups (crude and
        adjusted; rank 0 = first group, so a negative SII means higher rates in the
        disadvantaged groups). Unordered: difference and ratio of each group against the
        reference group. A measure is blank (``suppressed``) when any group it uses is
        hidden: with the other groups' rates it would give the hidden one back.
    """
    out: list[dict[str, Any]] = []
    for dim in dims:
        t = table[table["breakdown"] == dim.column]
        if t.empty:
            continue
        out += _extremes(t, dim, level)
        if dim.ordered:
            out += _sii(t, dim, level, repetitions, seed)
    frame = pd.DataFrame(out, columns=[c for c in INEQUALITY_COLUMNS if c != "confidence"])
    frame["confidence"] = level
    return frame[INEQUALITY_COLUMNS]
