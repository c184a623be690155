"""``casemix simulate --nonresponse --register-margins``: the respondents are a subset of the
simulated cohort, and the margins count every birth of it (checked with plain pandas on the
same cohort simulated in Python)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from casemix.cli.main import app
from casemix.simulation import simulate_cohort

runner = CliRunner()


def test_respondents_and_register_margins(tmp_path):
    out, margins = tmp_path / "respondents.parquet", tmp_path / "margins.csv"
    result = runner.invoke(app, ["simulate", "--out", str(out), "--n-births", "20000",
                                 "--seed", "5", "--nonresponse", "--register-margins",
                                 str(margins)])
    assert result.exit_code == 0, result.output
    population = simulate_cohort(20_000, seed=5).births
    respondents = pd.read_parquet(out)
    assert 0.8 * len(population) < len(respondents) < 0.95 * len(population)
    assert set(respondents["birth_id"]) < set(population["birth_id"])
    table = pd.read_csv(margins, dtype=str)
    totals = table.assign(total=table["total"].astype(float)).groupby("margin")["total"].sum()
    assert (totals == len(population)).all()
    cross = table[table["margin"] == "vsv:income_quintile"]
    vsv = cross["value"].str.split(":").str[0]
    by_vsv = cross.assign(vsv=vsv, total=cross["total"].astype(float)).groupby("vsv")["total"]
    np.testing.assert_array_equal(by_vsv.sum().sort_index(),
                                  population.groupby("vsv").size().sort_index())
    assert "Non-response" in result.output
