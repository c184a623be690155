"""Saving and loading fitted models and run folders as data (JSON, CSV), never pickles."""

from __future__ import annotations

import hashlib
import json
import math
import platform
import time
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from casemix.disclosure import DEFAULT_THRESHOLD, mask_small_counts, suppress_counts
from casemix.exceptions import CasemixError
from casemix.models.design import Encoding
from casemix.models.result import CaseMixResult, predict_risk
from casemix.models.spec import ModelSpec

__all__ = ["MODEL_FORMAT", "FrozenModel", "data_fingerprint", "load_model", "save_run"]

MODEL_FORMAT = "casemix-model/1"
_PACKAGES = ("casemix", "numpy", "pandas", "scipy", "statsmodels", "pyarrow")


def _json_safe(value: Any) -> Any:
    """NaN and infinities become ``null`` (JSON has no such numbers)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    return value


def data_fingerprint(births: pd.DataFrame) -> str:
    """SHA-256 over the row hashes of a table (column order and dtypes included)."""
    h = hashlib.sha256()
    h.update(",".join(f"{c}:{births[c].dtype}" for c in births.columns).encode())
    h.update(pd.util.hash_pandas_object(births, index=False).to_numpy().tobytes())
    return h.hexdigest()


def package_versions() -> dict[str, str]:
    """Versions of Python and the packages that determine the numbers."""
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:  # pragma: no cover - all are dependencies
            out[name] = "not installed"
    return out


@dataclass(frozen=True)
class FrozenModel:
    """A saved model: applies the learned encoding and coefficients to new births.

    Predictions are identical to those of the fitted result (floats are stored in JSON with
    their shortest exact representation).
    """

    spec: ModelSpec
    method: str
    encoding: Encoding
    coef: npt.NDArray[np.float64]
    names: list[str]
    national_rate: float
    years: tuple[int, ...]

    def predict(self, births: pd.DataFrame) -> npt.NDArray[np.float64]:
        """Expected risk per birth."""
        return predict_risk(self.encoding, self.coef, births)

    def score(self, births: pd.DataFrame) -> pd.DataFrame:
        """``birth_id`` and ``expected_risk`` per birth."""
        ids = births["birth_id"] if "birth_id" in births else pd.RangeIndex(len(births))
        return pd.DataFrame({"birth_id": np.asarray(ids), "expected_risk": self.predict(births)})


def model_to_dict(result: CaseMixResult) -> dict[str, Any]:
    """The fitted model as plain JSON data."""
    return _json_safe({
        "format": MODEL_FORMAT, "spec": result.spec.to_dict(), "method": result.method,
        "encoding": result.encoding.to_dict(), "coef_names": result.encoding.names,
        "coef": result.coef.tolist(), "cov": result.cov.tolist(),
        "national_rate": result.national_rate, "years": list(result.years),
        "versions": package_versions(),
    })


def load_model(path: str | Path) -> FrozenModel:
    """Load ``model.json`` (or a run folder containing it)."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.json"
    if not path.is_file():
        raise CasemixError(f"No saved model at {path}.")
    d = json.loads(path.read_text("utf-8"))
    if d.get("format") != MODEL_FORMAT:
        raise CasemixError(f"{path} is not a {MODEL_FORMAT} file (format {d.get('format')!r}).")
    spec = ModelSpec.from_dict(d["spec"], source=str(path))
    encoding = Encoding.from_dict(d["encoding"])
    if encoding.names != d["coef_names"]:
        raise CasemixError(f"{path}: coefficient names do not match the stored encoding.")
    return FrozenModel(spec, d["method"], encoding, np.asarray(d["coef"], dtype=float),
                       d["coef_names"], float(d["national_rate"]), tuple(d["years"]))


#: Subgroups whose calibration is written to a run folder when the births are given.
SUBGROUPS = ("income_quintile", "migration_background", "education", "parity", "plurality")


def write_diagnostics(result: CaseMixResult, out: Path, *, births: pd.DataFrame | None,
                      threshold: int = DEFAULT_THRESHOLD) -> list[pd.DataFrame]:
    """Write ``calibration.csv`` (overall statistics), ``calibration_<subgroup>.csv`` and
    ``funnel_<level>.csv``, the count tables disclosure-controlled; returns their suppression
    logs (column ``table`` names the file)."""
    logs: list[pd.DataFrame] = []
    import warnings

    from casemix.exceptions import MethodSwitchWarning

    result.calibration().to_frame().to_csv(out / "calibration.csv", index=False)
    for column in SUBGROUPS if births is not None else ():
        assert births is not None
        if column in births:
            table = result.calibration_by(births, column).table
            safe, log = suppress_counts(table, numerator="observed", denominator="n",
                                      derived=["expected", "oe", "oe_lower", "oe_upper",
                                               "slope", "slope_se"],
                                      group_by=(), unit="group", threshold=threshold)
            safe.to_csv(out / f"calibration_{column}.csv", index=False)
            logs.append(log.to_frame().assign(table=f"calibration_{column}.csv"))
    for level in result.spec.levels:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MethodSwitchWarning)
            f = result.funnel(level)
        units = result.units
        births_per_unit = units[(units["level"] == level) & (units["stratum"] == "all") & (
            units["period"] == units["period"].iloc[0])].set_index("unit")["n"]
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


def save_run(
    result: CaseMixResult,
    out: str | Path,
    *,
    births: pd.DataFrame | None = None,
    threshold: int = DEFAULT_THRESHOLD,
    extra: dict[str, Any] | None = None,
    diagnostics: bool = True,
) -> Path:
    """Write a run folder: model, coefficients, unit table, exclusions, manifest.

    Parameters
    ----------
    result : CaseMixResult
    out : path
        Folder to write (created; existing files of a run are an error).
    births : pandas.DataFrame, optional
        The births the model was fitted on, for the data fingerprint in the manifest.
    threshold : int, default 10
        Disclosure threshold of the exported tables (``units.csv``, ``direct.csv``,
        ``exclusions.csv``).
    extra : dict, optional
        More manifest fields (e.g. the command line).
    diagnostics : bool, default True
        Also write calibration and funnel tables (see :func:`write_diagnostics`).

    Returns
    -------
    pathlib.Path
        The folder.
    """
    out = Path(out)
    if (out / "model.json").exists():
        raise CasemixError(f"{out} already holds a run; choose a new folder (runs are never "
                           "overwritten).")
    out.mkdir(parents=True, exist_ok=True)
    (out / "model.json").write_text(json.dumps(model_to_dict(result), indent=1))
    result.coefficients.to_csv(out / "coefficients.csv", index=False)
    result.units_disclosed(threshold).to_csv(out / "units.csv", index=False)
    mask_small_counts(result.exclusions.to_frame(), threshold=threshold).to_csv(
        out / "exclusions.csv", index=False)
    _, suppression = suppress_counts(
        result.units, numerator="observed", denominator="n", derived=(),
        group_by=("level", "period", "stratum"), unit="unit", threshold=threshold)
    logs = [suppression.to_frame().assign(table="units.csv")]
    if diagnostics and result.outcome is not None:
        logs += write_diagnostics(result, out, births=births, threshold=threshold)
    pd.concat(logs, ignore_index=True)[["table", "group", "unit", "reason"]].to_csv(
        out / "suppression_log.csv", index=False)
    manifest = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "spec_name": result.spec.name, "spec_sha256": result.spec.fingerprint(),
        "method": result.method,
        "data_sha256": None if births is None else data_fingerprint(births),
        "rows": {"input": result.n_input, "analysed": result.n_analysed,
                 "excluded": result.n_input - result.n_analysed, "cells": result.n_cells,
                 "compressed": result.compressed},
        "years": list(result.years), "national_rate": result.national_rate,
        "definitions": result.spec.definitions.to_dict(),
        "disclosure": {"threshold": threshold,
                       "override": threshold < DEFAULT_THRESHOLD,
                       "suppression_log": "suppression_log.csv (stays inside the secure "
                                          "environment)"},
        "versions": package_versions(),
        "seed": None, "notes": result.notes, "timings_s": result.timings,
        "convergence": result.convergence, **(extra or {}),
    }
    _write_posteriors(result, out)
    (out / "manifest.json").write_text(json.dumps(_json_safe(manifest), indent=1))
    return out


def _write_posteriors(result: CaseMixResult, out: Path) -> None:
    """Bayesian methods: each model's InferenceData as ``posterior/<name>.nc`` (netCDF, read
    back with ``arviz.from_netcdf``) and its parameter summary as CSV."""
    if not result.bayes:
        return
    folder = out / "posterior"
    folder.mkdir(exist_ok=True)
    for name, fit in result.bayes.items():
        stem = name.replace(" ", "_")
        fit.idata.to_netcdf(str(folder / f"{stem}.nc"))
        fit.parameters.to_csv(folder / f"{stem}_parameters.csv")
