"""``casemix export``: copy only what may leave the secure environment, after the audit."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from casemix.disclosure import DEFAULT_THRESHOLD
from casemix.exceptions import CasemixError
from casemix.models.runs import check_run_complete
from casemix.workflow.audit import AuditResult, audit_files
from casemix.workflow.statline import COLUMNS, SIGNATURE, decode_statline

__all__ = ["EXPORTED", "INTERNAL", "export_run"]

#: Files of a run folder that may leave (after the audit), with what they are.
EXPORTED = {
    "units.csv": "O, E and O/E per unit (pooled period, years, strata), shrunken estimates",
    "direct.csv": "directly standardised rates per unit",
    "coefficients.csv": "odds ratios of the case-mix model (sparse categories blanked)",
    "exclusions.csv": "excluded births by stage and reason (counts below the threshold as <T)",
    "geography.csv": "which units lie within which (public geography)",
    "calibration.csv": "calibration and discrimination of the risk model",
    "calibration_*.csv": "O/E and calibration slope per subgroup",
    "funnel_*.csv": "funnel-plot limits and flags per level",
    "report.html": "the diagnostic report (tables and figures of the files above)",
    "publish_*.csv": "publication table (`casemix publish`): the values of units.csv in the "
                     "StatLine long format",
}
#: Files that stay inside, and why.
INTERNAL = {
    "model.json": "full-precision coefficients and covariance",
    "manifest.json": "exact row counts and file paths",
    "suppression_log.csv": "which cells were suppressed",
    "shares.csv": "birth identifiers of the births shared between units",
    "posterior/": "posterior draws of the Bayesian models",
}


def export_run(run: str | Path, out: str | Path, *, indicators: Sequence[str | Path] = (),
               report: str | Path | None = None, publish: Sequence[str | Path] = (),
               threshold: int = DEFAULT_THRESHOLD, width: float | None = None
               ) -> AuditResult:
    """Copy the exportable files of a run (and indicator tables) to ``out`` and audit them.

    Parameters
    ----------
    run : path
        A run folder (``casemix fit`` or ``refit``).
    out : path
        The export folder to create; it must not exist.
    indicators : sequence of path
        Indicator tables (``casemix indicators --out``) to export as well, with their
        exclusion logs and geography files (``<name>_exclusions.csv``,
        ``<name>_geography.csv``) when present. A publication table among them (recognised
        by its columns) is exported as one (see ``publish``): ``casemix export --indicators``
        takes both.
    report : path, optional
        The run's report (``casemix report RUN``), exported as ``report.html``: it must carry
        the run's data fingerprint, and the audit reads its tables and text.
    publish : sequence of path
        Publication tables of the run (``casemix publish RUN``), exported as
        ``publish_<name>.csv``: each must show the run's counts where both show one, and the
        audit checks them with the run's tables.
    threshold, width
        The audit's protection rule (see :func:`casemix.workflow.audit.audit_files`).

    Returns
    -------
    AuditResult
        When it fails nothing is left in ``out`` (the caller reports the findings).

    Notes
    -----
    The files are written to a temporary sibling folder, audited together, and the folder is
    renamed to ``out`` only when the audit passes; it then also holds ``audit.json`` and a
    ``README.md`` for the output checker (what each file is, the thresholds, how many cells
    were suppressed and why, never their values).
    """
    run, out = Path(run), Path(out)
    if out.exists():
        raise CasemixError(f"{out} exists; choose a new export folder.")
    check_run_complete(run, contents=False)  # complete; the audit below judges the contents
    staging = out.with_name(f".{out.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        tables = [Path(p) for p in indicators]
        publish = [*publish, *(p for p in tables if _is_publication(p))]
        copied = _copy(run, staging, [p for p in tables if not _is_publication(p)])
        if report is not None:
            copied.append(_copy_report(run, Path(report), staging))
        copied += [_copy_publish(run, Path(p), staging) for p in publish]
        result = audit_files(copied, threshold=threshold, width=width)
        if not result.ok:
            return result
        (staging / "audit.json").write_text(result.to_json(), encoding="utf-8")
        (staging / "README.md").write_text(_readme(run, copied, result), encoding="utf-8")
        staging.rename(out)
        return result
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _copy(run: Path, staging: Path, indicators: Sequence[str | Path]) -> list[Path]:
    copied = []
    given = ("report.html", "publish_*.csv")  # --report, --publish
    for pattern in (p for p in EXPORTED if p not in given):
        for path in sorted(run.glob(pattern)):
            shutil.copy2(path, staging / path.name)
            copied.append(staging / path.name)
    for path in map(Path, indicators):
        siblings = [path.with_name(f"{path.stem}_{s}.csv") for s in ("exclusions", "geography")]
        for source in [path, *(p for p in siblings if p.is_file())]:
            target = staging / f"indicators_{source.name}"
            shutil.copy2(source, target)
            copied.append(target)
    return copied


def _copy_report(run: Path, report: Path, staging: Path) -> Path:
    """Copy the report after checking that it was made from this run's data."""
    manifest = json.loads((run / "manifest.json").read_text())
    fingerprint = str(manifest.get("data_sha256", ""))[:16]
    if not fingerprint or f"<code>{fingerprint}</code>" not in report.read_text("utf-8"):
        raise CasemixError(f"{report} is not a report of {run} (its data fingerprint differs); "
                           f"write it with `casemix report {run}`.")
    shutil.copy2(report, staging / "report.html")
    return staging / "report.html"


def _copy_publish(run: Path, table: Path, staging: Path) -> Path:
    """Copy a publication table after checking that it is one and shows this run's counts
    (births and events of the regions both show; the audit judges what only it shows)."""
    if not table.is_file():
        raise CasemixError(f"No publication table at {table}; write it with `casemix publish "
                           f"{run} --out {table}`.")
    if not _is_publication(table):
        raise CasemixError(f"{table} is not a publication table (columns "
                           f"{', '.join(COLUMNS)}); write it with `casemix publish {run}`.")
    shown = decode_statline(pd.read_csv(table, dtype={"region_code": str, "period": str}))
    units = pd.read_csv(run / "units.csv", dtype={"unit": str, "period": str})
    both = shown.units.merge(units[units["stratum"].astype(str) == "all"],
                             on=["level", "unit", "period"], suffixes=("", "_run"))
    for count in ("n", "observed"):
        pair = both[[count, f"{count}_run"]].dropna()
        if (pair[count] != pair[f"{count}_run"]).any():
            raise CasemixError(f"{table} is not a publication table of {run} (its counts "
                               f"differ from units.csv); write it with `casemix publish {run}`.")
    target = staging / f"publish_{table.name}"
    shutil.copy2(table, target)
    return target


def _is_publication(path: Path) -> bool:
    """Whether ``path`` is a publication table (``casemix publish``), by its columns."""
    return (path.is_file() and path.suffix.lower() == ".csv"
            and set(pd.read_csv(path, nrows=0).columns) >= SIGNATURE)


def _readme(run: Path, copied: list[Path], result: AuditResult) -> str:
    manifest = json.loads((run / "manifest.json").read_text())
    lines = [f"# Export of {manifest.get('spec_name', run.name)} "
             f"({manifest.get('method', '')}), casemix "
             f"{manifest.get('versions', {}).get('casemix', '')}", "",
             f"Disclosure threshold {result.protection.threshold} (protection width "
             f"{result.protection.width:g}); the audit (`audit.json`) passed: "
             f"{result.n_hidden} hidden counts checked against every relation between these "
             "files.", "", "## Files", ""]
    descriptions = {**EXPORTED, "indicators_*_exclusions.csv": EXPORTED["exclusions.csv"],
                    "indicators_*_geography.csv": EXPORTED["geography.csv"]}
    for path in copied:
        what = next((d for p, d in descriptions.items()
                     if Path(path.name).match(p)), "indicator counts and rates per unit")
        lines.append(f"- `{path.name}`: {what}")
    lines += ["", "## Suppressed cells (counts only, never values)", ""]
    log_path = run / "suppression_log.csv"
    if log_path.is_file():
        log = pd.read_csv(log_path)
        counts = log.groupby(["table", "reason"]).size()
        lines += [f"- `{table}`: {n} cells, {reason}" for (table, reason), n in counts.items()]
    lines += ["", "## Not exported (stay inside the secure environment)", ""]
    lines += [f"- `{name}`: {why}" for name, why in INTERNAL.items()]
    return "\n".join(lines) + "\n"
