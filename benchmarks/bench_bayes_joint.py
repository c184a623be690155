"""Benchmark: the one-stage model (``--method bayes-joint``) on the demo cohort (2 cores).

Target (issue 14): ``casemix fit models/big2.toml --method bayes-joint`` on the 170,000-birth
demo cohort in under 3 minutes with its default sampler settings, passing its convergence
checks at every level. Prints the gradient time of PyMC's compiled graph against the
compiled density that nutpie samples (:mod:`casemix.bayes.joint_density`), then the whole
fit per level.

Usage: ``python benchmarks/bench_bayes_joint.py [--n-births N] [--skip-fit]``
"""

from __future__ import annotations

import argparse
import time
import warnings

import casemix.bayes.joint as joint
from casemix.bayes.joint_density import JointDensity
from casemix.models import CaseMixModel, load_spec
from casemix.simulation.cohort import simulate_cohort


def _per_call_ms(f, x, repeat: int = 50) -> float:
    f(x)
    t = time.perf_counter()
    for _ in range(repeat):
        f(x)
    return (time.perf_counter() - t) / repeat * 1e3


def _capture_cells(births, spec) -> list[tuple]:
    """The (X, pattern, unit, y, m, units) of each level, as the fit passes them (the fit
    itself runs with 5 draws)."""
    from casemix.bayes.settings import SamplerSettings

    captured, original = [], joint.fit_joint

    def capture(X, pattern, unit, y, m, **kw):
        captured.append((X, pattern, unit, y, m, kw["units"]))
        return original(X, pattern, unit, y, m, **kw)

    joint.fit_joint = capture
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            CaseMixModel(spec, method="bayes-joint",
                         sampler=SamplerSettings(draws=5, tune=5, chains=1)).fit(births)
    finally:
        joint.fit_joint = original
    return captured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-births", type=int, default=170_000)
    parser.add_argument("--skip-fit", action="store_true")
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    births = simulate_cohort(args.n_births, seed=20261123).births
    spec = load_spec("models/big2.toml")
    for X, pattern, unit, y, m, units in _capture_cells(births, spec):
        mode, chol, sigma = joint.laplace_start(X, pattern, unit, y, m, len(units))
        # timed at the Laplace mode: the logistic terms' branches then vary as in sampling
        model = joint.joint_model(X, pattern, unit, y, m, units=units,
                                  names=[f"b{i}" for i in range(X.shape[1])],
                                  start=(mode, chol))
        density = JointDensity.build(X, pattern, unit, y, m, mode, chol)
        point = model.initial_point()
        with threadpool_limits(limits=1, user_api="blas"):
            graph = _per_call_ms(model.compile_fn([model.logp(), model.dlogp()],
                                                  mode="NUMBA"), point)
            compiled = _per_call_ms(density, density.start(sigma))
        print(f"{len(y):,} cells, {len(units)} units, {X.shape[1]} coefficients: log density "
              f"and gradient {graph:.1f} ms (PyMC graph, numba) vs {compiled:.1f} ms (compiled "
              "density), one thread")
    if args.skip_fit:
        return
    t = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = CaseMixModel(spec, method="bayes-joint").fit(births)
    wall = time.perf_counter() - t
    for level, fit in result.bayes.items():
        c = fit.convergence
        print(f"level {level}: R-hat {c.max_rhat:.4f}, ESS bulk {c.min_ess_bulk:.0f}, tail "
              f"{c.min_ess_tail:.0f}, {c.divergences} divergences; checks "
              f"{'passed' if c.ok else 'FAILED: ' + '; '.join(c.problems)}")
    sampling = [str(w.message) for w in caught if "convergence" in str(w.message)]
    print(f"bayes-joint fit of {args.n_births:,} births: {wall:.0f} s "
          f"({len(sampling)} convergence warnings)")


if __name__ == "__main__":
    main()
