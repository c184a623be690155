"""The diagnostic report: one self-contained HTML file (figures embedded, no network)."""

from __future__ import annotations

import dataclasses
import warnings
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from casemix.alignment import AlignmentResult, disclosed_alignment
from casemix.core.splines import rcs_basis
from casemix.disclosure import DEFAULT_THRESHOLD
from casemix.exceptions import MethodSwitchWarning
from casemix.models import CaseMixModel, CaseMixResult, apply_verdict
from casemix.models.disclosed import DisclosedRun, disclose_run, masked_like
from casemix.models.units import IMPRECISE_WIDTH
from casemix.records import ValidationReport
from casemix.report import columns as cols
from casemix.report import figures
from casemix.report.findings import key_findings
from casemix.report.formatting import HIDDEN, Formatter
from casemix.report.i18n import language
from casemix.report.tables import html_table
from casemix.verdict import SPREAD_SETTINGS

__all__ = ["build_report", "sensitivity_runs", "sensitivity_table"]

SHRINKAGE_METHODS = ("eb", "fay-herriot", "glmm")




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


def _shrinkage_run(result: CaseMixResult, births: pd.DataFrame) -> CaseMixResult:
    """The run whose shrunken O/E the report shows: the run's own, or empirical Bayes with
    the run's seed for a method without shrinkage (every level, for the maps too)."""
    if all(_has_shrinkage(result, lv) for lv in result.spec.levels):
        return result
    return _fit_quiet(CaseMixModel(result.spec, method="eb", seed=result.seed), births)


def _spline_curves(result: CaseMixResult, births: pd.DataFrame, fmt: Formatter
                   ) -> list[dict[str, str]]:
    """Spline terms as a curve of odds ratios against the middle knot, with a 95% Wald band
    (their coefficients have no odds-ratio reading of their own).

    Notes
    -----
    With basis $B(x)$ and coefficients $\\beta$ (covariance $\\Sigma$) of the term,
    $\\log OR(x) = (B(x) - B(x_0))\\beta$ with variance $d\\Sigma d^T$, $d = B(x) - B(x_0)$.
    """
    names = result.encoding.names
    out = []
    for term in result.encoding.terms:
        if term.kind != "spline":
            continue
        knots = np.asarray(term.knots, dtype=float)
        index = [names.index(n) for n in term.names if "_rcs" in n]
        x = births[term.column].astype(float).dropna()
        ages = np.linspace(max(knots[0], x.quantile(0.01)), min(knots[-1], x.quantile(0.99)),
                           120)
        reference = float(knots[len(knots) // 2])
        d = rcs_basis(ages, knots) - rcs_basis([reference], knots)
        beta, cov = result.coef[index], result.cov[np.ix_(index, index)]
        log_or = d @ beta
        se = np.sqrt(np.einsum("ij,jk,ik->i", d, cov, d))
        curve = pd.DataFrame({"odds_ratio": np.exp(log_or),
                              "lower": np.exp(log_or - 1.959963984540054 * se),
                              "upper": np.exp(log_or + 1.959963984540054 * se)})
        curve.attrs["reference"] = reference
        label = cols.VARIABLES.get(term.column, term.column)
        out.append({"variable": fmt.lang.gettext(label), "knots": ", ".join(
            fmt.number(k, 0) for k in knots), "figure": figures.spline_figure(
                ages, curve, label, fmt)})
    return out


def _coefficients(disclosed: DisclosedRun, result: CaseMixResult, fmt: Formatter) -> Markup:
    """Odds ratios of the categorical terms (spline terms are drawn as curves instead)."""
    coef = disclosed.coefficients
    terms = coef["term"].astype(str)
    coef = coef[~terms.str.contains("_rcs", regex=False) & terms.ne("(Intercept)")].copy()
    variable, _, category = coef["term"].astype(str).str.partition("=").T.to_numpy()
    coef["variable"] = [fmt.lang.gettext(cols.VARIABLES.get(v, v)) for v in variable]
    coef["category"] = [fmt.lang.gettext(cols.CATEGORY.get(c, c)) for c in category]
    return html_table(coef, cols.COEFFICIENT_COLUMNS, fmt, table_id="coefficients")


def _statistics(result: CaseMixResult, fmt: Formatter) -> Markup:
    """Discrimination and calibration statistics, one labelled row each."""
    stats = result.calibration().to_frame().iloc[:, 0]
    rows = []
    for key, value in stats.items():
        label, digits = cols.STATISTICS.get(str(key), (str(key), 4))
        rows.append({"statistic": fmt.lang.gettext(label),
                     "value": fmt.count(value) if digits is None else fmt.number(value, digits)})
    return html_table(pd.DataFrame(rows), [cols.Column("statistic", cols.N_("Statistic")),
                                           cols.Column("value", cols.N_("Value"))], fmt,
                      table_id="statistics")


def _figures(result: CaseMixResult, disclosed: DisclosedRun, level: str,
             shrunk: pd.DataFrame, safe_units: set[str], shrinkage: str, fmt: Formatter
             ) -> dict[str, str]:
    """Calibration, funnel and caterpillar plots of the published units and groups only:
    suppressed ones are not drawn, and the funnel's limits and over-dispersion come from the
    published units (as in ``funnel_<level>.csv``)."""
    import matplotlib

    matplotlib.use("Agg")
    figs = {"calibration": figures.calibration_figure(result.calibration_curve(), fmt)}
    income = disclosed.subgroups.get("income_quintile")
    if income is not None:
        figs["income"] = figures.group_figure(income, cols.VARIABLES["income_quintile"], fmt,
                                              cols.CATEGORY)
    s = shrunk[shrunk["unit"].astype(str).isin(safe_units)]
    shown = result.unit_table.main(level)
    shown = shown[shown["unit"].astype(str).isin(safe_units)]
    if len(shown) < 2 or s.empty:  # (nearly) everything suppressed: nothing may be drawn
        return figs
    O = shown["observed"].to_numpy(dtype=float)
    E = shown["expected"].to_numpy(dtype=float)
    target = float(np.exp(result.shrinker.verdict_centre(O, E)))
    figs["funnel"] = figures.funnel_figure(shown, target, SPREAD_SETTINGS["overdispersion"],
                                           fmt)
    figs["caterpillar"] = figures.caterpillar_figure(
        s, fmt.lang.gettext(cols.LEVELS.get(level, level)), shrinkage,
        result.spec.confidence_level, fmt)
    return figs


def _subgroup_sections(result: CaseMixResult, disclosed: DisclosedRun,
                       without_ses: CaseMixResult, births: pd.DataFrame, fmt: Formatter
                       ) -> list[dict[str, Any]]:
    """Calibration by subgroup with what each check can show: for a group that is itself an
    adjuster O/E is 1 by construction (the likelihood equations of the logistic model make
    the expected events equal the observed ones in every category); groups that are not
    adjusters, and the SES adjusters checked on the fit without SES, are informative."""
    adjusters = {t.column for t in result.spec.adjusters}
    out = []
    for variable, table in disclosed.subgroups.items():
        section: dict[str, Any] = {
            "variable": fmt.lang.gettext(cols.VARIABLES.get(variable, variable)),
            "adjuster": variable in adjusters,
            "table": html_table(table, cols.SUBGROUP_COLUMNS, fmt, table_id=f"group-{variable}")}
        if variable in result.spec.ses and without_ses.rows is not None:
            dropped = masked_like(without_ses.calibration_by(births, variable).table, table)
            section["without_ses"] = html_table(dropped, cols.SUBGROUP_COLUMNS, fmt,
                                                table_id=f"group-{variable}-without-ses")
        out.append(section)
    return out


def _alignment_html(alignment: AlignmentResult | None, threshold: int, fmt: Formatter
                    ) -> dict[str, Any]:
    if alignment is None:
        return {}
    safe = disclosed_alignment(alignment.disagreements, threshold)
    best, summary = alignment.best(), alignment.summary()
    return {"agree": int(alignment.table["agrees"].sum()), "rows": len(alignment.table),
            "version": alignment.settings.version,
            "best": html_table(best, cols.generic_columns(best), fmt, table_id="alignment-best"),
            "explained": html_table(summary, cols.generic_columns(summary), fmt,
                                    table_id="alignment-explained"),
            "table": html_table(safe, cols.generic_columns(safe), fmt, table_id="alignment")}


def _unit_view(main: pd.DataFrame, shrunk: pd.DataFrame | None) -> pd.DataFrame:
    """Main rows of the unit table with the precision mark and, where the run has them,
    shrunken O/E and rank intervals (``rank [lower-upper]``)."""
    width = main["oe_upper"].astype(float) - main["oe_lower"].astype(float)
    view = main.assign(small_unit=np.where(width > IMPRECISE_WIDTH, "imprecise", ""))
    if shrunk is not None and "rank" in shrunk:
        ranks = shrunk.set_index(shrunk["unit"].astype(str))
        text = [("" if pd.isna(r) else f"{r:.0f} [{lo:.0f}\u2013{hi:.0f}]") for r, lo, hi in
                zip(ranks["rank"], ranks["rank_lower"], ranks["rank_upper"], strict=True)]
        view["rank_interval"] = view["unit"].astype(str).map(dict(zip(ranks.index, text,
                                                                      strict=True)))
    return view


def _exclusions(result: CaseMixResult, threshold: int, fmt: Formatter) -> pd.DataFrame:
    exclusions = result.exclusions.to_frame()
    kept = exclusions["stage"].eq("assumptions") | exclusions["reason"].str.endswith(
        "value set to missing")  # rows kept under a documented rule, not left out
    exclusions["effect"] = np.where(kept, "kept (rule applied)", "left out")
    exclusions["reason"] = [cols.translate_reason(r, fmt.lang.gettext)
                            for r in exclusions["reason"]]
    exclusions["n_rows"] = exclusions["n_rows"].astype(object).where(
        exclusions["n_rows"] >= threshold, f"<{threshold}")
    return exclusions


def _environment(fmt: Formatter) -> Environment:
    """Jinja with the report language's gettext (``{{ _("...") }}`` and ``{% trans %}``)."""
    env = Environment(loader=PackageLoader("casemix.report", "templates"),
                      autoescape=select_autoescape(["html", "j2"]),
                      extensions=["jinja2.ext.i18n"])
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_callables(  # type: ignore[attr-defined]
        fmt.lang.translations.gettext, fmt.lang.translations.ngettext, newstyle=True)
    return env


def build_report(result: CaseMixResult, births: pd.DataFrame, *,
                 validation: ValidationReport | None = None, threshold: int = DEFAULT_THRESHOLD,
                 manifest: dict[str, Any] | None = None,
                 alignment: AlignmentResult | None = None, lang: str = "nl",
                 geometry: Any = None) -> str:
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
    lang : {"nl", "en"}
        Language of the text and of the number formats (Dutch: decimal comma, ``.`` between
        thousands).
    geometry : Boundaries, optional
        Unit boundaries (:func:`casemix.geography.read_boundaries`): a choropleth map per
        level that the file covers.

    Returns
    -------
    str
        HTML with embedded PNG figures and inline CSS; no external resources.
    """
    fmt = Formatter(language(lang))
    level = result.spec.levels[0]
    disclosed = disclose_run(result, births, threshold=threshold)
    published = result.unit_table.replace(disclosed.units)
    main = published.main(level)
    safe_units = set(main.loc[~main["suppressed"], "unit"].astype(str))
    runs = sensitivity_runs(result, births, level)
    shrinker = _shrinkage_run(result, births)
    shown = disclosed if shrinker is result else disclose_run(shrinker, births,
                                                              threshold=threshold)
    shrunk_all = shrinker.unit_table.replace(shown.units)
    shrunk = shrunk_all.main(level)
    sens = sensitivity_table(result, births, level, runs=runs, published=safe_units)
    sens["why"] = [", ".join(fmt.lang.gettext(cols.ANALYSES.get(w, w)) for w in str(v).split(", ")
                             if w) for v in sens["why"]]
    confidence = fmt.level(result.spec.confidence_level)
    own = _has_shrinkage(result, level)
    units_table = html_table(_unit_view(main, shrunk if own else None),
                             cols.unit_columns(confidence, shrinkage=own), fmt,
                             table_id="unit-table")
    level_names = {lv: fmt.lang.gettext(cols.LEVELS.get(lv, lv)) for lv in result.spec.levels}
    return _environment(fmt).get_template("report.html.j2").render(
        lang=lang, spec=result.spec, result=result, level=level, level_names=level_names,
        created=datetime.now().isoformat(timespec="seconds"), manifest=manifest or {},
        threshold=threshold, fmt=fmt, validation=validation,
        exclusions=html_table(_exclusions(result, threshold, fmt), cols.EXCLUSION_COLUMNS, fmt,
                              table_id="exclusions"),
        definitions_label=result.spec.definitions.version,
        definitions_source=_preset_source(result.spec.definitions.preset),
        definition_rules=result.spec.definitions.describe(),
        coefficients=_coefficients(disclosed, result, fmt),
        splines=_spline_curves(result, births, fmt), statistics=_statistics(result, fmt),
        subgroups=_subgroup_sections(result, disclosed, runs["without_ses"], births, fmt),
        units=units_table,
        sensitivity=html_table(sens, cols.sensitivity_columns(sens), fmt, table_id="sensitivity"),
        n_changes=int((sens["changes"] > 0).sum()),
        findings=key_findings(published.main(), disclosed.verdict, result.unit_table.period,
                              list(result.spec.levels), fmt),
        verdict=disclosed.verdict,
        figures=_figures(result, disclosed, level, shrunk, safe_units,
                         shrinker.shrinker.describe(), fmt),
        maps=_maps(geometry, published, shrunk_all, result.spec.levels, fmt),
        shrinkage_method=shrinker.method, own_shrinkage=shrinker is result,
        n_units=len(main), n_suppressed=int(main["suppressed"].sum()),
        alignment=_alignment_html(alignment, threshold, fmt),
        imprecise_width=fmt.number(IMPRECISE_WIDTH, 1), hidden=HIDDEN, variables=cols.VARIABLES)


def _maps(geometry: Any, published: Any, shrunk: Any, levels: tuple[str, ...],
          fmt: Formatter) -> list[dict[str, str]]:
    """Choropleth maps per level that the boundary file covers (none without one)."""
    if geometry is None:
        return []
    return figures.level_maps(geometry, published, shrunk, levels, fmt)


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
