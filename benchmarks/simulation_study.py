"""Simulation study: how well each method recovers known unit effects (prints a table).

Two scenarios on the synthetic national cohort (Big2, VSV level, the shipped big2 spec):

- ``realistic``: VSV effects ~ N(0, 0.12^2) plus municipality effects and 4 planted outliers
  (+-0.45 on the log-odds);
- ``null+outliers``: no unit variation except the 4 planted outliers, so every other flag is a
  false alarm.

Per method: RMSE of log(estimated ratio) against log(true O/E), coverage of the 95% intervals,
planted outliers flagged in the right direction (95% interval excludes 1), and false alarms
(units whose 95% interval excludes 1 on the wrong side of the truth, or, in the null
scenario, any flagged unit that is not a planted outlier). Then the headline verdict
(``flag_95``/``flag_998``, unusual beyond the between-unit variation): planted outliers it
flags in the right direction at 99.8% (``verdict_outliers_998``, a count out of 4), and its
false-alarm rate, any headline flag on a unit that is not a planted outlier, at 99.8% and 95%
(``verdict_false_998``, ``verdict_false_95``), next to the same rate for the old definition
(``interval_false_95``: the 95% interval excludes 1).

Bayesian methods (``bayes``, ``bayes-joint``, ``bym2`` on the VSV neighbour graph of the
synthetic geography) sample 2 chains x (500 warm-up + 500 draws).

Usage: ``python benchmarks/simulation_study.py [--reps R] [--n-births N] [--methods a,b]``
"""

from __future__ import annotations

import argparse
import dataclasses
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from casemix import CaseMixModel, load_spec, simulate_cohort
from casemix.bayes import Adjacency, SamplerSettings

SPEC = Path(__file__).resolve().parents[1] / "models" / "big2.toml"
METHODS = ("pooled", "fixed", "glmm", "eb", "fay-herriot", "bayes", "bayes-joint", "bym2")
SCENARIOS = {"realistic": {}, "null+outliers": {"vsv_sd": 0.0, "municipality_sd": 0.0,
                                               "n_municipality_outliers": 0}}


def _estimates(units: pd.DataFrame, method: str) -> pd.DataFrame:
    if method in ("pooled", "fixed"):
        cols = {"oe": "est", "oe_lower": "lower", "oe_upper": "upper"}
    else:
        cols = {"shrunk_oe": "est", "shrunk_lower": "lower", "shrunk_upper": "upper"}
    return units.rename(columns=cols)[["unit", "est", "lower", "upper", "flag_95", "flag_998"]]


def _score(est: pd.DataFrame, truth: pd.DataFrame, null: bool) -> dict[str, float]:
    j = est.merge(truth, on="unit")
    flag = np.where(j["lower"] > 1, "above", np.where(j["upper"] < 1, "below", "within"))
    planted = j["outlier"] != "none"
    if null:
        false = (flag != "within") & ~planted
    else:
        false = ((flag == "above") & (j["true_oe"] <= 1)) | ((flag == "below") & (
            j["true_oe"] >= 1))
    return {
        "rmse_log": float(np.sqrt(np.mean((np.log(j["est"]) - np.log(j["true_oe"])) ** 2))),
        "coverage": float(((j["lower"] <= j["true_oe"]) & (j["true_oe"] <= j["upper"])).mean()),
        "outliers_flagged": float((flag[planted] == j.loc[planted, "outlier"]).mean()),
        "false_alarms": float(false.mean()),
        "verdict_outliers_998": float((j.loc[planted, "flag_998"] == j.loc[planted,
                                                                        "outlier"]).sum()),
        "verdict_false_998": float((j.loc[~planted, "flag_998"] != "within").mean()),
        "verdict_false_95": float((j.loc[~planted, "flag_95"] != "within").mean()),
        "interval_false_95": float((flag[~planted] != "within").mean()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--n-births", type=int, default=170_000)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--vsv-sd", type=float, default=None,
                        help="between-VSV SD of the realistic scenario (default: the "
                             "simulator's 0.12)")
    args = parser.parse_args()
    if args.vsv_sd is not None:
        SCENARIOS["realistic"] = {"vsv_sd": args.vsv_sd}
    methods = args.methods.split(",")
    spec = dataclasses.replace(load_spec(SPEC), levels=("vsv",))
    rows = []
    started = time.perf_counter()
    for scenario, options in SCENARIOS.items():
        for rep in range(args.reps):
            cohort = simulate_cohort(args.n_births, seed=1000 + rep, **options)
            truth = cohort.truth.query("level == 'vsv' and indicator == 'big2'")[
                ["unit", "true_oe", "outlier"]]
            assert cohort.geography is not None
            adjacency = Adjacency.from_pairs(
                cohort.geography.neighbours("vsv").itertuples(index=False))
            for method in methods:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    bayesian = method in ("bayes", "bayes-joint", "bym2")
                    settings = {
                        **({"adjacency": adjacency} if method == "bym2" else {}),
                        **({"sampler": SamplerSettings(draws=500, tune=500, seed=rep)}
                           if bayesian else {})}
                    result = CaseMixModel(spec, method=method, seed=rep, **settings).fit(
                        cohort.births)
                units = result.unit_table.main("vsv")
                score = _score(_estimates(units, method), truth, scenario != "realistic")
                rows.append({"scenario": scenario, "method": method, "rep": rep, **score})
    table = pd.DataFrame(rows).groupby(["scenario", "method"], sort=False).mean(
        numeric_only=True).drop(columns="rep")
    print(f"{args.reps} replications of {args.n_births:,} births, 70 VSVs (Big2), "
          f"{time.perf_counter() - started:.0f} s")
    print(table.to_string(float_format=lambda x: f"{x:.3f}"))


if __name__ == "__main__":
    main()
