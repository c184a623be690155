"""The output checker's audit: what an attacker can derive from a set of exported files.

Reads the count tables that casemix writes (``units.csv``, ``funnel_<level>.csv``,
``direct.csv``, ``calibration.csv``, ``calibration_<variable>.csv``, ``exclusions.csv``,
``geography.csv``) and indicator tables (``casemix indicators --out``, with their
``<name>_exclusions.csv`` and ``<name>_geography.csv``) and publication tables (``casemix
publish``, recognised by their columns and read back into the shape of ``units.csv``) and
weights reports (``casemix weights --report``, recognised by their columns),
rebuilds the linear relations
between all their cells, and computes the feasible interval of every hidden count by linear
programming (:func:`casemix.disclosure.feasible_intervals`). Further checks cover the routes
that are not linear: values computed from a suppressed count left on its row, pooled
statistics computed with hidden units (funnel phi), ranks that count hidden units, and
published precision. A count that one file shows and another blanks is simply published (cells
are merged by key).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from casemix.disclosure import DEFAULT_THRESHOLD, LinkedCells, Protection, feasible_intervals
from casemix.disclosure.attack import _failing
from casemix.disclosure.tables import (
    NATIONAL,
    TableLinks,
    indicator_units,
    link_groups,
    link_indicator_table,
    link_unit_table,
    publish_national,
)
from casemix.exceptions import CasemixError
from casemix.weighting.report import SIGNATURE as WEIGHTS_REPORT
from casemix.weighting.report import VALUES as WEIGHTS_VALUES
from casemix.weighting.report import link_report
from casemix.workflow.statline import MEASURES as STATLINE_MEASURES
from casemix.workflow.statline import SIGNATURE, DecodedStatline, decode_statline

__all__ = ["AuditResult", "audit_files"]

#: Columns computed from a row's numerator (blank when it is suppressed).
DERIVED = ["events_unweighted", "crude_rate", "oe", "oe_lower", "oe_upper", "adjusted_rate",
           "adjusted_rate_lower", "adjusted_rate_upper", "z", "p_value", "flag_95", "flag_998",
           "flag_poisson_95", "flag_poisson_998", "verdict_p", "variance",
           "shrunk_oe", "shrunk_lower", "shrunk_upper", "prob_above", "rank", "rank_lower",
           "rank_upper", "expected", "value", "z_adjusted", "direct_rate", "direct_rate_lower",
           "direct_rate_upper", "direct_note", "slope", "slope_se", "rate_lower", "n_effective",
           "rate_upper", "adjusted_rate_lower", "adjusted_rate_upper", "oe_upper"]
#: Columns that mark an alignment table (``casemix align --out``) and an indicator table.
ALIGNMENT = {"numerator_difference", "denominator_difference"}
INDICATOR = {"level", "unit", "indicator", "numerator", "denominator"}
#: Columns that mark a breakdown table and an inequality table (``casemix indicators
#: --breakdown``), and the breakdown columns computed from a row's counts.
BREAKDOWN = {"breakdown", "group"}
INEQUALITY = {"level", "unit", "indicator", "breakdown", "measure", "comparison", "value"}
BREAKDOWN_DERIVED = ("rate_lower", "rate_upper", "expected", "oe", "oe_lower", "oe_upper",
                     "adjusted_rate", "adjusted_rate_lower", "adjusted_rate_upper")
#: Files of a run folder that never leave (see ``casemix.workflow.export.INTERNAL``).
INTERNAL = ("model.json", "manifest.json", "suppression_log.csv", "shares.csv")
#: Unweighted events and births per row (runs with case weights).
UNWEIGHTED = ("events_unweighted", "n_unweighted")
#: Column of ``units.csv`` marking levels with births shared between units.
ASSIGNMENT = "assignment"
#: Largest number of decimals published per column.
DECIMALS = {"expected": 1, "oe": 3, "oe_lower": 3, "oe_upper": 3, "shrunk_oe": 3}


@dataclass(frozen=True)
class AuditResult:
    """Findings of :func:`audit_files`: one row per problem with ``file, row, column,
    lower, upper, route``; ``ok`` when there are none."""

    findings: pd.DataFrame
    n_hidden: int
    protection: Protection

    @property
    def ok(self) -> bool:
        """True when nothing below the threshold can be derived."""
        return self.findings.empty

    def to_json(self) -> str:
        """The findings and a summary as JSON (``casemix audit --json``)."""
        return json.dumps({"ok": self.ok, "hidden_counts": self.n_hidden,
                           "threshold": self.protection.threshold,
                           "width": self.protection.width,
                           "findings": self.findings.astype(object).where(
                               self.findings.notna(), None).to_dict(orient="records")},
                          indent=1, default=str)


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"unit": str, "period": str, "group": str})


def _finding(file: str, row: str, column: str, route: str, lower: float = np.nan,
             upper: float = np.nan) -> dict[str, object]:
    return {"file": file, "row": row, "column": column, "lower": lower, "upper": upper,
            "route": route}


def audit_files(paths: Sequence[str | Path], *, threshold: int = DEFAULT_THRESHOLD,
                width: float | None = None) -> AuditResult:
    """Audit every casemix file in ``paths`` (files or folders) together.

    Parameters
    ----------
    paths : sequence of path
        Run folders, export folders or single files; indicator tables
        (``casemix indicators --out``) are recognised by their columns.
    threshold, width : number
        The protection rule (:class:`casemix.disclosure.Protection`): every hidden count's
        feasible interval must reach ``threshold``, and be ``width`` wide where it reaches
        below the threshold (default ``width = threshold``).

    Returns
    -------
    AuditResult
    """
    protection = Protection(threshold, float(threshold if width is None else width))
    files = _collect(paths)
    findings: list[dict[str, object]] = []
    cells = LinkedCells()
    manifest: dict[str, object] = next(
        (json.loads(p.read_text()) for p in files if p.name == "manifest.json"), {})
    statlines = _statlines(files)
    found = [p for p in _named(files, "units.csv") if p not in statlines]
    units = _read(found[0]) if found else None
    main = str(manifest.get("period") or _main_period(
        units if units is not None or not statlines else next(iter(statlines.values())).units))
    links = TableLinks()
    geography = _geography(files)
    if units is not None:
        missing = _missing(files, sorted(set(units["level"])))
        findings += _row_checks(units, "units.csv", threshold)
        findings += _rank_checks(units)
        link_unit_table(cells, units, file="units.csv", main_period=main, links=links,
                        missing=missing, nesting=geography, shared=_shared(units))
    for path in files:
        name = path.name
        if name in INTERNAL or path.suffix == ".nc":
            findings.append(_finding(name, "", "", "internal file: stays inside the secure "
                                     "environment (exact counts, full precision or draws)"))
        elif path in statlines:
            findings += _statline_checks(statlines[path], name, threshold)
            findings += _statline_regions(statlines[path], name, units)
            _link_statline(cells, statlines[path], name, main, links, files, geography)
        elif name.startswith("funnel_"):
            frame = _read(path)
            findings += _row_checks(frame, name, threshold) + _phi_check(frame, name)
            frame = frame.assign(level=name[len("funnel_"):-4], period=main, stratum="all")
            link_unit_table(cells, frame, file=name, main_period=main, links=links)
        elif name == "direct.csv":
            frame = _read(path)
            findings += _row_checks(frame, name, threshold)
            link_unit_table(cells, frame.assign(period=main, stratum="all"), file=name,
                            main_period=main, links=links)
        elif name.startswith("calibration_"):
            frame = _read(path)
            findings += _row_checks(frame, name, threshold)
            link_groups(cells, frame, variable=name[len("calibration_"):-4], file=name,
                        main_period=main)
        elif path.suffix in (".html", ".htm"):
            findings += _report_checks(path, threshold)
        elif path.suffix == ".csv" and (header := _header(path)) >= ALIGNMENT:
            table = _read(path)
            findings += _alignment_checks(table, name, threshold)
            findings += _alignment_differencing(table, name, protection)
        elif path.suffix == ".csv" and header >= INDICATOR | BREAKDOWN:
            table = _read(path)
            stem = path.stem.removesuffix("_breakdowns")
            findings += _row_checks(indicator_units(table).assign(
                crude_rate=table["rate"], **{c: table[c] for c in BREAKDOWN_DERIVED
                                             if c in table}), name, threshold)
            levels = sorted(set(table["level"]) - {NATIONAL[0]})
            link_indicator_table(cells, table, file=name,
                                 nesting=_geography(files, f"{stem}_geography.csv"),
                                 missing=_missing(files, levels, f"{stem}_exclusions.csv"))
        elif path.suffix == ".csv" and header >= WEIGHTS_REPORT:
            report = _read(path)
            findings += _weights_checks(report, name, threshold)
            link_report(cells, report, file=name)
        elif path.suffix == ".csv" and header >= INEQUALITY:
            findings += _inequality_checks(_read(path), name, files)
        elif path.suffix == ".csv" and header >= INDICATOR:
            table = _read(path)
            findings += _row_checks(indicator_units(table).assign(
                crude_rate=table.get("rate")), name, threshold)
            levels = sorted(set(table["level"]) - {NATIONAL[0]})
            link_indicator_table(cells, table, file=name,
                                 nesting=_geography(files, f"{path.stem}_geography.csv"),
                                 missing=_missing(files, levels,
                                                  f"{path.stem}_exclusions.csv"))
        elif name.endswith("exclusions.csv"):
            findings += _exclusion_checks(_read(path), name, threshold)
        elif name == "coefficients.csv":
            findings += _coefficient_checks(_read(path), threshold)
        elif name == "calibration.csv":
            total = _read(path).iloc[0]
            publish_national(cells, main, float(total["events"]), float(total["n"]),
                             file=name)
    frames = [("units.csv", units)] if units is not None else []
    frames += [(path.name, table.units) for path, table in statlines.items()]
    unweighted, weighted = _unweighted(frames, protection, main, files, geography)
    findings += unweighted + _differencing(cells, weighted, "")
    frame = pd.DataFrame(findings, columns=["file", "row", "column", "lower", "upper",
                                            "route"])
    return AuditResult(frame, int((~np.asarray(cells.published, dtype=bool)).sum()), protection)


def _unweighted(frames: list[tuple[str, pd.DataFrame]], protection: Protection, main: str,
                files: list[Path], geography: dict[tuple[str, str], dict[str, str]]
                ) -> tuple[list[dict[str, object]], Protection]:
    """Runs with case weights: the threshold is about births, so the unweighted counts of the
    unit tables (``units.csv``, publication tables) are audited as linked cells of their own,
    and the weighted cells then need intervals ``w_max`` times as wide."""
    frames = [(file, f) for file, f in frames if set(UNWEIGHTED) <= set(f.columns)]
    if not frames:
        return [], protection
    raw, links, scale = LinkedCells(), TableLinks(), 1.0
    shared = sorted({lv for _, f in frames for lv in _shared(f)})
    for file, frame in frames:
        link_unit_table(raw, frame.assign(observed=frame[UNWEIGHTED[0]], n=frame[UNWEIGHTED[1]]),
                        file=file, main_period=main, links=links, nesting=geography,
                        missing=_missing(files, sorted(set(frame["level"]))), shared=shared,
                        additive=False)
        ratio = (frame["n"] / frame[UNWEIGHTED[1]].where(frame[UNWEIGHTED[1]] > 0)).max()
        scale = max(scale, float(ratio)) if pd.notna(ratio) else scale
    return (_differencing(raw, protection, "unweighted counts"),
            Protection(protection.threshold * scale, protection.width * scale))


def _shared(units: pd.DataFrame) -> list[str]:
    """Levels whose rows ``units.csv`` marks as holding births shared between units."""
    if ASSIGNMENT not in units:
        return []
    return sorted(set(units.loc[units[ASSIGNMENT].eq("shared"), "level"].astype(str)))


def _statlines(files: list[Path]) -> dict[Path, DecodedStatline]:
    """The publication tables among ``files`` (recognised by their columns), read back into
    the shape of ``units.csv``."""
    return {p: decode_statline(pd.read_csv(p, dtype={"region_code": str, "period": str,
                                                     "status": str}))
            for p in files if p.suffix == ".csv" and _header(p) >= SIGNATURE}


def _statline_checks(table: DecodedStatline, file: str, threshold: float
                     ) -> list[dict[str, object]]:
    """A publication table gets the checks of ``units.csv`` on its unit rows (counts shown
    below the threshold, values computed from a suppressed count, decimals), and its own:
    every row must be one the audit can read (a known measure and unit, a key shown once:
    otherwise a value could pass unchecked), a row marked suppressed must be blank, a rate
    must be blank with hidden births (rate x births gives the events), and each measure must
    keep the decimals of ``units.csv``."""
    out = _row_checks(table.units, file, threshold)
    out += _small_counts(table.national, file, threshold)
    for rows, route in ((table.unknown, "unknown measure or unit: the audit cannot read it"),
                        (table.duplicated, "key shown more than once"),
                        (table.marked, "value shown on a row marked suppressed")):
        out += [_finding(file, f"{r.region_type} {r.region_code} {r.period}", str(r.measure),
                         route) for r in rows.itertuples(index=False)]
    if len(table.indicators) > 1:
        out.append(_finding(file, "", "indicator", "more than one indicator in one table: "
                            "audit the table of each run on its own"))
    units = table.units
    if "crude_rate" in units:
        for i in np.flatnonzero((units["n"].isna() & units["crude_rate"].notna()).to_numpy()):
            out.append(_finding(file, _label(units, int(i)), "crude_rate",
                                "rate shown with suppressed births"))
    return out + _statline_decimals(table, file)


def _statline_regions(table: DecodedStatline, file: str, units: pd.DataFrame | None
                      ) -> list[dict[str, object]]:
    """Audited with ``units.csv``, every region and period of a publication table must be a
    row of it: a unit shown under another region type or code would be a cell of its own,
    not linked to the run's (a count hidden there could be shown here unseen)."""
    if units is None:
        return []
    keys = ["level", "unit", "period"]
    known = units.loc[units["stratum"].astype(str).eq("all"), keys].astype(str)
    rows = table.units[keys].astype(str).merge(known.drop_duplicates(), how="left",
                                               indicator=True)
    return [_finding(file, f"{r.level} {r.unit} {r.period}", "region_code",
                     "region, type or period not in units.csv: not linked to its cells")
            for r in rows[rows["_merge"] == "left_only"].itertuples(index=False)]


def _statline_decimals(table: DecodedStatline, file: str) -> list[dict[str, object]]:
    """Values with more decimals than ``units.csv`` publishes (rates read back as proportions:
    2 decimals in percent, 1 per 1,000, are 4 of a proportion)."""
    out = []
    for frame in (table.units, table.national):
        for m in STATLINE_MEASURES:
            if m.digits is None or m.unit == "code" or m.column not in frame:
                continue
            for column in (m.column, *(m.bounds or ())):
                values = pd.to_numeric(frame.get(column), errors="coerce")
                shown = values.dropna().to_numpy(dtype=float) * 10**m.digits
                if np.any(np.abs(shown - np.round(shown)) > 1e-6):
                    out.append(_finding(file, "", f"{m.name} ({column})",
                                        f"more decimals than units.csv publishes ({m.digits} "
                                        "as a proportion or ratio): products of rounded "
                                        "values give counts back"))
    return out


def _link_statline(cells: LinkedCells, table: DecodedStatline, file: str, main: str,
                   links: TableLinks, files: list[Path],
                   geography: dict[tuple[str, str], dict[str, str]]) -> None:
    """The unit rows of a publication table as cells of the unit comparisons (the same cells
    as ``units.csv`` where both show a row), and its national rows as the national totals."""
    link_unit_table(cells, table.units, file=file, main_period=main, links=links,
                    missing=_missing(files, sorted(set(table.units["level"]))),
                    nesting=geography)
    for row in table.national.itertuples(index=False):
        publish_national(cells, str(row.period), float(row.observed), float(row.n), file=file)


def _differencing(cells: LinkedCells, protection: Protection, what: str
                  ) -> list[dict[str, object]]:
    """A finding for every hidden cell whose feasible interval fails ``protection``."""
    intervals = feasible_intervals(cells, certify=protection)
    failing = intervals[_failing(cells, intervals, protection)]
    route = "linear relations between the files (differencing)"
    out = []
    for row in failing.itertuples():
        where = cells.where[int(row.cell)]
        out.append(_finding(where.file, where.row, where.column,
                            f"{route}, {what}" if what else route, row.lower, row.upper))
    return out


def _exclusion_checks(log: pd.DataFrame, file: str, threshold: float
                      ) -> list[dict[str, object]]:
    """Exclusion counts shown below the threshold (they must read ``<threshold``)."""
    if "n_rows" not in log:
        return []
    n = pd.to_numeric(log["n_rows"], errors="coerce")
    small = (n > 0) & (n < threshold)
    return [_finding(file, " ".join(str(log[c].iat[i]) for c in ("stage", "scope", "reason")
                                    if c in log), "n_rows",
                     f"count below {threshold:g} shown", float(n.iat[i]), float(n.iat[i]))
            for i in np.flatnonzero(small.to_numpy())]


def _weights_checks(report: pd.DataFrame, file: str, threshold: float
                    ) -> list[dict[str, object]]:
    """A weights report (``casemix weights --report``): counts of births shown below the
    threshold, and values computed from a hidden count still on its row."""
    n = pd.to_numeric(report["n"], errors="coerce")
    label = report[["table", "level", "unit"]].astype(str).agg(" ".join, axis=1)
    out = [_finding(file, label.iat[i], "n", f"count below {threshold:g} shown",
                    float(n.iat[i]), float(n.iat[i]))
           for i in np.flatnonzero(((n > 0) & (n < threshold)).to_numpy())]
    for column in (c for c in WEIGHTS_VALUES if c in report):
        shown = pd.to_numeric(report[column], errors="coerce").notna()
        out += [_finding(file, label.iat[i], column, "value computed from a suppressed count")
                for i in np.flatnonzero((n.isna() & shown).to_numpy())]
    return out


def _coefficient_checks(table: pd.DataFrame, threshold: float) -> list[dict[str, object]]:
    """Category terms (``variable=value``) whose standard error is published: ``1 / se^2``
    is at most ``min(events, non-events)`` of the category, so below the threshold its
    counts may be small and approximately recoverable."""
    if not {"term", "std_error"} <= set(table.columns):
        return []
    se = pd.to_numeric(table["std_error"], errors="coerce")
    category = table["term"].astype(str).str.contains("=", regex=False)
    small = category & se.notna() & (1.0 / se**2 < threshold)
    return [_finding("coefficients.csv", str(table["term"].iat[i]), "std_error",
                     f"standard error of a category with information below {threshold:g} "
                     "(few events or non-events)", np.nan, float(1.0 / se.iat[i] ** 2))
            for i in np.flatnonzero(small.to_numpy())]


def _report_checks(path: Path, threshold: float) -> list[dict[str, object]]:
    """A report (``casemix report``): its tables get the row checks (counts shown below the
    threshold, values computed from a suppressed count), its exclusion table the exclusion
    check, and its text must not state a small exclusion count or the rows read (which with
    the births analysed gives the excluded ones)."""
    from casemix.workflow.html_tables import read_report

    tables, text = read_report(path.read_text(encoding="utf-8"))
    out: list[dict[str, object]] = []
    for frame in tables:
        if {"observed", "n"} <= set(frame.columns):
            out += _small_counts(frame, path.name, threshold) + _derived_checks(frame,
                                                                                path.name)
        if "n_rows" in frame.columns:
            out += _exclusion_checks(frame, path.name, threshold)
        if "numerator_difference" in frame.columns:  # the alignment section
            out += _alignment_checks(frame, path.name, threshold)
    # English and Dutch reports; counts are whole, so any grouping mark is dropped
    for match in re.finditer(r"\b(\d[\d,.]*) (?:rows |births |rijen |geboorten )?"
                             r"(excluded|read|uitgesloten|gelezen|ingelezen)\b", text):
        n = float(re.sub(r"[,.]", "", match.group(1)))
        if match.group(2) in ("read", "gelezen", "ingelezen") or 0 < n < threshold:
            out.append(_finding(path.name, "text", match.group(0),
                                "count in the text: rows read or a small exclusion count",
                                n, n))
    return out


def _header(path: Path) -> set[str]:
    return set(pd.read_csv(path, nrows=0).columns)


def _alignment_checks(table: pd.DataFrame, file: str, threshold: float
                      ) -> list[dict[str, object]]:
    """Differences against published figures must show 1..9 only as bands (``+1..+9``): an
    exact small difference against a published (or suppressed) figure is a small count."""
    out = []
    for column in ("numerator_difference", "denominator_difference", "numerator_residual",
                   "denominator_residual"):
        if column not in table:
            continue
        values = pd.to_numeric(table[column].astype(str).str.replace("+", "", regex=False),
                               errors="coerce")
        small = (values.abs() > 0) & (values.abs() < threshold)
        out += [_finding(file, _label(table, int(i)), column,
                         f"difference below {threshold:g} shown exactly", float(values.iat[i]),
                         float(values.iat[i])) for i in np.flatnonzero(small.to_numpy())]
    return out


def _alignment_differencing(table: pd.DataFrame, file: str, protection: Protection
                            ) -> list[dict[str, object]]:
    """Our counts in an alignment table, per year as an indicator table of their own (the
    units add up to a national total; indicators of a unit are linked by their definitions,
    nested events among them): a hidden count must not be derivable within the year."""
    if not {"year", "numerator", "denominator"} <= set(table.columns):
        return []
    out: list[dict[str, object]] = []
    for year, rows in table.groupby("year", sort=True):
        national = rows["unit"].astype(str).eq("national")
        t = pd.DataFrame({"level": np.where(national, NATIONAL[0], "unit"),
                          "unit": rows["unit"].astype(str), "indicator": rows["indicator"],
                          "numerator": pd.to_numeric(rows["numerator"], errors="coerce"),
                          "denominator": pd.to_numeric(rows["denominator"], errors="coerce")})
        cells = LinkedCells()
        link_indicator_table(cells, t, file=file)  # other units: unknown
        out += _differencing(cells, protection, f"year {year}")
    return out


def _inequality_checks(table: pd.DataFrame, file: str, files: list[Path]
                       ) -> list[dict[str, object]]:
    """An inequality measure (``<name>_inequality.csv``) must be blank when a group it uses
    is hidden in the breakdown table beside it: with the other groups' rates it would give
    the hidden one back. Without that table, every shown measure is a finding."""
    stem = Path(file).stem.removesuffix("_inequality")
    found = _named(files, f"{stem}_breakdowns.csv")
    shown = table[pd.to_numeric(table["value"], errors="coerce").notna()]
    if not found:
        return [_finding(file, "", "value", "inequality measures without their breakdown "
                         f"table ({stem}_breakdowns.csv): cannot check the groups they use")
                ] if len(shown) else []
    groups = _read(found[0])
    groups["_hidden"] = groups["numerator"].isna() | groups["denominator"].isna()
    keys = ["level", "unit", "indicator", "breakdown"]
    by_key = dict(list(groups.groupby(keys)))  # (a GroupBy has .keys: not a mapping)
    out = []
    for row in shown.itertuples(index=False):
        g = by_key.get(tuple(getattr(row, k) for k in keys))
        if g is None:
            continue
        comparison = str(row.comparison)
        used = comparison.split(" vs ") if " vs " in comparison else [
            x for x in g["group"].astype(str) if x != "missing"]  # SII, RII: every group
        if g[g["group"].astype(str).isin(used)]["_hidden"].any():
            out.append(_finding(file, f"{row.level} {row.unit} {row.indicator} "
                                f"{row.breakdown}", str(row.measure), "inequality measure "
                                "shown while a group it uses is hidden"))
    return out


def _named(files: list[Path], name: str) -> list[Path]:
    """The files called ``name``."""
    return [p for p in files if p.name == name]


def _collect(paths: Sequence[str | Path]) -> list[Path]:
    """Every file under ``paths``; a path that does not exist, or no file at all, is an
    error (an audit of nothing must not pass)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if not p.exists():
            raise CasemixError(f"Nothing to audit at {p}: no such file or folder.")
        out += sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
    if not out:
        raise CasemixError(f"Nothing to audit: no files in {', '.join(map(str, paths))}.")
    return out


def _main_period(units: pd.DataFrame | None) -> str:
    if units is None:
        return "all"
    labels = [str(p) for p in pd.unique(units["period"])]
    pooled = [p for p in labels if not p.isdigit()]
    return pooled[0] if pooled else labels[0]


def _missing(files: list[Path], levels: list[str], name: str = "exclusions.csv"
             ) -> dict[str, float | None] | None:
    """Births without a unit code per level as the exclusion log ``name`` shows them: a
    number, None for ``<10``, and 0 for a level the log does not mention (zero rows are not
    logged)."""
    found = _named(files, name)
    if not found:
        return None
    log = pd.read_csv(found[0], dtype=str)
    out: dict[str, float | None] = dict.fromkeys(levels, 0.0)
    for row in log[log["stage"] == "comparison"].itertuples():
        out[str(row.scope)] = None if str(row.n_rows).startswith("<") else float(row.n_rows)
    return out


def _geography(files: list[Path], name: str = "geography.csv"
               ) -> dict[tuple[str, str], dict[str, str]]:
    """Public nesting of unit levels from the file ``name`` (child_level, child,
    parent_level, parent)."""
    found = _named(files, name)
    if not found:
        return {}
    g = pd.read_csv(found[0], dtype=str)
    return {(c, p): dict(zip(t["child"], t["parent"], strict=True))
            for (c, p), t in g.groupby(["child_level", "parent_level"])}


def _derived_checks(frame: pd.DataFrame, file: str) -> list[dict[str, object]]:
    """Values computed from a suppressed numerator that are still on its row."""
    if "observed" not in frame:
        return []
    hidden = frame["observed"].isna()
    return [_finding(file, _label(frame, int(i)), column,
                     "value computed from a suppressed count")
            for column in DERIVED if column in frame
            for i in np.flatnonzero((hidden & frame[column].notna()).to_numpy())]


def _row_checks(frame: pd.DataFrame, file: str, threshold: float
                ) -> list[dict[str, object]]:
    """Counts shown below the threshold, values computed from a suppressed numerator that
    are still on its row, too many decimals."""
    out = _small_counts(frame, file, threshold) + _derived_checks(frame, file)
    for column, digits in DECIMALS.items():
        if column in frame and pd.api.types.is_float_dtype(frame[column]):
            values = frame[column].dropna().to_numpy()
            if len(values) and np.any(np.abs(values * 10**digits - np.round(
                    values * 10**digits)) > 1e-6):
                out.append(_finding(file, "", column, f"more than {digits} decimals "
                                    "(products of rounded values give counts back)"))
    return out


def _small_counts(frame: pd.DataFrame, file: str, threshold: float
                  ) -> list[dict[str, object]]:
    """Counts shown below the threshold: events, births and their difference (weighted and,
    where a file has them, unweighted)."""
    out = []
    for o, n in (("observed", "n"), UNWEIGHTED):
        if o not in frame or n not in frame:
            continue
        events, births = (pd.to_numeric(frame[c], errors="coerce") for c in (o, n))
        for column, values in ((o, events), (n, births), (f"{n} - {o}", births - events)):
            small = (values > 0) & (values < threshold)
            for i in np.flatnonzero(small.to_numpy()):
                out.append(_finding(file, _label(frame, int(i)), column,
                                    f"count below {threshold:g} shown", values.iat[i],
                                    values.iat[i]))
    return out


def _label(frame: pd.DataFrame, i: int) -> str:
    row = frame.iloc[i]
    return " ".join(str(row[c]) for c in ("level", "unit", "group", "period", "stratum")
                    if c in frame)


def _rank_checks(units: pd.DataFrame) -> list[dict[str, object]]:
    """Ranks must count published units only."""
    if "rank" not in units:
        return []
    out = []
    for key, t in units.groupby(["level", "period", "stratum"], sort=False):
        shown = t["observed"].notna().sum()
        for column in ("rank", "rank_lower", "rank_upper"):
            bad = t[column].notna() & (t[column] > shown)
            if bad.any():
                out.append(_finding("units.csv", " ".join(map(str, key)), column,
                                    "rank counts suppressed units"))
    return out


def _phi_check(frame: pd.DataFrame, file: str) -> list[dict[str, object]]:
    """The funnel's over-dispersion must be computed from the published units only."""
    shown = frame.dropna(subset=["observed", "expected"])
    if len(shown) < 2 or frame["phi"].dropna().empty:
        return []
    from casemix.funnel import funnel

    variance = (shown["variance"].to_numpy(float)
                if "variance" in shown and shown["variance"].notna().all() else None)
    O, E = shown["observed"].to_numpy(float), shown["expected"].to_numpy(float)
    f = funnel(O, E, kind="ratio", overdispersion="none", variance=variance,
               target=float(O.sum() / E.sum()))  # around the published units' level
    phi = float(frame["phi"].dropna().iloc[0])
    if abs(f.phi - phi) > 0.02 * max(1.0, abs(phi)):  # E is published to 1 decimal
        return [_finding(file, "", "phi", "pooled statistic uses suppressed units",
                         f.phi, phi)]
    return []
