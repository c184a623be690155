"""Routes 3 and 4 of issue 13 on ``casemix indicators --out``: denominators that nest between
indicators (live births = births - stillbirths; perinatal = fetal + neonatal deaths) and
regions that contain municipalities must not give a hidden count back by subtraction.

(a) the table written by the CLI resists both routes (checked with plain pandas arithmetic,
not the package's relation builder), and passes ``casemix audit``; (b) the table-by-table
suppression the package used before is caught by the audit on both routes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from casemix.cli import app
from casemix.disclosure import suppress_counts
from casemix.indicators import indicator_rates
from casemix.records import load_births
from casemix.workflow.audit import audit_files

runner = CliRunner()
LEVELS = ["vsv", "municipality", "ggd_region"]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    folder = tmp_path_factory.mktemp("indicators")
    cohort = folder / "cohort.parquet"
    assert runner.invoke(app, ["simulate", "--out", str(cohort), "--n-births", "40000",
                               "--seed", "11"]).exit_code == 0
    out = folder / "rates.csv"
    args = ["indicators", str(cohort), "--out", str(out)]
    for level in LEVELS:
        args += ["--by", level]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    raw, _ = indicator_rates(load_births(cohort).births, LEVELS, threshold=None)
    return out, raw


def _wide(table: pd.DataFrame, column: str) -> pd.DataFrame:
    return table.pivot_table(index=["level", "unit"], columns="indicator", values=column,
                             aggfunc="first")


def test_written_table_passes_the_audit(written):
    out, _ = written
    files = [out, out.with_name("rates_exclusions.csv"), out.with_name("rates_geography.csv")]
    assert files[2].is_file()  # municipalities nest in GGD regions: public, for the audit
    result = audit_files(files)
    assert result.ok, result.findings.head(20).to_string()
    assert result.n_hidden > 100


def test_nested_denominators_give_nothing_back(written):
    """Route 3: births - live births = stillbirths; perinatal - fetal = neonatal (the
    perinatal window of the default monitor-2022 definitions is 28 days)."""
    out, raw = written
    table = pd.read_csv(out)
    den, num = _wide(table, "denominator"), _wide(table, "numerator")
    true = _wide(raw, "numerator")
    fetal_hidden = num["fetal_death"].isna() & (true["fetal_death"] > 0)
    assert fetal_hidden.sum() > 20
    recovered = den["fetal_death"] - den["neonatal_death_7d"]
    assert recovered[fetal_hidden].isna().all()
    neonatal = num["perinatal_mortality"] - num["fetal_death"]
    small = (true["neonatal_death_28d"] > 0) & (true["neonatal_death_28d"] < 10)
    assert small.sum() > 5
    assert neonatal[small & num["neonatal_death_28d"].isna()].isna().all()


def test_region_minus_its_municipalities_gives_nothing_back(written):
    """Route 4: a GGD region's count minus its published municipalities."""
    out, _ = written
    table = pd.read_csv(out)
    geography = pd.read_csv(out.with_name("rates_geography.csv"), dtype=str)
    parent = dict(zip(geography["child"], geography["parent"], strict=True))
    muni = table[table["level"] == "municipality"].assign(
        region=lambda t: t["unit"].map(parent))
    region = table[table["level"] == "ggd_region"].set_index(["unit", "indicator"])
    for (code, indicator), t in muni.groupby(["region", "indicator"]):
        hidden = t["numerator"].isna()
        total = region.loc[(code, indicator), "numerator"]
        if hidden.sum() == 1 and pd.notna(total):
            rest = total - t.loc[~hidden, "numerator"].sum()
            assert not 0 < rest < 10, (code, indicator)


def test_table_by_table_suppression_is_caught(written, tmp_path):
    """Both routes put back: the old per-table suppression, audited with the geography."""
    out, raw = written
    old, _ = suppress_counts(raw.drop(columns="suppressed"))
    old.to_csv(tmp_path / "rates.csv", index=False)
    geography = out.with_name("rates_geography.csv")
    (tmp_path / "rates_geography.csv").write_bytes(geography.read_bytes())
    findings = audit_files([tmp_path / "rates.csv", tmp_path / "rates_geography.csv"]).findings
    rows = findings["row"].str.split(" ", expand=True)
    assert set(rows[2]) >= {"fetal_death", "neonatal_death_7d"}
    assert set(rows[0]) & {"municipality", "ggd_region"}
    assert np.all(findings["upper"] < 10)


def test_nested_events_difference_is_a_count(tmp_path, written):
    """Route 5: 28-day minus 7-day neonatal deaths are the late neonatal deaths. A table that
    shows both with a difference of 3 fails the audit; the writer's own output passes and
    never shows a nested difference of 1..9."""
    rows = []
    for unit, n7, n28 in (("A", 20, 23), ("B", 30, 45)):
        for ind, num in (("neonatal_death_7d", n7), ("neonatal_death_28d", n28)):
            rows.append(("vsv", unit, ind, num, 5000))
    for ind, num in (("neonatal_death_7d", 50), ("neonatal_death_28d", 68)):
        rows.append(("national", "national", ind, num, 10000))
    leaky = pd.DataFrame(rows, columns=["level", "unit", "indicator", "numerator",
                                        "denominator"])
    leaky.to_csv(tmp_path / "leaky.csv", index=False)
    findings = audit_files([tmp_path / "leaky.csv"]).findings
    assert (findings["column"] == "neonatal_death_28d - neonatal_death_7d").any()
    out, _ = written
    table = pd.read_csv(out)
    num = _wide(table, "numerator")
    late = (num["neonatal_death_28d"] - num["neonatal_death_7d"]).dropna()
    assert not ((late > 0) & (late < 10)).any()
