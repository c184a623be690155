"""Alignment with the national registry: compare crude numbers with published figures and name
the definition choices that explain each difference."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from casemix.alignment.disclosure import disclosed_alignment
from casemix.disclosure import DEFAULT_THRESHOLD
from casemix.exceptions import DataError
from casemix.indicators import PRESETS, DefinitionSettings, SmallForAge, indicator_rates

__all__ = ["ALTERNATIVES", "REFERENCE_COLUMNS", "RELEVANT_RULES", "SEARCH", "AlignmentResult",
           "align"]

REFERENCE_COLUMNS = ("unit", "year", "indicator", "numerator", "denominator")

#: Definition choices that differ between publications, each as a change of the settings.
ALTERNATIVES: dict[str, dict[str, object]] = {
    "minimum gestational age 22+0 weeks": {"min_gestational_age_days": 154},
    "minimum gestational age 24+0 weeks": {"min_gestational_age_days": 168},
    "neonatal window 28 days": {"perinatal_neonatal_days": 28},
    "neonatal window 7 days": {"perinatal_neonatal_days": 7},
    "singletons only": {"plurality": "singletons"},
    "multiples included": {"plurality": "all"},
    "SGA from the supplied percentile": {"sga_source": "percentile"},
    "SGA from birthweight (Hoftiezer table)": {"sga_source": "weight"},
    "SGA from the percentile, else birthweight": {"sga_source": "percentile_then_weight"},
    "unknown SGA excluded": {"sga_unknown": "exclude"},
    "unknown SGA counted as not SGA": {"sga_unknown": "not_sga"},
    "Big2: unknown SGA excluded": {"big2_unknown_sga": "exclude"},
    "Big2: unknown SGA counted as not Big2 (all births from 24+0 weeks)":
        {"big2_unknown_sga": "not_big2"},
    "neonatal rates per birth (live and stillborn)": {"neonatal_population": "all_births"},
    "neonatal rates per live birth": {"neonatal_population": "live_births"},
    "unknown vital status excluded": {"unknown_vital_status": "exclude"},
    "unknown vital status counted as alive": {"unknown_vital_status": "alive"},
}


#: The documented rules searched, each with the choices tried (``sga_source="auto"`` is one
#: of the others, resolved from the columns).
SEARCH: dict[str, tuple[object, ...]] = {
    "min_gestational_age_days": (154, 168),
    "perinatal_neonatal_days": (7, 28),
    "neonatal_population": ("live_births", "all_births"),
    "plurality": ("all", "singletons"),
    "sga_source": ("percentile", "weight", "percentile_then_weight"),
    "sga_unknown": ("not_sga", "exclude"),
    "big2_unknown_sga": ("not_big2", "exclude"),
    "sga_outside_reference": ("exclude", "nearest"),
    "unknown_vital_status": ("alive", "exclude"),
}
_SCOPE = ("min_gestational_age_days", "plurality")
_SGA = ("sga_source", "sga_outside_reference")
_DEATH = ("unknown_vital_status",)
#: The rules that can change each indicator's counts (other indicators: every rule).
RELEVANT_RULES: dict[str, tuple[str, ...]] = {
    "preterm": _SCOPE, "very_preterm": _SCOPE,
    "sga": (*_SCOPE, *_SGA, "sga_unknown"),
    "big2": (*_SCOPE, *_SGA, "big2_unknown_sga"),
    "fetal_death": (*_SCOPE, *_DEATH),
    "neonatal_death_7d": (*_SCOPE, *_DEATH, "neonatal_population"),
    "neonatal_death_28d": (*_SCOPE, *_DEATH, "neonatal_population"),
    "infant_mortality": (*_SCOPE, *_DEATH, "neonatal_population"),
    "perinatal_mortality": (*_SCOPE, *_DEATH, "perinatal_neonatal_days"),
}
#: Readable name of one rule choice, from :data:`ALTERNATIVES`.
_NAMES: dict[tuple[str, object], str] = {
    (k, v): name for name, change in ALTERNATIVES.items() for k, v in change.items()
    if len(change) == 1}
#: Most combinations listed per row in ``explained_by``.
MAX_LISTED = 4


@dataclass(frozen=True)
class AlignmentResult:
    """Comparison of the package's crude numbers with a reference table.

    Attributes
    ----------
    table : pandas.DataFrame
        Per reference row: ``unit``, ``year``, ``indicator``, ``numerator_reference``,
        ``denominator_reference``, ``numerator``, ``denominator``, ``rate_reference``,
        ``rate``, ``numerator_difference``, ``denominator_difference``, ``agrees``
        (within tolerance under the settings compared, on the counts that are published: a
        blank, suppressed published count is not compared), ``presets`` (the named presets
        under which the row agrees, ``;``-separated), ``explained_by`` (for a row that
        differs: the smallest combinations of rule changes under which it agrees, e.g.
        ``minimum gestational age 22+0 weeks + singletons only``, ``;``-separated;
        ``unexplained`` when no combination does; empty when it agrees),
        ``best_combination`` (for an unexplained row: the combination that comes closest),
        ``numerator_best``, ``denominator_best`` (its counts; internal) and
        ``numerator_residual``, ``denominator_residual`` (its counts minus the published).
    settings : DefinitionSettings
        The settings compared.
    tolerance : float
    combinations : pandas.DataFrame
        Per indicator and combination searched: ``indicator``, ``combination`` (the rule
        changes from ``settings``; empty: the settings themselves), ``rules`` (every
        searched rule's value), ``presets`` (named presets that give the same counts),
        ``rows`` and ``rows_agreeing``; sorted best first within an indicator.
    """

    table: pd.DataFrame
    settings: DefinitionSettings
    tolerance: float
    combinations: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def disagreements(self) -> pd.DataFrame:
        """Rows that differ from the reference."""
        return self.table[~self.table["agrees"]]

    def summary(self) -> pd.DataFrame:
        """Count of differing rows per indicator and explanation."""
        d = self.disagreements
        return d.groupby(["indicator", "explained_by"]).size().rename("rows").reset_index()

    def best(self) -> pd.DataFrame:
        """Per indicator, the combination that reproduces most reference rows (fewest rule
        changes among equals): ``indicator, combination, presets, rows, rows_agreeing``."""
        if self.combinations.empty:
            return self.combinations
        return (self.combinations.groupby("indicator", sort=True).head(1)
                .reset_index(drop=True))

    def disclosed(self, threshold: int = DEFAULT_THRESHOLD) -> pd.DataFrame:
        """The table as it may leave the secure environment: small counts suppressed and
        differences below ``threshold`` shown as a band (see :func:`disclosed_alignment`)."""
        return disclosed_alignment(self.table, threshold)


def _crude(births: pd.DataFrame, level: str, indicators: Sequence[str],
           settings: DefinitionSettings) -> pd.DataFrame:
    """Numerator and denominator per unit, year and indicator (no suppression: internal)."""
    tables = []
    for year, sub in births.groupby("year"):
        table, _ = indicator_rates(sub, None if level == "national" else level,
                                   indicators=indicators, settings=settings, threshold=None)
        # the units of the level, and the national row (unit "national"): a published table
        # has both
        table = table[table["level"].isin([level, "national"])]
        tables.append(table.assign(year=int(year)))
    out = pd.concat(tables, ignore_index=True)
    return out[["unit", "year", "indicator", "numerator", "denominator"]]


def _agrees(a: pd.DataFrame, num: str, den: str, tolerance: float) -> pd.Series:
    """Within tolerance on every published count; a blank (suppressed) published count is not
    compared, but our count must exist."""
    def close(ours: str, published: str) -> pd.Series:
        ref = a[published]
        near = (a[ours] - ref).abs() <= tolerance * ref
        return near.fillna(False).astype(bool) | (ref.isna() & a[ours].notna())

    return close(num, "numerator_reference") & close(den, "denominator_reference")


def _options(rule: str, births: pd.DataFrame) -> tuple[object, ...]:
    """The choices of ``rule`` that the columns allow (SGA sources need their columns)."""
    if rule != "sga_source":
        return SEARCH[rule]
    has_p, has_w = "birthweight_percentile" in births, "birthweight_g" in births
    return tuple(v for v in SEARCH[rule] if (v == "weight" and has_w) or (
        v == "percentile" and has_p) or (v == "percentile_then_weight" and has_p and has_w))


def _resolved(settings: DefinitionSettings, births: pd.DataFrame) -> DefinitionSettings:
    """``settings`` with ``sga_source="auto"`` replaced by the source it uses on ``births``."""
    return replace(settings, sga_source=SmallForAge.source(births, settings))  # type: ignore[arg-type]


def _combinations(indicator: str, settings: DefinitionSettings, births: pd.DataFrame
                  ) -> Iterator[tuple[dict[str, object], DefinitionSettings]]:
    """Every combination of the choices of the rules relevant to ``indicator``, as (changes
    from ``settings``, settings)."""
    rules = RELEVANT_RULES.get(indicator, tuple(SEARCH))
    base = _resolved(settings, births)
    for values in itertools.product(*(_options(r, births) for r in rules)):
        choice = dict(zip(rules, values, strict=True))
        changes = {k: v for k, v in choice.items() if getattr(base, k) != v}
        yield changes, replace(base, **changes)  # type: ignore[arg-type]


def _label(changes: Mapping[str, object]) -> str:
    """Readable name of a combination of rule changes."""
    return " + ".join(_NAMES.get((k, v), f"{k}={v}") for k, v in changes.items())


def _preset_counts(ref: pd.DataFrame, births: pd.DataFrame, level: str, indicator: str
                   ) -> dict[str, pd.DataFrame]:
    """Counts of ``indicator`` under each named preset whose SGA source has its columns,
    aligned with ``ref``."""
    out = {}
    for name in PRESETS:
        settings = _resolved(DefinitionSettings.from_preset(name), births)
        if settings.sga_source in _options("sga_source", births):
            out[name] = _counts(ref, births, level, indicator, settings)
    return out


def _counts(ref: pd.DataFrame, births: pd.DataFrame, level: str, indicator: str,
            settings: DefinitionSettings) -> pd.DataFrame:
    """Numerator and denominator of the rows of ``ref`` (one indicator) under ``settings``."""
    crude = _crude(births, level, [indicator], settings)
    return ref[["unit", "year", "indicator"]].merge(crude, how="left",
                                                    on=["unit", "year", "indicator"])


def _search(ref: pd.DataFrame, births: pd.DataFrame, level: str, indicator: str,
            settings: DefinitionSettings, tolerance: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Search the combinations for the rows of one indicator: per-row results and the
    per-combination table."""
    presets = _preset_counts(ref, births, level, indicator)
    rows, found = [], []
    rules = RELEVANT_RULES.get(indicator, tuple(SEARCH))
    for changes, alt in _combinations(indicator, settings, births):
        c = _counts(ref, births, level, indicator, alt)
        ok = _agrees(ref.assign(n=c["numerator"].to_numpy(), d=c["denominator"].to_numpy()),
                     "n", "d", tolerance).to_numpy()
        same = [name for name, p in presets.items() if p[["numerator", "denominator"]].equals(
            c[["numerator", "denominator"]])]
        rows.append({"indicator": indicator, "combination": _label(changes),
                     "rules": ", ".join(f"{k}={getattr(alt, k)}" for k in rules),
                     "presets": "; ".join(same), "rows": len(ref),
                     "rows_agreeing": int(ok.sum()), "_changes": len(changes)})
        found.append((changes, ok, c["numerator"].to_numpy(float, na_value=np.nan),
                      c["denominator"].to_numpy(float, na_value=np.nan)))
    per_row = _per_row(ref, found, presets, tolerance)
    table = pd.DataFrame(rows).sort_values(["rows_agreeing", "_changes"],
                                           ascending=[False, True], kind="stable")
    return per_row, table.drop(columns="_changes")


def _per_row(ref: pd.DataFrame, found: list, presets: dict[str, pd.DataFrame],
             tolerance: float) -> pd.DataFrame:
    """``presets``, ``explained_by``, ``best_combination`` and the best counts per row."""
    agree = {name: _agrees(ref.assign(n=p["numerator"].to_numpy(),
                                      d=p["denominator"].to_numpy()), "n", "d",
                           tolerance).to_numpy() for name, p in presets.items()}
    n_pub = ref["numerator_reference"].to_numpy(float)
    d_pub = ref["denominator_reference"].to_numpy(float)
    out = []
    for i in range(len(ref)):
        hits = sorted((len(ch), _label(ch)) for ch, ok, _, _ in found if ok[i])
        smallest = [label for k, label in hits if k == hits[0][0]] if hits else []
        listed = "; ".join(smallest[:MAX_LISTED]) + (
            f"; (+{len(smallest) - MAX_LISTED} more)" if len(smallest) > MAX_LISTED else "")
        miss = [abs(n[i] - n_pub[i]) + abs(d[i] - d_pub[i]) for _, _, n, d in found]
        j = int(np.nanargmin(miss)) if not hits and np.isfinite(miss).any() else None
        out.append({
            "presets": "; ".join(name for name, ok in agree.items() if ok[i]),
            "explained_by": listed or "unexplained",
            "best_combination": _label(found[j][0]) if j is not None else "",
            "numerator_best": found[j][2][i] if j is not None else np.nan,
            "denominator_best": found[j][3][i] if j is not None else np.nan})
    return pd.DataFrame(out, index=ref.index)


def align(
    births: pd.DataFrame,
    reference: pd.DataFrame,
    *,
    level: str = "vsv",
    settings: DefinitionSettings | None = None,
    tolerance: float = 0.0,
) -> AlignmentResult:
    r"""Compare crude indicator numbers with a table of published figures, and search the
    combinations of definition rules that reproduce them.

    Parameters
    ----------
    births : pandas.DataFrame
        Validated births (canonical columns).
    reference : pandas.DataFrame
        Published figures with columns ``unit, year, indicator, numerator, denominator``
        (``unit`` = ``national`` for national rows when ``level="national"``); one row per
        unit, year and indicator.
    level : str
        Unit level of the reference (a unit column of the births, or ``national``).
    settings : DefinitionSettings, optional
        The definitions to compare (default: the ``monitor-2022`` preset).
    tolerance : float, default 0
        Relative tolerance on numerator and denominator (0: counts must be equal).

    Returns
    -------
    AlignmentResult

    Notes
    -----
    Per indicator, the search is exhaustive over the documented rules that can change its
    counts (:data:`RELEVANT_RULES`), each over its choices (:data:`SEARCH`): for Big2, the
    minimum gestational age (22+0 or 24+0 weeks), multiples in or out, the SGA source
    (registry percentile, birthweight, percentile then weight; only sources whose columns
    are present), births outside the reference range, and the Big2 denominator for unknown
    SGA, 2 x 2 x 3 x 2 x 2 = 48 combinations. Every reference row is compared under each,
    and under each named preset (:data:`casemix.indicators.PRESETS`). A row that differs
    under ``settings`` is explained by the combinations with the fewest rule changes under
    which it agrees; when none does, the closest combination (smallest
    $|\Delta O| + |\Delta N|$) and its residual difference are reported.
    """
    missing = [c for c in REFERENCE_COLUMNS if c not in reference]
    if missing:
        raise DataError(f"The reference table lacks column(s) {missing}; expected "
                        f"{', '.join(REFERENCE_COLUMNS)}.")
    settings = settings or DefinitionSettings()
    ref = _reference(reference)
    indicators = sorted(ref["indicator"].unique())
    base = _crude(births, level, indicators, settings)
    table = ref.merge(base, on=["unit", "year", "indicator"], how="left")
    table["agrees"] = _agrees(table, "numerator", "denominator", tolerance)
    found, combos = [], []
    for indicator in indicators:
        sub = table[table["indicator"] == indicator]
        per_row, combo = _search(sub, births, level, indicator, settings, tolerance)
        found.append(per_row)
        combos.append(combo)
    table = table.join(pd.concat(found))
    table.loc[table["agrees"], ["explained_by", "best_combination"]] = ""
    return AlignmentResult(_finish(table), settings, tolerance,
                           pd.concat(combos, ignore_index=True))


def _reference(reference: pd.DataFrame) -> pd.DataFrame:
    """The reference table with checked keys and renamed counts."""
    ref = reference[list(REFERENCE_COLUMNS)].copy()
    ref["unit"] = ref["unit"].astype(str)
    ref["year"] = ref["year"].astype(int)
    for count in ("numerator", "denominator"):  # blank (suppressed) figures as NaN
        ref[count] = pd.to_numeric(ref[count]).astype("float64")
    dup = ref.duplicated(["unit", "year", "indicator"], keep=False)
    if dup.any():
        first = ref.loc[dup].iloc[0]
        raise DataError(f"The reference table has {int(dup.sum())} rows that repeat a unit, "
                        f"year and indicator (e.g. {first['unit']} {first['year']} "
                        f"{first['indicator']}); each published figure must appear once.")
    return ref.rename(columns={"numerator": "numerator_reference",
                               "denominator": "denominator_reference"})


def _finish(table: pd.DataFrame) -> pd.DataFrame:
    """Rates, differences and residuals, in the documented column order."""
    with np.errstate(invalid="ignore", divide="ignore"):
        table["rate_reference"] = table["numerator_reference"] / table["denominator_reference"]
        table["rate"] = table["numerator"] / table["denominator"]
    table["numerator_difference"] = table["numerator"] - table["numerator_reference"]
    table["denominator_difference"] = table["denominator"] - table["denominator_reference"]
    table["numerator_residual"] = table["numerator_best"] - table["numerator_reference"]
    table["denominator_residual"] = table["denominator_best"] - table["denominator_reference"]
    order = ["unit", "year", "indicator", "numerator_reference", "denominator_reference",
             "numerator", "denominator", "rate_reference", "rate", "numerator_difference",
             "denominator_difference", "agrees", "presets", "explained_by",
             "best_combination", "numerator_best", "denominator_best", "numerator_residual",
             "denominator_residual"]
    return table[order]
