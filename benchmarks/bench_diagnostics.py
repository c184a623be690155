"""Benchmark: all calibration and funnel diagnostics for 1,000,000 births.

Target (diagnostics issue): under 20 s on 2 cores. Times, after fitting the big2 model:
overall statistics (CITL, slope, ICI/E50/E90/Emax, Brier, C with DeLong CI, Spiegelhalter z),
the spline calibration curve with band, calibration per VSV (O/E and slopes, pooled by
random-effects meta-analysis), per subgroup (income, migration background, education, parity,
plurality), and the funnel plot with over-dispersion.

Usage: ``python benchmarks/bench_diagnostics.py [--n-births N]``
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

from casemix import CaseMixModel, load_spec, simulate_cohort

SPEC = Path(__file__).resolve().parents[1] / "models" / "big2.toml"
SUBGROUPS = ("income_quintile", "migration_background", "education", "parity", "plurality")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-births", type=int, default=1_000_000)
    args = parser.parse_args()
    births = simulate_cohort(args.n_births, years=tuple(range(2019, 2025))).births
    result = CaseMixModel(load_spec(SPEC)).fit(births)
    steps = {
        "overall statistics": result.calibration,
        "calibration curve (spline, band)": result.calibration_curve,
        "per VSV (O/E, slopes, meta-analysis)": lambda: result.calibration_by(births, "vsv"),
        "per subgroup (5 variables)": lambda: [result.calibration_by(births, c)
                                               for c in SUBGROUPS],
        "funnel (log scale, over-dispersion)": result.funnel,
    }
    total = 0.0
    print(f"{result.n_analysed:,} births analysed")
    for name, step in steps.items():
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            step()
        elapsed = time.perf_counter() - t
        total += elapsed
        print(f"  {name:40s} {elapsed:6.2f} s")
    print(f"  {'all diagnostics':40s} {total:6.2f} s   target < 20 s")


if __name__ == "__main__":
    main()
