"""A run folder reproduces itself, and every writer writes the same folder.

No reference values here: the property under test is that the package gives *the same* numbers
again (refit from the folder's recorded settings, report from a run, fit vs refit vs API).
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from casemix import CasemixError, CaseMixModel, load_births, load_run, load_spec, save_run
from casemix.cli import app
from casemix.models.runs import reproduce_run

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()
#: Manifest fields that say when and by which command a folder was written.
VOLATILE = {"created", "command", "refit_year", "spec_file", "timings_s"}


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs")
    path = folder / "cohort.parquet"
    result = runner.invoke(app, ["simulate", "--out", str(path), "--n-births", "20000",
                                 "--seed", "11", "--year", "2023", "--year", "2024"])
    assert result.exit_code == 0, result.output
    return path


def _spec_file(folder: Path, **extra: str) -> Path:
    """models/big2.toml with top-level keys set or replaced (TOML values as text)."""
    text = (ROOT / "models" / "big2.toml").read_text()
    for key in extra:
        text = re.sub(rf"(?m)^{key} = .*$", "", text)
    head = "".join(f"{k} = {v}\n" for k, v in extra.items())
    path = folder / "big2.toml"
    path.write_text(head + text)
    return path


def _fit(spec: Path, cohort: Path, out: Path, *options: str) -> Path:
    result = runner.invoke(app, ["fit", str(spec), "--data", str(cohort), "--out", str(out),
                                 *options])
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize("method,options", [
    ("pooled", ()), ("fixed", ()), ("eb", ()), ("fay-herriot", ()),
    ("glmm", ("--n-boot", "5", "--seed", "4")),
])
def test_refit_from_the_folder_gives_identical_units_csv(cohort, tmp_path, method, options):
    spec = _spec_file(tmp_path, by_year="true", stratify='["urbanisation"]',
                      levels='["vsv"]')
    run = _fit(spec, cohort, tmp_path / "run", "--method", method, *options)
    loaded = load_run(run)
    births = loaded.read_births().births
    again = loaded.refit(births).units_disclosed(loaded.threshold, births).to_csv(index=False)
    assert again == (run / "units.csv").read_text()
    assert loaded.manifest["seed"] == (4 if method == "glmm" else 20261123)


def test_reproduce_run_refuses_when_the_numbers_differ(cohort, tmp_path):
    run = _fit(_spec_file(tmp_path), cohort, tmp_path / "run", "--method", "eb")
    births = load_births(cohort).births
    reproduce_run(run, births)  # the same numbers: no error
    with pytest.raises(CasemixError, match=r"does not reproduce its units\.csv"):
        reproduce_run(run, births.iloc[500:])  # other data: other numbers
    units = pd.read_csv(run / "units.csv", dtype=str, keep_default_na=False)
    units.loc[0, "oe"] = "1.5"
    units.to_csv(run / "units.csv", index=False)
    with pytest.raises(CasemixError, match=r"changed after it was written \(units\.csv"):
        reproduce_run(run, births)  # an edited run is not read at all


def test_changed_data_are_refused(cohort, tmp_path):
    data = tmp_path / "cohort.parquet"
    pd.read_parquet(cohort).to_parquet(data)
    run = _fit(_spec_file(tmp_path), data, tmp_path / "run")
    births = pd.read_parquet(data)
    births.loc[0, "maternal_age"] = births.loc[0, "maternal_age"] + 1
    births.to_parquet(data)
    with pytest.raises(CasemixError, match="fingerprint"):
        load_run(run).refit()


def _manifest(folder: Path) -> dict:
    d = json.loads((folder / "manifest.json").read_text())
    return {k: v for k, v in d.items() if k not in VOLATILE}


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != "manifest.json"}


def test_fit_refit_and_api_write_identical_run_folders(cohort, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    spec = _spec_file(models, years="[2024]")
    by_fit = _fit(spec, cohort, tmp_path / "fit")
    result = runner.invoke(app, ["refit", "--year", "2024", "--data", str(cohort), "--out",
                                 str(tmp_path / "runs"), "--models", str(models)])
    assert result.exit_code == 0, result.output
    by_refit = tmp_path / "runs" / "2024" / "big2"
    from casemix.engine import scan_births  # the commands' default engine for files

    grouped = scan_births(str(cohort), [load_spec(spec)])["big2"]
    by_api = save_run(CaseMixModel(load_spec(spec)).fit(grouped), tmp_path / "api",
                      births=grouped, data_file=cohort)
    reference = _files(by_fit)
    assert {"direct.csv", "exclusions.csv", "units.csv", "model.json"} <= set(reference)
    for other in (by_refit, by_api):
        files = _files(other)
        assert files.keys() == reference.keys()
        differ = [name for name in files if files[name] != reference[name]]
        assert not differ, f"{other.name}: {differ}"
        assert _manifest(other) == _manifest(by_fit)


def test_validation_exclusions_reach_every_writer(cohort, tmp_path):
    """Formerly added by the CLI alone (refit runs lacked them)."""
    births = pd.read_parquet(cohort)
    births.loc[:40, "maternal_age"] = 99  # impossible: excluded at validation
    data = tmp_path / "bad.parquet"
    births.to_parquet(data)
    models = tmp_path / "models"
    models.mkdir()
    _spec_file(models)
    runner.invoke(app, ["refit", "--year", "2024", "--data", str(data), "--out",
                        str(tmp_path / "runs"), "--models", str(models)])
    exclusions = pd.read_csv(tmp_path / "runs" / "2024" / "big2" / "exclusions.csv")
    assert (exclusions["stage"] == "validation").any()
    manifest = json.loads((tmp_path / "runs" / "2024" / "big2" / "manifest.json").read_text())
    assert manifest["rows_read"] == len(births)


class _Tables(HTMLParser):
    """Tables of an HTML document as lists of rows (stdlib only)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._section = ""
        self._rows: list[list[str]] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "h2":
            self._section = dict(attrs).get("id", "")
        elif tag == "table":
            self._rows = []
        elif tag == "tr" and self._rows is not None:
            self._rows.append([])
        elif tag in ("td", "th") and self._rows is not None:
            self._cell = []
            self._column = dict(attrs).get("data-column")  # the canonical name of a header

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._rows is not None:
            self._rows[-1].append(self._column or "".join(self._cell).strip())
            self._cell = None
        elif tag == "table" and self._rows is not None:
            self.tables.setdefault(self._section, self._rows)
            self._rows = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _report_units(html: str) -> pd.DataFrame:
    parser = _Tables()
    parser.feed(html)
    header, *rows = parser.tables["units"]
    return pd.DataFrame(rows, columns=header)


@pytest.mark.parametrize("method,options", [
    ("pooled", ()), ("eb", ()), ("glmm", ()),
    ("bayes", ("--draws", "150", "--tune", "150", "--chains", "2", "--seed", "8")),
    ("bym2", ("--draws", "150", "--tune", "150", "--chains", "2")),
])
def test_report_shows_the_runs_numbers(cohort, tmp_path, method, options):
    extra = (("--adjacency", str(cohort.with_name("cohort_adjacency_vsv.csv")))
             if method == "bym2" else ())
    spec = _spec_file(tmp_path, levels='["vsv"]')
    run = _fit(spec, cohort, tmp_path / "run", "--method", method, *options, *extra)
    out = tmp_path / "report.html"
    result = runner.invoke(app, ["report", str(run), "--out", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert re.search(rf"\({re.escape(method)}\)", html)
    shown = _report_units(html).set_index("unit")
    units = load_run(run).units().main("vsv").set_index("unit")
    assert list(shown.index) == list(units.index)

    def dutch(v: float) -> str:  # two decimals with a decimal comma, written independently
        return f"{v:.2f}".replace(".", ",")

    def interval(est: float, lo: float, hi: float) -> str:
        return "x" if pd.isna(est) else f"{dutch(est)} ({dutch(lo)}\u2013{dutch(hi)})"

    parts = {"oe": ("oe", "oe_lower", "oe_upper")}
    if method != "pooled":
        parts["shrunk_oe"] = ("shrunk_oe", "shrunk_lower", "shrunk_upper")
    for name, columns in parts.items():
        expected = [interval(*row) for row in units[list(columns)].itertuples(index=False)]
        assert shown[name].tolist() == expected, name
    assert shown["observed"].tolist() == [
        "x" if pd.isna(v) else f"{int(v):,}".replace(",", ".") for v in units["observed"]]


def test_posterior_files_carry_no_observed_counts(cohort, tmp_path):
    """Disclosure route 13: posterior/<level>.nc kept observed_data.O (counts 1..9 of small
    units); the data groups are dropped, the posterior kept."""
    import arviz as az

    run = _fit(_spec_file(tmp_path, levels='["vsv"]'), cohort, tmp_path / "run", "--method",
               "bayes", "--draws", "100", "--tune", "100", "--chains", "2")
    files = sorted((run / "posterior").glob("*.nc"))
    assert files
    for path in files:
        groups = az.from_netcdf(str(path)).groups()
        assert "posterior" in groups
        assert "observed_data" not in groups and "constant_data" not in groups


def _cli_counts(output: str) -> dict[str, tuple[int, ...]]:
    """``level: (published, above_95, below_95, above_998, below_998)`` from the table that
    casemix fit ends with (a row per level: published of total, then the four counts)."""
    pattern = (r"^\s*(\w+)\s+([\d,]+) of [\d,]+\s+([\d,]+)\s+([\d,]+)\s+([\d,]+)"
               r"\s+([\d,]+)\s")
    return {m[0]: tuple(int(x.replace(",", "")) for x in m[1:])
            for m in re.findall(pattern, output, flags=re.MULTILINE)}


def _report_counts(html: str) -> dict[str, tuple[int, ...]]:
    """``level: (n_998, published, n_95)`` from the report's key findings."""
    text = re.sub(r"<[^>]+>", "", html)
    pattern = r"(\d+) of (\d+) published (\w+) units are unusual[^;]*at 99\.8%[^;]*; (\d+) at 95%"
    return {m[2].lower(): (int(m[0]), int(m[1]), int(m[3])) for m in re.findall(pattern, text)}


@pytest.mark.parametrize("method", ["pooled", "eb"])
def test_flags_agree_across_outputs(cohort, tmp_path, method):
    """One verdict everywhere: units.csv, funnel_<level>.csv (the pooled method's verdict is
    the funnel), the counts printed by casemix fit and the report's key findings and unit
    table show the same flags, suppressed units excluded."""
    spec = _spec_file(tmp_path)
    run = tmp_path / "run"
    fitted = runner.invoke(app, ["fit", str(spec), "--data", str(cohort), "--out", str(run),
                                 "--method", method])
    assert fitted.exit_code == 0, fitted.output
    units = load_run(run).units().main()
    shown = units[~units["suppressed"].astype(bool)]
    cli = _cli_counts(fitted.output)
    assert set(cli) == {"vsv", "municipality"}
    for level, (published, a95, b95, a998, b998) in cli.items():
        u = shown[shown["level"] == level]
        assert published == len(u)
        assert (a95, b95) == ((u["flag_95"] == "above").sum(), (u["flag_95"] == "below").sum())
        assert (a998, b998) == ((u["flag_998"] == "above").sum(),
                                (u["flag_998"] == "below").sum())
        funnel = pd.read_csv(run / f"funnel_{level}.csv").dropna(subset=["flag_95"])
        both = funnel.merge(units[units["level"] == level], on="unit", suffixes=("_f", ""))
        assert len(both) == units.loc[units["level"] == level, "observed"].notna().sum()
        if method == "pooled":
            assert both["flag_95_f"].tolist() == both["flag_95"].tolist()
            assert both["flag_998_f"].tolist() == both["flag_998"].tolist()
    out = tmp_path / "report.html"
    assert runner.invoke(app, ["report", str(run), "--out", str(out), "--lang", "en"]
                         ).exit_code == 0
    html = out.read_text()
    report = _report_counts(html)
    for level, (_, a95, b95, a998, b998) in cli.items():
        assert report[level] == (a998 + b998, cli[level][0], a95 + b95)
    table = _report_units(html).set_index("unit")
    vsv = units[units["level"] == "vsv"].set_index("unit")
    assert table["flag_95"].tolist() == vsv["flag_95"].fillna("x").tolist()  # x: hidden
    assert table["flag_998"].tolist() == vsv["flag_998"].fillna("x").tolist()
