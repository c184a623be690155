"""Named, versioned definition presets: the indicator definitions of each publication.

A preset fixes every rule of :data:`casemix.indicators.definitions.RULES`. Choose one with
``DefinitionSettings.from_preset(name)``, ``casemix indicators --definitions NAME`` or
``[definitions] preset = "NAME"`` in a model specification; single rules can be overridden
on top, and outputs record the preset and the overrides (``DefinitionSettings.version``).

``monitor-2022``
    The definitions published with the Landelijke Monitor Kansrijke Start (RIVM, from the
    2022 edition): Big2 numerator, children born at 24+0 weeks or later with a birthweight
    below p10 (Hoftiezer et al. 2019) and/or a gestational age below 37 weeks; denominator,
    *all* children born at 24+0 weeks or later (so term births with unknown SGA status count
    as not Big2). SGA from the registry's own percentile column where the extract has it,
    else from birthweight against the shipped Hoftiezer table. Perinatal mortality: fetal
    death from 24+0 weeks plus neonatal death to 28 days; neonatal rates per live birth.
``diaper``
    What RIVM's production scripts (the DIAPER R code, ``rivm-syso/DIAPER``) compute, read
    from the code:

    - ``Landelijke Monitor Kansrijke Start/indicatoren/big2.R``: population ``amww >= 24``
      (completed weeks; unknown weeks drop out); ``laag_gewicht = hoftiezer < 10``;
      ``big2 = vroeggeboorte | laag_gewicht``; numerators are ``sum(..., na.rm = TRUE)``
      and the denominator is ``.N`` of the population, so unknown ``hoftiezer`` stays in
      both the SGA and the Big2 denominator as "no".
    - ``Landelijke Monitor Kansrijke Start 2024/.../indicator_15_vroeggeboorte_laaggewicht.R``:
      perinatal mortality ``sterfte %in% 1:4`` (fetal and neonatal to 28 days), neonatal
      ``3:4``, fetal ``1:2``, infant ``3:5``; an empty code is not a death; multiples are
      included (``meerlingen <- "ja"``); every percentage is over the group's births from
      24 weeks, live and stillborn (``groep_N``), including the neonatal and infant rates.
    - ``Landelijke Monitor Kansrijke Start 2024/Variabelen/perined.R`` and
      ``Landelijke Monitor Kansrijke Start 2023/inlezen_data/perined.R``: the extract is
      read with ``haven::read_spss``, whose default turns SPSS user-missing codes into
      ``NA`` (casemix's ``.sav`` reader does the same).
    - ``Landelijke Monitor Kansrijke Start 2025/Indicatoren/KS25_indicator_9_en_15.R``:
      the same rules for the 2025 edition.

    SGA comes only from ``hoftiezer`` (no birthweight fallback).
``perined-22wk``
    Older Perined publications (WHO perinatal period): births from 22+0 weeks, perinatal
    mortality to day 7, complete-case SGA and Big2 (unknown SGA status excluded).
``casemix-2026.1``
    The package's definitions before presets (kept so that run folders written then
    reproduce): 24+0 weeks, 7-day window, unknown SGA and unknown vital status excluded.
    Its ``sga_source = "auto"`` now reads the percentile column first (it read the weight
    first then); runs on tables with both columns can differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from casemix.exceptions import ParameterError

__all__ = ["PRESETS", "DefinitionPreset", "preset_rules"]


@dataclass(frozen=True)
class DefinitionPreset:
    """One named preset: its rules and where they come from."""

    name: str
    title: str
    source: str
    rules: dict[str, Any]


_MONITOR = {
    "min_gestational_age_days": 168, "perinatal_neonatal_days": 28,
    "neonatal_population": "live_births", "plurality": "all", "sga_source": "auto",
    "sga_unknown": "not_sga", "big2_unknown_sga": "not_big2",
    "sga_outside_reference": "exclude", "unknown_vital_status": "alive",
}

PRESETS: dict[str, DefinitionPreset] = {p.name: p for p in (
    DefinitionPreset(
        "monitor-2022", "Landelijke Monitor Kansrijke Start (RIVM), definitions from 2022",
        "RIVM, Landelijke Monitor Kansrijke Start: indicator Big2 (vroeggeboorte en/of "
        "laag geboortegewicht voor de duur van de zwangerschap); Hoftiezer et al. 2019",
        dict(_MONITOR)),
    DefinitionPreset(
        "diaper", "RIVM production scripts (DIAPER, rivm-syso/DIAPER)",
        "rivm-syso/DIAPER: indicatoren/big2.R; Landelijke Monitor Kansrijke Start 2024 "
        "indicator_15_vroeggeboorte_laaggewicht.R; Variabelen/perined.R; 2025 "
        "KS25_indicator_9_en_15.R",
        {**_MONITOR, "sga_source": "percentile", "neonatal_population": "all_births"}),
    DefinitionPreset(
        "perined-22wk", "Older Perined publications: 22+0 weeks, perinatal period to day 7",
        "Perined, Perinatale zorg in Nederland (older editions); WHO perinatal period",
        {**_MONITOR, "min_gestational_age_days": 154, "perinatal_neonatal_days": 7,
         "sga_unknown": "exclude", "big2_unknown_sga": "exclude"}),
    DefinitionPreset(
        "casemix-2026.1", "casemix before definition presets",
        "casemix 2026.1 defaults",
        {**_MONITOR, "perinatal_neonatal_days": 7, "sga_unknown": "exclude",
         "big2_unknown_sga": "exclude", "unknown_vital_status": "exclude"}),
)}


def preset_rules(name: str) -> dict[str, Any]:
    """The rules of preset ``name``; a clear error for an unknown name."""
    if name not in PRESETS:
        raise ParameterError(f"Unknown definitions preset {name!r}; presets: "
                             f"{', '.join(PRESETS)}.")
    return dict(PRESETS[name].rules)
