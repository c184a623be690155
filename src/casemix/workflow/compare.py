"""Comparing two runs (e.g. last year's and this year's): coefficient drift, calibration of the
frozen old model on the new data, and units whose flag or rank interval changed."""

from __future__ import annotations

import dataclasses
import html
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import ndtr

from casemix.calibration import CalibrationStatistics, calibration_statistics
from casemix.exceptions import CasemixError
from casemix.models.data import prepare_model_data
from casemix.models.runs import load_model, load_run

__all__ = ["RunComparison", "compare_runs"]


@dataclass(frozen=True)
class RunComparison:
    """Result of :func:`compare_runs`.

    Attributes
    ----------
    coefficients : pandas.DataFrame
        Per term in both runs: ``estimate_old``, ``estimate_new``, ``difference``,
        ``difference_lower``, ``difference_upper`` (95%, the two years treated as independent
        samples), ``z``, ``p_value``, ``drift`` (bool, 95% interval excludes 0).
    units : pandas.DataFrame
        Per unit in both runs: O/E and the headline flags (unusual beyond the between-unit
        variation) at 95% and 99.8% old and new, ``flag_changed`` (95%) and
        ``flag_998_changed``, and when both runs have them the rank intervals and
        ``rank_changed``.
    calibration : CalibrationStatistics or None
        The old (frozen) model applied to the new run's births.
    """

    coefficients: pd.DataFrame
    units: pd.DataFrame
    calibration: CalibrationStatistics | None
    old: Path
    new: Path

    def to_html(self) -> str:
        """Short self-contained HTML summary."""
        drift = _readable(self.coefficients[self.coefficients["drift"]])
        changed = _readable(self.units[self.units["flag_changed"]])
        cal = "" if self.calibration is None else self.calibration.to_frame().T.to_html(
            header=False, float_format=lambda x: f"{x:.4f}", na_rep="n/a")
        table = {"border": 0, "index": False, "float_format": lambda x: f"{x:.3f}",
                 "na_rep": "suppressed"}
        return (
            "<!DOCTYPE html><html><head><meta charset='utf-8'><title>casemix compare-runs"
            "</title><style>body{font-family:sans-serif;max-width:1000px;margin:2em auto}"
            "table{border-collapse:collapse;font-size:.8em}td,th{padding:.2em .5em;"
            "border-bottom:1px solid #ddd}</style></head><body>"
            f"<h1>Run comparison</h1><p>Old: {html.escape(str(self.old))}<br>New: "
            f"{html.escape(str(self.new))}</p>"
            f"<h2 id='drift'>Coefficient drift</h2><p>{len(drift)} of "
            f"{len(self.coefficients)} coefficients differ (95% interval of the difference "
            f"excludes 0).</p>{drift.to_html(**table)}"
            f"<h2 id='calibration'>Last year's model on this year's data</h2>{cal}"
            f"<h2 id='units'>Units whose flag changed</h2><p>{len(changed)} of "
            f"{len(self.units)} units changed their verdict at 95% (unusual beyond the "
            "normal variation between units, which both runs estimate from their own "
            f"units).</p>{changed.to_html(**table)}</body></html>")


def _readable(frame: pd.DataFrame) -> pd.DataFrame:
    """A table as the HTML summary shows it: yes/no for the boolean columns (a missing value
    is a suppressed unit, shown as ``suppressed``)."""
    flags = frame.select_dtypes(bool).columns
    return frame.assign(**{c: frame[c].map({True: "yes", False: "no"}) for c in flags})


def _main_units(path: Path) -> pd.DataFrame:
    run = load_run(path)
    if "verdict" not in run.manifest:
        raise CasemixError(
            f"{path} was written before the headline flags became the over-dispersion-aware "
            "verdict: its flag_95/flag_998 are Poisson flags and cannot be compared with a "
            "newer run's. Refit it with this version (casemix.load_run(folder).refit(), then "
            "casemix.save_run) and compare again.")
    return run.units().main()


def _births_of(run: Path) -> pd.DataFrame | None:
    """The run's births (fingerprint-checked), or None when its data file is gone."""
    loaded = load_run(run)
    data_file = loaded.manifest.get("data_file")
    if not data_file or not Path(data_file).exists():
        return None
    return loaded.read_births().births


def compare_runs(old: str | Path, new: str | Path, *,
                 births_new: pd.DataFrame | None = None) -> RunComparison:
    """Compare two run folders of the same specification.

    Parameters
    ----------
    old, new : path
        Run folders (``casemix fit`` or ``casemix refit``).
    births_new : pandas.DataFrame, optional
        The new run's births (default: read from the new run's manifest ``data_file``); needed
        for the calibration of the old model on the new data.

    Notes
    -----
    Drift of a coefficient: $\\hat\\beta_{new} - \\hat\\beta_{old}$ with standard error
    $\\sqrt{se_{old}^2 + se_{new}^2}$ (independent years). Calibration of the old model
    on the new births uses :func:`casemix.calibration.calibration_statistics`: calibration-in-
    the-large shows a changed baseline, the slope a changed strength of the case-mix effects.
    """
    old, new = Path(old), Path(new)
    co = pd.read_csv(old / "coefficients.csv")
    cn = pd.read_csv(new / "coefficients.csv")
    both = co.merge(cn, on="term", how="inner", suffixes=("_old", "_new")).set_index("term")
    diff = both["estimate_new"] - both["estimate_old"]
    se = np.sqrt(both["std_error_old"] ** 2 + both["std_error_new"] ** 2)
    z = diff / se
    coefficients = pd.DataFrame({
        "term": both.index, "estimate_old": both["estimate_old"].to_numpy(),
        "estimate_new": both["estimate_new"].to_numpy(), "difference": diff.to_numpy(),
        "difference_lower": (diff - 1.959963984540054 * se).to_numpy(),
        "difference_upper": (diff + 1.959963984540054 * se).to_numpy(),
        "z": z.to_numpy(), "p_value": (2 * ndtr(-np.abs(z))).to_numpy(),
    })
    coefficients["drift"] = (coefficients["difference_lower"] > 0) | (
        coefficients["difference_upper"] < 0)
    uo, un = _main_units(old), _main_units(new)
    keep = ["level", "unit", "oe", "flag_95", "flag_998"] + [
        c for c in ("rank_lower", "rank_upper") if c in uo and c in un]
    units = uo[keep].merge(un[keep], on=["level", "unit"], suffixes=("_old", "_new"))
    for name, column in (("flag_changed", "flag_95"), ("flag_998_changed", "flag_998")):
        units[name] = units[f"{column}_old"].fillna("suppressed") != units[
            f"{column}_new"].fillna("suppressed")
    if "rank_lower_old" in units:
        units["rank_changed"] = (units["rank_upper_new"] < units["rank_lower_old"]) | (
            units["rank_lower_new"] > units["rank_upper_old"])
    births_new = births_new if births_new is not None else _births_of(new)
    calibration = None
    if births_new is not None:
        frozen = load_model(old)
        new_years = json.loads((new / "manifest.json").read_text()).get("years") or None
        spec = dataclasses.replace(frozen.spec, years=tuple(new_years) if new_years else None)
        data = prepare_model_data(births_new, spec)
        calibration = calibration_statistics(frozen.predict(data.frame), data.y)
    return RunComparison(coefficients, units, calibration, old, new)
