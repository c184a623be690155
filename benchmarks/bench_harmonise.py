"""Benchmark: harmonise 1,000,000 births to the boundaries of a reference year.

Target (geography issue): under 10 s for 1,000,000 births on a 2-core machine. The births
span 2014..2024 over 400 municipalities with a change every 1 January (three mergers, a
split 60/40, a boundary correction 90/10 and a rename a year, chaining), and carry the code
valid on 1 January of their year, so that a large part of them is recoded. Harmonising to
2024 derives the GGD, care-office and safety regions from a region table. The timing
includes the shares table and the log; reading and writing files are timed apart.

With ``--cli``, also the whole command (``casemix geography harmonise``: read and validate
a Parquet file, harmonise, write the births, shares and log) on a simulated cohort of
2023..2024 with ``--boundary-changes``, in a fresh process.

Usage: ``python benchmarks/bench_harmonise.py [--n-births N] [--repeat K] [--cli]``
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

FIRST, LAST = 2014, 2024


def country(rng: np.random.Generator) -> tuple[pd.DataFrame, dict[int, list[str]]]:
    """A crosswalk of yearly changes and the codes valid in each year."""
    valid = [f"GM{i:04d}" for i in range(1, 401)]
    rows: list[tuple[str, str, str, float]] = []
    by_year = {FIRST: list(valid)}
    serial = 1000
    for year in range(FIRST + 1, LAST + 1):
        date = f"{year}-01-01"
        picked = list(rng.choice(valid, size=10, replace=False))
        for k in range(3):  # mergers of two
            serial += 1
            rows += [(picked[2 * k], f"GM{serial:04d}", date, 1.0),
                     (picked[2 * k + 1], f"GM{serial:04d}", date, 1.0)]
        rows += [(picked[6], f"GM{serial + 1:04d}", date, 0.6),  # split
                 (picked[6], f"GM{serial + 2:04d}", date, 0.4)]
        rows += [(picked[7], picked[7], date, 0.9), (picked[7], picked[8], date, 0.1)]
        gone = set(picked[:7])
        valid = [c for c in valid if c not in gone] + [f"GM{serial - 2 + i:04d}" for i in
                                                      range(3)] + [f"GM{serial + 1:04d}",
                                                                   f"GM{serial + 2:04d}"]
        serial += 2
        renamed = picked[9]  # untouched by the other changes of the year
        valid.remove(renamed)
        serial += 1
        rows.append((renamed, f"GM{serial:04d}", date, 1.0))
        valid.append(f"GM{serial:04d}")
        by_year[year] = list(valid)
    return pd.DataFrame(rows, columns=["old_code", "new_code", "date", "share"]), by_year


def births_in(rng: np.random.Generator, n: int, by_year: dict[int, list[str]]) -> pd.DataFrame:
    year = rng.integers(FIRST, LAST + 1, size=n)
    code = np.empty(n, dtype=object)
    for y, codes in by_year.items():
        hit = year == y
        code[hit] = np.asarray(codes, dtype=object)[rng.integers(len(codes), size=hit.sum())]
    return pd.DataFrame({"birth_id": [f"B{i:07d}" for i in range(n)], "year": year,
                         "municipality": pd.array(code, dtype="string"),
                         "gestational_age_days": rng.integers(160, 300, size=n),
                         "ggd_region": "old"})


def regions_of(codes: list[str]) -> pd.DataFrame:
    k = np.arange(len(codes))
    return pd.DataFrame({"municipality": codes, "year": LAST,
                         "ggd_region": [f"GGD{i % 25:02d}" for i in k],
                         "care_office_region": [f"ZK{i % 31:02d}" for i in k],
                         "safety_region": [f"VR{i % 25:02d}" for i in k]})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-births", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cli", action="store_true", help="also time the whole command")
    args = parser.parse_args()
    from casemix.geography import Crosswalk, RegionTable, harmonise

    rng = np.random.default_rng(1)
    table, by_year = country(rng)
    crosswalk = Crosswalk.from_frame(table)
    regions = RegionTable.from_frame(regions_of(by_year[LAST]))
    births = births_in(rng, args.n_births, by_year)
    print(f"{args.n_births:,} births {FIRST}..{LAST}, {len(table)} crosswalk rows on "
          f"{len(crosswalk.dates)} dates, {len(by_year[LAST])} municipalities in {LAST}")
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        result = harmonise(births, crosswalk, LAST, regions=regions)
        times.append(time.perf_counter() - t0)
    print(f"harmonise: best {min(times):.2f} s, worst {max(times):.2f} s of {args.repeat} "
          f"(target < 10 s); recoded {result.n_recoded:,}, split {result.n_split:,}; "
          f"shares rows {len(result.shares):,}, log rows {len(result.log):,}")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        result.births.to_parquet(Path(tmp) / "births.parquet", index=False)
        result.shares.to_csv(Path(tmp) / "shares.csv", index=False)
        result.log.to_csv(Path(tmp) / "recoded.csv", index=False)
        print(f"write births (parquet), shares and log (CSV): {time.perf_counter() - t0:.2f} s")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the process: {peak:,.0f} MB")
    if args.cli:
        command(args.n_births)


def command(n_births: int) -> None:
    """Time ``casemix geography harmonise`` end to end in a fresh process."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cohort.parquet"
        subprocess.run([sys.executable, "-m", "casemix.cli", "simulate", "--out", str(out),
                        "--n-births", str(n_births), "--year", "2023", "--year", "2024",
                        "--boundary-changes"], check=True, capture_output=True)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "casemix.cli", "geography", "harmonise",
                        str(out), "--crosswalk", str(out.with_name("cohort_crosswalk.csv")),
                        "--regions", str(out.with_name("cohort_regions.csv")),
                        "--reference-year", "2024", "--out", str(Path(tmp) / "h.parquet")],
                       check=True, capture_output=True)
        print(f"casemix geography harmonise, {n_births:,} births (read, validate, harmonise, "
              f"write; with the start of Python): {time.perf_counter() - t0:.2f} s")


if __name__ == "__main__":
    main()
