"""Benchmark: the whole case-mix fit of 1M, 10M and 50M births read out of core.

Targets (scale issue): 50,000,000 births (a pooled 2015..2024 table of Parquet files) fitted
under 90 s wall and under 4 GB peak memory (the process and its worker processes together)
on 2 cores, with engine ``duckdb``; the cost should follow the covariate-pattern cells, not
the births. Engine ``pandas`` (the births in memory) is timed beside it up to
``--pandas-max`` births.

The births are simulated once (``simulate_cohort`` of 1,000,000 births for a few birth seeds
of one country, re-used with chunk-prefixed ``birth_id`` and one year per chunk, 2015..2024)
and written as ``part-00000.parquet`` ... of ``--chunk-rows`` births under
``--folder`` (cached: ``births.json`` beside the folder records what it holds). A size of k
chunks reads the first k files (a folder of symlinks). Each fit runs in a fresh process:
``scan_births`` (engine ``duckdb``, worker processes), ``CaseMixModel(spec).fit`` on the
grouped births and ``save_run``; or ``load_births`` and a fit in memory (engine ``pandas``);
or, with ``--cli``, the command ``casemix fit SPEC --data PATH --out FOLDER --engine E``.
Wall time is of the whole process; peak memory is the largest sum of VmRSS over the process
and its descendants, polled every 0.1 s from ``/proc``.

Usage: ``python benchmarks/bench_scale.py [--sizes 1000000 10000000 50000000]
[--pandas-max 10000000] [--folder /tmp/casemix-scale] [--workers 2] [--batch-rows N]
[--cli] [--json figures.json] [--delete]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S, TARGET_MB, TARGET_BIRTHS = 90.0, 4096.0, 50_000_000
FIRST_YEAR, N_YEARS = 2015, 10
SEED = 20261123  # the country (geography, unit effects); the births vary by chunk
SCHEME = "v1"  # bump when the generated data change

SPEC = """
name = "scale_big2"
outcome = "big2"
levels = ["vsv"]
method = "pooled"
[[adjust]]
column = "maternal_age"
type = "spline"
knots = [20, 27, 31, 35, 41]
[[adjust]]
column = "parity"
breaks = [1]
[[adjust]]
column = "plurality"
breaks = [2]
[[adjust]]
column = "infant_sex"
[[adjust]]
column = "migration_background"
reference = "dutch"
[[adjust]]
column = "income_quintile"
reference = "3"
[[adjust]]
column = "education"
reference = "middle"
# year: categorical, added by the model when the births span more than one year
"""

# What `casemix fit` does, until the CLI takes --engine (see `_command`).
RUNNER = r"""
import json, sys, time
t0 = time.perf_counter()
from casemix import CaseMixModel, load_births, load_spec
from casemix.models.runs import save_run
engine, data, spec_path, out = sys.argv[1:5]
workers = int(sys.argv[5]) or None
batch_rows = int(sys.argv[6]) or None
spec = load_spec(spec_path)
t = {"import": time.perf_counter() - t0}
t1 = time.perf_counter()
if engine == "pandas":
    from pathlib import Path
    import pandas as pd
    source = Path(data)
    report = load_births(pd.read_parquet(source) if source.is_dir() else source)
    births, rows = report.births, None  # not grouped: one row per birth
    t["read"] = time.perf_counter() - t1
else:
    from casemix.engine import scan_births
    scan = scan_births(data, [spec], engine=engine, workers=workers, batch_rows=batch_rows)
    births = scan[spec.name]
    rows = len(births.frame)
    report = None
    t["scan"] = time.perf_counter() - t1
t1 = time.perf_counter()
result = CaseMixModel(spec).fit(births)
t["fit"] = time.perf_counter() - t1
t1 = time.perf_counter()
if report is None:
    save_run(result, out, births=births)
else:
    save_run(result, out, validation=report)
t["save"] = time.perf_counter() - t1
print(json.dumps({"births": result.n_input, "analysed": result.n_analysed,
                  "grouped_rows": rows, "cells": result.n_cells, "years": list(result.years),
                  "timings": t}))
"""


# ------------------------------------------------------------------------------ data


def _chunk_year(k: int) -> int:
    return FIRST_YEAR + k % N_YEARS


def generate(folder: Path, n_chunks: int, chunk_rows: int, n_seeds: int) -> float:
    """Write ``part-XXXXX.parquet`` files up to ``n_chunks`` (keeping valid ones); seconds.

    Chunk k is cohort ``k // N_YEARS`` (mod ``n_seeds``) of ``chunk_rows`` births, in year
    ``2015 + k % 10``, with ``birth_id`` prefixed by the chunk: every (cohort, year) is
    distinct for ``n_seeds * 10`` chunks. One chunk in memory: its year and ids are
    overwritten in place before each file is written.
    """
    meta_path = folder.with_name(folder.name + ".json")
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    same = (meta.get("scheme"), meta.get("chunk_rows"), meta.get("seeds")) == (
        SCHEME, chunk_rows, n_seeds)
    if not same:
        shutil.rmtree(folder, ignore_errors=True)
    missing = [k for k in range(n_chunks) if not _part(folder, k).exists()]
    if not missing:
        return 0.0
    folder.mkdir(parents=True, exist_ok=True)
    from casemix.simulation import simulate_cohort

    t = time.perf_counter()
    births, cohort, ids = None, -1, None
    for k in missing:
        c = (k // N_YEARS) % n_seeds
        if c != cohort:
            births = None  # free the previous cohort first
            births = simulate_cohort(chunk_rows, seed=SEED, births_seed=SEED + 1 + c).births
            ids, cohort = births["birth_id"].astype(str), c
        births["year"] = _chunk_year(k)
        births["birth_id"] = f"C{k:05d}-" + ids
        partial = _part(folder, k).with_suffix(".tmp")  # complete files only
        births.to_parquet(partial, index=False)
        partial.rename(_part(folder, k))
        print(f"  wrote {_part(folder, k).name} (cohort {c}, year {_chunk_year(k)}) "
              f"{time.perf_counter() - t:.0f} s", flush=True)
    most = max(n_chunks, int(meta.get("n_chunks", 0)) if same else 0)
    meta_path.write_text(json.dumps({"scheme": SCHEME, "chunk_rows": chunk_rows,
                                     "seeds": n_seeds, "n_chunks": most,
                                     "n_births": most * chunk_rows}, indent=1))
    return time.perf_counter() - t


def _part(folder: Path, k: int) -> Path:
    return folder / f"part-{k:05d}.parquet"


def source_of(folder: Path, links: Path, k: int, total: int) -> Path:
    """The first ``k`` chunk files: the folder itself, one file, or a folder of symlinks."""
    if k == total and len(list(folder.glob("part-*.parquet"))) == k:
        return folder  # (the folder may hold more chunks, cached by a larger run)
    if k == 1:
        return _part(folder, 0)
    target = links / f"first-{k}"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for i in range(k):
        (target / _part(folder, i).name).symlink_to(_part(folder, i))
    return target


# ------------------------------------------------------------------------------ measuring


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (from /proc/<pid>/task/*/children)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            with contextlib.suppress(OSError):  # the process ended meanwhile
                todo += [int(c) for c in task.read_text().split()]
    return out


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(command: list[str], interval: float = 0.1) -> tuple[float, float, str]:
    """Wall seconds, peak MB of the process tree's summed RSS, and stdout of ``command``."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=err, text=True)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, sum(_rss_kb(p) for p in _tree(proc.pid)))
            time.sleep(interval)
        wall = time.perf_counter() - t
        out.seek(0)
        err.seek(0)
        if proc.returncode:
            raise SystemExit(f"{' '.join(command)} failed:\n{err.read()}")
        return wall, peak / 1024, out.read()


# ------------------------------------------------------------------------------ the fit


def _command(engine: str, data: Path, spec: Path, out: Path, args: argparse.Namespace
             ) -> list[str]:
    """The fit in a fresh process: the CLI (``--cli``) or the runner doing what it does."""
    if args.cli:
        return [sys.executable, "-m", "casemix", "fit", str(spec), "--data", str(data),
                "--out", str(out), "--engine", engine]
    return [sys.executable, "-c", RUNNER, engine, str(data), str(spec), str(out),
            str(args.workers or 0), str(args.batch_rows or 0)]


def run_fit(engine: str, data: Path, spec: Path, out: Path, args: argparse.Namespace
            ) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    wall, peak, stdout = measure(_command(engine, data, spec, out, args))
    if args.cli:
        rows = json.loads((out / "manifest.json").read_text())["rows"]
        fig = {"births": rows["input"], "analysed": rows["analysed"], "grouped_rows": None,
               "cells": rows["cells"], "timings": {}}
    else:
        fig = json.loads(stdout.strip().splitlines()[-1])
    shutil.rmtree(out, ignore_errors=True)
    return {**fig, "engine": engine, "wall_s": wall, "peak_mb": peak,
            "births_per_s": fig["births"] / wall}


def _line(f: dict) -> str:
    parts = ", ".join(f"{k} {v:.1f}" for k, v in f["timings"].items())
    rows = "-" if f["grouped_rows"] is None else f"{f['grouped_rows']:,}"
    return (f"  {f['engine']:6s}: {f['births']:>11,} births, {rows:>9} grouped rows, "
            f"{f['cells']:>7,} cells: {f['wall_s']:6.1f} s, peak {f['peak_mb']:6.0f} MB, "
            f"{f['births_per_s'] / 1e6:5.2f} M births/s" + (f"  ({parts} s)" if parts else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+",
                        default=[1_000_000, 10_000_000, 50_000_000])
    parser.add_argument("--pandas-max", type=int, default=10_000_000,
                        help="also fit with engine pandas up to this many births")
    parser.add_argument("--folder", type=Path, default=Path("/tmp/casemix-scale"),
                        help="data, spec and run folders (births in FOLDER/births)")
    parser.add_argument("--chunk-rows", type=int, default=1_000_000)
    parser.add_argument("--seeds", type=int, default=5, help="distinct simulated cohorts")
    parser.add_argument("--workers", type=int, default=None, help="engine duckdb processes")
    parser.add_argument("--batch-rows", type=int, default=None, help="engine duckdb batch")
    parser.add_argument("--cli", action="store_true",
                        help="run `python -m casemix fit ... --engine E` instead of the runner")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument("--delete", action="store_true", help="delete the births at the end")
    args = parser.parse_args()
    if any(n % args.chunk_rows for n in args.sizes):
        parser.error(f"--sizes must be multiples of --chunk-rows ({args.chunk_rows:,})")

    root = args.folder
    births_dir, spec_path = root / "births", root / "scale_big2.toml"
    root.mkdir(parents=True, exist_ok=True)
    spec_path.write_text(SPEC)
    total = max(args.sizes) // args.chunk_rows
    print(f"Births: {total} x {args.chunk_rows:,} in {births_dir} "
          f"({args.seeds} simulated cohorts, years {FIRST_YEAR}..{FIRST_YEAR + N_YEARS - 1})")
    gen = generate(births_dir, total, args.chunk_rows, args.seeds)
    on_disk = sum(p.stat().st_size for p in births_dir.glob("part-*.parquet")) / 1e6
    print(f"  {'generated in ' + format(gen, '.0f') + ' s' if gen else 'cached'}; "
          f"{on_disk:,.0f} MB of Parquet on disk")
    print(f"Targets: {TARGET_BIRTHS:,} births (engine duckdb) under {TARGET_S:.0f} s and "
          f"{TARGET_MB:.0f} MB peak on 2 cores (machine: {os.cpu_count()} cores); "
          f"{'`casemix fit` CLI' if args.cli else 'runner: scan_births + fit + save_run'}")

    figures = []
    for n in sorted(args.sizes):
        data = source_of(births_dir, root / "sources", n // args.chunk_rows, total)
        print(f"{n:,} births from {data}:", flush=True)
        engines = ["duckdb"] + (["pandas"] if n <= args.pandas_max else [])
        for engine in engines:
            f = run_fit(engine, data, spec_path, root / f"run-{engine}", args)
            figures.append({"size": n, **f})
            print(_line(f), flush=True)
        if n == TARGET_BIRTHS:
            d = next(f for f in figures if f["size"] == n and f["engine"] == "duckdb")
            print(f"  target: {d['wall_s']:.1f} s (< {TARGET_S:.0f}), {d['peak_mb']:.0f} MB "
                  f"(< {TARGET_MB:.0f})")

    print("\n   births  engine  grouped rows    cells   wall s  peak MB  M births/s")
    for f in figures:
        rows = "-" if f["grouped_rows"] is None else f"{f['grouped_rows']:,}"
        print(f"{f['size'] / 1e6:7.0f}M  {f['engine']:6s}  {rows:>12}  {f['cells']:>7,}  "
              f"{f['wall_s']:7.1f}  {f['peak_mb']:7.0f}  {f['births_per_s'] / 1e6:10.2f}")
    print(f"targets at {TARGET_BIRTHS / 1e6:.0f}M (duckdb): < {TARGET_S:.0f} s, "
          f"< {TARGET_MB:.0f} MB")
    if args.json is not None:
        args.json.write_text(json.dumps({"targets": {"births": TARGET_BIRTHS,
                                                     "wall_s": TARGET_S, "peak_mb": TARGET_MB},
                                         "cores": os.cpu_count(), "cli": args.cli,
                                         "figures": figures}, indent=1))
        print(f"figures written to {args.json}")
    shutil.rmtree(root / "sources", ignore_errors=True)
    if args.delete:
        shutil.rmtree(births_dir, ignore_errors=True)
        births_dir.with_name(births_dir.name + ".json").unlink(missing_ok=True)
        print(f"deleted {births_dir}")


if __name__ == "__main__":
    main()
