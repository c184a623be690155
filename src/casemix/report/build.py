"""The diagnostic report: one self-contained HTML file (figures embedded, no network)."""

from __future__ import annotations

import base64
import dataclasses
import io
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from casemix.alignment import AlignmentResult, disclosed_alignment
from casemix.calibration import GroupCalibration
from casemix.disclosure import DEFAULT_THRESHOLD
from casemix.exceptions import MethodSwitchWarning
from casemix.funnel import funnel as funnel_plot
from casemix.models import CaseMixModel, CaseMixResult, apply_verdict
from casemix.models.disclosed import DisclosedRun, disclose_run, masked_like
from casemix.models.units import IMPRECISE_WIDTH
from casemix.records import ValidationReport
from casemix.report.findings import key_findings
from casemix.verdict import SPREAD_SETTINGS

__all__ = ["build_report", "sensitivity_runs", "sensitivity_table"]

SHRINKAGE_METHODS = ("eb", "fay-herriot", "glmm")


def _png(fig: Any) -> str:
    """A matplotlib figure as a base64 data URI (closed afterwards)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")



def _html(table: pd.DataFrame, digits: int = 3) -> str:
    """An HTML table; missing values (suppressed cells, nullable integers too) are blank."""
    nullable = table.select_dtypes(["Int64", "boolean", "object"]).columns
    table = table.astype(dict.fromkeys(nullable, object))
    table[nullable] = table[nullable].where(table[nullable].notna(), "")
    return table.to_html(index=False, na_rep="", border=0, classes="tbl",
                         float_format=lambda x: f"{x:.{digits}f}")


def _fit_quiet(model: CaseMixModel, births: pd.DataFrame) -> CaseMixResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MethodSwitchWarning)
        return model.fit(births)


def sensitivity_runs(base: CaseMixResult, births: pd.DataFrame, level: str
                     ) -> dict[str, CaseMixResult]:
    """The main run, the run without SES adjusters, and each shrinkage method, for ``level``.

    Every extra fit uses the main run's seed; the run without SES also its strategies with
    all their settings (sampler, priors, adjacency), so that nothing falls back to defaults.
    """
    spec = dataclasses.replace(base.spec, levels=(level,))
    runs = {"main": base,
            "without_ses": _fit_quiet(CaseMixModel(
                spec.without_ses(), risk_model=base.risk_model, shrinker=base.shrinker,
                seed=base.seed), births)}
    for method in SHRINKAGE_METHODS:
        runs[method] = _fit_quiet(CaseMixModel(spec, method=method, seed=base.seed), births)
    return runs


def _published_flags(result: CaseMixResult, level: str, published: set[str] | None
                     ) -> pd.DataFrame:
    """Main rows of ``level`` with the headline verdict recomputed from the ``published``
    units only (as the run's own ``units.csv``), so every analysis is judged alike."""
    table = result.unit_table
    frame = table.frame
    rows = table.is_main() & frame["level"].eq(level)
    if published is not None:
        rows &= frame["unit"].astype(str).isin(published)
    judged, _ = apply_verdict(table, result.shrinker, published=rows)
    return judged.frame.loc[rows]


def sensitivity_table(base: CaseMixResult, births: pd.DataFrame, level: str, *,
                      runs: dict[str, CaseMixResult] | None = None,
                      published: set[str] | None = None) -> pd.DataFrame:
    """Headline verdicts and rank intervals per unit under several analyses.

    Columns: ``unit``, ``n``, then per analysis ``flag_<analysis>`` (the analysis's own
    verdict at 95%: unusual beyond the between-unit variation, ``above``, ``below`` or
    ``within``) and ``rank_<analysis>`` (``rank [lower-upper]`` for shrinkage methods), and
    ``changes`` (how many analyses disagree with the main one) and ``why`` (which). ``runs``
    (from :func:`sensitivity_runs`) avoids refitting; ``published`` restricts the table and
    the verdicts' spread to the published units.
    """
    runs = runs or sensitivity_runs(base, births, level)
    out: pd.DataFrame | None = None
    for name, result in runs.items():
        u = _published_flags(result, level, published).set_index("unit")
        flag = u["flag_95"].to_numpy()
        if "shrunk_oe" in u and u["shrunk_oe"].notna().any():
            rank = [f"{r:.0f} [{lo:.0f}-{hi:.0f}]" for r, lo, hi in
                    zip(u["rank"], u["rank_lower"], u["rank_upper"], strict=True)]
        else:
            rank = [""] * len(u)
        part = pd.DataFrame({f"flag_{name}": flag, f"rank_{name}": rank}, index=u.index)
        out = u[["n"]].join(part) if out is None else out.join(part)
    assert out is not None
    flags = out[[c for c in out.columns if c.startswith("flag_")]]
    differ = flags.ne(flags["flag_main"], axis=0)
    out["changes"] = differ.sum(axis=1)
    out["why"] = [", ".join(c.removeprefix("flag_") for c in differ.columns[row])
                  for row in differ.to_numpy()]
    rank_cols = [c for c in out.columns if c.startswith("rank_") and out[c].ne("").any()]
    return out.reset_index()[["unit", "n", *flags.columns, *rank_cols, "changes", "why"]]


def _has_shrinkage(result: CaseMixResult, level: str) -> bool:
    main = result.unit_table.main(level)
    return "shrunk_oe" in main and bool(main["shrunk_oe"].notna().any())


def _figures(result: CaseMixResult, disclosed: DisclosedRun, level: str,
             shrunk: pd.DataFrame, safe_units: set[str], shrinkage: str) -> dict[str, str]:
    """Calibration, funnel and caterpillar plots of the published units and groups only:
    suppressed ones are not drawn, and the funnel's limits and over-dispersion come from the
    published units (as in ``funnel_<level>.csv``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from casemix.calibration import plot_calibration

    figs: dict[str, str] = {}
    fig, ax = plt.subplots(figsize=(4.2, 4.2))
    plot_calibration(result.calibration_curve(), ax, title="Calibration (spline, 95% band)")
    figs["calibration"] = _png(fig)
    s = shrunk[shrunk["unit"].isin(safe_units)].sort_values("shrunk_oe")
    shown = result.unit_table.main(level)
    shown = shown[shown["unit"].astype(str).isin(safe_units)]
    if len(shown) < 2 or s.empty:  # (nearly) everything suppressed: nothing may be drawn
        return figs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MethodSwitchWarning)
        O = shown["observed"].to_numpy(dtype=float)
        E = shown["expected"].to_numpy(dtype=float)
        funnel = funnel_plot(O, E, units=list(shown["unit"]), kind="ratio",
                             variance=shown["variance"].to_numpy(dtype=float),
                             target=float(np.exp(result.shrinker.verdict_centre(O, E))),
                             overdispersion=SPREAD_SETTINGS["overdispersion"])
    fig, ax = plt.subplots(figsize=(7, 4.2))
    funnel.plot(ax)
    figs["funnel"] = _png(fig)
    fig, ax = plt.subplots(figsize=(6.5, max(3.0, 0.13 * len(s))))
    y = np.arange(len(s))
    ax.errorbar(s["shrunk_oe"], y, xerr=[s["shrunk_oe"] - s["shrunk_lower"],
                                         s["shrunk_upper"] - s["shrunk_oe"]],
                fmt="o", ms=3, color="C0", ecolor="0.65", lw=1)
    ax.axvline(1, color="k", lw=0.8)
    ax.set_yticks(y, s["unit"], fontsize=6)
    ax.set_xlabel(f"shrunken O/E ({shrinkage}) with 95% interval")
    ax.set_title(f"{level}: shrunken O/E, ordered (every position has an interval)",
                 fontsize=9)
    figs["caterpillar"] = _png(fig)
    income = disclosed.subgroups.get("income_quintile")
    if income is not None:  # suppressed groups are not drawn
        fig, ax = plt.subplots(figsize=(4.5, 3))
        GroupCalibration(income[~income["suppressed"]], np.nan, np.nan, np.nan,
                         "income_quintile").plot(ax)
        figs["income"] = _png(fig)
    return figs


def _subgroup_sections(result: CaseMixResult, disclosed: DisclosedRun,
                       without_ses: CaseMixResult, births: pd.DataFrame
                       ) -> list[dict[str, str]]:
    """Calibration by subgroup with what each check can show: for a group that is itself an
    adjuster O/E is 1 by construction (the likelihood equations of the logistic model make
    the expected events equal the observed ones in every category); groups that are not
    adjusters, and the SES adjusters checked on the fit without SES, are informative."""
    adjusters = {t.column for t in result.spec.adjusters}
    out = []
    for variable, table in disclosed.subgroups.items():
        if variable in adjusters:
            note = ("An adjuster of the model: O/E is 1 in each of its categories by "
                    "construction (the fitted model reproduces the events of every category it "
                    "adjusts for), so this table only checks the arithmetic; the slopes can "
                    "still differ.")
        else:
            note = ("Not an adjuster: an O/E away from 1 shows that the model's expected "
                    "rates do not fit this group, which matters for a fair comparison of units "
                    "that differ in it.")
        section = {"variable": variable, "note": note, "table": _html(table)}
        if variable in result.spec.ses and without_ses.rows is not None:
            dropped = masked_like(without_ses.calibration_by(births, variable).table, table)
            section["without_ses"] = _html(dropped)
        out.append(section)
    return out


def _alignment_html(alignment: AlignmentResult | None, threshold: int) -> dict[str, str]:
    if alignment is None:
        return {}
    safe = disclosed_alignment(alignment.disagreements, threshold)
    agree = int(alignment.table["agrees"].sum())
    return {"summary": f"{agree} of {len(alignment.table)} reference rows agree "
                       f"(definitions {alignment.settings.version}).",
            "best": _html(alignment.best()), "explained": _html(alignment.summary()),
            "rows": _html(safe)}


def build_report(result: CaseMixResult, births: pd.DataFrame, *,
                 validation: ValidationReport | None = None, threshold: int = DEFAULT_THRESHOLD,
                 manifest: dict[str, Any] | None = None,
                 alignment: AlignmentResult | None = None) -> str:
    """Render the diagnostic report of a fitted run as one self-contained HTML document.

    Parameters
    ----------
    result : CaseMixResult
        The fitted model, any method (the run's own numbers are shown; the sensitivity view
        adds the fit without SES and the shrinkage methods, with the run's seed).
    births : pandas.DataFrame
        The births it was fitted on (validated).
    validation : ValidationReport, optional
        For the data and exclusions section.
    threshold : int
        Disclosure threshold: every table passes :func:`casemix.disclosure.suppress_counts`
        and suppressed units are left out of the figures.
    alignment : AlignmentResult, optional
        Comparison with the registry's published figures, shown as section 9.

    Returns
    -------
    str
        HTML with embedded PNG figures and inline CSS; no external resources.
    """
    level = result.spec.levels[0]
    disclosed = disclose_run(result, births, threshold=threshold)
    main = result.unit_table.replace(disclosed.units).main(level)
    safe_units = set(main.loc[~main["suppressed"], "unit"].astype(str))
    runs = sensitivity_runs(result, births, level)
    # the caterpillar shows the run's own shrinkage; a run without one shows empirical Bayes
    shrinker = result if _has_shrinkage(result, level) else runs["eb"]
    shown = disclosed if shrinker is result else disclose_run(shrinker, births,
                                                              threshold=threshold)
    shrunk = shrinker.unit_table.replace(shown.units).main(level)
    sens = sensitivity_table(result, births, level, runs=runs, published=safe_units)
    stats = result.calibration().to_frame().T.reset_index()
    stats.columns = ["statistic", "value"]
    subgroup_tables = _subgroup_sections(result, disclosed, runs["without_ses"], births)
    width = main["oe_upper"].astype(float) - main["oe_lower"].astype(float)
    unit_view = main.assign(small_unit=np.where(width > IMPRECISE_WIDTH, "imprecise", ""))
    coef = disclosed.coefficients[["term", "odds_ratio", "or_lower", "or_upper", "p_value"]]
    exclusions = result.exclusions.to_frame()
    kept = exclusions["stage"].eq("assumptions") | exclusions["reason"].str.endswith(
        "value set to missing")  # rows kept under a documented rule, not left out
    exclusions["effect"] = np.where(kept, "kept (rule applied)", "left out")
    exclusions["n_rows"] = exclusions["n_rows"].astype(object).where(
        exclusions["n_rows"] >= threshold, f"<{threshold}")
    env = Environment(loader=PackageLoader("casemix.report", "templates"),
                      autoescape=select_autoescape(["html"]))
    return env.get_template("report.html.j2").render(
        spec=result.spec, result=result, level=level, created=datetime.now().isoformat(
            timespec="seconds"), manifest=manifest or {}, threshold=threshold,
        validation=validation, exclusions=_html(exclusions),
        definitions=result.spec.definitions.to_dict(),
        definitions_label=result.spec.definitions.version,
        definitions_source=_preset_source(result.spec.definitions.preset),
        definition_rules=result.spec.definitions.describe(),
        coefficients=_html(coef), statistics=_html(stats, 4),
        subgroups=subgroup_tables, units=_html(unit_view.drop(columns=["level", "stratum"])),
        sensitivity=_html(sens), n_changes=int((sens["changes"] > 0).sum()),
        findings=key_findings(result.unit_table.replace(disclosed.units).main(),
                              disclosed.verdict, result.unit_table.period,
                              list(result.spec.levels)),
        verdict=disclosed.verdict,
        figures=_figures(result, disclosed, level, shrunk, safe_units,
                         shrinker.shrinker.describe()),
        shrinkage_method=shrinker.method,
        n_units=len(main), n_suppressed=int(main["suppressed"].sum()),
        alignment=_alignment_html(alignment, threshold), imprecise_width=IMPRECISE_WIDTH)


def write_report(html: str, path: str | Path) -> Path:
    """Write the report and return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path


def _preset_source(name: str) -> str:
    """Title of a definitions preset (empty for custom settings)."""
    from casemix.indicators.presets import PRESETS

    return PRESETS[name].title if name in PRESETS else ""
