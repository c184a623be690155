"""Benchmark: random-intercept GLMM (Laplace) for 1,000,000 births x 70 VSVs.

Target (shrinkage issue): under 30 s and 2 GB on 2 cores. lme4::glmer (nAGQ = 1) needed about
19 minutes and 2.6 GB for such data on this kind of machine; with ``--with-r`` (and R with lme4
installed) the same data are fitted by glmer and the ratio printed (takes that long).

Usage: ``python benchmarks/bench_glmm.py [--n-births N] [--with-r]``
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_fit import SPEC, _run

MEASURE = r"""
import dataclasses, json, resource, sys, time
import pandas as pd
from casemix import CaseMixModel, load_spec
births = pd.read_parquet(sys.argv[1])
spec = dataclasses.replace(load_spec(sys.argv[2]), levels=("vsv",))
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t = time.perf_counter()
result = CaseMixModel(spec, method="glmm").fit(births)
print(json.dumps({"wall_s": time.perf_counter() - t, "timings": result.timings,
                  "sigma": result.parameters["sigma_vsv"], "cells": result.n_cells,
                  "rss_before_fit_mb": rss0,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

R_SCRIPT = r"""
suppressMessages(library(lme4))
d <- read.csv(commandArgs(TRUE)[1], stringsAsFactors = TRUE)
t <- system.time(fit <- glmer(big2 ~ age + parity + plurality + infant_sex + income + education +
  migration + urbanisation + ses + year + (1 | vsv), family = binomial, data = d, nAGQ = 1))
cat(sprintf('{"wall_s": %f, "sigma": %f}\n', t[["elapsed"]], sqrt(VarCorr(fit)$vsv[1])))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-births", type=int, default=1_000_000)
    parser.add_argument("--with-r", action="store_true")
    args = parser.parse_args()
    from casemix.simulation import simulate_cohort

    with tempfile.TemporaryDirectory() as tmp:
        births_path, spec_path = Path(tmp) / "births.parquet", Path(tmp) / "bench.toml"
        cohort = simulate_cohort(args.n_births, years=tuple(range(2019, 2025)))
        cohort.births.to_parquet(births_path, index=False)
        spec_path.write_text(SPEC)
        r = _run(MEASURE, str(births_path), str(spec_path))
        parts = ", ".join(f"{k} {v:.2f}" for k, v in r["timings"].items())
        print(f"GLMM (Laplace), {args.n_births:,} births, 70 VSVs, {r['cells']:,} cells: "
              f"{r['wall_s']:.1f} s ({parts}), sigma_vsv {r['sigma']:.4f}, peak RSS "
              f"{r['peak_rss_mb']:.0f} MB (data alone {r['rss_before_fit_mb']:.0f} MB)"
              "   target < 30 s, < 2048 MB")
        if args.with_r and shutil.which("Rscript"):
            _time_r(cohort.births, Path(tmp), r["wall_s"])


def _time_r(births, tmp: Path, ours: float) -> None:  # type: ignore[no-untyped-def]
    import pandas as pd

    b = births
    frame = pd.DataFrame({
        "big2": 0, "age": pd.cut(b["maternal_age"], [0, 20, 25, 30, 35, 40, 99], right=False),
        "parity": b["parity"].clip(upper=2), "plurality": b["plurality"].clip(upper=2),
        "infant_sex": b["infant_sex"], "income": b["income_quintile"].astype("string"),
        "education": b["education"], "migration": b["migration_background"],
        "urbanisation": b["urbanisation"], "ses": pd.cut(b["neighbourhood_ses"],
                                                         [-99, -0.8, -0.3, 0.1, 0.5, 99]),
        "year": b["year"], "vsv": b["vsv"]})
    from casemix import derive_indicators

    flags = derive_indicators(b, ["big2"]).flags["big2"]
    frame["big2"] = flags.astype("float")
    frame = frame[flags.notna().to_numpy()].astype(str).replace({"<NA>": "missing",
                                                                "nan": "missing"})
    frame["big2"] = frame["big2"].astype(float).astype(int)
    path, script = tmp / "births_r.csv", tmp / "glmer.R"
    frame.to_csv(path, index=False)
    script.write_text(R_SCRIPT)
    out = subprocess.run(["Rscript", str(script), str(path)], capture_output=True, text=True)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"lme4::glmer (nAGQ = 1) on the same data: {r['wall_s']:.0f} s, sigma_vsv "
          f"{r['sigma']:.4f}; ratio {r['wall_s'] / ours:.0f}x")


if __name__ == "__main__":
    main()
