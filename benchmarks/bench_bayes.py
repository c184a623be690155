"""Benchmark: Bayesian models at 1,000,000 births x 70 VSVs (2 cores).

Targets (Bayesian issue): two-stage model under 60 s including compilation; one-stage (joint)
model under 10 minutes; peak memory reported. Each model runs in a fresh subprocess so that
compilation caches of an earlier run do not flatter it (PyTensor's on-disk cache still helps
the two-stage model on a second run, as it would for a user).

Usage: ``python benchmarks/bench_bayes.py [--n-births N] [--joint-draws D]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench_fit import _run

TWO_STAGE = r"""
import json, resource, sys, time
import pandas as pd
t = time.perf_counter()
from casemix.bayes import SamplerSettings, fit_two_stage
units = pd.read_csv(sys.argv[1])
fit = fit_two_stage(units["observed"], units["expected"], units=units["unit"],
                    settings=SamplerSettings(draws=1000, tune=1000))
print(json.dumps({"wall_s": time.perf_counter() - t, "convergence": fit.convergence.to_dict(),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

JOINT = r"""
import json, resource, sys, time
import pandas as pd
from casemix import load_spec
from casemix.core.cells import compress_cells, unit_cells
from casemix.models import prepare_model_data
from casemix.core.design import learn_encoding
births = pd.read_parquet(sys.argv[1])
spec = load_spec(sys.argv[2])
t = time.perf_counter()
from casemix.bayes import SamplerSettings
from casemix.bayes.joint import fit_joint
data = prepare_model_data(births, spec)
encoding = learn_encoding(data.frame, data.terms, spec.interactions)
patterns = compress_cells(data.frame, [t.column for t in data.terms], data.y, data.w)
cells = compress_cells(data.frame, ["vsv"], data.y, data.w, within=patterns.inverse)
uc = unit_cells(cells, "vsv")
X = encoding.matrix(patterns.keys)
prep = time.perf_counter() - t
draws = int(sys.argv[3])
fit = fit_joint(X, uc.pattern, uc.unit, uc.y, uc.m, units=[str(u) for u in uc.uniques],
                names=encoding.names, settings=SamplerSettings(draws=draws, tune=draws))
print(json.dumps({"wall_s": time.perf_counter() - t, "prepare_s": prep, "cells": len(uc.y),
                  "coefs": X.shape[1], "convergence": fit.convergence.to_dict(),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _conv(c: dict) -> str:
    return (f"R-hat max {c['max_rhat']:.3f}, ESS bulk/tail min {c['min_ess_bulk']:.0f}/"
            f"{c['min_ess_tail']:.0f}, divergences {c['divergences']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-births", type=int, default=1_000_000)
    parser.add_argument("--joint-draws", type=int, default=300,
                        help="warm-up and kept draws per chain of the one-stage model")
    args = parser.parse_args()
    from casemix import CaseMixModel, load_spec
    from casemix.bayes.sampling import default_sampler
    from casemix.simulation import simulate_cohort

    with tempfile.TemporaryDirectory() as tmp:
        births_path, units_path = Path(tmp) / "births.parquet", Path(tmp) / "units.csv"
        births = simulate_cohort(args.n_births, years=tuple(range(2019, 2025))).births
        births.to_parquet(births_path, index=False)
        spec_path = Path("models/big2.toml")
        t = time.perf_counter()
        units = CaseMixModel(load_spec(spec_path)).fit(births).unit_table.main("vsv")
        pooled_s = time.perf_counter() - t
        units[["unit", "observed", "expected"]].to_csv(units_path, index=False)
        del births
        print(f"{args.n_births:,} births, 70 VSVs, big2 spec; sampler {default_sampler()}, "
              "2 chains")
        print(f"  pooled E (needed by the two-stage model): {pooled_s:.1f} s")
        two = _run(TWO_STAGE, str(units_path))
        print(f"  two-stage Poisson, 1000 warm-up + 1000 draws: {two['wall_s']:.1f} s incl. "
              f"import and compilation; peak RSS {two['peak_rss_mb']:.0f} MB; "
              f"{_conv(two['convergence'])}   target < 60 s")
        joint = _run(JOINT, str(births_path), str(spec_path), str(args.joint_draws))
        print(f"  one-stage binomial on {joint['cells']:,} pattern x VSV cells, "
              f"{joint['coefs']} coefficients + 70 unit effects, {args.joint_draws} warm-up + "
              f"{args.joint_draws} draws: {joint['wall_s']:.0f} s (data preparation "
              f"{joint['prepare_s']:.0f} s); peak RSS {joint['peak_rss_mb']:.0f} MB; "
              f"{_conv(joint['convergence'])}   target < 600 s")


if __name__ == "__main__":
    main()
