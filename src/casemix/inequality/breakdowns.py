"""Indicators broken down by social position (education, income, migration background), crude
and case-mix adjusted, with the inequality measures of public-health monitoring.

The Kansrijke Start monitor publishes Big2 by maternal education and household income (and
next by migration background); :func:`indicator_breakdowns` gives those tables per unit, with
Wilson intervals for the crude rates, indirectly standardised rates for the adjusted ones, and
per unit the rate difference and ratio between the extreme groups and the slope and relative
index of inequality (:mod:`casemix.inequality.measures`). Every count is protected together
with the indicator table the breakdown adds up to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import expit

from casemix.core.design import Term, learn_encoding
from casemix.core.logistic import fit_logistic
from casemix.disclosure import DEFAULT_THRESHOLD
from casemix.disclosure.tables import nesting_of
from casemix.exceptions import DataError
from casemix.indicators import DefinitionSettings, derive_indicators, indicator_rates
from casemix.indicators.derive import IndicatorFlags
from casemix.indicators.rates import disclose_rates
from casemix.records.exclusions import ExclusionLog
from casemix.records.schema import MIGRATION_BACKGROUNDS
from casemix.standardisation import poisson_ratio_interval, proportion_interval

__all__ = ["BREAKDOWNS", "BREAKDOWN_COLUMNS", "DEMOGRAPHIC_ADJUSTERS", "MISSING_GROUP",
           "BreakdownDimension", "Breakdowns", "indicator_breakdowns"]

#: Group label of births whose value of the breakdown variable is unknown (shown, so that the
#: groups add up to the unit's total).
MISSING_GROUP = "missing"


@dataclass(frozen=True)
class BreakdownDimension:
    """A social variable to break indicators down by.

    Attributes
    ----------
    column : str
        Canonical column.
    groups : tuple of str
        Its groups in order; for an ordered variable from the most disadvantaged (rank 0 of
        the slope index) to the most advantaged.
    ordered : bool
        Ordered groups get the slope and relative index of inequality and the extremes'
        difference; unordered groups are each compared with ``reference``.
    reference : str, optional
        Comparison group of an unordered variable.
    """

    column: str
    groups: tuple[str, ...]
    ordered: bool
    reference: str | None = None


#: The breakdowns the monitor publishes (education and income) and announces (migration).
BREAKDOWNS: dict[str, BreakdownDimension] = {
    "education": BreakdownDimension("education", ("low", "middle", "high"), ordered=True),
    "income_quintile": BreakdownDimension("income_quintile", ("1", "2", "3", "4", "5"),
                                          ordered=True),
    "migration_background": BreakdownDimension("migration_background", MIGRATION_BACKGROUNDS,
                                               ordered=False, reference="dutch"),
}

#: Demographic case mix of the adjusted rates (the non-SES adjusters of the shipped Big2
#: spec without migration background): adjusting a social breakdown for social position
#: itself would remove the gradient it is meant to show.
DEMOGRAPHIC_ADJUSTERS: tuple[Term, ...] = (
    Term("maternal_age", kind="spline", knots=(20, 27, 31, 35, 41)),
    Term("parity", breaks=(1,), labels=("nulliparous", "multiparous")),
    Term("plurality", breaks=(2,), labels=("singleton", "multiple")),
    Term("infant_sex"),
)

#: Columns of :attr:`Breakdowns.table`.
BREAKDOWN_COLUMNS = [
    "level", "unit", "indicator", "breakdown", "group", "numerator", "denominator", "rate",
    "rate_lower", "rate_upper", "expected", "oe", "oe_lower", "oe_upper", "adjusted_rate",
    "adjusted_rate_lower", "adjusted_rate_upper", "suppressed"]
#: Columns computed from a row's numerator: blank when it is hidden.
_DERIVED = ["rate", "rate_lower", "rate_upper", "expected", "oe", "oe_lower", "oe_upper",
            "adjusted_rate", "adjusted_rate_lower", "adjusted_rate_upper"]


@dataclass(frozen=True)
class Breakdowns:
    """Result of :func:`indicator_breakdowns`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per level, unit, indicator, breakdown and group (:data:`BREAKDOWN_COLUMNS`):
        counts, crude rate with Wilson limits, expected events under the demographic case
        mix, O/E with exact limits and the adjusted rate O/E x national rate.
    inequality : pandas.DataFrame
        Per level, unit, indicator and breakdown: ``rates`` (crude or adjusted), ``measure``
        (``rate_difference``, ``rate_ratio``, ``sii``, ``rii``), ``comparison``, ``value``,
        ``lower``, ``upper``, ``confidence``, ``suppressed`` and ``note``.
    indicators : pandas.DataFrame
        The indicator table the breakdowns add up to (as :func:`casemix.indicators.
        indicator_rates`), protected jointly with ``table``.
    settings : DefinitionSettings
    adjusters : dict
        Per breakdown, the adjuster columns of its expected counts.
    exclusions : ExclusionLog
    """

    table: pd.DataFrame
    inequality: pd.DataFrame
    indicators: pd.DataFrame
    settings: DefinitionSettings
    adjusters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    exclusions: ExclusionLog = field(default_factory=ExclusionLog)


def _dimensions(births: pd.DataFrame, breakdowns: Sequence[str]) -> list[BreakdownDimension]:
    unknown = [b for b in breakdowns if b not in BREAKDOWNS]
    if unknown:
        raise DataError(f"Unknown breakdown(s) {unknown}; breakdowns: {', '.join(BREAKDOWNS)}.")
    absent = [b for b in breakdowns if BREAKDOWNS[b].column not in births]
    if absent:
        raise DataError(f"Cannot break down by {absent}: column(s) not in the births table.")
    if not breakdowns:
        raise DataError(f"Name at least one breakdown ({', '.join(BREAKDOWNS)}).")
    return [BREAKDOWNS[b] for b in dict.fromkeys(breakdowns)]


def _labels(values: pd.Series, dim: BreakdownDimension) -> tuple[pd.Series, list[str]]:
    """Group label per birth (``missing`` where unknown) and the groups in order: the
    declared ones, then any other value found (sorted), then ``missing``."""
    text = values.astype("string")
    text = text.str.replace(r"\.0$", "", regex=True)  # income quintile read as float
    found = set(text.dropna().unique())
    groups = [*dim.groups, *sorted(found - set(dim.groups)), MISSING_GROUP]
    return text.fillna(MISSING_GROUP).astype(str), groups


def _usable(terms: Sequence[Term], frame: pd.DataFrame) -> tuple[Term, ...]:
    """Terms whose column is present and varies among the births (a constant column, e.g.
    plurality among singletons only, adjusts for nothing)."""
    return tuple(t for t in terms if t.column in frame and len(pd.unique(frame[t.column])) > 1)


def _expected(births: pd.DataFrame, outcome: pd.Series, terms: tuple[Term, ...]
              ) -> npt.NDArray[np.float64]:
    """Predicted risk per birth of the denominator (NaN elsewhere) from a logistic model on
    ``terms``, fitted to the covariate patterns."""
    inside = outcome.notna().to_numpy()
    p = np.full(len(births), np.nan)
    if not inside.any():
        return p
    frame = births.loc[inside, [t.column for t in terms]].reset_index(drop=True)
    y = outcome[inside].to_numpy(dtype=float)
    if not terms:
        p[inside] = y.mean()
        return p
    X = learn_encoding(frame, terms).matrix(frame)
    patterns, inverse = np.unique(X, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    events = np.bincount(inverse, weights=y, minlength=len(patterns)).astype(float)
    births_ = np.bincount(inverse, minlength=len(patterns)).astype(float)
    fit = fit_logistic(np.asfortranarray(patterns), events, births_)
    p[inside] = expit(patterns @ fit.coef)[inverse]
    return p


def _sums(flags: pd.DataFrame, expected: pd.DataFrame, keys: list[pd.Series]) -> pd.DataFrame:
    """Numerator, denominator and expected per key and indicator (long)."""
    num = flags.fillna(False).astype("int64")
    den = flags.notna().astype("int64")
    parts = {"numerator": num, "denominator": den, "expected": expected.fillna(0.0)}
    out = []
    for name, frame in parts.items():
        s = frame.groupby(keys, observed=True).sum()
        s.columns.name = "indicator"
        out.append(s.stack().rename(name))
    return pd.concat(out, axis=1).reset_index()


def _counts(births: pd.DataFrame, flags: pd.DataFrame, expected: pd.DataFrame,
            dim: BreakdownDimension, levels: list[str]) -> pd.DataFrame:
    """Counts of every level, unit, indicator and group (full grid: empty groups are 0)."""
    group, groups = _labels(births[dim.column], dim)
    group = group.rename("group")
    tables = []
    for level in ["national", *levels]:
        if level == "national":
            unit = pd.Series("national", index=births.index, name="unit")
        else:
            unit = births[level].astype("string").rename("unit")
        s = _sums(flags, expected, [unit, group])
        grid = pd.MultiIndex.from_product(
            [sorted(s["unit"].unique()), list(flags.columns), groups],
            names=["unit", "indicator", "group"])
        s = s.set_index(["unit", "indicator", "group"]).reindex(grid, fill_value=0)
        tables.append(s.reset_index().assign(level=level, breakdown=dim.column))
    return pd.concat(tables, ignore_index=True)


def _rates(table: pd.DataFrame, national: pd.Series, level: float) -> pd.DataFrame:
    """Crude rate with Wilson limits, O/E with exact limits, adjusted rate."""
    o = table["numerator"].to_numpy(float)
    n = table["denominator"].to_numpy(float)
    e = table["expected"].to_numpy(float)
    has_n, has_e = n > 0, e > 0
    out = table.copy()
    out["rate"] = np.divide(o, n, out=np.full_like(o, np.nan), where=has_n)
    lo, hi = np.full_like(o, np.nan), np.full_like(o, np.nan)
    if has_n.any():
        ci = proportion_interval(o[has_n], n[has_n], level=level, method="wilson")
        lo[has_n], hi[has_n] = ci.lower, ci.upper
    out["rate_lower"], out["rate_upper"] = lo, hi
    oe = np.divide(o, e, out=np.full_like(o, np.nan), where=has_e)
    ol, ou = np.full_like(o, np.nan), np.full_like(o, np.nan)
    if has_e.any():
        ci = poisson_ratio_interval(o[has_e], e[has_e], level=level, method="exact")
        ol[has_e], ou[has_e] = ci.lower, ci.upper
    out["oe"], out["oe_lower"], out["oe_upper"] = oe, ol, ou
    r = out["indicator"].map(national).to_numpy(float)
    out["adjusted_rate"] = oe * r
    out["adjusted_rate_lower"] = ol * r
    out["adjusted_rate_upper"] = ou * r
    out["expected"] = np.where(has_n, e, np.nan)
    return out


def indicator_breakdowns(
    births: pd.DataFrame,
    breakdowns: Sequence[str],
    by: str | Sequence[str] | None = None,
    *,
    indicators: Sequence[str] | None = None,
    settings: DefinitionSettings | None = None,
    adjusters: Sequence[Term] | None = None,
    flags: IndicatorFlags | None = None,
    threshold: int | None = DEFAULT_THRESHOLD,
    level: float = 0.95,
    repetitions: int = 10_000,
    seed: int = 20261204,
) -> Breakdowns:
    r"""Indicators per social group, crude and case-mix adjusted, with inequality measures.

    Parameters
    ----------
    births : pandas.DataFrame
        Validated births in canonical columns.
    breakdowns : sequence of str
        Keys of :data:`BREAKDOWNS`: ``education``, ``income_quintile``,
        ``migration_background``.
    by : str or sequence of str, optional
        Unit level(s); the national rows always come first.
    indicators : sequence of str, optional
        Indicators to break down (default: every indicator derived). With ``flags``, the
        indicator table keeps every derived indicator and only these are broken down. Rare
        outcomes (mortality) per unit and group are nearly all suppressed, and protecting
        them is slow; the command line breaks down Big2, preterm birth and SGA by default.
    settings : DefinitionSettings, optional
        Definition preset and rules (default ``monitor-2022``).
    adjusters : sequence of Term, optional
        Case mix of the adjusted rates (default :data:`DEMOGRAPHIC_ADJUSTERS`); a term on the
        breakdown variable itself is left out of that breakdown's model, and so is a term
        whose column is absent or constant.
    flags : IndicatorFlags, optional
        Already derived indicator flags.
    threshold : int or None, default 10
        Disclosure threshold; ``None`` only inside the secure environment.
    level : float, default 0.95
        Confidence level of every interval.
    repetitions : int, default 10000
        Monte-Carlo replicates of the SII/RII limits (phe_sii's default is 100000; 10000
        keeps the Monte-Carlo error of a limit near 1% of the interval width).
    seed : int
        Seed of the SII/RII simulation (the limits reproduce exactly).

    Returns
    -------
    Breakdowns

    Notes
    -----
    Per unit $u$, indicator and group $g$ of a breakdown, with $O$ events
    among $N$ births:

    - crude rate $O/N$ with the Wilson score interval;
    - expected events $E = \sum_i \hat p_i$ over the group's births, $\hat p_i$
      from one national logistic model of the indicator on the adjusters (fitted on the
      covariate patterns), so that $E$ sums to $O$ nationally;
    - $O/E$ with Garwood's exact interval, and the indirectly standardised rate
      $O/E \times$ the national crude rate: the group's rate had its births the
      national demographic case mix.

    Births whose breakdown value is unknown form the group ``missing``, so the groups add up
    to the unit's row of the indicator table. Disclosure control treats the indicator table
    and every breakdown as one system of linked cells (:func:`casemix.indicators.
    disclose_rates`): groups add up to their unit, units to the nation (per group), and the
    definitional relations and nested events hold per group too. Values computed from a
    hidden numerator are blanked; an inequality measure is blank when any group it uses is
    hidden (:func:`casemix.inequality.measures` gives the formulas: Newcombe's hybrid score
    interval for the difference, Katz's log interval for the ratio, phe_sii for SII/RII on
    the proportions with their Wilson limits, and on the adjusted rates with theirs).

    References
    ----------
    RIVM. Kansrijke Start monitor: Big2 naar opleiding en inkomen van de moeder (2022).
    Mackenbach JP, Kunst AE. Measuring the magnitude of socio-economic inequalities in health.
    *Soc Sci Med* 1997;44:757-771.
    """
    from casemix.inequality.summary import inequality_measures

    settings = settings or DefinitionSettings()
    dims = _dimensions(births, breakdowns)
    flags = flags or derive_indicators(births, indicators, settings=settings)
    names = [c for c in flags.flags.columns if indicators is None or c in indicators]
    absent = sorted(set(indicators or ()) - set(names))
    if absent:
        raise DataError(f"Cannot break down {absent}: not among the derived indicators "
                        f"({', '.join(flags.flags.columns)}).")
    levels = [by] if isinstance(by, str) else list(by or [])
    totals, log = indicator_rates(births, levels, flags=flags, threshold=None)
    national = totals[totals["level"] == "national"].set_index("indicator")["rate"]
    terms = tuple(DEMOGRAPHIC_ADJUSTERS if adjusters is None else adjusters)
    cache: dict[tuple[str, ...], pd.DataFrame] = {}
    rows, used = [], {}
    for dim in dims:
        own = _usable([t for t in terms if t.column != dim.column], births)
        used[dim.column] = tuple(t.column for t in own)
        key = used[dim.column]
        if key not in cache:
            cache[key] = pd.DataFrame({name: _expected(births, flags.flags[name], own)
                                       for name in names}, index=births.index)
        rows.append(_counts(births, flags.flags[names], cache[key], dim, levels))
    table = _rates(pd.concat(rows, ignore_index=True), national, level)
    if threshold is not None:
        table, totals = _protect(table, totals, births, levels, log, threshold)
    else:
        table = table.assign(suppressed=False)
        totals = totals.assign(suppressed=False)
    measures = inequality_measures(table, dims, level=level, repetitions=repetitions,
                                   seed=seed)
    return Breakdowns(table[BREAKDOWN_COLUMNS].reset_index(drop=True), measures, totals,
                      settings, used, log)


def _protect(table: pd.DataFrame, totals: pd.DataFrame, births: pd.DataFrame,
             levels: list[str], log: ExclusionLog, threshold: int
             ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Joint suppression of the indicator table and the breakdowns."""
    both = pd.concat([totals.assign(breakdown=pd.NA, group=pd.NA),
                      table[["level", "unit", "indicator", "breakdown", "group", "numerator",
                             "denominator", "rate"]]], ignore_index=True)
    missing = dict.fromkeys(levels, 0.0)
    missing |= {str(e["scope"]): float(str(e["n_rows"])) for e in log.entries
                if e["stage"] == "comparison"}
    safe = disclose_rates(both, threshold=threshold, nesting=nesting_of(births, levels),
                          missing={lv: (n if n >= threshold or n == 0 else None)
                                   for lv, n in missing.items()})
    k = len(totals)
    out_totals = safe.iloc[:k].drop(columns=["breakdown", "group"]).reset_index(drop=True)
    part = safe.iloc[k:].reset_index(drop=True)
    out = table.reset_index(drop=True).copy()
    out["numerator"], out["denominator"] = part["numerator"], part["denominator"]
    out["suppressed"] = part["suppressed"].to_numpy()
    hidden = (part["numerator"].isna() | part["denominator"].isna()).to_numpy()
    out.loc[hidden, _DERIVED] = np.nan
    out["expected"] = out["expected"].round(1)  # published precision, as in units.csv
    out[["oe", "oe_lower", "oe_upper"]] = out[["oe", "oe_lower", "oe_upper"]].round(3)
    return out, out_totals
