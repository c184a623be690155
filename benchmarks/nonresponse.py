"""Simulation study: non-response that depends on income and the unit biases O/E; raking to
the population register's margins repairs it (docs/weights.md).

The model is big2 without SES adjustment (``spec.without_ses()``: income and education are
no adjusters). Response is 92% everywhere except in the largest VSVs, where births in income
quintiles 1-2 (or without a linked income) respond with ``--low-income-response`` and the
others with 80%. Margins from the full cohort (the register): VSV x income group and
maternal-age bands. Printed: log O/E per affected VSV (full cohort = truth, respondents
unweighted, respondents weighted) and the mean absolute errors.

Usage: ``python benchmarks/nonresponse.py [--n-births N] [--n-affected K] [--seed S]``
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

from casemix.models import load_spec
from casemix.simulation import nonresponse_study, simulate_cohort

SPEC = Path(__file__).resolve().parents[1] / "models" / "big2.toml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-births", type=int, default=1_000_000)
    parser.add_argument("--n-affected", type=int, default=6)
    parser.add_argument("--low-income-response", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    t0 = time.perf_counter()
    births = simulate_cohort(args.n_births, seed=args.seed).births
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the weighted fit's note on its interval method
        table, s = nonresponse_study(births, load_spec(SPEC).without_ses(),
                                     n_affected=args.n_affected,
                                     low_income_response=args.low_income_response)
    print(f"{args.n_births:,} births, response {s['response_rate']:.1%}, raking "
          f"{s['iterations']:.0f} cycles, design effect {s['deff']:.3f} "
          f"({time.perf_counter() - t0:.1f} s)")
    print(f"{'VSV':6s} {'truth':>7s} {'unweighted':>10s} {'weighted':>8s}   (log O/E)")
    for unit, row in table[table["affected"]].iterrows():
        print(f"{unit:6s} {row['truth']:7.3f} {row['unweighted']:10.3f} {row['weighted']:8.3f}")
    print(f"mean abs error of log O/E, {int(table['affected'].sum())} affected VSVs: "
          f"unweighted {s['mae_unweighted']:.3f}, weighted {s['mae_weighted']:.3f}")
    print(f"mean abs error of log O/E, {int((~table['affected']).sum())} other VSVs:    "
          f"unweighted {s['mae_unweighted_other']:.3f}, weighted {s['mae_weighted_other']:.3f}")
    print(f"95% O/E intervals holding the truth, all VSVs: unweighted "
          f"{s['coverage_unweighted']:.0%}, weighted {s['coverage_weighted']:.0%}; weighted "
          f"intervals {s['width_ratio']:.2f} times as wide as frequency weights would claim "
          "(effective sample size)")


if __name__ == "__main__":
    main()
