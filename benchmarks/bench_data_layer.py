"""Benchmark: read + validate + derive indicators for 1,000,000 synthetic births.

Target (issue 2): under 10 s wall time and under 2 GB peak memory on a 2-core machine.
Each measurement runs in a fresh process so that peak RSS belongs to that step alone.

Usage: ``python benchmarks/bench_data_layer.py [--n-births N]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MEASURE = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from casemix import derive_indicators, indicator_rates, load_births
t_import = time.perf_counter()
report = load_births(sys.argv[1])
t_valid = time.perf_counter()
flags = derive_indicators(report.births)
table, log = indicator_rates(report.births, ["vsv", "municipality"], flags=flags)
t_end = time.perf_counter()
print(json.dumps({
    "rows": len(report.births),
    "import_s": t_import - t0,
    "read_validate_s": t_valid - t_import,
    "derive_and_rates_s": t_end - t_valid,
    "total_s_excl_import": t_end - t_import,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-births", type=int, default=1_000_000)
    args = parser.parse_args()
    from casemix.simulation import simulate_cohort

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        cohort = simulate_cohort(args.n_births)
        print(f"simulate {args.n_births:,} births: {time.perf_counter() - t0:.1f} s")
        paths = {"parquet": Path(tmp) / "births.parquet", "csv": Path(tmp) / "births.csv"}
        cohort.births.to_parquet(paths["parquet"], index=False)
        cohort.births.to_csv(paths["csv"], index=False)
        del cohort
        print(f"{'format':8s} {'rows':>9s} {'read+validate':>14s} {'derive+rates':>13s} "
              f"{'total':>7s} {'peak RSS':>9s}  target: total < 10 s, peak < 2048 MB")
        for fmt, path in paths.items():
            out = subprocess.run([sys.executable, "-c", MEASURE, str(path)], check=True,
                                 capture_output=True, text=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{fmt:8s} {r['rows']:9,d} {r['read_validate_s']:13.2f}s "
                  f"{r['derive_and_rates_s']:12.2f}s {r['total_s_excl_import']:6.2f}s "
                  f"{r['peak_rss_mb']:7.0f} MB")


if __name__ == "__main__":
    main()
