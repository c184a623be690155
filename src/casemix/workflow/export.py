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
}
#: Files that stay inside, and why.
INTERNAL = {
    "model.json": "full-precision coefficients and covariance",
    "manifest.json": "exact row counts and file paths",
    "suppression_log.csv": "which cells were suppressed",
    "posterior/": "posterior draws of the Bayesian models",
}


def export_run(run: str | Path, out: str | Path, *, indicators: Sequence[str | Path] = (),
               report: str | Path | None = None, threshold: int = DEFAULT_THRESHOLD,
               width: float | None = None) -> AuditResult:
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
        ``<name>_geography.csv``) when present.
    report : path, optional
        The run's report (``casemix report RUN``), exported as ``report.html``: it must carry
        the run's data fingerprint, and the audit reads its tables and text.
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
        copied = _copy(run, staging, indicators)
        if report is not None:
            copied.append(_copy_report(run, Path(report), staging))
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
    for pattern in (p for p in EXPORTED if p != "report.html"):  # the report: --report
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
