"""Definition presets on a registry-format SPSS extract where every rule matters.

The extract (written with pyreadstat: Perined names, value labels, SPSS user-missing codes
amww 99, hoftiezer 999, sterfte 9) has twelve children. Expected counts are worked out by
hand below from the preset rules (casemix.indicators.presets), with the Hoftiezer (2019) p10
values printed in the table: male 37+0 2531 g, male 40+0 3086 g, female 40+0 2968 g.

row amww+amdd days  gewicht sex hoftiezer omv sterfte  notes
 1  22+3      157    500    m   50        1   1        below 24+0; stillbirth
 2  23+6      167    600    f   30        1   3        below 24+0; early neonatal death
 3  24+0      168    650    m   5         1   0        preterm, SGA (percentile)
 4  36+6      258   2500    f   40        2   0        preterm
 5  37+0      259   3000    m   999 (UM)  1   0        term, SGA unknown (weight: not SGA)
 6  40+0      280   2900    m   (empty)   1   4        term, SGA unknown (weight: SGA); late
                                                       neonatal death
 7  40+0      280   3500    f   9.99      1   0        SGA by percentile (not by weight)
 8  40+0      280   3000    f   10.0      2   5        not SGA; infant death after day 27
 9  39+0      273   3200    m   50        1   9 (UM)   vital status unknown
10  41+0      287   3600    f   60        1   2        stillbirth (intrapartum)
11  99 (UM)    -    3300    m   50        1   0        gestational age unknown: excluded
12  38+2      268   3100    f   20        1   (empty)  vital status unknown
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from casemix import load_births
from casemix.exceptions import ParameterError
from casemix.indicators import PRESETS, DefinitionSettings, derive_indicators

pyreadstat = pytest.importorskip("pyreadstat")

ROWS = [  # amww, amdd, gewicht, geslacht, hoftiezer, omv, sterfte
    (22, 3, 500, 1, 50, 1, 1), (23, 6, 600, 2, 30, 1, 3), (24, 0, 650, 1, 5, 1, 0),
    (36, 6, 2500, 2, 40, 2, 0), (37, 0, 3000, 1, 999, 1, 0), (40, 0, 2900, 1, np.nan, 1, 4),
    (40, 0, 3500, 2, 9.99, 1, 0), (40, 0, 3000, 2, 10.0, 2, 5), (39, 0, 3200, 1, 50, 1, 9),
    (41, 0, 3600, 2, 60, 1, 2), (99, 0, 3300, 1, 50, 1, 0), (38, 2, 3100, 2, 20, 1, np.nan),
]


@pytest.fixture(scope="module")
def extract(tmp_path_factory):
    frame = pd.DataFrame(ROWS, columns=["amww", "amdd", "gewicht", "geslacht", "hoftiezer",
                                        "omv", "sterfte"]).astype(float)
    frame.insert(0, "kind_id", [f"k{i:02d}" for i in range(1, 13)])
    frame.insert(1, "jaar", 2024.0)
    frame["gemeente"] = "GM0363"
    path = tmp_path_factory.mktemp("sav") / "extract.sav"
    pyreadstat.write_sav(
        frame, str(path),
        variable_value_labels={
            "geslacht": {1: "jongen", 2: "meisje"},
            "sterfte": {0: "levend", 1: "antepartum", 2: "durante partu",
                        3: "neonataal 0-6 dagen", 4: "neonataal 7-27 dagen",
                        5: "overleden na 28 dagen, eerste levensjaar", 9: "onbekend"},
            "amww": {99: "onbekend"}},
        missing_ranges={"amww": [99], "hoftiezer": [999], "sterfte": [9]})
    return path


@pytest.fixture(scope="module")
def births(extract):
    report = load_births(extract, mapping="perined")
    excluded = report.exclusions.to_frame()
    assert excluded["n_rows"].sum() == 1  # row 11: user-missing amww read as missing
    return report.births


def counts(births, preset: str, **overrides) -> dict[str, tuple[int, int]]:
    settings = DefinitionSettings.from_preset(preset, **overrides)
    s = derive_indicators(births, settings=settings).summary()
    return {r.indicator: (int(r.numerator), int(r.denominator)) for r in s.itertuples()}


def test_user_missing_codes_are_read_as_missing(births):
    assert len(births) == 11
    b = births.set_index("birth_id")
    assert pd.isna(b.loc["k05", "birthweight_percentile"])  # hoftiezer 999
    assert pd.isna(b.loc["k09", "fetal_death"])  # sterfte 9: vital status unknown
    assert b.loc["k08", "neonatal_death_period"] == "post_neonatal"  # sterfte 5


def test_monitor_2022(births):
    """Rows 3-10 and 12 are in scope (9). SGA from hoftiezer: rows 3 and 7; rows 5 and 6
    unknown, counted as not SGA. Big2: 3, 4, 7. Vital status unknown (9, 12): alive. Live
    births 8 (row 10 stillborn); neonatal to day 27: row 6; infant: 6 and 8; perinatal
    (28 days): 10 and 6."""
    assert counts(births, "monitor-2022") == {
        "preterm": (2, 9), "very_preterm": (1, 9), "sga": (2, 9), "big2": (3, 9),
        "fetal_death": (1, 9), "neonatal_death_7d": (0, 8), "neonatal_death_28d": (1, 8),
        "infant_mortality": (2, 8), "perinatal_mortality": (2, 9)}


def test_diaper(births):
    """As monitor-2022, but every rate over all 9 births from 24 weeks (groep_N), live and
    stillborn, and SGA from hoftiezer only."""
    assert counts(births, "diaper") == {
        "preterm": (2, 9), "very_preterm": (1, 9), "sga": (2, 9), "big2": (3, 9),
        "fetal_death": (1, 9), "neonatal_death_7d": (0, 9), "neonatal_death_28d": (1, 9),
        "infant_mortality": (2, 9), "perinatal_mortality": (2, 9)}


def test_perined_22wk(births):
    """From 22+0 weeks: rows 1-10 and 12 (11). Preterm 1-4; very preterm 1-3. SGA complete
    cases: 2 of 9 (rows 5, 6 out); Big2: preterm 1-4 plus row 7 = 5, of 11 - 2 = 9. Fetal: 1
    and 10; live births 9; early neonatal: row 2; perinatal (7 days): 1, 2, 10; infant: 2, 6
    and 8."""
    assert counts(births, "perined-22wk") == {
        "preterm": (4, 11), "very_preterm": (3, 11), "sga": (2, 9), "big2": (5, 9),
        "fetal_death": (2, 11), "neonatal_death_7d": (1, 9), "neonatal_death_28d": (2, 9),
        "infant_mortality": (3, 9), "perinatal_mortality": (3, 11)}


def test_casemix_2026_1_excludes_unknown_status(births):
    """Unknown vital status (rows 9, 12) and unknown SGA (5, 6) leave the denominators: fetal
    1 of 7; live births with known status 6; perinatal (7 days) 1 of 7; SGA 2 of 7; Big2 3
    of 7."""
    c = counts(births, "casemix-2026.1")
    assert c["fetal_death"] == (1, 7)
    assert c["neonatal_death_7d"] == (0, 6)
    assert c["perinatal_mortality"] == (1, 7)
    assert c["sga"] == (2, 7)
    assert c["big2"] == (3, 7)


def test_override_percentile_then_weight(births):
    """Rows 5 and 6 fall back on the weight: row 6 (2900 g < 3086 g) becomes SGA, row 5
    (3000 g >= 2531 g) not: SGA 3 of 9, Big2 4 of 9."""
    c = counts(births, "monitor-2022", sga_source="percentile_then_weight")
    assert c["sga"] == (3, 9)
    assert c["big2"] == (4, 9)
    settings = DefinitionSettings.from_preset("monitor-2022",
                                              sga_source="percentile_then_weight")
    assert settings.version == "monitor-2022 + sga_source=percentile_then_weight"


def test_assumptions_are_logged(births):
    """Two term births with unknown SGA kept as not SGA / not Big2; two births with unknown
    vital status kept as alive, for each mortality indicator."""
    log = derive_indicators(births, settings=DefinitionSettings()).exclusions.to_frame()
    assumed = log[log["stage"] == "assumptions"].groupby("scope")["n_rows"].sum()
    assert assumed["sga"] == 2
    assert assumed["big2"] == 2
    assert assumed["fetal_death"] == 2
    assert assumed["perinatal_mortality"] == 2


def test_presets_are_documented_and_complete():
    for name, preset in PRESETS.items():
        settings = DefinitionSettings.from_preset(name)
        assert settings.version == name
        assert settings.overrides() == {}
        assert preset.source
        assert all(doc for _, _, doc in settings.describe())


def test_unknown_preset_and_rule_are_clear_errors():
    with pytest.raises(ParameterError, match="monitor-2022"):
        DefinitionSettings.from_preset("monitor-2021")
    with pytest.raises(ParameterError, match="perinatal_days"):
        DefinitionSettings.from_preset("diaper", perinatal_days=7)


def test_legacy_manifest_definitions_start_from_casemix_2026_1():
    old = {"version": "casemix-2026.1", "min_gestational_age_days": 168,
           "perinatal_neonatal_days": 7, "plurality": "all", "sga_source": "auto",
           "sga_outside_reference": "exclude"}
    settings = DefinitionSettings.from_dict(old)
    assert settings.preset == "casemix-2026.1"
    assert settings.sga_unknown == "exclude"
    assert DefinitionSettings.from_dict(settings.to_dict()) == settings


def test_spec_preset_key(tmp_path):
    from casemix.models.spec import load_spec

    path = tmp_path / "s.toml"
    path.write_text('name = "s"\noutcome = "big2"\n[definitions]\npreset = "diaper"\n'
                    'plurality = "singletons"\n[[adjust]]\ncolumn = "parity"\n')
    spec = load_spec(path)
    assert spec.definitions.version == "diaper + plurality=singletons"
    path.write_text('name = "s"\noutcome = "big2"\n[definitions]\npreset = "nope"\n'
                    '[[adjust]]\ncolumn = "parity"\n')
    with pytest.raises(ValueError, match="nope"):
        load_spec(path)


def test_cli_definitions_option_writes_the_preset_and_passes_the_audit(extract, tmp_path):
    from typer.testing import CliRunner

    from casemix.cli.main import app
    from casemix.workflow.audit import audit_files

    out = tmp_path / "rates.csv"
    result = CliRunner().invoke(app, ["indicators", str(extract), "--mapping", "perined",
                                      "--definitions", "diaper", "--by", "municipality",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert set(table["definitions"]) == {"diaper"}
    assert table["numerator"].isna().all()  # twelve children: every count below 10
    assert audit_files([tmp_path]).ok
    bad = CliRunner().invoke(app, ["indicators", str(extract), "--mapping", "perined",
                                   "--definitions", "monitor-2021"])
    assert bad.exit_code != 0
    assert "monitor-2022" in bad.output
