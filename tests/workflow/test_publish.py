"""``casemix publish``: the StatLine long table of a run, from its disclosure-controlled files.

The expected values are read from ``units.csv`` and ``calibration.csv`` with plain pandas (no
casemix code), and the attacks put true counts of the fit (which only the secure environment
has) back into a published table.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from casemix import simulate_cohort
from casemix.cli import app
from casemix.models import CaseMixModel, load_spec
from casemix.models.disclosed import disclose_run
from casemix.models.runs import save_run
from casemix.workflow.audit import audit_files
from casemix.workflow.export import export_run
from casemix.workflow.publish import statline_table, write_statline
from casemix.workflow.statline import COLUMNS, KEY, encode_statline

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()
#: Measure -> (units.csv value column, lower, upper, factor of the published value).
EXPECTED = {"births": ("n", None, None, 1), "events": ("observed", None, None, 1),
            "expected_events": ("expected", None, None, 1),
            "crude_rate": ("crude_rate", None, None, 100),
            "oe_ratio": ("oe", "oe_lower", "oe_upper", 1),
            "adjusted_rate": ("adjusted_rate", "adjusted_rate_lower", "adjusted_rate_upper", 100),
            "shrunken_oe_ratio": ("shrunk_oe", "shrunk_lower", "shrunk_upper", 1)}


def _fit(births: pd.DataFrame, folder: Path, **options) -> tuple[Path, pd.DataFrame]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = CaseMixModel(load_spec(ROOT / "models" / "big2.toml"), **options).fit(births)
    save_run(result, folder, births=births)
    return folder, result.unit_table.frame


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A run of the spec as it is (pooled), its published table, and the true unit counts."""
    root = tmp_path_factory.mktemp("publish")
    births = simulate_cohort(20_000, seed=11).births
    run, truth = _fit(births, root / "run")
    publish = write_statline(statline_table(run), root / "statline.csv")
    return run, publish, truth


def _units(run: Path) -> pd.DataFrame:
    units = pd.read_csv(run / "units.csv", dtype={"unit": str, "period": str})
    return units[units["stratum"] == "all"]


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"region_code": str, "period": str, "status": str},
                       keep_default_na=False, na_values=[""])


def test_columns_keys_and_values_are_units_csv(fitted):
    run, publish, _ = fitted
    table = _read(publish)
    assert list(table.columns) == COLUMNS
    assert not table.duplicated(KEY).any()
    units = _units(run)
    regions = table[table["region_type"] != "nederland"]
    merged = regions.merge(units, left_on=["region_code", "region_type", "period"],
                           right_on=["unit", "level", "period"], how="left", validate="m:1")
    assert merged["unit_y"].notna().all() and len(merged) == len(regions)
    assert len(regions[regions["measure"] == "births"]) == len(units)  # one row per unit
    for measure, (column, lower, upper, factor) in EXPECTED.items():
        rows = merged[merged["measure"] == measure]
        if column not in units:
            assert rows.empty
            continue
        np.testing.assert_allclose(rows["value"], rows[column] * factor, rtol=0, atol=1e-9)
        for bound, source in (("lower", lower), ("upper", upper)):
            if source is not None:
                np.testing.assert_allclose(rows[bound], rows[source] * factor, atol=1e-9)
    verdict = merged[merged["measure"] == "verdict_95"]
    codes = verdict["flag_95"].map({"below": -1, "within": 0, "above": 1})
    np.testing.assert_array_equal(verdict["value"], codes)
    assert set(table.loc[table["measure"] == "crude_rate", "unit"]) == {"percent"}


def test_national_rows_are_the_calibration_totals(fitted):
    run, publish, _ = fitted
    table = _read(publish).set_index("measure")
    national = table[table["region_code"] == "NL01"]
    total = pd.read_csv(run / "calibration.csv").iloc[0]
    assert set(national["region_type"]) == {"nederland"}
    assert national.loc["births", "value"] == total["n"]
    assert national.loc["events", "value"] == total["events"]
    assert national.loc["crude_rate", "value"] == round(100 * total["events"] / total["n"], 2)


def test_suppressed_cells_are_blank_with_status(fitted):
    run, publish, _ = fitted
    table = _read(publish)
    units = _units(run)
    hidden = set(units.loc[units["observed"].isna(), "unit"])
    assert hidden  # the cohort has suppressed units
    rows = table[table["region_code"].isin(hidden) & (table["measure"] != "births")]
    assert rows[["value", "lower", "upper"]].isna().all().all()
    assert set(rows["status"]) == {"suppressed"}
    no_births = set(units.loc[units["n"].isna(), "unit"])
    births = table[table["region_code"].isin(no_births) & (table["measure"] == "births")]
    assert births["value"].isna().all() and set(births["status"]) == {"suppressed"}
    shown = table[table["status"] != "suppressed"]
    assert shown["value"].notna().all()  # nothing else is blank in this run


def test_unreliable_is_an_oe_interval_wider_than_one(fitted):
    _, publish, _ = fitted
    table = _read(publish)
    oe = table[table["measure"] == "oe_ratio"].dropna(subset=["value"])
    wide = (oe["upper"] - oe["lower"]) > 1.0
    assert wide.any() and (~wide).any()
    assert (oe["status"] == "unreliable").eq(wide).all()
    counts = table[table["measure"].isin(["births", "events"])]
    assert "unreliable" not in set(counts["status"])


def test_audit_passes_alone_and_with_units_csv(fitted):
    run, publish, _ = fitted
    alone = audit_files([publish])
    assert alone.ok, alone.findings
    together = audit_files([publish, run / "units.csv"])
    assert together.ok, together.findings
    # the same cells: the table adds no hidden count to units.csv and its national totals
    assert together.n_hidden == audit_files([run / "units.csv", run / "calibration.csv"]).n_hidden
    exportable = [p for p in run.glob("*.csv") if p.name != "suppression_log.csv"]
    assert audit_files([publish, *exportable]).ok


def _put_back(publish: Path, out: Path, unit: str, measure: str, value: float) -> Path:
    table = _read(publish)
    row = (table["region_code"] == unit) & (table["measure"] == measure)
    assert row.sum() == 1 and table.loc[row, "value"].isna().all()
    table.loc[row, ["value", "status"]] = [value, np.nan]
    table.to_csv(out, index=False)
    return out


def test_a_revealed_small_count_fails(fitted, tmp_path):
    run, publish, truth = fitted
    units = _units(run)
    main = truth[truth["stratum"] == "all"].set_index(["level", "unit"])
    small = [(lv, u) for lv, u in units.loc[units["observed"].isna(), ["level", "unit"]]
             .itertuples(index=False) if 0 < main.loc[(lv, u), "observed"] < 10]
    level, unit = small[0]
    edited = _put_back(publish, tmp_path / "edited.csv", unit, "events",
                       main.loc[(level, unit), "observed"])
    for paths in ([edited], [edited, run / "units.csv"]):
        findings = audit_files(paths).findings
        assert (findings["file"] == "edited.csv").any()
        assert findings["route"].str.contains("count below").any()


def test_a_revealed_secondary_count_fails_by_differencing(tmp_path):
    """A hidden count of 10 or more that protects a small one, shown: the national total
    minus the published units gives the small one back (C = 130 - 60 - 66 = 4)."""
    units = pd.DataFrame({"level": "vsv", "unit": ["A", "B", "C"], "period": "2024",
                          "n": [400, 400, 200], "observed": [np.nan, 66, np.nan]})
    national = pd.DataFrame({"level": "nederland", "unit": ["NL01"], "period": "2024",
                             "n": [1000], "observed": [130]})
    table = pd.concat([encode_statline(national, "big2", region_type="nederland"),
                       encode_statline(units, "big2")], ignore_index=True)
    assert audit_files([write_statline(table, tmp_path / "protected.csv")]).ok
    edited = _put_back(tmp_path / "protected.csv", tmp_path / "edited.csv", "A", "events", 60)
    findings = audit_files([edited]).findings
    leak = findings[findings["route"].str.contains("differencing")]
    assert list(leak["row"]) == ["vsv C 2024 all"] and leak["upper"].max() < 10


def test_events_from_rate_times_births_fail(fitted, tmp_path):
    """A crude rate put back on a row whose events are hidden and births shown: rate x births
    is the count."""
    run, publish, truth = fitted
    units = _units(run)
    main = truth[truth["stratum"] == "all"].set_index(["level", "unit"])
    level, unit = next(units.loc[units["observed"].isna() & units["n"].notna(),
                                 ["level", "unit"]].itertuples(index=False))
    rate = round(100 * main.loc[(level, unit), "observed"] / main.loc[(level, unit), "n"], 2)
    edited = _put_back(publish, tmp_path / "edited.csv", unit, "crude_rate", rate)
    findings = audit_files([edited, run / "units.csv"]).findings
    hits = findings[(findings["file"] == "edited.csv") & (findings["column"] == "crude_rate")]
    assert hits["route"].str.contains("computed from a suppressed count").any()


def test_a_row_marked_suppressed_with_a_value_and_extra_rows_fail(fitted, tmp_path):
    _, publish, _ = fitted
    table = _read(publish)
    row = table.index[(table["status"] == "suppressed") & (table["measure"] == "oe_ratio")][0]
    marked = table.copy()
    marked.loc[row, "upper"] = 2.5
    marked.to_csv(tmp_path / "marked.csv", index=False)
    routes = audit_files([tmp_path / "marked.csv"]).findings["route"]
    assert routes.str.contains("marked suppressed").any()
    extra = pd.concat([table, table.iloc[[5]].assign(measure="events_exact")])
    extra.to_csv(tmp_path / "extra.csv", index=False)
    assert audit_files([tmp_path / "extra.csv"]).findings["route"].str.contains(
        "unknown measure").any()
    two = pd.concat([table, table.assign(indicator="preterm")])
    two.to_csv(tmp_path / "two.csv", index=False)
    assert audit_files([tmp_path / "two.csv"]).findings["route"].str.contains(
        "more than one indicator").any()
    twice = pd.concat([table, table.iloc[[5]].assign(value=123)])
    twice.to_csv(tmp_path / "twice.csv", index=False)
    assert audit_files([tmp_path / "twice.csv"]).findings["route"].str.contains(
        "more than once").any()


def test_a_count_under_another_region_type_is_not_missed(fitted, tmp_path):
    """Shown under a region type units.csv does not have, a hidden count would be a cell of
    its own: audited with units.csv, such rows are findings."""
    run, publish, _ = fitted
    table = _read(publish)
    renamed = table.assign(region_type=table["region_type"].replace("vsv", "verloskundig"))
    renamed.to_csv(tmp_path / "renamed.csv", index=False)
    assert audit_files([tmp_path / "renamed.csv"]).ok  # alone: any region type may be used
    findings = audit_files([tmp_path / "renamed.csv", run / "units.csv"]).findings
    assert findings["route"].str.contains("not in units.csv").sum() == (
        table.loc[table["measure"] == "births", "region_type"] == "vsv").sum()


def test_shrinkage_runs_publish_the_shrunken_ratio(tmp_path):
    births = simulate_cohort(20_000, seed=12).births
    run, _ = _fit(births, tmp_path / "eb", method="eb")
    table = statline_table(run)
    shrunk = table[table["measure"] == "shrunken_oe_ratio"]
    units = _units(run).set_index(["level", "unit"])
    assert len(shrunk) == len(units)
    shown = shrunk.dropna(subset=["value"])
    expected = units.loc[list(zip(shown["region_type"], shown["region_code"], strict=True))]
    np.testing.assert_allclose(shown["value"], expected["shrunk_oe"])
    np.testing.assert_allclose(shown["lower"], expected["shrunk_lower"])
    assert audit_files([write_statline(table, tmp_path / "eb.csv"), run / "units.csv"]).ok


def test_weighted_runs_publish_the_unweighted_base(tmp_path):
    """Route 15 in the publication table: 9 births weigh 10.8; the unweighted base is
    published and a row of 9 births put back is found."""
    births = simulate_cohort(20_000, seed=3).births
    births["w"] = 1.2
    spec = dataclasses.replace(load_spec(ROOT / "models" / "big2.toml"), weights="w")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = CaseMixModel(spec).fit(births)
        units = disclose_run(result, births).units
    main = units[units["stratum"] == "all"]
    table = encode_statline(main, "big2")
    assert {"births_unweighted", "events_unweighted"} <= set(table["measure"])
    path = write_statline(table, tmp_path / "weighted.csv")
    assert audit_files([path]).ok
    counts = births.groupby("municipality").size()
    nine = next(u for u in main.loc[main["n"].isna() & (main["level"] == "municipality"),
                                    "unit"] if counts[u] == 9)
    edited = table.copy()
    for measure, value in (("births", 10.8), ("births_unweighted", 9)):
        row = (edited["region_code"] == nine) & (edited["measure"] == measure)
        edited.loc[row, ["value", "status"]] = [value, ""]
    findings = audit_files([write_statline(edited, tmp_path / "edited.csv")]).findings
    assert (findings["column"] == "n_unweighted").any()


def test_yearly_rows_are_published_per_period(tmp_path):
    births = simulate_cohort(20_000, years=(2023, 2024), seed=13).births
    spec = dataclasses.replace(load_spec(ROOT / "models" / "big2.toml"), by_year=True,
                               levels=("vsv",))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = CaseMixModel(spec).fit(births)
    save_run(result, tmp_path / "run", births=births)
    table = statline_table(tmp_path / "run")
    assert set(table["period"]) == {"2023", "2024", "2023-2024"}
    assert set(table.loc[table["region_code"] == "NL01", "period"]) == {"2023-2024"}
    path = write_statline(table, tmp_path / "years.csv")
    assert audit_files([path]).ok and audit_files([path, tmp_path / "run" / "units.csv"]).ok


def test_cli_publishes_and_refuses_bad_input(fitted, tmp_path):
    run, publish, _ = fitted
    out = tmp_path / "cli.csv"
    result = runner.invoke(app, ["publish", str(run), "--format", "statline", "--out",
                                 str(out)])
    assert result.exit_code == 0, result.output
    assert "suppressed" in result.output
    assert out.read_text() == publish.read_text()
    result = runner.invoke(app, ["publish", str(tmp_path), "--out", str(tmp_path / "x.csv")])
    assert result.exit_code == 2 and "error:" in result.output
    assert "run folder" in result.output.lower() or "manifest" in result.output
    result = runner.invoke(app, ["publish", str(run), "--format", "sdmx", "--out",
                                 str(tmp_path / "x.csv")])
    assert result.exit_code == 2 and "'statline'" in result.output
    result = runner.invoke(app, ["publish", str(run), "--out", str(run / "statline.csv")])
    assert result.exit_code == 2 and "outside the run folder" in result.output
    assert not (tmp_path / "x.csv").exists() and not (run / "statline.csv").exists()


def test_export_takes_the_publication_table(fitted, tmp_path):
    run, publish, truth = fitted
    result = export_run(run, tmp_path / "export", publish=[publish])
    assert result.ok, result.findings
    assert (tmp_path / "export" / "publish_statline.csv").read_text() == publish.read_text()
    assert "publish_statline.csv" in (tmp_path / "export" / "README.md").read_text()
    cli = runner.invoke(app, ["export", str(run), "--out", str(tmp_path / "cli"),
                              "--indicators", str(publish)])  # recognised by its columns
    assert cli.exit_code == 0, cli.output
    assert (tmp_path / "cli" / "publish_statline.csv").is_file()
    units = _units(run)
    main = truth[truth["stratum"] == "all"].set_index(["level", "unit"])
    level, unit = next((lv, u) for lv, u in units.loc[units["observed"].isna(), ["level", "unit"]]
                       .itertuples(index=False) if 0 < main.loc[(lv, u), "observed"] < 10)
    edited = _put_back(publish, tmp_path / "edited.csv", unit, "events",
                       main.loc[(level, unit), "observed"])
    refused = export_run(run, tmp_path / "leak", publish=[edited])
    assert not refused.ok and not (tmp_path / "leak").exists()
