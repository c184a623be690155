"""Derive indicator events per birth, with every exclusion counted by reason."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from casemix.exceptions import DataError
from casemix.indicators.definitions import (
    DEFAULT_INDICATORS,
    AnyOf,
    DefinitionSettings,
    Indicator,
    PretermOrSmall,
    RuleResult,
)
from casemix.records.exclusions import ExclusionLog

__all__ = ["IndicatorFlags", "derive_indicators", "resolve_indicators"]


@dataclass
class IndicatorFlags:
    """Per-birth indicator events.

    Attributes
    ----------
    flags : pandas.DataFrame
        One nullable-boolean column per indicator, aligned with the births table; ``<NA>`` where
        the birth is not in that indicator's denominator.
    indicators : tuple of Indicator
        The indicators derived, in order.
    settings : DefinitionSettings
        The definition choices used.
    exclusions : ExclusionLog
        Births left out of each indicator's denominator, by reason (scope = indicator name).
    skipped : dict
        Indicators that could not be derived from this table, with the reason.
    """

    flags: pd.DataFrame
    indicators: tuple[Indicator, ...]
    settings: DefinitionSettings
    exclusions: ExclusionLog = field(default_factory=ExclusionLog)
    skipped: dict[str, str] = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        """National numerator, denominator and rate per indicator."""
        num = self.flags.sum()
        den = self.flags.notna().sum()
        return pd.DataFrame({
            "indicator": self.flags.columns,
            "numerator": num.to_numpy(dtype="int64"),
            "denominator": den.to_numpy(dtype="int64"),
            "rate": (num / den).to_numpy(dtype=float),
        })


def resolve_indicators(
    names: Sequence[str] | None, available: Sequence[Indicator] = DEFAULT_INDICATORS
) -> tuple[Indicator, ...]:
    """Indicator objects by name (all when ``names`` is None), in definition order."""
    if names is None:
        return tuple(available)
    known = {ind.name: ind for ind in available}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(
            f"Unknown indicator(s) {unknown}; known indicators: {', '.join(known)}."
        )
    needed = set(names)
    for ind in available:  # components of composite indicators come along
        if ind.name in needed and isinstance(ind.event, (AnyOf, PretermOrSmall)):
            needed.update(p for p in ind.event.parts if isinstance(p, str))
    return tuple(ind for ind in available if ind.name in needed)


def _scope(
    births: pd.DataFrame, settings: DefinitionSettings
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Births inside every indicator's population, and the reasons for the rest."""
    ga = births["gestational_age_days"].to_numpy(dtype="float64", na_value=np.nan)
    below = ~(ga >= settings.min_gestational_age_days)
    reasons = {
        f"gestational age below {settings.min_gestational_age_label} weeks "
        "(definition minimum)": below
    }
    in_scope = ~below
    if settings.plurality == "singletons":
        if "plurality" not in births:
            raise DataError("DefinitionSettings(plurality='singletons') needs column 'plurality'.")
        plur = births["plurality"].to_numpy(dtype="float64", na_value=np.nan)
        multiple = ~(plur == 1) & in_scope
        reasons["multiple birth or plurality missing (singletons only)"] = multiple
        in_scope &= ~multiple
    return in_scope, reasons


MORTALITY_COLUMNS = ("fetal_death", "neonatal_death_period")


def _is_mortality(indicator: Indicator, births: pd.DataFrame,
                  settings: DefinitionSettings) -> bool:
    return bool(set(indicator.required_columns(births, settings)) & set(MORTALITY_COLUMNS))


def _population(
    births: pd.DataFrame, indicator: Indicator, in_scope: np.ndarray,
    settings: DefinitionSettings,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Births in the indicator's population, and the reasons for the others in scope.

    Live-birth indicators become all-birth indicators under ``neonatal_population =
    "all_births"`` (births whose vital status is unknown stay out); under
    ``unknown_vital_status = "alive"`` unknown status was filled in before."""
    if indicator.population == "all_births":
        return in_scope, {}
    fetal = births["fetal_death"].astype("boolean")
    missing = fetal.isna().to_numpy()
    if settings.neonatal_population == "all_births":  # live and stillborn: vital status known
        unknown = missing & births.get("neonatal_death_period", pd.Series(
            pd.NA, index=births.index)).isna().to_numpy()
        return in_scope & ~unknown, {"vital status unknown (fetal_death missing)":
                                     in_scope & unknown}
    stillborn = fetal.fillna(False).to_numpy(bool)
    return in_scope & ~missing & ~stillborn, {
        "stillbirth (not a live birth)": in_scope & stillborn,
        "fetal_death missing (live birth unknown)": in_scope & missing,
    }


def _vital_status(births: pd.DataFrame, settings: DefinitionSettings,
                  log: ExclusionLog, chosen: Sequence[Indicator],
                  in_scope: np.ndarray) -> pd.DataFrame:
    """Births with unknown vital status counted as survivors (``unknown_vital_status =
    "alive"``), each such birth logged as an assumption of every mortality indicator."""
    if settings.unknown_vital_status != "alive" or "fetal_death" not in births:
        return births
    unknown = births["fetal_death"].isna().to_numpy()
    if not unknown.any():
        return births
    for ind in chosen:
        if _is_mortality(ind, births, settings):
            log.add("assumptions", ind.name, "vital status unknown (no death registered): "
                    "counted as alive", int((unknown & in_scope).sum()))
    out = births.copy()
    out["fetal_death"] = out["fetal_death"].astype("boolean").fillna(False)
    return out


def derive_indicators(
    births: pd.DataFrame,
    indicators: Sequence[str] | Sequence[Indicator] | None = None,
    *,
    settings: DefinitionSettings | None = None,
) -> IndicatorFlags:
    """Derive indicator events for every birth.

    Parameters
    ----------
    births : pandas.DataFrame
        Validated births in canonical columns (see :func:`casemix.load_births`).
    indicators : sequence of str or Indicator, optional
        Which indicators; default all of :data:`DEFAULT_INDICATORS` that the table's columns
        allow (the others are listed in ``skipped``). A named indicator whose columns are
        missing is an error.
    settings : DefinitionSettings, optional
        Definition choices (minimum gestational age, neonatal window, ...).

    Returns
    -------
    IndicatorFlags

    Notes
    -----
    Denominators: every birth at or above the minimum gestational age (default 24+0 weeks),
    restricted to live births for neonatal mortality (unless ``neonatal_population =
    "all_births"``), minus births whose event is undefined under the definition rules (e.g.
    SGA with missing birthweight under ``sga_unknown="exclude"``). Each exclusion is counted
    by indicator and reason (stage ``indicators``); births kept in a denominator as "no"
    although their status is unknown are counted too (stage ``assumptions``).

    Examples
    --------
    >>> import pandas as pd
    >>> births = pd.DataFrame({"gestational_age_days": [258, 259, 167],
    ...                        "birthweight_g": [2400, 2400, 600],
    ...                        "infant_sex": ["female", "female", "male"]})
    >>> derive_indicators(births, ["big2"]).flags["preterm"].tolist()
    [True, False, <NA>]
    >>> strict = DefinitionSettings.from_preset("perined-22wk")  # from 22+0 weeks
    >>> derive_indicators(births, ["preterm"], settings=strict).flags["preterm"].tolist()
    [True, False, True]
    """
    settings = settings or DefinitionSettings()
    explicit = indicators is not None
    chosen: tuple[Indicator, ...]
    if indicators is not None and all(isinstance(i, Indicator) for i in indicators):
        chosen = tuple(indicators)  # type: ignore[arg-type]
    else:
        chosen = resolve_indicators(indicators)  # type: ignore[arg-type]
    if "gestational_age_days" not in births:
        raise DataError("Column 'gestational_age_days' is required to derive any indicator.")
    in_scope, scope_reasons = _scope(births, settings)
    done: dict[str, RuleResult] = {}
    out: dict[str, pd.arrays.BooleanArray] = {}
    log = ExclusionLog()
    skipped: dict[str, str] = {}
    index = births.index
    births = _vital_status(births, settings, log, chosen, in_scope)
    for ind in chosen:
        missing = [c for c in ind.required_columns(births, settings) if c not in births]
        missing += [p for p in getattr(ind.event, "parts", ()) if isinstance(p, str)
                    and p not in done]
        if missing:
            if explicit:
                raise DataError(
                    f"Indicator {ind.name!r} needs column(s)/indicator(s) {missing}, which the "
                    "births table does not have."
                )
            skipped[ind.name] = f"needs {', '.join(missing)}"
            continue
        result = ind.event.evaluate(births, done, settings)
        done[ind.name] = result
        population, pop_reasons = _population(births, ind, in_scope, settings)
        denominator = population & result.defined
        for reason, mask in {**scope_reasons, **pop_reasons}.items():
            log.add("indicators", ind.name, reason, int(mask.sum()))
        for reason, mask in result.undefined_reasons.items():
            log.add("indicators", ind.name, reason, int((mask & population).sum()))
        for reason, mask in result.assumed.items():
            log.add("assumptions", ind.name, reason, int((mask & denominator).sum()))
        out[ind.name] = pd.arrays.BooleanArray(result.value.copy(), ~denominator)
    flags = pd.DataFrame(out, index=index)
    return IndicatorFlags(flags, tuple(i for i in chosen if i.name in out), settings, log,
                          skipped)
