"""How well O/E recovers the simulated truth on the synthetic cohort (prints a table).

Truth: per unit, the births' true risk against their risk without any unit effect
(``SimulatedCohort.truth``). Usage: ``python benchmarks/recovery.py [--n-births N] [--seed S]``
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from casemix import CaseMixModel, load_spec, simulate_cohort

SPEC = Path(__file__).resolve().parents[1] / "models" / "big2.toml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-births", type=int, default=170_000)
    parser.add_argument("--seed", type=int, default=20261123)
    args = parser.parse_args()
    cohort = simulate_cohort(args.n_births, seed=args.seed)
    print(f"{'method':7s} {'level':12s} {'units':>5s} {'corr':>6s} {'planted 95%':>11s} "
          f"{'planted 99.8%':>13s} {'others 95%':>10s} {'coverage':>8s}")
    for method in ("pooled", "fixed"):
        result = CaseMixModel(load_spec(SPEC), method=method).fit(cohort.births)
        for level in ("vsv", "municipality"):
            units = result.units.query("level == @level").set_index("unit")
            truth = cohort.truth.query("level == @level and indicator == 'big2'")
            j = units.join(truth.set_index("unit")[["true_oe", "outlier"]])
            corr = np.corrcoef(np.log(j["oe"]), np.log(j["true_oe"]))[0, 1]
            planted = j[j["outlier"] != "none"]
            hit95 = int((planted["flag_95"] == planted["outlier"]).sum())
            hit998 = int((planted["flag_998"] == planted["outlier"]).sum())
            others = (j.loc[j["outlier"] == "none", "flag_95"] != "within").mean()
            cover = ((j["oe_lower"] <= j["true_oe"]) & (j["true_oe"] <= j["oe_upper"])).mean()
            print(f"{method:7s} {level:12s} {len(j):5d} {corr:6.3f} {hit95:>7d}/{len(planted)}"
                  f"   {hit998:>9d}/{len(planted)}   {others:10.1%} {cover:8.1%}")
    print("corr: correlation of log O/E with log true O/E; planted: planted outliers flagged in "
          "their direction; others 95%: other units flagged (they have real, smaller effects); "
          "coverage: share of 95% intervals containing the true O/E.")


if __name__ == "__main__":
    main()
