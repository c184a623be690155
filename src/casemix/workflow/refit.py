"""Annual refit: every specification in ``models/`` refitted for a new registry year."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from casemix.disclosure import DEFAULT_THRESHOLD
from casemix.engine import Scan
from casemix.exceptions import CasemixError, DataError, MethodSwitchWarning
from casemix.models import CaseMixModel, ModelSpec, load_spec
from casemix.models.runs import check_run_target, save_run
from casemix.records import ValidationReport

__all__ = ["new_run_folder", "refit_all", "refit_specs"]


def new_run_folder(root: str | Path, year: int, name: str) -> Path:
    """``root/YEAR/name``, or ``name_v2``, ``name_v3``, ... when earlier runs exist: a run
    folder is never overwritten."""
    base = Path(root) / str(year)
    candidate, version = base / name, 1
    while candidate.exists():
        version += 1
        candidate = base / f"{name}_v{version}"
    return candidate


def refit_specs(models: str | Path, year: int, specs: Sequence[str] | None = None
                ) -> list[tuple[Path, ModelSpec]]:
    """The specifications of ``models`` (``*.toml``; only ``specs`` if given) with their years
    set for ``year``: the year itself, or the pooled window ending in it of the spec's length.
    """
    paths = sorted(Path(models).glob("*.toml"))
    if not paths:
        raise CasemixError(f"No model specifications (*.toml) in {models}.")
    chosen = [(path, spec) for path, spec in ((p, load_spec(p)) for p in paths)
              if specs is None or spec.name in specs]
    out = []
    for path, spec in chosen:
        span = len(spec.years) if spec.years else 1
        out.append((path, dataclasses.replace(spec, years=tuple(range(year - span + 1,
                                                                       year + 1)))))
    return out


def _has_year(births: pd.DataFrame, year: int) -> bool:
    return "year" in births and bool((births["year"] == year).any())


def refit_all(
    births: pd.DataFrame | ValidationReport | Scan,
    year: int,
    *,
    models: str | Path = "models",
    out: str | Path = "runs",
    specs: Sequence[str] | None = None,
    threshold: int = DEFAULT_THRESHOLD,
    data_file: str | Path | None = None,
    mapping: str | None = None,
    invalid: str = "exclude",
    progress: Callable[[str], None] | None = None,
) -> dict[str, Path]:
    """Refit every model specification for ``year`` and write one run folder per spec.

    Parameters
    ----------
    births : pandas.DataFrame, ValidationReport or Scan
        Validated births (a :class:`ValidationReport` also brings its exclusions into each
        run's ``exclusions.csv``); a spec without ``years`` is fitted on the births of
        ``year``, a spec that pools years (``years = [...]`` in its file) on the pooled window
        ending in ``year`` of the same length. Or the births of a file grouped for every
        spec in one pass by :func:`casemix.engine.scan_births` (specs from
        :func:`refit_specs`).
    year : int
        The new registry year.
    models : path
        Folder of ``*.toml`` specifications.
    out : path
        Root of the run folders: ``out/YEAR/<spec>/`` (never overwritten, see
        :func:`new_run_folder`); every folder is checked to be writable before the first fit
        (:func:`casemix.models.runs.check_run_target`).
    specs : sequence of str, optional
        Spec names to refit (default all).
    data_file, mapping, invalid
        How the births were read, recorded so that each run folder can be refitted.
    progress : callable, optional
        Called with each spec name before it is fitted (the CLI drives a progress bar).

    Returns
    -------
    dict
        Spec name -> run folder.
    """
    scan = births if isinstance(births, Scan) else None
    validation = births if isinstance(births, ValidationReport) else None
    births = births.births if isinstance(births, ValidationReport) else births
    chosen = refit_specs(models, year, specs)
    if scan is None and not _has_year(births, year):  # type: ignore[arg-type]
        raise DataError(f"The data hold no births of year {year}.")
    if scan is not None and not any(
            "year" in g.frame and (g.frame["year"] == year).any() for g in scan.grouped.values()):
        raise DataError(f"The data hold no births of year {year}.")
    for _, spec in chosen:  # every target writable before the first fit
        check_run_target(new_run_folder(out, year, spec.name))
    written: dict[str, Path] = {}
    for path, spec in chosen:
        if progress is not None:
            progress(spec.name)
        data = births if scan is None else scan[spec.name]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MethodSwitchWarning)
            try:
                result = CaseMixModel(spec).fit(data)  # type: ignore[arg-type]
            except CasemixError as exc:  # name the spec that failed (and keep the others')
                text = str(exc)
                raise type(exc)(text if str(path) in text else f"{path}: {text}") from exc
        folder = new_run_folder(out, year, spec.name)
        save_run(result, folder, births=data,  # type: ignore[arg-type]
                 validation=validation, threshold=threshold,
                 data_file=data_file, mapping=mapping, invalid=invalid,
                 extra={"command": "casemix refit", "refit_year": year,
                        "spec_file": str(path.resolve())})
        written[spec.name] = folder
    return written
