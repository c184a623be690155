"""Alignment with the national registry: compare crude numbers with published figures and name
the definition choices that explain each difference."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from casemix.alignment.disclosure import disclosed_alignment
from casemix.disclosure import DEFAULT_THRESHOLD
from casemix.exceptions import DataError
from casemix.indicators import DefinitionSettings, indicator_rates

__all__ = ["ALTERNATIVES", "REFERENCE_COLUMNS", "AlignmentResult", "align"]

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


@dataclass(frozen=True)
class AlignmentResult:
    """Comparison of the package's crude numbers with a reference table.

    Attributes
    ----------
    table : pandas.DataFrame
        Per reference row: ``unit``, ``year``, ``indicator``, ``numerator_reference``,
        ``denominator_reference``, ``numerator``, ``denominator``, ``rate_reference``,
        ``rate``, ``numerator_difference``, ``denominator_difference``, ``agrees``
        (within tolerance) and ``explained_by`` (the definition choices under which the row
        agrees, ``;``-separated; ``unexplained`` when none does, empty when it agrees).
    settings : DefinitionSettings
        The settings compared.
    tolerance : float
    """

    table: pd.DataFrame
    settings: DefinitionSettings
    tolerance: float

    @property
    def disagreements(self) -> pd.DataFrame:
        """Rows that differ from the reference."""
        return self.table[~self.table["agrees"]]

    def summary(self) -> pd.DataFrame:
        """Count of differing rows per indicator and explanation."""
        d = self.disagreements
        return d.groupby(["indicator", "explained_by"]).size().rename("rows").reset_index()

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
        table = table[table["level"] == level]
        tables.append(table.assign(year=int(year)))
    out = pd.concat(tables, ignore_index=True)
    return out[["unit", "year", "indicator", "numerator", "denominator"]]


def _agrees(a: pd.DataFrame, num: str, den: str, tolerance: float) -> pd.Series:
    n_ok = (a[num] - a["numerator_reference"]).abs() <= tolerance * a["numerator_reference"]
    d_ok = (a[den] - a["denominator_reference"]).abs() <= tolerance * a[
        "denominator_reference"]
    return (n_ok & d_ok).fillna(False).astype(bool)


def align(
    births: pd.DataFrame,
    reference: pd.DataFrame,
    *,
    level: str = "vsv",
    settings: DefinitionSettings | None = None,
    tolerance: float = 0.0,
    alternatives: Mapping[str, Mapping[str, object]] | None = None,
) -> AlignmentResult:
    """Compare crude indicator numbers with a table of published figures.

    Parameters
    ----------
    births : pandas.DataFrame
        Validated births (canonical columns).
    reference : pandas.DataFrame
        Published figures with columns ``unit, year, indicator, numerator, denominator``
        (``unit`` = ``national`` for national rows when ``level="national"``).
    level : str
        Unit level of the reference (a unit column of the births, or ``national``).
    settings : DefinitionSettings, optional
        The definitions to compare (default: current registry definitions).
    tolerance : float, default 0
        Relative tolerance on numerator and denominator (0: counts must be equal).
    alternatives : mapping, optional
        Name -> changes of the settings to try on rows that differ (default
        :data:`ALTERNATIVES`: minimum gestational age 22 vs 24 weeks, neonatal window 7 vs 28
        days, multiples in or out, SGA from weight vs the supplied percentile).

    Returns
    -------
    AlignmentResult

    Notes
    -----
    Each differing row is recomputed under every alternative that changes the settings (one
    choice at a time); the alternatives under which the row then agrees are named in
    ``explained_by``. Alternatives that need a missing column (e.g. a percentile column for
    SGA) are skipped.
    """
    missing = [c for c in REFERENCE_COLUMNS if c not in reference]
    if missing:
        raise DataError(f"The reference table lacks column(s) {missing}; expected "
                        f"{', '.join(REFERENCE_COLUMNS)}.")
    settings = settings or DefinitionSettings()
    ref = reference[list(REFERENCE_COLUMNS)].copy()
    ref["unit"] = ref["unit"].astype(str)
    ref["year"] = ref["year"].astype(int)
    ref = ref.rename(columns={"numerator": "numerator_reference",
                              "denominator": "denominator_reference"})
    indicators = sorted(ref["indicator"].unique())
    base = _crude(births, level, indicators, settings)
    table = ref.merge(base, on=["unit", "year", "indicator"], how="left")
    table["agrees"] = _agrees(table, "numerator", "denominator", tolerance)
    explained = pd.Series([[] for _ in range(len(table))], index=table.index)
    todo = ~table["agrees"]
    for name, change in (alternatives or ALTERNATIVES).items():
        alt = replace(settings, **change)  # type: ignore[arg-type]
        if alt == settings or not todo.any():
            continue
        if alt.sga_source in ("percentile", "percentile_then_weight") and \
                "birthweight_percentile" not in births:
            continue
        if alt.sga_source == "weight" and "birthweight_g" not in births:
            continue
        crude = _crude(births, level, indicators, alt).rename(
            columns={"numerator": "numerator_alt", "denominator": "denominator_alt"})
        merged = table[["unit", "year", "indicator", "numerator_reference",
                        "denominator_reference"]].merge(crude, how="left",
                                                        on=["unit", "year", "indicator"])
        ok = _agrees(merged, "numerator_alt", "denominator_alt", tolerance).to_numpy()
        for i in np.flatnonzero(ok & todo.to_numpy()):
            explained.iat[i].append(name)
    table["explained_by"] = [
        "" if agrees else ("; ".join(e) if e else "unexplained")
        for agrees, e in zip(table["agrees"], explained, strict=True)]
    with np.errstate(invalid="ignore", divide="ignore"):
        table["rate_reference"] = table["numerator_reference"] / table["denominator_reference"]
        table["rate"] = table["numerator"] / table["denominator"]
    table["numerator_difference"] = table["numerator"] - table["numerator_reference"]
    table["denominator_difference"] = table["denominator"] - table["denominator_reference"]
    order = ["unit", "year", "indicator", "numerator_reference", "denominator_reference",
             "numerator", "denominator", "rate_reference", "rate", "numerator_difference",
             "denominator_difference", "agrees", "explained_by"]
    return AlignmentResult(table[order], settings, tolerance)
