"""Route 15 of issue 13: the threshold applies to births, not to weighted sums.

With case weight 1.2, a unit of 9 births has a weighted n of 10.8; it must still be hidden.
The unweighted events and births are published beside the weighted ones (the unweighted base),
so that the audit can check the rule from the files; it finds a row of 9 births put back.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from casemix.models import CaseMixModel, load_spec
from casemix.models.disclosed import disclose_run
from casemix.simulation import simulate_cohort
from casemix.workflow.audit import audit_files

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def weighted():
    births = simulate_cohort(n_births=20_000, seed=3).births
    births["w"] = 1.2
    spec = dataclasses.replace(load_spec(ROOT / "models" / "big2.toml"), weights="w",
                               levels=("vsv", "municipality"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = CaseMixModel(spec, method="pooled").fit(births)
        return births, disclose_run(result, births).units


def test_rows_of_fewer_than_ten_births_are_hidden(weighted):
    births, units = weighted
    counts = births.groupby("municipality").size()  # independent: plain pandas on the births
    main = units[(units["level"] == "municipality") & (units["stratum"] == "all")]
    shown = main[main["n"].notna()].set_index("unit")
    assert (counts.reindex(shown.index) >= 10).all()
    weighted_only = main[(main["n"] >= 10) & main["n_unweighted"].isna()]
    small = counts[(counts < 10) & (counts * 1.2 >= 10)]
    assert len(small)  # the cohort has units the weighted rule would have published
    assert set(small.index) <= set(main.loc[main["n"].isna(), "unit"]) | set(
        weighted_only["unit"])


def test_events_threshold_is_on_births(weighted):
    _, units = weighted
    shown = units[units["observed"].notna()]
    assert shown["events_unweighted"].ge(10).all()
    assert (shown["n_unweighted"] - shown["events_unweighted"]).ge(10).all()


def test_audit_passes_and_finds_nine_births_put_back(weighted, tmp_path):
    _, units = weighted
    units.to_csv(tmp_path / "units.csv", index=False)
    assert audit_files([tmp_path]).ok
    planted = units.copy()
    row = planted.index[planted["n"].isna()][0]
    planted.loc[row, ["n", "n_unweighted"]] = [10.8, 9]
    planted.to_csv(tmp_path / "units.csv", index=False)
    findings = audit_files([tmp_path]).findings
    assert findings["route"].str.contains("count below 10 shown").any()
    assert np.isin("n_unweighted", findings["column"])
    assert pd.notna(findings["lower"]).any()
