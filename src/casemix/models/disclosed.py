"""What a run may export: every table of the run, suppressed together as linked tables.

One function, :func:`disclose_run`, decides for the run folder and the report alike: the unit
table (pooled period, years, strata, every level), the funnel and direct-standardisation tables,
calibration by subgroup, and the coefficients. Counts below the threshold are hidden with
everything computed from them; secondary suppression holds against differencing across all
files at once (:func:`casemix.disclosure.protect`); statistics that pool over units (funnel
phi and tau^2, empirical Bayes and Fay-Herriot priors, ranks) are computed from the published
units only; published precision is limited.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from casemix.calibration import with_derived_groups
from casemix.disclosure import DEFAULT_THRESHOLD, LinkedCells, Protection, protect
from casemix.disclosure.tables import (
    TableLinks,
    geography_table,
    link_groups,
    link_unit_table,
    mark_primary,
    national_cells,
    nesting_of,
    publish_national,
    unit_key,
)
from casemix.exceptions import ConvergenceError, MethodSwitchWarning
from casemix.models.data import analysed
from casemix.models.grouped import GroupedBirths
from casemix.models.result import CaseMixResult
from casemix.models.shrinkers import EmpiricalBayes, FayHerriot, Shrinker
from casemix.models.units import DERIVED_COLUMNS, row_groups
from casemix.models.verdicts import apply_verdict
from casemix.standardisation.direct import DIRECT_COLUMNS
from casemix.verdict import SPREAD_SETTINGS

__all__ = ["PRECISION", "SUBGROUPS", "DisclosedRun", "disclose_run", "masked_like"]

#: Decimals of published non-count values: enough to read, too few to recover counts from
#: products such as O = O/E x E.
PRECISION: dict[str, int] = {
    "expected": 1, "crude_rate": 4, "adjusted_rate": 4, "adjusted_rate_lower": 4,
    "adjusted_rate_upper": 4, "direct_rate": 4, "direct_rate_lower": 4,
    "direct_rate_upper": 4, "oe": 3, "oe_lower": 3, "oe_upper": 3, "shrunk_oe": 3,
    "shrunk_lower": 3, "shrunk_upper": 3, "prob_above": 3, "z": 2, "z_adjusted": 2,
    "p_value": 4, "n_effective": 1, "value": 3, "phi": 3, "tau2": 4, "variance": 1, "verdict_p": 4,
    "slope": 3, "slope_se": 3,
    "estimate": 4, "std_error": 4, "odds_ratio": 3, "or_lower": 3, "or_upper": 3,
}
#: Subgroups whose calibration a run writes and the report shows: the usual adjusters, and
#: groups that are not adjusted for (urbanisation, neighbourhood SES in fifths), where the
#: check is informative (for a categorical adjuster O/E is 1 by construction);
#: ``neighbourhood_ses_quintile`` is derived (:data:`casemix.calibration.DERIVED_GROUPS`).
SUBGROUPS = ("income_quintile", "migration_background", "education", "parity", "plurality",
             "urbanisation", "neighbourhood_ses_quintile")

#: Unit-table columns blanked with a suppressed numerator (besides :data:`DERIVED_COLUMNS`).
HIDDEN_WITH_OBSERVED = [*DERIVED_COLUMNS, "expected", "variance", "rank", "rank_lower",
                        "rank_upper", "events_unweighted", "n_effective"]
#: Unweighted events and births of each row, published in runs with case weights.
UNWEIGHTED = ("events_unweighted", "n_unweighted")
#: Column of ``units.csv`` in runs with shared births: ``shared`` for the rows of a level at
#: which births are shared between units (their unweighted counts do not add up), else
#: ``single``.
ASSIGNMENT = "assignment"
GROUP_DERIVED = ["expected", "oe", "oe_lower", "oe_upper", "slope", "slope_se"]


@dataclass(frozen=True)
class DisclosedRun:
    """The tables of a run as they may leave the secure environment.

    Attributes
    ----------
    units : pandas.DataFrame
        ``units.csv``.
    funnels : dict of str to pandas.DataFrame
        ``funnel_<level>.csv`` per level: limits, phi and tau^2 from the published units.
    direct : pandas.DataFrame
        ``direct.csv``.
    subgroups : dict of str to pandas.DataFrame
        ``calibration_<variable>.csv``.
    coefficients : pandas.DataFrame
        ``coefficients.csv``: terms of categories with fewer than ``threshold`` births, events
        or non-events are blanked (their standard errors give the counts away).
    log : pandas.DataFrame
        Every hidden count: ``table, group, unit, reason`` (stays inside).
    notes : list of str
        What could not be published (e.g. a level without direct standardisation).
    geography : pandas.DataFrame
        ``geography.csv``: ``child_level, child, parent_level, parent`` for unit levels that
        nest (public knowledge, which the audit needs to rebuild the relations).
    verdict : dict
        How the published ``flag_95``/``flag_998`` were decided, with the robust spread of
        each comparison computed from its published units
        (:func:`casemix.models.verdicts.apply_verdict`).
    """

    units: pd.DataFrame
    funnels: dict[str, pd.DataFrame]
    direct: pd.DataFrame
    subgroups: dict[str, pd.DataFrame]
    coefficients: pd.DataFrame
    log: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    geography: pd.DataFrame = field(default_factory=pd.DataFrame)
    verdict: dict[str, Any] = field(default_factory=dict)


def disclose_run(result: CaseMixResult, births: pd.DataFrame | GroupedBirths | None = None, *,
                 threshold: int = DEFAULT_THRESHOLD, width: float | None = None
                 ) -> DisclosedRun:
    """Suppress the tables of a run together.

    Parameters
    ----------
    result : CaseMixResult
        A fitted result (with its data attached).
    births : pandas.DataFrame or GroupedBirths, optional
        The births it was fitted on: needed for calibration by subgroup and for the nesting
        of unit levels (municipalities in regions), which an attacker knows. Grouped births
        bring the tables of their subgroups outside the model
        (:attr:`~casemix.models.grouped.GroupedBirths.subgroups`).
    threshold : int, default 10
        Counts below this are suppressed (primary suppression), and every hidden count's
        feasible interval must reach it.
    width : float, optional
        Minimum width of a hidden count's feasible interval (default: ``threshold``).

    Returns
    -------
    DisclosedRun

    Notes
    -----
    Primary suppression: a row whose numerator, complement (n - O) or denominator is below
    the threshold loses its numerator and everything computed from it (and its denominator
    when that is small). Secondary suppression and its audit run on the linked cells of every
    table at once (see :mod:`casemix.disclosure.tables` for the relations); a hidden count
    passes when the interval an attacker can derive by linear programming reaches the
    threshold and is at least ``width`` wide.
    """
    protection = Protection(threshold, float(threshold if width is None else width))
    table = result.unit_table
    frame = _with_unweighted(result, table.frame.assign(period=table.frame["period"].astype(str)))
    tables = births.subgroups if isinstance(births, GroupedBirths) else {}
    births = births.frame if isinstance(births, GroupedBirths) else births
    groups, levels = _subgroups_beside_direct(result, births, tables)
    direct, notes = _direct(levels)
    cells = LinkedCells()
    nesting = _nesting(result, births)
    links = link_unit_table(cells, frame, file="units.csv", main_period=table.period,
                            missing=_missing(result, threshold), nesting=nesting,
                            shared=list(result.level_cells))
    group_links = {v: link_groups(cells, g, variable=v, file=f"calibration_{v}.csv",
                                  main_period=table.period) for v, g in groups.items()}
    calibration = result.calibration()
    publish_national(cells, table.period, calibration.events, calibration.n,
                     file="calibration.csv")
    hidden = ~np.asarray(cells.published)
    unit_keys = _unit_keys(frame)
    mark_primary(hidden, links, unit_keys, frame["observed"], frame["n"], threshold)
    group_keys = {v: _group_keys(v, table.period, g) for v, g in groups.items()}
    for v, g in groups.items():
        mark_primary(hidden, group_links[v], group_keys[v], g["observed"], g["n"], threshold)
    if UNWEIGHTED[1] in frame:
        hidden, protection = _protect_unweighted(result, births, frame, cells, hidden,
                                                 protection, nesting)
    hidden = protect(cells, hidden, protection, last_resort=national_cells(cells))
    units = _apply(frame, links, hidden, unit_keys, HIDDEN_WITH_OBSERVED)
    units = _published_shrinkage(result, units)
    units = _rank_published(units)
    units, verdict = _published_verdict(result, units)
    main = units[table.is_main().to_numpy()]
    funnels = {level: _funnel(main[main["level"] == level], level, result.shrinker)
               for level in result.spec.levels}
    direct = _apply(direct, links, hidden,
                    _unit_keys(direct.assign(period=table.period, stratum="all")),
                    ["direct_rate", "direct_rate_lower", "direct_rate_upper", "direct_note"])
    subgroups = {v: _apply(g, group_links[v], hidden, group_keys[v], GROUP_DERIVED)
                 for v, g in groups.items()}
    log = _log(cells, hidden, threshold)
    return DisclosedRun(_round(units.drop(columns=["variance"], errors="ignore")),
                        {k: _round(v) for k, v in funnels.items()},
                        _round(direct), {k: _round(v) for k, v in subgroups.items()},
                        _round(_coefficients(result, threshold)), log, notes,
                        geography_table(nesting), verdict)


def _with_unweighted(result: CaseMixResult, frame: pd.DataFrame) -> pd.DataFrame:
    """Add the unweighted events and births of each row when the run has case weights or
    births shared between units.

    The threshold is about births, not weighted sums: with weights 1.2, a weighted count of
    10.8 is 9 births, and a birth shared between two VSVs is a birth of each. The columns are
    published too (the unweighted base of each row), so that the audit can check the rule
    from the files; levels with shared births are marked in ``assignment``."""
    if (result.spec.weights is None and not result.level_cells) or result.cells is None:
        return frame
    parts = []
    for level in result.spec.levels:
        cells = result.cells_of(level)
        assert cells is not None
        # runs with weights or shares record their cells' unweighted counts
        keys = cells.keys.assign(_y=cells.unweighted_events, _m=cells.births)
        for sub, period, stratum in row_groups(keys, stratify=result.spec.stratify,
                                               by_year=result.spec.by_year,
                                               years=result.years):
            agg = sub.groupby(level, observed=True)[["_y", "_m"]].sum()
            parts.append(agg.reset_index(drop=True).assign(
                level=level, unit=agg.index.astype(str), period=period, stratum=stratum))
    counts = pd.concat(parts, ignore_index=True)
    merged = frame[["level", "unit", "period", "stratum"]].merge(
        counts, on=["level", "unit", "period", "stratum"], how="left")
    out = frame.assign(**{UNWEIGHTED[0]: merged["_y"].fillna(0).to_numpy(),
                          UNWEIGHTED[1]: merged["_m"].fillna(0).to_numpy()})
    if result.level_cells:
        out[ASSIGNMENT] = np.where(frame["level"].isin(list(result.level_cells)), "shared",
                                   "single")
    return out


def _protect_unweighted(result: CaseMixResult, births: pd.DataFrame | None, frame: pd.DataFrame,
                        cells: LinkedCells, hidden: np.ndarray, protection: Protection,
                        nesting: dict[tuple[str, str], dict[str, str]]
                        ) -> tuple[np.ndarray, Protection]:
    """Primary and secondary suppression on the unweighted counts (births), carried over to
    the weighted cells; the weighted cells then need intervals ``w_max`` times as wide (a
    weighted interval reaching ``10 w_max`` is consistent with 10 or more births)."""
    raw = LinkedCells()
    counts = frame.assign(observed=frame[UNWEIGHTED[0]], n=frame[UNWEIGHTED[1]])
    missing = {lv: (0.0 if v == 0 else None) for lv, v in
               _missing(result, protection.threshold).items()}
    links = link_unit_table(raw, counts, file="units.csv", main_period=result.unit_table.period,
                            missing=missing, nesting=nesting, shared=list(result.level_cells),
                            additive=False)
    raw_hidden = ~np.asarray(raw.published)
    mark_primary(raw_hidden, links, _unit_keys(counts), counts["observed"], counts["n"],
                 protection.threshold)
    raw_hidden = protect(raw, raw_hidden, protection, last_resort=national_cells(raw))
    hidden = hidden.copy()
    for i in np.flatnonzero(raw_hidden & np.asarray(raw.published)):
        if raw.keys[i] in cells:
            hidden[cells.index(raw.keys[i])] = True
    w = (analysed(births[result.spec.weights], result.rows).to_numpy(dtype=float)
         if births is not None and result.rows is not None and result.spec.weights else None)
    scale = max(1.0, float(np.max(w)) if w is not None and len(w) else
                float(np.max(frame["n"] / frame[UNWEIGHTED[1]].where(lambda x: x > 0))))
    return hidden, Protection(protection.threshold * scale, protection.width * scale)


def _unit_keys(frame: pd.DataFrame) -> list[str]:
    return [unit_key(lv, str(u), str(p), st) for lv, u, p, st in
            zip(frame["level"], frame["unit"], frame["period"], frame["stratum"], strict=True)]


def _group_keys(variable: str, period: str, table: pd.DataFrame) -> list[str]:
    return [unit_key(f"group:{variable}", str(g), period, "all") for g in table["group"]]


def _subgroups(result: CaseMixResult, births: pd.DataFrame | None,
               tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Calibration by every subgroup in ``births`` or with a subgroup table of its own
    (grouped births), in the order of :data:`SUBGROUPS` (the tables only: the pooled slopes
    are not published)."""
    if births is None or result.outcome is None:
        return {}
    frame = with_derived_groups(births)
    out = {}
    for column in SUBGROUPS:
        if column in tables:
            out[column] = result.calibration_by_table(tables[column], births, column,
                                                      pooled=False).table
        elif column in frame:
            out[column] = result.calibration_by(frame, column, pooled=False).table
    return out


#: What the direct standardisation of a level gave: its table, or why there is none.
_LevelOutcome = tuple[str, pd.DataFrame | ConvergenceError]


def _subgroups_beside_direct(result: CaseMixResult, births: pd.DataFrame | None,
                             tables: dict[str, pd.DataFrame]
                             ) -> tuple[dict[str, pd.DataFrame], list[_LevelOutcome]]:
    """:func:`_subgroups` on this thread while :func:`_direct_levels` runs on another.

    Both are numpy work that releases the GIL in its large steps (BLAS, ufuncs, sorts):
    1.2-1.5 s instead of 1.55-1.85 s for the two at 1M births on 2 cores with load 1.4;
    no gain when other processes keep both cores busy (load 2.5-4). Each computes exactly
    what it computes alone (no shared state but
    the result's cache of values that are the same whoever fills it). Warnings stay on this
    thread, in the order of the serial run (:func:`_warnings_after`): those of the subgroups
    as they come, then those of the direct standardisation, then its notes (:func:`_direct`).
    """
    if births is None or result.outcome is None:  # no subgroups: nothing to overlap
        return {}, _direct_levels(result)
    # the pool's block ends first: the other thread has finished when the warnings replay
    with _warnings_after(), ThreadPoolExecutor(1) as pool:
        pending = pool.submit(_direct_levels, result)
        groups = _subgroups(result, births, tables)
        levels = pending.result()
    return groups, levels


@contextlib.contextmanager
def _warnings_after() -> Iterator[None]:
    """Within the block, warnings shown on other threads are held (after the warning filters
    decided to show them); they are shown on this thread, in their order, when the block
    ends.

    Notes
    -----
    :func:`warnings.catch_warnings` swaps process-wide state, so the other threads must not
    use it; they show their warnings through :func:`warnings.showwarning`, which this block
    replaces for its duration and restores, then replays the held ones through.
    """
    shown = warnings.showwarning
    main = threading.get_ident()
    held: list[tuple[Any, ...]] = []

    def hold(*args: Any, **kwargs: Any) -> None:
        if threading.get_ident() == main:
            shown(*args, **kwargs)
        else:
            held.append((args, kwargs))

    warnings.showwarning = hold
    try:
        yield
    finally:
        warnings.showwarning = shown
        for args, kwargs in held:
            shown(*args, **kwargs)


def _direct_levels(result: CaseMixResult) -> list[_LevelOutcome]:
    """Direct standardisation of every level, or the :class:`ConvergenceError` of a level
    whose fixed-effects design is singular within units (issued by :func:`_direct`)."""
    out: list[_LevelOutcome] = []
    for level in result.spec.levels:
        try:
            out.append((level, result.direct_standardisation(level)))
        except ConvergenceError as exc:
            out.append((level, exc))
    return out


def _direct(levels: list[_LevelOutcome]) -> tuple[pd.DataFrame, list[str]]:
    """``direct.csv`` from :func:`_direct_levels`; a level whose fixed-effects design is
    singular within units (an adjuster constant within each unit) is left out with a note,
    also issued as a warning."""
    tables, notes = [], []
    for level, outcome in levels:
        if isinstance(outcome, ConvergenceError):
            notes.append(f"direct.csv: no direct standardisation for level {level}: {outcome}")
            warnings.warn(notes[-1], MethodSwitchWarning, stacklevel=3)
        else:
            tables.append(outcome)
    if not tables:
        return pd.DataFrame(columns=DIRECT_COLUMNS), notes
    return pd.concat(tables, ignore_index=True), notes


def _missing(result: CaseMixResult, threshold: float) -> dict[str, float | None]:
    """Births without a unit code per level as ``exclusions.csv`` shows them (absent: 0)."""
    shown: dict[str, float | None] = dict.fromkeys(result.spec.levels, 0.0)
    for entry in result.exclusions.entries:
        if entry["stage"] == "comparison" and entry["scope"] in shown:
            n = float(str(entry["n_rows"]))
            shown[str(entry["scope"])] = n if n >= threshold else None
    return shown


def _nesting(result: CaseMixResult, births: pd.DataFrame | None
             ) -> dict[tuple[str, str], dict[str, str]]:
    """Pairs of levels where every unit of one lies within one unit of the other."""
    if births is None or result.rows is None:
        return {}
    levels = list(result.spec.levels)
    return nesting_of(analysed(births[levels], result.rows), levels)


def _apply(frame: pd.DataFrame, links: TableLinks, hidden: np.ndarray, keys: list[str],
           derived: list[str]) -> pd.DataFrame:
    """Blank hidden numerators (with ``derived``) and denominators of the rows with
    ``keys``; add ``suppressed``.

    Column by column on arrays: 1-3 ms a table instead of 5-22 ms for ``loc`` assignments
    of column lists (the 9 tables of a run: 0.08 s to 0.015 s); the same values and dtypes
    (hidden numbers NaN, or NA in nullable integer counts, hidden text None)."""
    no_o = np.array([hidden[links.observed[k]] for k in keys], dtype=bool)
    no_n = np.array([hidden[links.n[k]] for k in keys], dtype=bool)
    out = frame.copy()
    for column in ("observed", "n", *UNWEIGHTED):
        if column in out:
            # events_unweighted is blanked with what is derived from the numerator (below)
            out[column] = _counts(out[column], {"observed": no_o, "n": no_n,
                                                UNWEIGHTED[1]: no_n}.get(column))
    for column in derived:
        if column not in out:
            continue
        dtype = float if pd.api.types.is_numeric_dtype(out[column]) else object
        values = out[column].astype(dtype).to_numpy(copy=True)
        values[no_o] = np.nan if dtype is float else None
        out[column] = pd.Series(values, index=out.index, dtype=dtype)
    out["suppressed"] = no_o | no_n
    return out


def _counts(column: pd.Series, hidden: np.ndarray | None = None) -> pd.Series:
    """Whole-number counts as nullable integers; weighted counts stay float; ``hidden``
    rows missing (NA, NaN)."""
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    missing = np.isnan(values)
    if hidden is not None:
        missing = missing | hidden
    if np.all(values[~np.isnan(values)] % 1 == 0):
        # the integer parts of whole floats (what int() gives), masked where missing
        whole = np.where(missing, 0.0, values).astype(np.int64)
        return pd.Series(pd.arrays.IntegerArray(whole, missing), index=column.index)
    return pd.Series(np.where(missing, np.nan, values), index=column.index)


def _published_shrinkage(result: CaseMixResult, units: pd.DataFrame) -> pd.DataFrame:
    """Empirical Bayes and Fay-Herriot estimated again from the published units only, so that
    their prior cannot be solved for the hidden units' counts (other shrinkers estimate one
    variance component, which cannot pin two or more hidden counts)."""
    if not isinstance(result.shrinker, EmpiricalBayes | FayHerriot):
        return units
    shown = units[units["observed"].notna()].astype({"observed": float})
    redone = result.shrinker.shrink(result.unit_table.replace(shown),
                                    level=result.spec.confidence_level,
                                    seed=result.seed).frame
    out = units.copy()
    columns = ["shrunk_oe", "shrunk_lower", "shrunk_upper", "prob_above", "rank",
               "rank_lower", "rank_upper"]
    out.loc[redone.index, columns] = redone[columns].to_numpy()
    return out


def _published_verdict(result: CaseMixResult, units: pd.DataFrame
                       ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The verdict again from the published units of each comparison only: its robust
    spread pools over units, so it must not use the hidden ones (and then ``units.csv``
    and ``funnel_<level>.csv`` flag the same units)."""
    shown = units["observed"].notna() & units["expected"].notna()
    table, summary = apply_verdict(
        result.unit_table.replace(units.astype({"observed": float})), result.shrinker,
        published=shown)
    out = units.copy()
    for column in ("flag_95", "flag_998", "verdict_p"):
        out[column] = table.frame[column]
    return out, summary


def _rank_published(units: pd.DataFrame) -> pd.DataFrame:
    """Ranks among the published units of each comparison: the point rank by shrunken O/E,
    and the interval ``[max(1, lower - S), min(K, upper)]`` with S hidden units, which holds
    every draw's rank among the K published units (hiding S units lowers a rank by 0 to S)."""
    if "rank" not in units:
        return units
    out = units.copy()
    for _, t in out.groupby(["level", "period", "stratum"], sort=False):
        shown = t.index[t["observed"].notna() & t["shrunk_oe"].notna()]
        hidden = len(t) - len(shown)
        if not len(shown):
            continue
        out.loc[shown, "rank"] = t.loc[shown, "shrunk_oe"].rank().to_numpy()
        out.loc[shown, "rank_lower"] = np.maximum(1, t.loc[shown, "rank_lower"] - hidden)
        out.loc[shown, "rank_upper"] = np.minimum(len(shown), t.loc[shown, "rank_upper"])
    return out


def _funnel(main: pd.DataFrame, level: str, shrinker: Shrinker) -> pd.DataFrame:
    """Funnel limits, flags, phi and tau^2 of the published units of a level, around the
    national level of the published units (the verdict's centre)."""
    from casemix.funnel import funnel

    shown = main[main["observed"].notna() & main["expected"].notna()]
    columns = ["unit", "observed", "expected", "value", "z", "z_adjusted", "lower_95",
               "upper_95", "flag_95", "lower_998", "upper_998", "flag_998", "level", "n",
               "adjustment", "phi", "tau2", "suppressed", "variance"]
    rows = main[["unit", "n", "suppressed"]].assign(level=level)
    if len(shown) < 2:
        return rows.reindex(columns=columns)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MethodSwitchWarning)
        O = shown["observed"].to_numpy(dtype=float)
        E = shown["expected"].to_numpy(dtype=float)
        f = funnel(O, E, units=list(shown["unit"]), kind="ratio", variance=_variance(shown),
                   target=float(np.exp(shrinker.verdict_centre(O, E))),
                   overdispersion=SPREAD_SETTINGS["overdispersion"])
    table = f.units.rename(columns={"numerator": "observed", "denominator": "expected"})
    table = table.assign(adjustment=f.adjustment, phi=f.phi, tau2=f.tau2)
    if "variance" in shown:
        table["variance"] = shown["variance"].to_numpy(dtype=float)
    merged = rows.merge(table, on="unit", how="left")
    merged["observed"] = _counts(merged["observed"])
    return merged.reindex(columns=columns)


def _variance(rows: pd.DataFrame) -> np.ndarray | None:
    """The binary-outcome null variance of each row, when the unit table has it."""
    return rows["variance"].to_numpy(dtype=float) if "variance" in rows else None


def _coefficients(result: CaseMixResult, threshold: int) -> pd.DataFrame:
    """Coefficients with the terms of sparse categories blanked: for a 0/1 column of the
    design, the births, events and non-events with the category are counts, and its standard
    error is about ``1/sqrt(events) + 1/sqrt(non-events)``-sized, so they must reach the
    threshold. The audit sees only the standard error: ``1 / se^2`` is at most the category's
    information ``sum p(1 - p) <= min(events, non-events)``, so a term whose ``1 / se^2`` is
    below the threshold is blanked too (its counts may be small)."""
    out = result.coefficients.copy()
    out["suppressed"] = False
    if result.patterns is None:
        return out
    design = result.design_rows()
    X = design.matrix
    indicator = np.all((X == 0) | (X == 1), axis=0)
    indicator[0] = False
    births = X.T @ design.sums(result.patterns.m)
    events = X.T @ design.sums(result.patterns.y)
    se = out["std_error"].to_numpy(dtype=float)
    with np.errstate(divide="ignore"):
        information = 1.0 / se**2  # <= min(events, non-events) of the category
    sparse = indicator & ((np.minimum(events, births - events) < threshold)
                          | ~(information >= threshold))
    blank = [c for c in out.columns if c not in ("term", "suppressed")]
    out[blank] = out[blank].astype(float)
    out.loc[sparse, blank] = np.nan
    out.loc[sparse, "suppressed"] = True
    return out


def masked_like(table: pd.DataFrame, published: pd.DataFrame, *, key: str = "group"
                ) -> pd.DataFrame:
    """A table with the same rows and counts as a published one (e.g. calibration by income of
    the run without SES, whose groups, events and births are those of the main run) with the
    published table's suppression: its hidden counts and what is computed from them blanked,
    its precision. Only for tables whose counts equal the published ones."""
    shown = published.set_index(key)
    out = table.copy()
    rows = out[key].map(lambda g: g in shown.index)
    no_o = ~rows | out[key].map(shown["observed"].isna()).fillna(True).astype(bool)
    no_n = ~rows | out[key].map(shown["n"].isna()).fillna(True).astype(bool)
    numeric = [c for c in GROUP_DERIVED if c in out]
    out[numeric] = out[numeric].astype(float)
    out["observed"] = _counts(out["observed"]).where(~no_o.to_numpy(), pd.NA)
    out.loc[no_o.to_numpy(), numeric] = np.nan
    out["n"] = _counts(out["n"]).where(~no_n.to_numpy(), pd.NA)
    out["suppressed"] = (no_o | no_n).to_numpy()
    return _round(out)


def _round(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column, digits in PRECISION.items():
        if column in out and pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column].round(digits)
    return out


def _log(cells: LinkedCells, hidden: np.ndarray, threshold: int) -> pd.DataFrame:
    """``table, group, unit, reason`` of every hidden count that a file would show (``group``
    is ``level|period|stratum`` and the count, e.g. ``vsv|2024|all|observed``)."""
    values, published, _, _, kind = cells.arrays()
    rows = []
    for i in np.flatnonzero(hidden & published & (kind == "shown")):
        level, unit, period, stratum = cells.keys[i].split(":", 1)[1].split("|")
        rows.append({"table": cells.where[i].file,
                     "group": f"{level}|{period}|{stratum}|{cells.where[i].column}",
                     "unit": unit,
                     "reason": f"count below {threshold}" if values[i] < threshold
                     else "secondary: protects a linked suppressed count"})
    return pd.DataFrame(rows, columns=["table", "group", "unit", "reason"])
