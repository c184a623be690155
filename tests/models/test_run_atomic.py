"""Run folders appear complete or not at all, are never overwritten, and incomplete ones are
refused when read (issue 16: interrupted runs)."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pandas as pd
import pytest

from casemix import CaseMixModel, CasemixWarning, RunFolderError, load_spec, save_run
from casemix.models.runs import (
    MANIFEST,
    check_run_complete,
    check_run_target,
    is_staging_folder,
    load_model,
    load_run,
)
from casemix.simulation import simulate_cohort

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def fitted():
    births = simulate_cohort(4000, years=(2024,), seed=3).births
    spec = load_spec(ROOT / "models" / "big2.toml")
    return CaseMixModel(spec, method="pooled").fit(births), births


@pytest.fixture(scope="module")
def run(fitted, tmp_path_factory):
    result, births = fitted
    return save_run(result, tmp_path_factory.mktemp("atomic") / "run", births=births)


def _copy(run: Path, to: Path) -> Path:
    to.mkdir()
    for path in run.rglob("*"):
        if path.is_file():
            target = to / path.relative_to(run)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    return to


def _leftovers(parent: Path) -> list[str]:
    return [p.name for p in parent.iterdir() if is_staging_folder(p)]


def test_manifest_records_every_file_with_size_and_hash(run):
    manifest = json.loads((run / MANIFEST).read_text())
    assert manifest["format"] == "casemix-run/3"
    files = {p.relative_to(run).as_posix(): p for p in run.rglob("*")
             if p.is_file() and p.name != MANIFEST}
    assert set(manifest["files"]) == set(files)
    for name, entry in manifest["files"].items():
        data = files[name].read_bytes()
        assert entry == {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    assert not _leftovers(run.parent)
    assert load_run(run).manifest == manifest


def test_an_existing_folder_with_content_is_never_overwritten(fitted, tmp_path):
    result, births = fitted
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(RunFolderError, match=r"exists and is not empty; runs are never "
                                             r"overwritten.*run_v2"):
        save_run(result, out, births=births)
    assert [p.name for p in out.iterdir()] == ["notes.txt"] and not _leftovers(tmp_path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunFolderError, match=r"exists \(a file\)"):
        save_run(result, tmp_path / "file", births=births)


def test_an_empty_existing_folder_is_accepted(fitted, tmp_path):
    result, births = fitted
    (tmp_path / "run").mkdir()
    assert load_run(save_run(result, tmp_path / "run", births=births)).folder == tmp_path / "run"
    assert not _leftovers(tmp_path)


@pytest.mark.parametrize("after", [1, 5, 12])
def test_interrupted_save_leaves_nothing(fitted, tmp_path, monkeypatch, after):
    result, births = fitted
    written = []
    original = pd.DataFrame.to_csv

    def to_csv(self, *args, **kwargs):
        written.append(args[0] if args else kwargs.get("path_or_buf"))
        if len(written) == after:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", to_csv)
    with pytest.raises(KeyboardInterrupt):
        save_run(result, tmp_path / "run", births=births)
    assert list(tmp_path.iterdir()) == []


def test_interrupted_before_the_rename_leaves_nothing(fitted, tmp_path, monkeypatch):
    import casemix.models.runs as runs

    def publish(staging, out):
        assert (staging / MANIFEST).is_file()  # complete, but not yet renamed
        raise KeyboardInterrupt

    monkeypatch.setattr(runs, "_publish", publish)
    with pytest.raises(KeyboardInterrupt):
        save_run(fitted[0], tmp_path / "run", births=fitted[1])
    assert list(tmp_path.iterdir()) == []


def test_a_parent_under_a_file_is_refused(tmp_path):
    (tmp_path / "some_file").write_text("x")
    with pytest.raises(RunFolderError, match=r"Cannot create .*out: .*some_file is a file"):
        check_run_target(tmp_path / "some_file" / "deeper" / "out")
    assert check_run_target(tmp_path / "new" / "deeper" / "out") == tmp_path / "new" / \
        "deeper" / "out"
    assert not (tmp_path / "new").exists()  # checked, not created


def test_an_unwritable_parent_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        if os.access(locked, os.W_OK):  # root (or Windows): permissions do not stop writes
            pytest.skip("permissions do not stop this user from writing")
        with pytest.raises(RunFolderError, match=r"Cannot write .*run: files cannot be "
                                                 r"created in .*locked"):
            check_run_target(locked / "run")
    finally:
        locked.chmod(stat.S_IRWXU)


def test_missing_file_is_refused(run, tmp_path):
    copy = _copy(run, tmp_path / "copy")
    (copy / "direct.csv").unlink()
    for read in (load_run, load_model, check_run_complete):
        with pytest.raises(RunFolderError, match=r"Incomplete run folder .*copy \(missing: "
                                                 r"direct\.csv\); .*fit the run again"):
            read(copy)
    with pytest.raises(RunFolderError, match=r"missing: direct\.csv"):
        load_model(copy / "model.json")


def test_missing_or_truncated_manifest_is_refused(run, tmp_path):
    copy = _copy(run, tmp_path / "copy")
    text = (copy / MANIFEST).read_text()
    (copy / MANIFEST).write_text(text[: len(text) // 2])
    with pytest.raises(RunFolderError, match=r"missing: manifest\.json"):
        load_run(copy)
    (copy / MANIFEST).unlink()
    with pytest.raises(RunFolderError, match=r"missing: manifest\.json"):
        load_run(copy)


def test_truncated_or_edited_file_is_refused(run, tmp_path):
    copy = _copy(run, tmp_path / "copy")
    units = (copy / "units.csv").read_bytes()
    (copy / "units.csv").write_bytes(units[:-10])
    with pytest.raises(RunFolderError, match=r"changed after it was written \(units\.csv"):
        load_run(copy)
    (copy / "units.csv").write_bytes(units.replace(b"1", b"2", 1))  # same size
    with pytest.raises(RunFolderError, match=r"units\.csv: size or SHA-256"):
        load_run(copy)
    assert check_run_complete(copy, contents=False)["files"]  # present is enough here


def test_leftover_staging_folder_is_refused(run, tmp_path):
    leftover = _copy(run, tmp_path / ".run.partial-123-abcd1234")
    with pytest.raises(RunFolderError, match="temporary folder of an interrupted save"):
        load_run(leftover)
    with pytest.raises(RunFolderError, match="temporary folder of an interrupted save"):
        load_model(leftover / "model.json")


def test_run_without_completeness_record_is_read_with_a_warning(run, tmp_path):
    """Folders written before the record (manifest also written last) stay readable."""
    copy = _copy(run, tmp_path / "old")
    manifest = json.loads((copy / MANIFEST).read_text())
    del manifest["files"]
    (copy / MANIFEST).write_text(json.dumps({**manifest, "format": "casemix-run/2"}))
    with pytest.warns(CasemixWarning, match="without a completeness record"):
        assert load_run(copy).spec.name == load_run(run).spec.name
    (copy / "units.csv").unlink()
    with pytest.raises(RunFolderError, match=r"missing: units\.csv"):
        load_run(copy)


def test_a_refused_write_probe_is_reported(tmp_path, monkeypatch):
    """The same refusal where permissions cannot be tested (root): the probe file fails."""
    import casemix.models.runs as runs

    def refuse(**kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(runs.tempfile, "mkstemp", refuse)
    with pytest.raises(RunFolderError, match=r"Cannot write .*run: files cannot be .* "
                                             r"\(Permission denied\); choose an output"):
        check_run_target(tmp_path / "run")
