"""Diagnostic tables of a fit as they are written and shown: calibration overall and by
subgroup, funnel limits per level; every count table disclosure-controlled."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd

from casemix.disclosure import DEFAULT_THRESHOLD, suppress_counts
from casemix.exceptions import MethodSwitchWarning
from casemix.models.result import CaseMixResult

__all__ = ["SUBGROUPS", "subgroup_calibration", "write_diagnostics"]

#: Subgroups whose calibration is written to a run folder and shown in the report.
SUBGROUPS = ("income_quintile", "migration_background", "education", "parity", "plurality")


def write_diagnostics(result: CaseMixResult, out: Path, *, births: pd.DataFrame | None,
                      threshold: int = DEFAULT_THRESHOLD) -> list[pd.DataFrame]:
    """Write ``calibration.csv`` (overall statistics), ``calibration_<subgroup>.csv`` and
    ``funnel_<level>.csv``, the count tables disclosure-controlled; returns their suppression
    logs (column ``table`` names the file)."""
    logs: list[pd.DataFrame] = []
    result.calibration().to_frame().to_csv(out / "calibration.csv", index=False)
    tables = subgroup_calibration(result, births, threshold) if births is not None else {}
    for column, (safe, log) in tables.items():
        safe.to_csv(out / f"calibration_{column}.csv", index=False)
        logs.append(log.assign(table=f"calibration_{column}.csv"))
    for level in result.spec.levels:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MethodSwitchWarning)
            f = result.funnel(level)
        births_per_unit = result.unit_table.main(level).set_index("unit")["n"]
        table = f.units.rename(columns={"numerator": "observed", "denominator": "expected"})
        table = table.assign(level=level, n=births_per_unit.reindex(table["unit"]).to_numpy(),
                             adjustment=f.adjustment, phi=f.phi, tau2=f.tau2)
        derived = [c for c in table.columns if c.startswith(("value", "z", "lower_", "upper_",
                                                              "flag_"))]
        safe, log = suppress_counts(table, numerator="observed", denominator="n",
                                    derived=derived, group_by=("level",), threshold=threshold)
        safe.to_csv(out / f"funnel_{level}.csv", index=False)
        logs.append(log.to_frame().assign(table=f"funnel_{level}.csv"))
    return logs




def subgroup_calibration(result: CaseMixResult, births: pd.DataFrame,
                         threshold: int = DEFAULT_THRESHOLD
                         ) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """O/E and calibration slope per value of each of :data:`SUBGROUPS` present in
    ``births``, disclosure-controlled: ``{column: (table, suppression log)}``."""
    out = {}
    for column in SUBGROUPS:
        if column in births:
            table = result.calibration_by(births, column).table
            safe, log = suppress_counts(table, numerator="observed", denominator="n",
                                        derived=["expected", "oe", "oe_lower", "oe_upper",
                                                 "slope", "slope_se"],
                                        group_by=(), unit="group", threshold=threshold)
            out[column] = (safe, log.to_frame())
    return out
