"""Benchmark: case-mix fit + unit comparison for 1,000,000 births x 70 VSVs.

Targets (risk-model issue): fit + comparison under 5 s wall and 2 GB peak on 2 cores; the whole
`casemix fit` command (file reading included) under 20 s. For comparison, statsmodels' plain
row-level GLM is timed on the same design.

Issue 19 (scale): the whole `casemix fit` of the births from CSV and from Parquet (fresh
process, diagnostics included, median of ``--repeats``) under 3 s on 2 cores, next to base R's
job on the same CSV when ``Rscript`` is on PATH: ``read.csv``, ``glm`` with the same
adjusters on a precomputed outcome column (``big2_outcome``, which casemix ignores), and O/E
per VSV.

Usage: ``python benchmarks/bench_fit.py [--n-births N] [--repeats 3] [--skip-statsmodels]
[--skip-r]``
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPEC = """
name = "bench_big2"
outcome = "big2"
levels = ["vsv", "municipality"]
[[adjust]]
column = "maternal_age"
breaks = [20, 25, 30, 35, 40]
[[adjust]]
column = "parity"
breaks = [1, 2]
[[adjust]]
column = "plurality"
breaks = [2]
[[adjust]]
column = "infant_sex"
[[adjust]]
column = "income_quintile"
[[adjust]]
column = "education"
[[adjust]]
column = "migration_background"
[[adjust]]
column = "urbanisation"
[[adjust]]
column = "neighbourhood_ses"
breaks = [-0.8, -0.3, 0.1, 0.5]
[[adjust]]
column = "year"
"""

MEASURE = r"""
import json, resource, sys, time
import pandas as pd
from casemix import CaseMixModel, load_spec
births = pd.read_parquet(sys.argv[1])
spec = load_spec(sys.argv[2])
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t = time.perf_counter()
result = CaseMixModel(spec, method=sys.argv[3]).fit(births)
print(json.dumps({"wall_s": time.perf_counter() - t, "timings": result.timings,
                  "cells": result.n_cells, "coefs": len(result.coef), "rss_before_fit_mb": rss0,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

STATSMODELS = r"""
import json, sys, time
import numpy as np, pandas as pd, statsmodels.api as sm
from casemix import load_spec
from casemix.core import learn_encoding
from casemix.models import prepare_model_data
births = pd.read_parquet(sys.argv[1])
spec = load_spec(sys.argv[2])
data = prepare_model_data(births, spec)
X = learn_encoding(data.frame, data.terms).matrix(data.frame)
t = time.perf_counter()
sm.GLM(data.y, X, family=sm.families.Binomial()).fit()
print(json.dumps({"wall_s": time.perf_counter() - t, "shape": list(X.shape)}))
"""


R_JOB = r"""
args <- commandArgs(trailingOnly = TRUE)
t0 <- proc.time()[["elapsed"]]
d <- read.csv(args[1])
cutb <- function(x, b) cut(x, c(-Inf, b, Inf), right = FALSE)
d$age <- cutb(d$maternal_age, c(20, 25, 30, 35, 40))
d$par <- cutb(d$parity, c(1, 2))
d$plur <- cutb(d$plurality, 2)
d$ses <- cutb(d$neighbourhood_ses, c(-0.8, -0.3, 0.1, 0.5))
f <- glm(big2_outcome ~ age + par + plur + factor(infant_sex) + factor(income_quintile) +
           factor(education) + factor(migration_background) + factor(urbanisation) + ses +
           factor(year), family = binomial, data = d, na.action = na.exclude)
d$p <- fitted(f)
a <- d[!is.na(d$p), ]
oe <- tapply(a$big2_outcome, a$vsv, sum) / tapply(a$p, a$vsv, sum)
cat(sprintf("%.3f %d %d\n", proc.time()[["elapsed"]] - t0, length(coef(f)), length(oe)))
"""


def _median_wall(command: list[str], out: Path, repeats: int) -> tuple[float, list[float]]:
    """Median wall time of ``command`` in a fresh process (``out`` removed before each run)."""
    times = []
    for _ in range(repeats):
        shutil.rmtree(out, ignore_errors=True)
        t = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times), times


def _whole_fit(tmp: Path, births_path: Path, spec_path: Path, repeats: int, *,
               with_r: bool) -> None:
    """Issue 19: the whole command from CSV and Parquet, and base R's job on the CSV."""
    import pandas as pd

    from casemix import derive_indicators

    births = pd.read_parquet(births_path)
    csv_path = tmp / "births.csv"
    births.assign(big2_outcome=derive_indicators(births, ["big2"]).flags["big2"].astype(
        "Int64")).to_csv(csv_path, index=False)
    for name, path in (("CSV", csv_path), ("Parquet", births_path)):
        command = [sys.executable, "-m", "casemix.cli", "fit", str(spec_path), "--data",
                   str(path), "--out", str(tmp / "whole"), "--diagnostics"]
        median, times = _median_wall(command, tmp / "whole", repeats)
        print(f"  whole `casemix fit --diagnostics` from {name:7s}: {median:.2f} s (median of "
              f"{repeats} fresh processes: {', '.join(f'{t:.2f}' for t in times)})"
              "   target < 3 s")
    rscript = shutil.which("Rscript")
    if not with_r:
        return
    if rscript is None:
        print("  base R: Rscript not on PATH, skipped")
        return
    script = tmp / "job.R"
    script.write_text(R_JOB)
    median, times = _median_wall([rscript, str(script), str(csv_path)], tmp / "none", repeats)
    print(f"  base R read.csv + glm (same adjusters, outcome precomputed) + O/E per VSV: "
          f"{median:.2f} s (median of {repeats}: {', '.join(f'{t:.2f}' for t in times)})")


def _run(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-births", type=int, default=1_000_000)
    parser.add_argument("--skip-statsmodels", action="store_true")
    parser.add_argument("--skip-r", action="store_true", help="no base R comparison")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from casemix.simulation import simulate_cohort

    with tempfile.TemporaryDirectory() as tmp:
        births_path, spec_path = Path(tmp) / "births.parquet", Path(tmp) / "bench.toml"
        # about six national years of births
        simulate_cohort(args.n_births, years=tuple(range(2019, 2025))).births.to_parquet(
            births_path, index=False)
        spec_path.write_text(SPEC)
        for method in ("pooled", "fixed"):
            m = _run(MEASURE, str(births_path), str(spec_path), method)
            if method == "pooled":
                print(f"{args.n_births:,} births (2019-2024), 70 VSVs + 340 municipalities, 10 "
                      f"categorical adjusters ({m['coefs']} coefficients), {m['cells']:,} "
                      "covariate-pattern cells")
            parts = ", ".join(f"{k} {v:.2f}" for k, v in m["timings"].items())
            print(f"  method {method:6s}: fit + comparison {m['wall_s']:.2f} s ({parts}); peak "
                  f"RSS {m['peak_rss_mb']:.0f} MB (data alone {m['rss_before_fit_mb']:.0f} MB)"
                  "   target < 5 s, < 2048 MB")
        for flag, what in (("--no-diagnostics", "read, validate, fit, direct "
                            "standardisation, write"), ("--diagnostics", "the same plus "
                                                        "calibration and funnel tables")):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "casemix.cli", "fit", str(spec_path),
                            "--data", str(births_path), "--out", str(Path(tmp) / flag),
                            flag], check=True, capture_output=True)
            print(f"  whole `casemix fit {flag}` command ({what}): "
                  f"{time.perf_counter() - t:.1f} s   target < 20 s")
        _whole_fit(Path(tmp), births_path, spec_path, args.repeats, with_r=not args.skip_r)
        if not args.skip_statsmodels:
            s = _run(STATSMODELS, str(births_path), str(spec_path))
            print(f"  statsmodels GLM on rows {tuple(s['shape'])}: {s['wall_s']:.1f} s")


if __name__ == "__main__":
    main()
