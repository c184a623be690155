"""Simulated births as a registry delivers them: its column names and codes.

The inverse of a column mapping (:class:`casemix.records.ColumnMapping`): a cohort of
:func:`~casemix.simulation.simulate_cohort` becomes, e.g., a Perined-format SPSS extract
(``amww``/``amdd``, ``hoftiezer``, ``omv``, ``sterfte``, ...) that ``load_births(path,
mapping="perined")`` reads back to the same births.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from casemix.indicators.growth_charts import birthweight_percentile
from casemix.records import COLUMNS, PRESETS, ColumnMapping, write_table

__all__ = ["FIELD_LABELS", "PERCENTILE_UNKNOWN", "RegistryExtract", "load_mapping",
           "registry_extract"]

#: SPSS variable labels of the mapping's intermediate fields (canonical columns are labelled
#: with their schema description).
FIELD_LABELS = {"gestational_age_weeks": "completed weeks of gestation",
                "gestational_age_extra_days": "days beyond the completed weeks (0..6)",
                "mortality_code": "vital status of the child (registry code)"}
#: Code of an unknown percentile in an SPSS extract, declared user-missing (as Perined's 999).
PERCENTILE_UNKNOWN = 999


@dataclass(frozen=True)
class RegistryExtract:
    """Births in a registry's names and codes.

    Attributes
    ----------
    data : pandas.DataFrame
        One row per child, the source columns of the mapping (missing values empty).
    value_labels : dict
        Source column -> {code: label} (the canonical labels of the mapping's tables).
    user_missing : dict
        Source column -> code written for a missing value in an SPSS file, declared
        user-missing there (read back as missing).
    column_labels : dict
        Source column -> SPSS variable label (what the column holds).
    """

    data: pd.DataFrame
    value_labels: dict[str, dict[float, str]] = field(default_factory=dict)
    user_missing: dict[str, int] = field(default_factory=dict)
    column_labels: dict[str, str] = field(default_factory=dict)

    def write(self, path: str | Path) -> Path:
        """Write by extension: ``.sav`` with value labels, variable labels and user-missing
        codes (zsav-compressed); ``.csv`` or ``.parquet`` with empty missing values."""
        path = Path(path)
        if path.suffix.lower() != ".sav":
            return write_table(self.data, path)
        import pyreadstat

        path.parent.mkdir(parents=True, exist_ok=True)
        data = self.data.copy()
        for column, code in self.user_missing.items():
            data[column] = data[column].fillna(code)
        labels = {c: dict(t) for c, t in self.value_labels.items()}
        for column, code in self.user_missing.items():
            labels.setdefault(column, {})[float(code)] = "unknown"
        pyreadstat.write_sav(data, str(path), compress=True, variable_value_labels=labels,
                             column_labels=[self.column_labels.get(c, c) for c in data],
                             missing_ranges={c: [float(v)] for c, v in
                                             self.user_missing.items()})
        return path


def registry_extract(births: pd.DataFrame, mapping: str | Path | ColumnMapping = "perined"
                     ) -> RegistryExtract:
    """The births with the source names and codes of ``mapping`` (a preset name or a TOML
    file), the inverse of reading them with that mapping.

    Parameters
    ----------
    births : pandas.DataFrame
        Canonical births, e.g. ``simulate_cohort(...).births``.
    mapping : str, path or ColumnMapping
        Column mapping (``"perined"``, a mapping file, or a mapping).

    Returns
    -------
    RegistryExtract

    Notes
    -----
    Gestational age is split into completed weeks and extra days when the mapping has both
    fields. The registry percentile, when the mapping has one and the births do not, is the
    birthweight's percentile on the Hoftiezer 2019 curves (:func:`~casemix.indicators.
    birthweight_percentile`, rounded down to 2 decimals so that a birth below p10 stays below
    10); outside the curves (before 23+0 or after 42+0 weeks) it is unknown, written as
    :data:`PERCENTILE_UNKNOWN` in an SPSS file. The mortality code is the first code of the
    mapping for each outcome (perined: 0 alive, 1 fetal death, 3 death on day 0-6, 4 on day
    7-27, 5 later in the first year). Coded columns get the first code of their label.
    """
    m = load_mapping(mapping)
    target = {t: s for s, t in m.columns.items()}
    frame = births.copy()
    if "birthweight_percentile" in target and "birthweight_percentile" not in frame:
        frame["birthweight_percentile"] = _percentile(frame)
    if "mortality_code" in target:
        frame["mortality_code"] = _mortality_codes(frame, m)
    if "gestational_age_weeks" in target:
        frame = _weeks_and_days(frame, "gestational_age_extra_days" in target)
    labels = {}
    for column, table in m.values.items():
        if column in frame and column in target:
            codes = _inverse(table)
            frame[column] = frame[column].map(codes)
            labels[target[column]] = {float(c): label for label, c in codes.items()}
    if "mortality_code" in target:
        labels[target["mortality_code"]] = {
            float(c): outcome for outcome, c in _inverse(m.mortality_codes).items()}
    keep = [t for t in target if t in frame]
    data = frame[keep].rename(columns=target)
    missing = ({target["birthweight_percentile"]: PERCENTILE_UNKNOWN}
               if "birthweight_percentile" in target else {})
    described = {s: COLUMNS[t].description if t in COLUMNS else FIELD_LABELS[t]
                 for t, s in target.items() if t in frame}
    return RegistryExtract(_numeric(data), labels, missing, described)


def load_mapping(mapping: str | Path | ColumnMapping) -> ColumnMapping:
    """A mapping from a preset name or a TOML file, as ``load_births(mapping=...)`` reads it."""
    if isinstance(mapping, ColumnMapping):
        return mapping
    if isinstance(mapping, str) and mapping in PRESETS:
        return ColumnMapping.preset(mapping)
    return ColumnMapping.from_toml(mapping)


def _inverse(table: dict[str, str]) -> dict[str, int | str]:
    """Label -> its first code (a number where the code is one); ``missing`` left out."""
    out: dict[str, int | str] = {}
    for code, label in table.items():
        if code != "missing":
            out.setdefault(label, int(code) if code.lstrip("-").isdigit() else code)
    return out


def _percentile(births: pd.DataFrame) -> np.ndarray:
    p = birthweight_percentile(births["infant_sex"], births["gestational_age_days"],
                               births["birthweight_g"])
    return np.floor(p * 100 + 1e-6) / 100  # 1e-6: exactly p10 is 10.00, not 9.99


def _mortality_codes(births: pd.DataFrame, m: ColumnMapping) -> pd.Series:
    """The outcome of each birth as the mapping's code (missing when unknown)."""
    day = (pd.to_numeric(births["neonatal_death_day"]).to_numpy(float, na_value=np.nan)
           if "neonatal_death_day" in births else np.full(len(births), np.nan))
    fetal = births["fetal_death"].astype("boolean")
    outcome = pd.Series(np.select(
        [fetal.fillna(False).to_numpy(bool), day < 7, day < 28, ~np.isnan(day),
         fetal.isna().to_numpy(bool)],
        ["fetal_death", "neonatal_death_early", "neonatal_death_late", "post_neonatal_death",
         "unknown"], "alive"), index=births.index)
    return outcome.map(_inverse(m.mortality_codes))


def _weeks_and_days(frame: pd.DataFrame, with_days: bool) -> pd.DataFrame:
    days = pd.to_numeric(frame.pop("gestational_age_days"))
    frame["gestational_age_weeks"] = days // 7
    if with_days:
        frame["gestational_age_extra_days"] = days % 7
    return frame


def _numeric(data: pd.DataFrame) -> pd.DataFrame:
    """Numbers as floats (SPSS has no integer type; missing stays NaN), text as objects."""
    out = data.copy()
    for column in out:
        values = out[column]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            out[column] = values.astype("Float64").astype(float)
        else:
            out[column] = values.astype(object).where(values.notna(), None)
    return out
