"""Benchmark: raking and post-stratifying 1,000,000 births to register margins.

Target (non-response weights issue): weighting 1,000,000 births under 10 s on a 2-core
machine. 1,000,000 respondents of a simulated cohort with non-response
(:func:`casemix.simulation.apply_nonresponse`); margins from the cohort: VSV x income
quintile (70 x 6 cells, with ``missing``), maternal-age bands (5), parity (0, 1, 2, 3+).
Raking, post-stratification on VSV x income quintile, strict trimming, and Kish design
effects per VSV and municipality.
Times exclude simulating the cohort. Last, ``casemix weights`` end to end on a Parquet file
of the respondents (read and validate, rake to VSV, age bands and parity, strict trimming,
write the births and the disclosure-controlled report), in a fresh process.

Usage: ``python benchmarks/bench_weights.py [--n-births N]``
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from casemix.simulation import apply_nonresponse, register_margins, simulate_cohort
from casemix.weighting import Margins, design_effects, poststratify, rake, trim


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-births", type=int, default=1_000_000)
    args = parser.parse_args()
    t0 = time.perf_counter()
    cohort = simulate_cohort(int(args.n_births * 1.25)).births
    nr = apply_nonresponse(cohort, n_affected=6)
    births = nr.respondents.iloc[:args.n_births]  # the register: the cohort's first rows
    population = cohort[cohort["birth_id"].isin(births["birth_id"])
                        | ~cohort["birth_id"].isin(nr.respondents["birth_id"])]
    base = register_margins(population)
    parity = population["parity"].clip(upper=3).value_counts().sort_index()
    frame = pd.concat([base.to_frame(), pd.DataFrame({
        "margin": "parity", "value": ["0", "1", "2", "3+"], "total": parity.to_numpy()})])
    margins = Margins.from_frame(frame)
    cross = Margins((base.margins[0],))
    print(f"simulate {len(cohort):,} births and non-response; weighting the first "
          f"{len(births):,} respondents: {time.perf_counter() - t0:.1f} s")
    print(f"{'step':34s} {'time':>7s}  target: weighting {args.n_births:,} births < 10 s")
    timings = {}
    t = time.perf_counter()
    raked = rake(births, margins)
    timings[f"rake (3 margins, {raked.iterations} cycles)"] = time.perf_counter() - t
    t = time.perf_counter()
    poststratify(births, cross)
    timings["poststratify (vsv x income)"] = time.perf_counter() - t
    t = time.perf_counter()
    trimmed = trim(raked.weights, 0.5 * raked.weights.mean(), 2.0 * raked.weights.mean(),
                   strict=True)
    timings[f"trim (strict, {trimmed.n_lower + trimmed.n_upper:,} trimmed)"] = (
        time.perf_counter() - t)
    t = time.perf_counter()
    d = design_effects(raked.weights, by=births[["vsv", "municipality"]])
    timings["design effects (vsv, municipality)"] = time.perf_counter() - t
    for step, s in timings.items():
        print(f"{step:34s} {s:6.2f}s")
    print(f"{'total':34s} {sum(timings.values()):6.2f}s   max relative deviation "
          f"{(raked.fit['deviation'].abs() / raked.fit['target']).max():.1e}, "
          f"deff {d['deff'].iloc[0]:.3f}, peak RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")

    _command(births, population)


def _command(births: pd.DataFrame, population: pd.DataFrame) -> None:
    """``casemix weights`` on a Parquet file, timed in a fresh process."""
    vsv = population.groupby("vsv").size()
    age = register_margins(population).margins[1]
    parity = population["parity"].clip(upper=3).value_counts().sort_index()
    margins = pd.concat([
        pd.DataFrame({"margin": "vsv", "value": vsv.index, "total": vsv.to_numpy()}),
        pd.DataFrame({"margin": age.name, "value": age.values, "total": age.totals}),
        pd.DataFrame({"margin": "parity", "value": ["0", "1", "2", "3+"],
                      "total": parity.to_numpy()})])
    with tempfile.TemporaryDirectory() as tmp:
        data, m = Path(tmp) / "births.parquet", Path(tmp) / "margins.csv"
        births.to_parquet(data, index=False)
        margins.to_csv(m, index=False)
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "casemix.cli", "weights", str(data), "--margins",
                        str(m), "--out", str(Path(tmp) / "weighted.parquet"), "--report",
                        str(Path(tmp) / "report.csv"), "--trim", "0.3", "3"], check=True,
                       capture_output=True)
        print(f"{'casemix weights (end to end)':34s} {time.perf_counter() - t:6.2f}s   "
              f"{len(births):,} births: read, validate, rake, trim, write, report")


if __name__ == "__main__":
    main()
