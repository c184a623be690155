"""Benchmark: linked-table suppression of a national run.

Target (disclosure issue): suppressing a run of 1,000,000 births with municipality, VSV and
GGD-region levels, by year and stratified, in under 30 s on 2 cores; and the audit of its
exported files without the true counts.

Usage: ``python benchmarks/bench_disclosure.py [--n-births N] [--stratify COLUMN]``
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
import warnings
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-births", type=int, default=1_000_000)
    parser.add_argument("--stratify", default="plurality")
    args = parser.parse_args()
    from casemix import CaseMixModel, load_spec, save_run, simulate_cohort
    from casemix.models.disclosed import disclose_run
    from casemix.workflow.audit import audit_files

    warnings.simplefilter("ignore")
    years = tuple(range(2019, 2025))
    births = simulate_cohort(args.n_births, years=years).births
    spec = dataclasses.replace(load_spec("models/big2.toml"),
                               levels=("municipality", "vsv", "ggd_region"), by_year=True,
                               stratify=(args.stratify,))
    result = CaseMixModel(spec).fit(births)
    print(f"{args.n_births:,} births {years[0]}-{years[-1]}, levels {spec.levels}, by year, "
          f"stratified by {args.stratify}: {len(result.units):,} unit-table rows")
    t = time.perf_counter()
    disclosed = disclose_run(result, births)
    seconds = time.perf_counter() - t
    hidden = int(disclosed.units["observed"].isna().sum())
    print(f"  linked suppression (units, funnels, direct, 5 subgroup tables): {seconds:.1f} s; "
          f"{hidden:,} unit rows with a hidden count   target < 30 s")
    with tempfile.TemporaryDirectory() as tmp:
        folder = save_run(result, Path(tmp) / "run", births=births)
        exported = [p for p in folder.iterdir() if p.suffix == ".csv"
                    and p.name not in ("suppression_log.csv", "coefficients.csv")]
        t = time.perf_counter()
        audit = audit_files(exported)
        print(f"  audit of the {len(exported)} exported files without the true counts: "
              f"{time.perf_counter() - t:.1f} s, {audit.n_hidden:,} hidden counts, "
              f"{'passes' if audit.ok else f'{len(audit.findings)} findings'}")


if __name__ == "__main__":
    main()
