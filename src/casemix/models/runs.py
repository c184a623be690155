"""Run folders: writing a fit with everything needed to reproduce it, and reading it back.

Everything is data (JSON, CSV, netCDF), never pickles.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
import platform
import re
import secrets
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt
import pandas as pd

from casemix.core.design import Encoding
from casemix.disclosure import DEFAULT_THRESHOLD, mask_small_counts
from casemix.exceptions import CasemixError, CasemixWarning, RunFolderError
from casemix.models.casemix_model import DEFAULT_SEED, CaseMixModel
from casemix.models.data import analysed
from casemix.models.disclosed import DisclosedRun, disclose_run
from casemix.models.grouped import GroupedBirths, files_fingerprint
from casemix.models.methods import build_method
from casemix.models.result import CaseMixResult, predict_risk
from casemix.models.risk import RiskModel, risk_model_from_dict
from casemix.models.shrinkers import Shrinker, shrinker_from_dict
from casemix.models.spec import ModelSpec
from casemix.models.units import UnitTable
from casemix.records import ValidationReport, load_births
from casemix.records.shares import Shares, read_shares

__all__ = ["MODEL_FORMAT", "RUN_FORMAT", "FrozenModel", "Run", "check_run_complete",
           "check_run_target", "check_writable", "data_fingerprint", "is_staging_folder",
           "load_model", "load_run", "reproduce_run", "save_run"]

MODEL_FORMAT = "casemix-model/2"
#: Earlier formats that :func:`load_model` still reads (no strategies recorded).
_OLDER_FORMATS = ("casemix-model/1",)
_PACKAGES = ("casemix", "numpy", "pandas", "scipy", "statsmodels", "pyarrow", "pymc", "nutpie")
#: Where a run is marked complete: written last, with the completeness record ``files``.
MANIFEST = "manifest.json"
#: The births shared between units of a run (birth ids: stays inside).
SHARES_FILE = "shares.csv"
#: Format of run manifests; ``casemix-run/3`` added the completeness record.
RUN_FORMAT = "casemix-run/3"
#: Files of every run folder, checked in folders written before the completeness record.
CORE_FILES = ("model.json", "units.csv", "coefficients.csv", "exclusions.csv")
#: Temporary folders of unfinished saves (:func:`save_run`, ``casemix export``).
_STAGING = re.compile(r"\..+\.partial(-\d+-[0-9a-f]+)?")


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
    """The fitted model as plain JSON data: spec, strategies with all their settings, seed,
    encoding and coefficients."""
    return _json_safe({
        "format": MODEL_FORMAT, "spec": result.spec.to_dict(), **result.strategies(),
        "compress": result.compressed,
        "encoding": result.encoding.to_dict(), "coef_names": result.encoding.names,
        "coef": result.coef.tolist(), "cov": result.cov.tolist(),
        "national_rate": result.national_rate, "years": list(result.years),
        "versions": package_versions(),
    })


def load_model(path: str | Path) -> FrozenModel:
    """Load ``model.json`` (or a run folder containing it)."""
    path = Path(path)
    if path.is_dir():
        check_run_complete(path)
        path = path / "model.json"
    elif is_staging_folder(path.parent) or (path.parent / MANIFEST).is_file():
        check_run_complete(path.parent)  # the model file of a run folder
    if not path.is_file():
        raise CasemixError(f"No saved model at {path}.")
    d = json.loads(path.read_text("utf-8"))
    if d.get("format") not in (MODEL_FORMAT, *_OLDER_FORMATS):
        raise CasemixError(f"{path} is not a {MODEL_FORMAT} file (format {d.get('format')!r}).")
    spec = ModelSpec.from_dict(d["spec"], source=str(path))
    encoding = Encoding.from_dict(d["encoding"])
    if encoding.names != d["coef_names"]:
        raise CasemixError(f"{path}: coefficient names do not match the stored encoding.")
    return FrozenModel(spec, d["method"], encoding, np.asarray(d["coef"], dtype=float),
                       d["coef_names"], float(d["national_rate"]), tuple(d["years"]))


def save_run(
    result: CaseMixResult,
    out: str | Path,
    *,
    births: pd.DataFrame | GroupedBirths | None = None,
    validation: ValidationReport | None = None,
    threshold: int = DEFAULT_THRESHOLD,
    data_file: str | Path | None = None,
    mapping: str | None = None,
    invalid: str = "exclude",
    extra: dict[str, Any] | None = None,
    diagnostics: bool = True,
) -> Path:
    """Write a run folder: everything a run exports, and everything needed to reproduce it.

    The one writer of run folders: ``casemix fit``, ``casemix refit`` and the Python API all
    call it, so that the same inputs give the same folder.

    Parameters
    ----------
    result : CaseMixResult
    out : path
        Folder to write. It must not exist (an empty directory is accepted): a run folder is
        never overwritten. Checked before anything is computed (:func:`check_run_target`).
    births : pandas.DataFrame or GroupedBirths, optional
        The births the model was fitted on: for the data fingerprint and the calibration by
        subgroup (default: ``validation.births``); for a fit on grouped births
        (:mod:`casemix.engine`) the grouped births, whose validation is the run's.
    validation : ValidationReport, optional
        The validation of the data file: its exclusions go into ``exclusions.csv`` before the
        model's, and its row count into the manifest.
    threshold : int, default 10
        Disclosure threshold of the exported tables.
    data_file, mapping, invalid
        How the births were read (:func:`casemix.load_births`), so that :func:`load_run`
        can read them again.
    extra : dict, optional
        More manifest fields (e.g. the command).
    diagnostics : bool, default True
        Also write calibration (overall and by subgroup) and funnel tables.

    Returns
    -------
    pathlib.Path
        The folder.

    Notes
    -----
    Files: ``model.json`` (spec, risk model and shrinker with all settings, seed, encoding,
    coefficients; no pickles), ``coefficients.csv``, ``units.csv``, ``direct.csv`` (every
    level), ``exclusions.csv`` (validation, indicator and model exclusions), the diagnostics,
    ``posterior/`` for Bayesian fits, ``suppression_log.csv`` and ``manifest.json``. Every
    count table is suppressed together with the others
    (:func:`casemix.models.disclosed.disclose_run`).

    The folder appears complete or not at all: the files are written to a temporary sibling
    ``.<name>.partial-<pid>-<random>``, then ``manifest.json`` with the completeness record
    ``files`` (every other file's relative path, size in bytes and SHA-256), and the folder
    is renamed to ``out`` in one step. On any error or interruption (``KeyboardInterrupt``)
    the temporary folder is removed. :func:`load_run` checks the record.

    Raises
    ------
    RunFolderError
        ``out`` exists with content or cannot be written; or writing failed (nothing is left).
    """
    out = check_run_target(out)
    if result.outcome is None:
        raise CasemixError("save_run needs a fitted result with its data attached.")
    grouped = births if isinstance(births, GroupedBirths) else None
    if grouped is not None:
        validation = validation or grouped.validation
        births = grouped.frame
    births = births if births is not None else (validation.births if validation else None)
    disclosed = disclose_run(result, grouped if grouped is not None else births,
                             threshold=threshold)
    manifest = _manifest(result, births=births, validation=validation, threshold=threshold,
                         data_file=data_file, mapping=mapping, invalid=invalid,
                         diagnostics=diagnostics)
    manifest["engine"] = ("pandas" if grouped is None else grouped.engine)
    if grouped is not None:
        manifest["grouped"] = True  # fitted on grouped births: read again by the engines
        # data_sha256 is already GroupedBirths.fingerprint(): data_fingerprint of its frame
        manifest["data_source"] = grouped.source
        manifest["source_sha256"] = grouped.source_sha256
        manifest["notes"] = [*manifest["notes"], *grouped.notes]
    manifest["notes"] = [*manifest["notes"], *disclosed.notes]
    manifest["verdict"] = disclosed.verdict
    manifest.update(extra or {})
    with _staged(out) as staging:
        _write_tables(result, disclosed, staging, validation=validation, threshold=threshold,
                      diagnostics=diagnostics)
        _write_posteriors(result, staging)
        if result.shares is not None:  # birth ids: internal, for refit from the folder
            result.shares.frame.to_csv(staging / SHARES_FILE, index=False)
        manifest["files"] = _file_record(staging)
        _write_manifest(staging, manifest)
    return out


@contextlib.contextmanager
def _staged(out: Path) -> Iterator[Path]:
    """A new temporary sibling folder of ``out``, renamed to ``out`` when the block completes
    and removed whatever happens (an error, ``KeyboardInterrupt``): nothing half-written
    stays behind. An :class:`OSError` (disk full, permissions) becomes one clear error."""
    staging = None
    try:
        staging = _staging_folder(out)
        yield staging
        _publish(staging, out)
    except OSError as exc:
        raise RunFolderError(f"Could not write the run folder {out} ({exc}); nothing was "
                             "written. Free disk space or fix the permissions and fit "
                             "again.") from exc
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)


def _write_tables(result: CaseMixResult, disclosed: DisclosedRun, folder: Path, *,
                  validation: ValidationReport | None, threshold: int,
                  diagnostics: bool) -> None:
    """The model and the disclosure-controlled tables of a run."""
    (folder / "model.json").write_text(json.dumps(model_to_dict(result), indent=1))
    disclosed.coefficients.to_csv(folder / "coefficients.csv", index=False)
    disclosed.units.to_csv(folder / "units.csv", index=False)
    disclosed.direct.to_csv(folder / "direct.csv", index=False)
    disclosed.geography.to_csv(folder / "geography.csv", index=False)
    exclusions = result.exclusions.to_frame()
    if validation is not None:
        exclusions = pd.concat([validation.exclusions.to_frame(), exclusions],
                               ignore_index=True)
    mask_small_counts(exclusions, threshold=threshold).to_csv(folder / "exclusions.csv",
                                                              index=False)
    if diagnostics:
        result.calibration().to_frame().to_csv(folder / "calibration.csv", index=False)
        for variable, table in disclosed.subgroups.items():
            table.to_csv(folder / f"calibration_{variable}.csv", index=False)
        for level, table in disclosed.funnels.items():
            table.to_csv(folder / f"funnel_{level}.csv", index=False)
    disclosed.log.to_csv(folder / "suppression_log.csv", index=False)


def _write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """``manifest.json``, written last and flushed to disk."""
    with open(folder / MANIFEST, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(_json_safe(manifest), indent=1))
        fh.flush()
        os.fsync(fh.fileno())


def check_run_target(out: str | Path) -> Path:
    """Check, before any work, that a new run folder can be written at ``out``.

    Parameters
    ----------
    out : path
        The run folder to write. It must not exist; an existing *empty* directory is
        accepted (it is replaced by the run when the run is complete).

    Returns
    -------
    pathlib.Path
        ``out``.

    Raises
    ------
    RunFolderError
        ``out`` exists with any content (runs are never overwritten), or its parent folder
        can neither be written nor created.
    """
    out = Path(out)
    _refuse_existing(out)
    check_writable(out.parent, target=out)
    return out


def check_writable(folder: str | Path, *, target: str | Path | None = None) -> Path:
    """Check that files can be created in ``folder``, or, when it does not exist yet, that it
    can be created: in its nearest existing ancestor, by creating and removing a file.

    Parameters
    ----------
    folder : path
    target : path, optional
        What is to be written in ``folder``, for the message (default ``folder``).

    Raises
    ------
    RunFolderError
        An ancestor of ``folder`` is a file, or the nearest existing one is not writable.
    """
    folder = Path(folder)
    existing = folder.absolute()
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        raise RunFolderError(f"Cannot create {target or folder}: {existing} is a file, not a "
                             "folder; choose an output folder elsewhere.")
    try:
        handle, probe = tempfile.mkstemp(prefix=".casemix-write-test-", dir=existing)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise RunFolderError(f"Cannot write {target or folder}: files cannot be created in "
                             f"{existing} ({exc.strerror or exc}); choose an output folder "
                             "you can write to, or fix its permissions.") from exc
    return folder


def _refuse_existing(out: Path) -> None:
    """An existing ``out`` is an error unless it is an empty directory."""
    if out.is_dir() and not out.is_symlink() and not any(out.iterdir()):
        return
    if not (out.exists() or out.is_symlink()):
        return
    what = ("already holds a run" if (out / MANIFEST).exists() else
            "exists and is not empty" if out.is_dir() else "exists (a file)")
    raise RunFolderError(f"{out} {what}; runs are never overwritten: write to a new folder "
                         f"(e.g. {_free_name(out)}).")


def _free_name(out: Path) -> Path:
    """``out_v2``, ``out_v3``, ...: the first that does not exist."""
    version = 2
    while (candidate := out.with_name(f"{out.name}_v{version}")).exists():
        version += 1
    return candidate


def is_staging_folder(folder: str | Path) -> bool:
    """Whether ``folder`` is a temporary folder of an unfinished save
    (``.<name>.partial-<pid>-<random>``; ``casemix export`` stages in ``.<name>.partial``)."""
    return _STAGING.fullmatch(Path(folder).name) is not None


def _staging_folder(out: Path) -> Path:
    """A new, empty temporary sibling of ``out``: renamed to ``out`` when complete."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.with_name(f".{out.name}.partial-{os.getpid()}-{secrets.token_hex(4)}")
    staging.mkdir()
    return staging


def _publish(staging: Path, out: Path) -> None:
    """Rename the complete folder to ``out`` in one step (same file system), never over an
    existing folder with content, and flush the rename to disk."""
    try:
        os.replace(staging, out)  # POSIX: also replaces an empty directory, never a full one
    except OSError:
        _refuse_existing(out)  # another writer got there first: the clear error
        if not out.is_dir():
            raise
        out.rmdir()  # Windows cannot rename over an (empty) directory
        os.replace(staging, out)
    _fsync_dir(out.parent)


def _file_record(folder: Path) -> dict[str, dict[str, Any]]:
    """Completeness record: every file under ``folder`` (relative POSIX path) with its size
    in bytes and SHA-256, each flushed to disk."""
    record = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        with open(path, "rb") as fh:
            record[path.relative_to(folder).as_posix()] = _describe(fh)
            os.fsync(fh.fileno())
    for sub in (folder, *(p for p in folder.rglob("*") if p.is_dir())):
        _fsync_dir(sub)
    return record


def _describe(fh: BinaryIO) -> dict[str, Any]:
    """Size and SHA-256 of an open file."""
    digest, size = hashlib.sha256(), 0
    while chunk := fh.read(1 << 20):
        digest.update(chunk)
        size += len(chunk)
    return {"bytes": size, "sha256": digest.hexdigest()}


def _fsync_dir(folder: Path) -> None:
    """Flush a directory's entries to disk (where the platform allows it)."""
    with contextlib.suppress(OSError):
        handle = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


def _read_settings(validation: ValidationReport | None) -> dict[str, str] | None:
    """How a CSV data file was read (delimiter, decimal mark, encoding, sniffed or given),
    so that the run reads it again the same way."""
    read = getattr(validation, "read_assumptions", None)
    if read is None or read.format != "csv":
        return None
    return {"sep": read.sep, "decimal": read.decimal, "encoding": read.encoding}


def _weights_record(result: CaseMixResult, births: pd.DataFrame | None
                    ) -> dict[str, Any] | None:
    """The case weights of a run: column, meaning, and their spread over the analysed births
    (Kish's design effect $n \\sum w^2 / (\\sum w)^2$ and effective sample size)."""
    column = result.spec.weights
    if column is None:
        return None
    record: dict[str, Any] = {"column": column, "kind": result.spec.weights_kind}
    if births is not None and result.rows is not None and column in births:
        w = pd.to_numeric(analysed(births[column], result.rows), errors="coerce").to_numpy(float)
        total, squares = float(w.sum()), float((w * w).sum())
        record.update(sum=total, min=float(w.min()), max=float(w.max()),
                      mean=total / len(w), n_effective=total * total / squares,
                      design_effect=len(w) * squares / (total * total),
                      sha256=hashlib.sha256(np.ascontiguousarray(w).tobytes()).hexdigest())
    return record


def _data_path(data: str | Path) -> str:
    """An absolute path (a glob pattern keeps its wildcards; a URL such as ``hdfs:///...``
    is kept as given)."""
    text = str(data)
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]+:/", text):
        return text
    return text if any(c in text for c in "*?[") and Path(text).is_absolute() else str(
        Path(text).resolve())


def _manifest(result: CaseMixResult, *, births: pd.DataFrame | None,
              validation: ValidationReport | None, threshold: int,
              data_file: str | Path | None, mapping: str | None, invalid: str,
              diagnostics: bool) -> dict[str, Any]:
    """What the run is and how to reproduce it."""
    adjacency = getattr(result.shrinker, "adjacency", None)
    sampler = (getattr(result.shrinker, "sampler", None)
               or getattr(result.risk_model, "sampler", None))
    return {
        "format": RUN_FORMAT,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "spec_name": result.spec.name, "spec_sha256": result.spec.fingerprint(),
        **result.strategies(),
        "sampler": None if sampler is None else sampler.to_dict(),
        "adjacency_sha256": None if adjacency is None else adjacency.fingerprint(),
        "data_file": None if data_file is None else _data_path(data_file),
        "mapping": mapping, "invalid": invalid, "read": _read_settings(validation),
        "data_sha256": None if births is None else data_fingerprint(births),
        "rows_read": None if validation is None else validation.n_input,
        "rows": {"input": result.n_input, "analysed": result.n_analysed,
                 "excluded": result.n_input - result.n_analysed, "cells": result.n_cells,
                 "compressed": result.compressed},
        "years": list(result.years), "period": result.unit_table.period,
        "national_rate": result.national_rate,
        "definitions": result.spec.definitions.to_dict(),
        "diagnostics": diagnostics,
        "weights": _weights_record(result, births),
        "shares": None if result.shares is None else {
            "file": SHARES_FILE, "sha256": result.shares.fingerprint(),
            "births_shared": {lv: result.shares.n_shared(lv) for lv in result.shares.levels}},
        "disclosure": {"threshold": threshold,
                       "override": threshold < DEFAULT_THRESHOLD,
                       "suppression_log": "suppression_log.csv (stays inside the secure "
                                          "environment)"},
        "versions": package_versions(),
        "notes": result.notes, "timings_s": result.timings,
        "convergence": result.convergence,
    }


@dataclass(frozen=True)
class Run:
    """A run folder read back: what was fitted, how, and on which data.

    Attributes
    ----------
    folder : pathlib.Path
    manifest : dict
    spec : ModelSpec
    risk_model : RiskModel
    shrinker : Shrinker
    seed : int
    compress : bool or None
    """

    folder: Path
    manifest: dict[str, Any]
    spec: ModelSpec
    risk_model: RiskModel
    shrinker: Shrinker
    seed: int
    compress: bool | None

    @property
    def threshold(self) -> int:
        """Disclosure threshold the run's tables were written with."""
        return int(self.manifest.get("disclosure", {}).get("threshold", DEFAULT_THRESHOLD))

    def model(self) -> CaseMixModel:
        """A :class:`CaseMixModel` with the run's recorded strategies, settings and seed."""
        return CaseMixModel(self.spec, risk_model=self.risk_model, shrinker=self.shrinker,
                            seed=self.seed, compress=self.compress)

    def read_births(self) -> ValidationReport:
        """The run's births, read as they were (data file, mapping, invalid-value policy) and
        checked against the data fingerprint."""
        data_file = self.manifest.get("data_file")
        if not data_file:
            raise CasemixError(f"{self.folder}/{MANIFEST} does not name the data file; pass "
                               "the births to refit() yourself.")
        if self.manifest.get("grouped"):
            return self._read_engine_births(Path(data_file))
        report = load_births(data_file, mapping=self.manifest.get("mapping"),
                             invalid=self.manifest.get("invalid", "exclude"),
                             **(self.manifest.get("read") or {}))
        if self.manifest.get("data_sha256") not in (None, data_fingerprint(report.births)):
            raise CasemixError(f"{data_file} has changed since the run was fitted (data "
                               "fingerprint differs); refit the run first.")
        return report

    def _read_engine_births(self, data_file: Path) -> ValidationReport:
        """The births of a run grouped by an engine, read into memory: a fit on them gives
        the run's numbers (identical cells). The files are checked against their recorded
        fingerprint; a folder or glob is re-read with :func:`casemix.engine.read_run`."""
        if not data_file.is_file():
            raise CasemixError(f"{self.folder} was fitted on {data_file} by engine "
                               f"{self.manifest.get('engine')}; read it again with "
                               "casemix.engine.read_run(run) (many files do not fit in memory).")
        if self.manifest.get("source_sha256") not in (None, files_fingerprint([data_file])):
            raise CasemixError(f"{data_file} has changed since the run was fitted (data "
                               "fingerprint differs); refit the run first.")
        read = self.manifest.get("read") or {}
        return load_births(data_file, mapping=self.manifest.get("mapping"),
                           invalid=self.manifest.get("invalid", "exclude"),
                           **{k: v for k, v in read.items() if k in ("sep", "decimal",
                                                                      "encoding")})

    def shares(self) -> Shares | None:
        """The run's births shared between units (``shares.csv``), checked against the
        fingerprint recorded in the manifest; None when nothing was shared."""
        record = self.manifest.get("shares")
        if not record:
            return None
        shares = read_shares(self.folder / record.get("file", SHARES_FILE))
        if shares.fingerprint() != record.get("sha256"):
            raise CasemixError(f"{self.folder}/{SHARES_FILE} has changed since the run was "
                               "fitted (fingerprint differs).")
        return shares

    def refit(self, births: pd.DataFrame | GroupedBirths | None = None) -> CaseMixResult:
        """Fit the run again with its recorded settings: the same data give the same numbers
        (the same ``units.csv``)."""
        if births is None:
            births = self.read_births().births
        return self.model().fit(births, shares=self.shares())

    def units(self) -> UnitTable:
        """The exported (disclosure-controlled) unit table of the run."""
        frame = pd.read_csv(self.folder / "units.csv", dtype={"unit": str, "period": str})
        return UnitTable.from_frame(frame, self.manifest.get("years"))


def check_run_complete(folder: str | Path, *, contents: bool = True) -> dict[str, Any]:
    """Check that ``folder`` holds a completely written, unchanged run, and return its manifest.

    Every file in the manifest's completeness record (``files``) must be present with its
    recorded size and SHA-256. A folder written before the record existed (``casemix-run/2``
    and earlier; its manifest was written last, too) is accepted with a
    :class:`~casemix.exceptions.CasemixWarning` when it holds :data:`CORE_FILES`.

    Parameters
    ----------
    folder : path
    contents : bool, default True
        Also compare sizes and SHA-256; ``False`` checks only that the files are present
        (``casemix export``, whose audit judges the contents).

    Raises
    ------
    RunFolderError
        ``folder`` is missing, is the temporary folder of an interrupted save, lacks its
        manifest or a recorded file, or a file changed after the run was written.
    """
    folder = Path(folder)
    if is_staging_folder(folder):
        raise RunFolderError(f"{folder} is the temporary folder of an interrupted save, not a "
                             "run; delete it and fit the run again.")
    if not folder.is_dir():
        raise RunFolderError(f"No run folder at {folder}; pass the folder written by "
                             "`casemix fit` or `casemix refit`.")
    manifest = _read_manifest(folder)
    record = manifest.get("files")
    if record is None:
        _check_legacy(folder)
        return manifest
    missing = [name for name in dict.fromkeys([*record, *CORE_FILES])
               if not (folder / name).is_file()]
    if missing:
        raise _incomplete(folder, missing)
    changed = [name for name, entry in record.items()
               if contents and not _matches(folder / name, entry)]
    if changed:
        raise RunFolderError(
            f"Run folder {folder} was changed after it was written ({', '.join(changed)}: "
            f"size or SHA-256 differs from {MANIFEST}); fit the run again into a new folder "
            "instead of editing it.")
    return manifest


def _incomplete(folder: Path, missing: list[str]) -> RunFolderError:
    return RunFolderError(f"Incomplete run folder {folder} (missing: {', '.join(missing)}); "
                          "it was not completely written: fit the run again into a new folder.")


def _read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of a run folder; missing or unreadable means the run is incomplete."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError):
        raise _incomplete(folder, [MANIFEST]) from None
    if not isinstance(manifest, dict):
        raise _incomplete(folder, [MANIFEST])
    return manifest


def _matches(path: Path, entry: dict[str, Any]) -> bool:
    """Whether a file has its recorded size and SHA-256 (size first: cheap)."""
    if path.stat().st_size != entry.get("bytes"):
        return False
    with open(path, "rb") as fh:
        return _describe(fh) == {"bytes": entry.get("bytes"), "sha256": entry.get("sha256")}


def _check_legacy(folder: Path) -> None:
    """A run folder without completeness record: the core files, and a warning."""
    missing = [name for name in CORE_FILES if not (folder / name).is_file()]
    if missing:
        raise _incomplete(folder, missing)
    warnings.warn(f"{folder} was written by an earlier casemix without a completeness record "
                  f"in {MANIFEST}: missing or truncated files cannot be detected. Fit it "
                  "again to get a checked run folder.", CasemixWarning, stacklevel=4)


def load_run(folder: str | Path) -> Run:
    """Read a run folder written by :func:`save_run` (``casemix fit`` or ``refit``).

    Raises
    ------
    RunFolderError
        No complete run in ``folder`` (see :func:`check_run_complete`).
    """
    folder = Path(folder)
    manifest = check_run_complete(folder)
    d = json.loads((folder / "model.json").read_text("utf-8"))
    spec = ModelSpec.from_dict(d["spec"], source=str(folder / "model.json"))
    if "risk_model" in d:
        risk, shrinker = risk_model_from_dict(d["risk_model"]), shrinker_from_dict(
            d["shrinker"])
    else:  # casemix-model/1: only the method name and default settings
        risk, shrinker = build_method(d["method"])
    return Run(folder, manifest, spec, risk, shrinker, int(d.get("seed") or DEFAULT_SEED),
               d.get("compress"))


def reproduce_run(run: Run | str | Path, births: pd.DataFrame | GroupedBirths | None = None
                  ) -> CaseMixResult:
    """Refit a run with its recorded settings and check that it gives the run's numbers.

    Parameters
    ----------
    run : Run or path
    births : pandas.DataFrame or GroupedBirths, optional
        The run's births (default: read them as recorded, fingerprint-checked), or their
        grouped births (:func:`casemix.engine.read_run`).

    Returns
    -------
    CaseMixResult
        Whose disclosure-controlled unit table is, to the last digit, the run's ``units.csv``.

    Raises
    ------
    CasemixError
        The refit differs from the run (other data, package versions or platform): a report
        made from it would not show the run's numbers.
    """
    run = run if isinstance(run, Run) else load_run(run)
    if births is None:
        births = run.read_births().births
    result = run.refit(births)
    written = (run.folder / "units.csv").read_text("utf-8")
    again = disclose_run(result, births, threshold=run.threshold).units.to_csv(index=False)
    if again != written:
        old = pd.read_csv(run.folder / "units.csv", dtype=str, keep_default_na=False)
        new = pd.read_csv(io.StringIO(again), dtype=str, keep_default_na=False)
        detail = (f"{int((old != new).to_numpy().sum())} cells differ" if old.shape ==
                  new.shape else f"{old.shape} rows x columns, refit {new.shape}")
        raise CasemixError(
            f"Refitting {run.folder} with its recorded settings does not reproduce its "
            f"units.csv ({detail}). The data, package versions ({run.manifest.get('versions')})"
            " or platform differ from the run's; fit the run again instead.")
    return result


#: Groups of an InferenceData that hold the data (counts per unit), not the posterior.
DATA_GROUPS = ("observed_data", "constant_data")


def _write_posteriors(result: CaseMixResult, out: Path) -> None:
    """Bayesian methods: each model's InferenceData as ``posterior/<name>.nc`` (netCDF, read
    back with ``arviz.from_netcdf``) and its parameter summary as CSV.

    The posterior files stay inside the secure environment (``casemix export`` never copies
    them), and they do not carry the observed counts either: the data groups
    (:data:`DATA_GROUPS`) are dropped before writing."""
    if not result.bayes:
        return
    folder = out / "posterior"
    folder.mkdir(exist_ok=True)
    for name, fit in result.bayes.items():
        stem = name.replace(" ", "_")
        from arviz import InferenceData

        idata = InferenceData(**{g: getattr(fit.idata, g) for g in fit.idata.groups()
                                 if g not in DATA_GROUPS})
        idata.to_netcdf(str(folder / f"{stem}.nc"))
        fit.parameters.to_csv(folder / f"{stem}_parameters.csv")
