"""Shared births and disclosure: the threshold applies to births, each shared birth counting
in every unit it is shared with; the exported run folder passes ``casemix audit``, and the
audit finds a hidden count put back.

Independent reference: the unweighted births of a unit counted with plain pandas on the
births and the assignment table.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from casemix.indicators import derive_indicators
from casemix.models import CaseMixModel, load_spec
from casemix.models.runs import load_run, reproduce_run, save_run
from casemix.simulation import simulate_cohort
from casemix.workflow.audit import audit_files
from casemix.workflow.export import export_run

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    births = simulate_cohort(n_births=25_000, seed=11).births
    vsvs = sorted(births["vsv"].unique())
    # 6 births of the first VSV shared with a VSV of its own: 3 weighted births, 6 births
    ids = births.loc[births["vsv"] == vsvs[0], "birth_id"].head(6)
    more = births.loc[births["vsv"] == vsvs[1], "birth_id"].head(300)
    shares = pd.concat([
        pd.DataFrame({"birth_id": ids, "level": "vsv", "unit": vsvs[0], "share": 0.5}),
        pd.DataFrame({"birth_id": ids, "level": "vsv", "unit": "VSV99", "share": 0.5}),
        pd.DataFrame({"birth_id": more, "level": "vsv", "unit": vsvs[1], "share": 0.3}),
        pd.DataFrame({"birth_id": more, "level": "vsv", "unit": vsvs[2], "share": 0.7})])
    spec = dataclasses.replace(load_spec(ROOT / "models" / "big2.toml"),
                               levels=("vsv", "municipality"))
    folder = tmp_path_factory.mktemp("shared")
    data = folder / "births.parquet"
    births.to_parquet(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = CaseMixModel(spec, method="eb").fit(births, shares=shares)
        run = save_run(result, folder / "run", births=births, data_file=data)
        audit = export_run(run, folder / "export")
    return births, shares, run, folder / "export", audit


def test_unweighted_births_count_each_shared_birth_in_each_unit(shared):
    births, shares, run, _, _ = shared
    units = pd.read_csv(run / "units.csv", dtype={"unit": str, "period": str})
    vsv = units[(units["level"] == "vsv") & (units["stratum"] == "all")].set_index("unit")
    # by hand: births of the unit's column not shared, plus every birth shared with it
    analysed = births[derive_indicators(births, ["big2"]).flags["big2"].notna().to_numpy()]
    ids = set(shares["birth_id"])
    own = analysed[~analysed["birth_id"].isin(ids)].groupby("vsv").size()
    extra = shares[shares["birth_id"].isin(analysed["birth_id"])].groupby("unit").size()
    expected = own.add(extra, fill_value=0)
    shown = vsv[vsv["n_unweighted"].notna()]
    np.testing.assert_array_equal(shown["n_unweighted"], expected.reindex(shown.index))
    assert vsv["assignment"].eq("shared").all()
    assert pd.isna(vsv.loc["VSV99", "n"])  # 6 births (3 weighted): hidden
    municipality = units[units["level"] == "municipality"]
    assert municipality["assignment"].eq("single").all()


def test_the_export_passes_the_audit_and_a_planted_count_is_found(shared, tmp_path):
    _, _, _, export, audit = shared
    assert audit.ok, audit.findings
    units = pd.read_csv(export / "units.csv", dtype={"unit": str, "period": str})
    planted = units.copy()
    row = planted.index[(planted["unit"] == "VSV99")][0]
    planted.loc[row, ["n", "n_unweighted"]] = [3.0, 6]
    planted.to_csv(tmp_path / "units.csv", index=False)
    findings = audit_files([tmp_path]).findings
    assert findings["route"].str.contains("count below 10 shown").any()


def test_the_run_records_its_shares_and_reproduces(shared):
    births, _, run, _, _ = shared
    manifest = load_run(run).manifest
    assert manifest["shares"]["births_shared"] == {"vsv": 306}
    assert manifest["weights"] is None
    assert "shares.csv" not in {p.name for p in (run.parent / "export").iterdir()}
    reproduce_run(run, births)
