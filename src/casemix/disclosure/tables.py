"""The cells and relations of casemix's count tables, from the tables themselves.

One builder serves both sides: the writer, which knows every count and chooses what to hide,
and the audit, which reads the exported files (a blank count is hidden) and rebuilds what an
attacker knows. Tables are long frames with the columns casemix writes: ``level, unit, period,
stratum, observed, n`` for unit comparisons (``units.csv``, ``funnel_<level>.csv``,
``direct.csv``) and ``group, observed, n`` for subgroups (``calibration_<variable>.csv``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from casemix.disclosure.linked import Cell, LinkedCells

__all__ = [
    "NATIONAL",
    "NESTED_EVENTS",
    "TableLinks",
    "breakdown_stratum",
    "definitional_relations",
    "geography_table",
    "indicator_units",
    "link_groups",
    "link_indicator_table",
    "link_unit_table",
    "mark_primary",
    "national_cells",
    "nested_differences",
    "nesting_of",
    "publish_national",
    "unit_key",
]

#: Level and unit label of national totals.
NATIONAL = ("national", "NL")
#: Unit label of the births without a unit code of a level.
MISSING = "<missing>"
ALL = "all"


def unit_key(level: str, unit: str, period: str, stratum: str) -> str:
    """Identifier of a unit comparison row, the same in every file that shows it."""
    return f"{level}|{unit}|{period}|{stratum}"


@dataclass
class TableLinks:
    """Which cells hold each row's counts: ``observed[key]`` and ``n[key]`` are cell indices
    of the numerator and denominator of row ``key``."""

    observed: dict[str, int] = field(default_factory=dict)
    n: dict[str, int] = field(default_factory=dict)
    #: Difference cells of nested events -> the outer numerator's cell.
    nested: dict[str, int] = field(default_factory=dict)


def _value(x: object) -> float:
    return float("nan") if x is None or pd.isna(x) else float(x)  # type: ignore[arg-type]


def _row(cells: LinkedCells, links: TableLinks, key: str, observed: object, n: object,
         file: str, label: str) -> None:
    """Cells ``O``, ``N`` and the complement ``C = N - O`` of one row."""
    o, m = _value(observed), _value(n)
    io = cells.cell(f"O:{key}", o, published=not np.isnan(o), where=Cell(file, label,
                                                                          "observed"))
    im = cells.cell(f"N:{key}", m, published=not np.isnan(m), where=Cell(file, label, "n"))
    ic = cells.cell(f"C:{key}", m - o, kind="implied", where=Cell(file, label, "n - observed"))
    if key not in links.observed:
        cells.add_sum(im, [io, ic])
    links.observed[key], links.n[key] = io, im


def _national(cells: LinkedCells, period: str, stratum: str, measure: str) -> int:
    return cells.cell(f"{measure}:{unit_key(*NATIONAL, period, stratum)}", kind="total",
                      where=Cell("", f"national {period} {stratum}", measure))


def mark_primary(hidden: np.ndarray, links: TableLinks, keys: list[str], observed: ArrayLike,
                 n: ArrayLike, threshold: float) -> None:
    """Primary suppression, in place: the numerator of row ``keys[i]`` hides when it, its
    complement ``n - observed`` or ``n`` is below ``threshold``; the denominator hides when it
    is itself below ``threshold``."""
    o, m = np.asarray(observed, dtype=float), np.asarray(n, dtype=float)
    small_o = np.minimum(np.minimum(o, m - o), m) < threshold
    for key, hide_o, hide_n in zip(keys, small_o, m < threshold, strict=True):
        hidden[links.observed[key]] |= hide_o
        hidden[links.n[key]] |= hide_n


def link_unit_table(cells: LinkedCells, units: pd.DataFrame, *, file: str, main_period: str,
                    links: TableLinks | None = None,
                    missing: Mapping[str, float | None] | None = None,
                    nesting: Mapping[tuple[str, str], Mapping[str, str]] | None = None,
                    shared: Collection[str] = (), additive: bool = True) -> TableLinks:
    """Add the rows of a unit comparison table and every relation between them.

    Parameters
    ----------
    cells : LinkedCells
    units : pandas.DataFrame
        ``level, unit, period, stratum, observed, n``; a missing count is hidden.
    file : str
        Name of the file that shows the rows (for findings).
    main_period : str
        Label of the pooled period; other periods are single years.
    links : TableLinks, optional
        Rows already added (from another file showing the same units).
    missing : mapping of str to float or None, optional
        Births without a unit code per level as the exclusion log shows them: a number
        (published; a level absent from the log has 0, and then every part of it is 0 too),
        or None for ``<10``. Levels not in the mapping: not shown anywhere.
    nesting : mapping, optional
        ``{(child level, parent level): {child unit: parent unit}}`` for levels that nest
        (municipalities in GGD regions): public knowledge an attacker has.
    shared : collection of str
        Levels at which births are shared between units (an assignment table): their units
        do not nest in other levels' units.
    additive : bool, default True
        False for unweighted counts of shared levels: a shared birth counts in each of its
        units, so their units do not add up to the national total either.

    Returns
    -------
    TableLinks

    Notes
    -----
    Relations: ``N = O + C`` per row; per level, period and stratum the units plus the births
    without a unit code add up to the national total (shared by every level, hence levels are
    linked too); per unit the years add up to the pooled period and the strata of a variable
    to ``all``, and so do the national totals; nested units add up to their parent (plus the
    births of the parent without a child code). Sums are on O and N; C follows.
    """
    links = links or TableLinks()
    frame = units.assign(period=units["period"].astype(str), unit=units["unit"].astype(str))
    for row in frame.itertuples(index=False):
        key = unit_key(row.level, row.unit, row.period, row.stratum)
        _row(cells, links, key, row.observed, row.n, file,
             f"{row.level} {row.unit} {row.period} {row.stratum}")
    for measure, index in (("O", links.observed), ("N", links.n)):
        _sums(cells, frame, measure, index, main_period, missing or {},
              () if additive else shared)
        _nesting(cells, frame, measure, index,
                 {k: v for k, v in (nesting or {}).items() if not set(k) & set(shared)},
                 missing or {})
    return links


def _sums(cells: LinkedCells, frame: pd.DataFrame, measure: str, index: dict[str, int],
          main_period: str, missing: Mapping[str, float | None],
          not_additive: Collection[str] = ()) -> None:
    def key(r: tuple) -> int:
        return index[unit_key(*r)]

    for (level, period, stratum), t in frame.groupby(["level", "period", "stratum"],
                                                     sort=False):
        if level in not_additive:
            continue
        parts = [key((level, u, period, stratum)) for u in t["unit"]]
        if missing.get(level, None) != 0:  # births without a code of this level: a count
            absent = cells.cell(f"{measure}:{unit_key(level, MISSING, period, stratum)}",
                                kind="total", where=Cell("exclusions.csv",
                                                           f"{level} missing", "n_rows"))
            if measure == "N" and period == main_period and stratum == ALL and level in missing:
                shown = missing[level]
                if shown is None:  # "<10"
                    cells.cell(cells.keys[absent], kind="masked", upper=9)
                else:
                    cells.cell(cells.keys[absent], shown, published=True)
            parts.append(absent)
        cells.add_sum(_national(cells, period, stratum, measure), parts)
    periods = sorted(set(frame["period"]) - {main_period})
    strata = frame.loc[frame["stratum"] != ALL, "stratum"]
    variables = sorted({s.split("=", 1)[0] for s in strata})
    pooled = frame[(frame["period"] == main_period) & (frame["stratum"] == ALL)]
    for level, unit in zip(pooled["level"], pooled["unit"], strict=True):
        total = key((level, unit, main_period, ALL))
        years = [index.get(unit_key(level, unit, p, ALL)) for p in periods]
        if periods:  # a unit without births in a year has no row: that part is 0
            cells.add_sum(total, [y for y in years if y is not None])
        for variable in variables:
            values = sorted(s for s in set(strata) if s.split("=", 1)[0] == variable)
            # a unit without births in a stratum has no row: that part is 0
            present = [index[k] for s in values
                       if (k := unit_key(level, unit, main_period, s)) in index]
            cells.add_sum(total, present)
    if periods and len(pooled):  # years of a pooled period (not, e.g., indicators)
        cells.add_sum(_national(cells, main_period, ALL, measure),
                      [_national(cells, p, ALL, measure) for p in periods])
    for variable in variables if len(pooled) else ():  # (indicator tables: _strata_sums)
        values = sorted(s for s in set(strata) if s.split("=", 1)[0] == variable)
        cells.add_sum(_national(cells, main_period, ALL, measure),
                      [_national(cells, main_period, s, measure) for s in values])


def _nesting(cells: LinkedCells, frame: pd.DataFrame, measure: str, index: dict[str, int],
             nesting: Mapping[tuple[str, str], Mapping[str, str]],
             missing: Mapping[str, float | None]) -> None:
    for (child, parent), parent_of in nesting.items():
        kids = frame[frame["level"] == child]
        for (period, stratum), t in kids.groupby(["period", "stratum"], sort=False):
            groups: dict[str, list[int]] = {}
            for unit in t["unit"]:
                if unit in parent_of:
                    groups.setdefault(str(parent_of[unit]), []).append(
                        index[unit_key(child, unit, period, stratum)])
            for parent_unit, parts in groups.items():
                total = index.get(unit_key(parent, parent_unit, period, stratum))
                if total is None:
                    continue
                if missing.get(child, None) != 0:  # births of the parent without a child code
                    parts = [*parts, cells.cell(
                        f"{measure}:{unit_key(child, MISSING + parent_unit, period, stratum)}",
                        kind="total", where=Cell("", f"{parent} {parent_unit} without "
                                                   f"{child}", measure))]
                cells.add_sum(total, parts)


def link_groups(cells: LinkedCells, groups: pd.DataFrame, *, variable: str, file: str,
                main_period: str, links: TableLinks | None = None) -> TableLinks:
    """Add a subgroup table (``group, observed, n``; every birth in exactly one group) whose
    groups add up to the national total of the pooled period."""
    links = links or TableLinks()
    for row in groups.itertuples(index=False):
        key = unit_key(f"group:{variable}", str(row.group), main_period, ALL)
        _row(cells, links, key, row.observed, row.n, file, f"{variable} = {row.group}")
    for measure, index in (("O", links.observed), ("N", links.n)):
        parts = [index[unit_key(f"group:{variable}", str(g), main_period, ALL)]
                 for g in groups["group"]]
        cells.add_sum(_national(cells, main_period, ALL, measure), parts)
    return links


def publish_national(cells: LinkedCells, main_period: str, observed: float, n: float, *,
                     file: str) -> None:
    """The national total of the pooled period as a file shows it (``calibration.csv``, a
    publication table); a blank (NaN) count is not shown."""
    for measure, value, column in (("O", observed, "events"), ("N", n, "n")):
        if not np.isnan(value):
            cells.cell(f"{measure}:{unit_key(*NATIONAL, main_period, ALL)}", value,
                       published=True, where=Cell(file, "national", column))


def nesting_of(frame: pd.DataFrame, levels: list[str]) -> dict[tuple[str, str], dict[str, str]]:
    """Pairs of unit levels where every unit of one lies within one unit of the other
    (municipalities within GGD regions): ``{(child, parent): {child unit: parent unit}}``.

    Geography is public: an attacker knows it, so the writer must link nested units too.

    Notes
    -----
    The distinct (child, parent) pairs of the rows with both codes, in the order of their
    first row (the order of ``drop_duplicates``), labelled as strings: from the codes of each
    level, factorized once (:func:`_pairs`), 20 ms instead of 90 ms for the two levels of 1M
    births.
    """
    coded = {level: pd.factorize(frame[level], use_na_sentinel=True) for level in levels}
    out = {}
    for child in levels:
        for parent in levels:
            if child == parent:
                continue
            pairs = _pairs(coded[child], coded[parent])
            if (len(pairs) and pairs["child"].is_unique
                    and pairs["parent"].nunique() < len(pairs)):
                out[(child, parent)] = dict(zip(pairs["child"], pairs["parent"], strict=True))
    return out


def _pairs(child: tuple[np.ndarray, ArrayLike], parent: tuple[np.ndarray, ArrayLike]
           ) -> pd.DataFrame:
    """The distinct pairs of two factorized columns (codes, uniques) over the rows where both
    are present, in the order of their first row, with the values as strings (what
    ``frame[[child, parent]].dropna().astype(str).drop_duplicates()`` holds)."""
    (a, a_values), (b, b_values) = child, parent
    both = (a >= 0) & (b >= 0)
    k = max(len(pd.Index(b_values)), 1)
    key = a[both].astype(np.int64) * k + b[both]
    size = max(len(pd.Index(a_values)), 1) * k
    if size <= max(1 << 22, 8 * len(key)):  # the first row of each key, marked in bins
        first = np.full(size, len(key), dtype=np.intp)
        first[key[::-1]] = np.arange(len(key), dtype=np.intp)[::-1]  # the last write wins
        distinct = np.flatnonzero(first < len(key))
        distinct = distinct[np.argsort(first[distinct], kind="stable")]
    else:
        distinct, where = np.unique(key, return_index=True)
        distinct = distinct[np.argsort(where, kind="stable")]  # in the order of the rows
    return pd.DataFrame({
        "child": pd.Series(pd.Index(a_values)[distinct // k]).astype(str).to_numpy(),
        "parent": pd.Series(pd.Index(b_values)[distinct % k]).astype(str).to_numpy()})


def geography_table(nesting: Mapping[tuple[str, str], Mapping[str, str]]) -> pd.DataFrame:
    """``child_level, child, parent_level, parent``: the nesting as a file (``geography.csv``),
    public knowledge that the audit needs to rebuild the relations."""
    rows = [(c, child, p, parent) for (c, p), mapping in nesting.items()
            for child, parent in mapping.items()]
    return pd.DataFrame(rows, columns=["child_level", "child", "parent_level", "parent"])


def breakdown_stratum(breakdown: object, group: object) -> str:
    """Stratum label of a breakdown row (``education=low``)."""
    return f"{breakdown}={group}"


def indicator_units(table: pd.DataFrame) -> pd.DataFrame:
    """An indicator table (``level, unit, indicator, numerator, denominator``) as unit rows:
    one "period" per indicator, so that per indicator the units of a level add up to the
    national row. Breakdown rows (columns ``breakdown`` and ``group``, :mod:`casemix.
    inequality`) become strata ``breakdown=group``; rows without a breakdown are ``all``."""
    national = table["level"].eq("national")
    stratum = np.full(len(table), ALL, dtype=object)
    if "breakdown" in table and "group" in table:
        b = table["breakdown"]
        has = b.notna().to_numpy() & (b.astype(str) != "").to_numpy()
        stratum[has] = [breakdown_stratum(x, g) for x, g in
                        zip(b[has], table["group"][has], strict=True)]
    return pd.DataFrame({
        "level": table["level"].to_numpy(),
        "unit": table["unit"].astype(str).where(~national, NATIONAL[1]).to_numpy(),
        "period": table["indicator"].astype(str).to_numpy(), "stratum": stratum,
        "observed": table["numerator"].to_numpy(dtype=float, na_value=np.nan),
        "n": table["denominator"].to_numpy(dtype=float, na_value=np.nan)})


def definitional_relations(units: pd.DataFrame, *, min_rows: int = 5
                           ) -> list[dict[tuple[str, str], float]]:
    """Exact relations between the counts of different indicators that hold in every row.

    Parameters
    ----------
    units : pandas.DataFrame
        :func:`indicator_units` rows; hidden counts are NaN (a relation must then hold in
        the rows where its counts are shown, in at least ``min_rows`` of them).

    Returns
    -------
    list of dict
        Each relation as ``{(measure, indicator): coefficient}`` with ``measure`` one of
        ``O`` (numerator), ``N`` (denominator) and ``C`` (N - O): ``a = b`` or ``a = b + c``.

    Notes
    -----
    Definitions nest: live births are all births minus stillbirths, so the denominator of
    neonatal death equals the complement of fetal death; perinatal deaths are fetal plus
    neonatal deaths. An attacker reads such relations from the definitions or from the
    published rows; the writer finds them in the true counts (a superset), without a list
    per definition preset. Candidates are equalities with coefficients +-1 between two or
    three count columns; a column that is 0 throughout is left out (it adds nothing).
    """
    wide = units.pivot_table(index=["level", "unit", "stratum"], columns="period",
                             values=["observed", "n"], aggfunc="first", dropna=False)
    columns, data = [], []
    for indicator in sorted(set(units["period"])):
        if ("observed", indicator) not in wide or ("n", indicator) not in wide:
            continue
        o = wide[("observed", indicator)].to_numpy(dtype=float)
        m = wide[("n", indicator)].to_numpy(dtype=float)
        for measure, x in (("O", o), ("N", m), ("C", m - o)):
            columns.append((measure, indicator))
            data.append(x)
    if not data:
        return []
    X = np.column_stack(data)
    known = ~np.isnan(X)
    useful = [j for j in range(X.shape[1]) if np.nanmax(np.abs(X[:, j]), initial=0) > 0]
    found: list[dict[tuple[str, str], float]] = []

    def holds(a: int, parts: tuple[int, ...]) -> bool:
        rows = known[:, a] & np.all(known[:, list(parts)], axis=1)
        if rows.sum() < min_rows:
            return False
        return bool(np.array_equal(X[rows, a], X[rows][:, list(parts)].sum(axis=1)))

    for i, a in enumerate(useful):
        for b in useful[i + 1:]:
            if holds(a, (b,)):
                found.append({columns[a]: 1.0, columns[b]: -1.0})
    for a in useful:
        for i, b in enumerate(useful):
            for c in useful[i + 1:]:
                if a in (b, c) or _trivial(columns, a, b, c) or not holds(a, (b, c)):
                    continue
                found.append({columns[a]: 1.0, columns[b]: -1.0, columns[c]: -1.0})
    return found


def _trivial(columns: list[tuple[str, str]], a: int, b: int, c: int) -> bool:
    """``N = O + C`` of one indicator (a relation of every row already), or ``N_a = O_b +
    C_b``, which is the pair relation ``N_a = N_b``."""
    trio = {columns[a], columns[b], columns[c]}
    same = columns[b][1] == columns[c][1]  # N_a = O_b + C_b = N_b: a pair relation
    return len({ind for _, ind in trio}) == 1 or same


#: Indicators whose event contains another's over the same denominator (public: it follows
#: from the definitions): the difference of their numerators is a count of births too (late
#: neonatal deaths = 28-day minus 7-day neonatal deaths; post-neonatal = infant minus 28-day;
#: moderately preterm = preterm minus very preterm; term SGA = Big2 minus preterm; preterm
#: without SGA = Big2 minus SGA).
NESTED_EVENTS: tuple[tuple[str, str], ...] = (
    ("neonatal_death_28d", "neonatal_death_7d"), ("infant_mortality", "neonatal_death_28d"),
    ("infant_mortality", "neonatal_death_7d"), ("preterm", "very_preterm"),
    ("big2", "preterm"), ("big2", "sga"), ("big2", "very_preterm"))


def nested_differences(cells: LinkedCells, units: pd.DataFrame, *, file: str) -> dict[str, int]:
    """Cells ``D = O_outer - O_inner`` of :data:`NESTED_EVENTS` per unit row (implied: shown
    nowhere, so their interval must not show a small count). Returns ``{difference key:
    cell of the outer numerator}`` (the writer hides that numerator when the difference is
    small)."""
    out: dict[str, int] = {}
    present = set(units["period"])
    rows = units[["level", "unit", "stratum"]].drop_duplicates()
    for outer, inner in NESTED_EVENTS:
        if outer not in present or inner not in present:
            continue
        for level, unit, stratum in rows.itertuples(index=False):
            ko = f"O:{unit_key(level, unit, outer, stratum)}"
            ki = f"O:{unit_key(level, unit, inner, stratum)}"
            if ko not in cells or ki not in cells:
                continue
            io, ii = cells.index(ko), cells.index(ki)
            value = cells.values[io] - cells.values[ii]
            key = f"D:{outer}-{inner}:{unit_key(level, unit, outer, stratum)}"
            label = f"{level} {unit}" + ("" if stratum == ALL else f" {stratum}")
            d = cells.cell(key, value, kind="implied",
                           where=Cell(file, label, f"{outer} - {inner}"))
            cells.add_relation({io: 1.0, ii: -1.0, d: -1.0})
            out[key] = io
    return out


def link_indicator_table(cells: LinkedCells, table: pd.DataFrame, *, file: str,
                         nesting: Mapping[tuple[str, str], Mapping[str, str]] | None = None,
                         missing: Mapping[str, float | None] | None = None,
                         relations: list[dict[tuple[str, str], float]] | None = None
                         ) -> TableLinks:
    """Add an indicator table (``casemix indicators``) with every relation an attacker has.

    Parameters
    ----------
    cells : LinkedCells
    table : pandas.DataFrame
        ``level, unit, indicator, numerator, denominator``; a missing count is hidden.
    file : str
        Name of the file (for findings).
    nesting : mapping, optional
        Public geography (see :func:`link_unit_table`).
    missing : mapping of str to float or None, optional
        Births without a code of each level as the exclusion log shows them (None: ``<10``):
        per indicator, those births' numerator and denominator lie between 0 and that count.
        Levels not in the mapping: unknown.
    relations : list of dict, optional
        Relations between indicators (default: :func:`definitional_relations` of ``table``).

    Returns
    -------
    TableLinks
        Keys ``unit_key(level, unit, indicator, "all")``.
    """
    units = indicator_units(table)
    known = {**(missing or {}), NATIONAL[0]: 0.0}  # the national row is the total itself
    links = link_unit_table(cells, units, file=file, main_period="", nesting=nesting,
                            missing={lv: (0.0 if v == 0 else None) for lv, v in known.items()})
    for level, shown in known.items():
        if shown == 0:
            continue
        bound = 9.0 if shown is None else float(shown)  # "<10" or the count
        for indicator in set(units["period"]):
            for measure in ("O", "N"):
                key = f"{measure}:{unit_key(level, MISSING, indicator, ALL)}"
                if key in cells:
                    cells.cell(key, upper=bound, kind="total")
    _strata_sums(cells, links, units, file)
    rules = definitional_relations(units) if relations is None else relations
    rows = units[["level", "unit", "stratum"]].drop_duplicates()
    for level, unit, stratum in rows.itertuples(index=False):
        for rule in rules:
            keys = [f"{measure}:{unit_key(level, unit, indicator, stratum)}"
                    for measure, indicator in rule]
            if all(k in cells for k in keys):
                cells.add_relation({cells.index(k): coef
                                    for k, coef in zip(keys, rule.values(), strict=True)})
    links.nested = nested_differences(cells, units, file=file)
    return links


def _strata_sums(cells: LinkedCells, links: TableLinks, units: pd.DataFrame, file: str
                 ) -> None:
    """Breakdown strata of each unit and indicator add up to the unit's row (``all``); so do
    the strata of the births without a unit code. A unit's row that no file shows is a
    hidden count (the audit of a breakdown file read without its indicator table)."""
    strata = units[units["stratum"] != ALL]
    if strata.empty:
        return
    variable = strata["stratum"].str.split("=", n=1).str[0]
    for (level, unit, period), t in strata.groupby(["level", "unit", "period"], sort=False):
        key = unit_key(level, unit, period, ALL)
        if key not in links.observed:
            _row(cells, links, key, np.nan, np.nan, file, f"{level} {unit} {period} all")
        for _, parts in t.groupby(variable.loc[t.index], sort=False):
            for index in (links.observed, links.n):
                cells.add_sum(index[key], [index[unit_key(level, unit, period, s)]
                                           for s in parts["stratum"]])
    absent = strata[["level", "period", "stratum"]].drop_duplicates()
    for (level, period), t in absent.groupby(["level", "period"], sort=False):
        for measure in ("O", "N"):
            keys = {s: f"{measure}:{unit_key(level, MISSING, period, s)}"
                    for s in [ALL, *t["stratum"]]}
            if not all(k in cells for k in keys.values()):
                continue
            for _, parts in t.groupby(t["stratum"].str.split("=", n=1).str[0], sort=False):
                cells.add_sum(cells.index(keys[ALL]),
                              [cells.index(keys[s]) for s in parts["stratum"]])


def national_cells(cells: LinkedCells) -> np.ndarray:
    """Mask of the national totals: hidden by secondary suppression only as a last resort."""
    prefix = f"|{NATIONAL[0]}|{NATIONAL[1]}|"
    return np.array([f"|{k.split(':', 1)[-1]}".startswith(prefix) for k in cells.keys],
                    dtype=bool)
