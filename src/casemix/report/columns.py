"""Column labels and formats of the report's tables, and the labels of codes shown in them
(English messages; the catalogue translates them)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pandas as pd

from casemix.report.tables import N_, Column

__all__ = ["CATEGORY", "FLAGS", "LEVELS", "N_", "VARIABLES", "generic_columns", "unit_columns"]


#: Verdict and flag codes.
FLAGS = {"above": N_("above"), "below": N_("below"), "within": N_("within"),
         "imprecise": N_("imprecise")}
#: Unit levels (singular).
LEVELS = {"vsv": N_("VSV"), "municipality": N_("municipality"), "ggd_region": N_("GGD region"),
          "care_office_region": N_("care-office region"), "national": N_("national")}
#: Variables of the model and of the subgroup checks.
VARIABLES = {
    "maternal_age": N_("maternal age"), "parity": N_("parity"), "plurality": N_("plurality"),
    "infant_sex": N_("infant sex"), "migration_background": N_("migration background"),
    "income_quintile": N_("income quintile"), "education": N_("education"),
    "urbanisation": N_("urbanisation"), "neighbourhood_ses_quintile": N_(
        "neighbourhood SES quintile"), "(Intercept)": N_("intercept")}
#: Category codes of the simulated and registry data.
CATEGORY = {
    "missing": N_("missing"), "male": N_("male"), "female": N_("female"),
    "dutch": N_("Dutch"), "western": N_("western"), "moroccan": N_("Moroccan"),
    "turkish": N_("Turkish"), "surinamese": N_("Surinamese"), "antillean": N_("Antillean"),
    "other_nonwestern": N_("other non-western"), "low": N_("low"), "middle": N_("middle"),
    "high": N_("high"), "nulliparous": N_("nulliparous"), "multiparous": N_("multiparous"),
    "singleton": N_("singleton"), "multiple": N_("multiple"), "left out": N_("left out"),
    "kept (rule applied)": N_("kept (rule applied)")}


def unit_columns(level: str, *, shrinkage: bool) -> list[Column]:
    """Columns of the unit table (``units.csv``'s main rows); ``level`` is the confidence
    level as the reader reads it (``95%``), put in the interval headers."""
    at = {"level": level}
    cols = [
        Column("unit", N_("Unit")),
        Column("n", N_("Births"), "count"),
        Column("observed", N_("Observed (O)"), "count"),
        Column("expected", N_("Expected (E)"), "number", 1),
        Column("crude_rate", N_("Crude rate"), "percent", 1),
        Column("oe", N_("O/E (%(level)s CI)"), "interval", 2, ("oe_lower", "oe_upper"),
               args=at, title=N_("Observed over expected events; exact (O < 10) or Byar interval")),
        Column("adjusted_rate", N_("Adjusted rate (%(level)s CI)"), "percent_interval", 1,
               ("adjusted_rate_lower", "adjusted_rate_upper"),
               args=at, title=N_("O/E times the national rate (indirect standardisation)")),
    ]
    if shrinkage:
        cols += [Column("shrunk_oe", N_("Shrunken O/E (%(level)s interval)"), "interval", 2,
                        ("shrunk_lower", "shrunk_upper"), args=at),
                 Column("rank_interval", N_("Rank (%(level)s interval)"), args=at)]
    cols += [
        Column("flag_95", N_("Verdict 95%"), "label", labels=FLAGS,
               title=N_("Unusual beyond the normal variation between units, at 95%")),
        Column("flag_998", N_("Verdict 99.8%"), "label", labels=FLAGS),
        Column("verdict_p", N_("p (verdict)"), "p"),
        Column("flag_poisson_95", N_("Differs from national (95%)"), "label", labels=FLAGS,
               title=N_("The O/E interval excludes 1: sampling variation alone allowed for")),
        Column("small_unit", N_("Precision"), "label", labels=FLAGS),
    ]
    return cols


SUBGROUP_COLUMNS = [
    Column("group", N_("Group"), "label", labels=CATEGORY),
    Column("n", N_("Births"), "count"),
    Column("observed", N_("Observed (O)"), "count"),
    Column("expected", N_("Expected (E)"), "number", 1),
    Column("oe", N_("O/E (95% CI)"), "interval", 2, ("oe_lower", "oe_upper")),
    Column("slope", N_("Calibration slope"), "number", 2),
    Column("slope_se", N_("SE of the slope"), "number", 2),
]

COEFFICIENT_COLUMNS = [
    Column("variable", N_("Variable")),
    Column("category", N_("Category")),
    Column("odds_ratio", N_("Odds ratio (95% CI)"), "interval", 2, ("or_lower", "or_upper")),
    Column("p_value", N_("p"), "p"),
]

EXCLUSION_COLUMNS = [
    Column("stage", N_("Stage"), "label", labels={
        "indicators": N_("indicators"), "assumptions": N_("assumptions"),
        "validation": N_("validation"), "model": N_("model")}),
    Column("scope", N_("Indicator")),
    Column("reason", N_("Reason")),
    Column("n_rows", N_("Births"), "count"),
    Column("effect", N_("Effect"), "label", labels=CATEGORY),
]

#: Calibration statistics: label and digits (None: a count).
STATISTICS = {
    "n": (N_("Births"), None), "events": (N_("Events"), None),
    "mean_predicted": (N_("Mean predicted risk"), 4),
    "mean_observed": (N_("Observed rate"), 4),
    "citl": (N_("Calibration-in-the-large (log-odds)"), 3),
    "citl_se": (N_("SE of calibration-in-the-large"), 3),
    "slope": (N_("Calibration slope"), 3), "slope_se": (N_("SE of the slope"), 3),
    "ici": (N_("Integrated calibration index (ICI)"), 4),
    "e50": (N_("Median absolute calibration error (E50)"), 4),
    "e90": (N_("90th percentile of the calibration error (E90)"), 4),
    "emax": (N_("Maximum calibration error (Emax)"), 4),
    "brier": (N_("Brier score"), 4), "brier_scaled": (N_("Scaled Brier score"), 4),
    "c": (N_("C statistic (area under the ROC curve)"), 3),
    "c_lower": (N_("C statistic, lower 95% limit"), 3),
    "c_upper": (N_("C statistic, upper 95% limit"), 3),
    "spiegelhalter_z": (N_("Spiegelhalter's z"), 2),
    "spiegelhalter_p": (N_("Spiegelhalter's p"), 3),
}

#: Analyses of the sensitivity table.
ANALYSES = {"main": N_("this run"), "without_ses": N_("without SES"),
            "eb": N_("empirical Bayes"), "fay-herriot": N_("Fay-Herriot"),
            "glmm": N_("GLMM")}


def sensitivity_columns(frame: pd.DataFrame) -> list[Column]:
    """Columns of the sensitivity table: a verdict and a rank interval per analysis."""
    cols = [Column("unit", N_("Unit")), Column("n", N_("Births"), "count")]
    for name in ANALYSES:
        if f"flag_{name}" in frame:
            cols.append(Column(f"flag_{name}", N_("Verdict: %(analysis)s"), "label",
                               labels=FLAGS, args={"analysis": ANALYSES[name]}))
    for name in ANALYSES:
        if f"rank_{name}" in frame:
            cols.append(Column(f"rank_{name}", N_("Rank: %(analysis)s"),
                               args={"analysis": ANALYSES[name]}))
    return [*cols, Column("changes", N_("Changes"), "count"),
            Column("why", N_("Analyses that differ"))]


#: Headers of the alignment tables (and of other tables without a fixed layout).
HEADERS = {
    "unit": N_("Unit"), "year": N_("Year"), "indicator": N_("Indicator"),
    "combination": N_("Combination of rules"), "rules": N_("Rules"),
    "presets": N_("Presets"), "rows": N_("Rows"), "rows_agreeing": N_("Rows that agree"),
    "explained_by": N_("Explained by"), "numerator_reference": N_("Numerator (published)"),
    "denominator_reference": N_("Denominator (published)"),
    "numerator": N_("Numerator (ours)"), "denominator": N_("Denominator (ours)"),
    "rate_reference": N_("Rate (published)"), "rate": N_("Rate (ours)"),
    "numerator_difference": N_("Difference in numerator"),
    "denominator_difference": N_("Difference in denominator"), "agrees": N_("Agrees"),
    "best_combination": N_("Best combination"),
    "numerator_residual": N_("Numerator left unexplained"),
    "denominator_residual": N_("Denominator left unexplained"),
    "suppressed": N_("Suppressed"), "difference_banded": N_("Difference banded")}


def generic_columns(frame: pd.DataFrame) -> list[Column]:
    """Columns for a table without a fixed layout (alignment): counts as counts, other
    numbers with three decimals, headers from the column names."""
    cols = []
    for key in frame.columns:
        series = frame[key]
        if pd.api.types.is_bool_dtype(series):
            kind, digits = "label", 0
        elif pd.api.types.is_integer_dtype(series):
            kind, digits = "count", 0
        elif pd.api.types.is_float_dtype(series):
            whole = series.dropna()
            kind, digits = ("count", 0) if len(whole) and (whole % 1 == 0).all() else (
                "number", 3)
        else:
            kind, digits = "text", 0
        if str(key).startswith("rate"):
            kind, digits = "percent", 2
        cols.append(Column(str(key), HEADERS.get(str(key), str(key).replace("_", " ")), kind,
                           digits))
    return cols


#: Exclusion reasons as the data layers write them, and their messages (tried in order;
#: a reason that matches none is shown as written).
REASONS = [
    (r"^gestational age below (?P<weeks>\S+) weeks \(definition minimum\)$",
     N_("gestational age below %(weeks)s weeks (definition minimum)")),
    (r"^gestational age outside the reference range \((?P<low>\d+)\.\.(?P<high>\d+) days\)$",
     N_("gestational age outside the reference range (%(low)s..%(high)s days)")),
    (r"^SGA unknown \((?P<reason>.+)\) \(term birth\): counted as not Big2$",
     N_("SGA unknown (%(reason)s) (term birth): counted as not Big2")),
    (r"^SGA unknown \((?P<reason>.+)\): counted as not SGA$",
     N_("SGA unknown (%(reason)s): counted as not SGA")),
    (r"^vital status unknown \(no death registered\): counted as alive$",
     N_("vital status unknown (no death registered): counted as alive")),
    (r"^(?P<reason>.+): value set to missing$", N_("%(reason)s: value set to missing")),
    (r"^year not in (?P<years>.+)$", N_("year not in %(years)s")),
    (r"^case weight 0$", N_("case weight 0")),
    (r"^(?P<variable>\S+) missing$", N_("%(variable)s missing")),
]


def translate_reason(reason: str, gettext: Callable[[str], str]) -> str:
    """An exclusion reason in the report language (parts that are reasons themselves, and
    variable names, translated too)."""
    for pattern, message in REASONS:
        match = re.match(pattern, reason)
        if match:
            parts = {k: (translate_reason(v, gettext) if k == "reason" else
                         gettext(VARIABLES.get(v, v)) if k == "variable" else v)
                     for k, v in match.groupdict().items()}
            return gettext(message) % parts
    return reason
