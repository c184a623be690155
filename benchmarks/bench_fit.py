"""Benchmark: case-mix fit + unit comparison for 1,000,000 births x 70 VSVs.

Targets (risk-model issue): fit + comparison under 5 s wall and 2 GB peak on 2 cores; the whole
`casemix fit` command (file reading included) under 20 s. For comparison, statsmodels' plain
row-level GLM is timed on the same design (R's glm needs about 10 s for such a model here).

Usage: ``python benchmarks/bench_fit.py [--n-births N] [--skip-statsmodels]``
"""

from __future__ import annotations

import argparse
import json
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


def _run(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-births", type=int, default=1_000_000)
    parser.add_argument("--skip-statsmodels", action="store_true")
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
        if not args.skip_statsmodels:
            s = _run(STATSMODELS, str(births_path), str(spec_path))
            print(f"  statsmodels GLM on rows {tuple(s['shape'])}: {s['wall_s']:.1f} s")


if __name__ == "__main__":
    main()
