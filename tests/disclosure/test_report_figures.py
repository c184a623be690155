"""Route 11 of issue 13: the report's calibration-by-income figure drew suppressed groups with
their exact interval (the Garwood interval of O = 2 gives O back). Only published groups may
be drawn: the figure gets the disclosed table without its suppressed rows."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import casemix.report.build as build
from casemix.models import CaseMixModel, load_spec
from casemix.simulation import simulate_cohort

ROOT = Path(__file__).resolve().parents[2]


def test_suppressed_income_groups_are_not_drawn(monkeypatch):
    births = simulate_cohort(n_births=6_000, seed=4).births
    spec = dataclasses.replace(load_spec(ROOT / "models" / "big2.toml"), levels=("vsv",))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = CaseMixModel(spec).fit(births)
    drawn: list[set[str]] = []
    hidden: list[set[str]] = []
    original_disclose = build.disclose_run

    def disclose_with_a_hidden_group(*args, **kwargs):  # a small income group, as planted
        run = original_disclose(*args, **kwargs)
        income = run.subgroups["income_quintile"].copy()
        income.loc[income.index[0], ["observed", "oe", "suppressed"]] = [None, None, True]
        hidden.append(set(income.loc[income["suppressed"], "group"].astype(str)))
        return dataclasses.replace(run, subgroups={**run.subgroups, "income_quintile": income})

    import casemix.calibration

    class Recorder(casemix.calibration.GroupCalibration):
        def plot(self, ax):
            drawn.append(set(self.table["group"].astype(str)))
            return super().plot(ax)

    monkeypatch.setattr(build, "disclose_run", disclose_with_a_hidden_group)
    monkeypatch.setattr(casemix.calibration, "GroupCalibration", Recorder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        build.build_report(result, births)
    assert drawn and hidden and hidden[0]
    assert not drawn[0] & hidden[0]
    assert drawn[0]  # the published groups are still drawn
