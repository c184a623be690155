"""Column mappings: the built-in ``perined`` preset, user mappings that extend it, and bad
mapping files. Expected values follow the preset TOML's documentation by hand:
gestational_age_days = 7 * amww + amdd; sterfte 0 alive, 1-2 fetal death, 3 neonatal death
day 0-6, 4 day 7-27, 5 post-neonatal (infant) death, empty = unknown (the definitions decide);
geslacht 1 male, 2 female. Counts of 1..9 in error messages read "<10"."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from casemix import DataError, MappingError, load_births
from casemix.records.mapping import PRESETS, ColumnMapping


def extract() -> pd.DataFrame:
    """Six births in registry-extract names."""
    return pd.DataFrame({
        "kind_id": ["k1", "k2", "k3", "k4", "k5", "k6"],
        "jaar": [2021, 2021, 2021, 2022, 2022, 2022],
        "amww": [37, 36, 24, 40, 41, 39],
        "amdd": [0, 6, 0, 0, 3, 2],
        "gewicht": [3000, 2500, 600, 3500, 3600, 3300],
        "hoftiezer": [50.0, 30.0, 40.0, 60.0, 55.0, 9.99],
        "geslacht": [1, 2, 2, 1, 2, 1],
        "omv": [1, 1, 2, 2, 1, 1],
        "pariteit": [0, 1, 0, 2, 0, 1],
        "lft_moeder": [30, 28, 35, 33, 25, 41],
        "sterfte": [0, 1, 2, 3, 4, np.nan],
        "opleiding": [1, 2, 3, np.nan, 2, 1],
        "migratieachtergrond": [1, 2, 3, 4, 5, 7],
        "vsv": ["V01", "V01", "V02", "V02", "V03", "V03"],
    })


def values(series: pd.Series) -> list:
    return [None if pd.isna(v) else v for v in series]


def test_preset_is_listed_and_unknown_preset_rejected():
    assert "perined" in PRESETS
    with pytest.raises(MappingError, match="nope"):
        ColumnMapping.preset("nope")


def test_perined_apply_translates_names_and_codes():
    """37+0 = 259, 36+6 = 258, 24+0 = 168, 40+0 = 280, 41+3 = 290, 39+2 = 275 days."""
    out, notes = ColumnMapping.preset("perined").apply(extract())
    assert out["gestational_age_days"].tolist() == [259, 258, 168, 280, 290, 275]
    assert "gestational_age_weeks" not in out
    assert "gestational_age_extra_days" not in out
    assert out["birth_id"].tolist() == ["k1", "k2", "k3", "k4", "k5", "k6"]
    assert out["year"].tolist() == [2021, 2021, 2021, 2022, 2022, 2022]
    assert out["birthweight_percentile"].tolist() == [50.0, 30.0, 40.0, 60.0, 55.0, 9.99]
    assert out["infant_sex"].tolist() == ["male", "female", "female", "male", "female", "male"]
    assert values(out["education"]) == ["low", "middle", "high", None, "middle", "low"]
    assert out["migration_background"].tolist() == ["dutch", "western", "moroccan", "turkish",
                                                    "surinamese", "other_nonwestern"]
    # sterfte 0, 1, 2, 3, 4, missing
    assert values(out["fetal_death"]) == [False, True, True, False, False, None]
    assert values(out["neonatal_death_period"]) == [None, None, None, "early", "late", None]
    assert "sterfte" not in out
    assert "mortality_code" not in out
    # the empty mortality code is reported as read 'unknown'
    note = [n for n in notes if n.column == "mortality_code"]
    assert len(note) == 1
    assert note[0].n_rows == 1
    assert "'unknown'" in note[0].message


def test_perined_load_births_end_to_end():
    """Through validation: typed canonical columns; nothing excluded."""
    report = load_births(extract(), mapping="perined")
    assert report.ok
    b = report.births
    assert len(b) == 6
    assert b["gestational_age_days"].tolist() == [259, 258, 168, 280, 290, 275]
    assert str(b["gestational_age_days"].dtype) == "Int64"
    assert values(b["fetal_death"]) == [False, True, True, False, False, None]
    assert values(b["neonatal_death_period"]) == [None, None, None, "early", "late", None]
    assert list(b["infant_sex"].cat.categories) == ["female", "male"]
    assert b["plurality"].tolist() == [1, 1, 2, 2, 1, 1]
    # the mapping's notes (skipped source columns, empty mortality code) come first
    assert [p.column for p in report.problems[:2]] == ["", "mortality_code"]


def test_perined_codes_as_floats_and_strings():
    """SPSS delivers codes as floats, CSV sometimes as padded strings: 1.0, '2 ', ' 1' all map."""
    raw = extract().iloc[:3].copy()
    raw["geslacht"] = pd.Series([1.0, "2 ", " 1"], dtype=object)
    raw["sterfte"] = pd.Series(["0", 3.0, " 4"], dtype=object)
    out, _ = ColumnMapping.preset("perined").apply(raw)
    assert out["infant_sex"].tolist() == ["male", "female", "male"]
    assert out["fetal_death"].tolist() == [False, False, False]
    assert values(out["neonatal_death_period"]) == [None, "early", "late"]


def test_perined_canonical_labels_pass_through():
    raw = extract().iloc[:2].copy()
    raw["geslacht"] = ["Female", "male"]
    out, _ = ColumnMapping.preset("perined").apply(raw)
    assert out["infant_sex"].tolist() == ["female", "male"]


def test_perined_weeks_without_extra_days():
    """Without amdd, gestational_age_days = 7 * amww: 37 -> 259, 40 -> 280."""
    raw = pd.DataFrame({"kind_id": ["a", "b"], "jaar": [2020, 2020], "amww": [37, 40]})
    out, notes = ColumnMapping.preset("perined").apply(raw)
    assert out["gestational_age_days"].tolist() == [259, 280]
    skipped = [n for n in notes if "skipped" in n.message]
    assert len(skipped) == 1
    assert "amdd" in skipped[0].message
    assert "sterfte" in skipped[0].message


def test_unknown_value_code_names_column_codes_and_counts():
    """geslacht 9 twice and 0 once: 3 rows without a translation."""
    raw = extract()
    raw["geslacht"] = [1, 9, 9, 0, 2, 1]
    with pytest.raises(MappingError) as info:
        ColumnMapping.preset("perined").apply(raw)
    msg = str(info.value)
    assert "infant_sex" in msg
    assert "in <10 rows" in msg
    assert "'9' (<10 rows)" in msg
    assert "'0' (<10 rows)" in msg
    assert isinstance(info.value, DataError)
    assert isinstance(info.value, ValueError)


def test_unknown_mortality_code_names_codes_and_counts():
    """sterfte 7 twice and 9 once: 3 rows."""
    raw = extract()
    raw["sterfte"] = [0, 7, 7, 9, 3, np.nan]
    with pytest.raises(MappingError) as info:
        ColumnMapping.preset("perined").apply(raw)
    msg = str(info.value)
    assert "in <10 rows" in msg
    assert "'7' (<10 rows)" in msg
    assert "'9' (<10 rows)" in msg


def test_unknown_codes_from_ten_rows_on_are_counted_exactly():
    """sterfte 8 in 12 rows and 7 in 3 rows of 20: 15 rows, '8' (12 rows), '7' (<10)."""
    raw = pd.concat([extract()] * 4, ignore_index=True).iloc[:20].copy()
    raw["sterfte"] = [8] * 12 + [7] * 3 + [0] * 5
    with pytest.raises(MappingError) as info:
        ColumnMapping.preset("perined").apply(raw)
    msg = str(info.value)
    assert "in 15 rows" in msg
    assert "'8' (12 rows)" in msg
    assert "'7' (<10 rows)" in msg


def test_perined_code_5_is_a_post_neonatal_infant_death():
    raw = extract()
    raw["sterfte"] = [0, 5, 1, 3, 4, 5]
    out, _ = ColumnMapping.preset("perined").apply(raw)
    assert values(out["neonatal_death_period"]) == [None, "post_neonatal", None, "early",
                                                    "late", "post_neonatal"]
    assert values(out["fetal_death"]) == [False, False, True, False, False, False]


def test_unknown_mortality_code_names_the_column():
    raw = extract()
    raw["sterfte"] = [0, 7, 7, 9, 3, np.nan]
    with pytest.raises(MappingError, match="sterfte"):
        ColumnMapping.preset("perined").apply(raw)


def test_empty_mortality_code_without_a_rule_is_an_error():
    """A mapping without ``missing`` in [mortality_codes]: 2 empty codes -> error."""
    mapping = ColumnMapping.from_dict({
        "name": "strict",
        "columns": {"sterfte": "mortality_code"},
        "mortality_codes": {"0": "alive", "1": "fetal_death"},
    })
    raw = pd.DataFrame({"sterfte": [0, np.nan, None, 1]})
    with pytest.raises(MappingError, match="<10 rows"):
        mapping.apply(raw)


def test_mapping_clashes_with_existing_columns():
    raw = extract()
    raw["year"] = 2021
    with pytest.raises(MappingError, match="year"):
        ColumnMapping.preset("perined").apply(raw)
    raw = extract()
    raw["gestational_age_days"] = 280
    with pytest.raises(MappingError, match="gestational_age_days"):
        ColumnMapping.preset("perined").apply(raw)


# --- user mapping files ----------------------------------------------------------------------


def test_user_mapping_extends_perined_overriding_one_table(tmp_path):
    """An extract that codes sex 1 = female, 2 = male: only [values.infant_sex] is overridden;
    every other table (columns, mortality codes) comes from the preset."""
    path = tmp_path / "mine.toml"
    path.write_text(
        'name = "swapped_sex"\n'
        'extends = "perined"\n'
        "[values.infant_sex]\n"
        '"1" = "female"\n'
        '"2" = "male"\n',
        encoding="utf-8",
    )
    mapping = ColumnMapping.from_toml(path)
    assert mapping.name == "swapped_sex"
    assert mapping.columns == ColumnMapping.preset("perined").columns
    out, _ = mapping.apply(extract())
    assert out["infant_sex"].tolist() == ["female", "male", "male", "female", "male", "female"]
    assert values(out["neonatal_death_period"]) == [None, None, None, "early", "late", None]
    report = load_births(extract(), mapping=path)
    assert report.births["infant_sex"].tolist() == ["female", "male", "male", "female", "male",
                                                    "female"]


def test_user_mapping_adds_a_code_and_a_column(tmp_path):
    """Adds sterfte code 5 (post-neonatal death) and a column the preset does not map (day of
    death); days 40, 3 and 10 agree with codes 5, 3 and 4."""
    path = tmp_path / "more.toml"
    path.write_text(
        'extends = "perined"\n'
        "[columns]\n"
        'ovl_dag = "neonatal_death_day"\n'
        "[mortality_codes]\n"
        '"5" = "post_neonatal_death"\n',
        encoding="utf-8",
    )
    raw = extract()
    raw["sterfte"] = [0, 5, 1, 3, 4, np.nan]
    raw["ovl_dag"] = [np.nan, 40, np.nan, 3, 10, np.nan]
    out, _ = ColumnMapping.from_toml(path).apply(raw)
    assert values(out["neonatal_death_period"]) == [None, "post_neonatal", None, "early",
                                                    "late", None]
    assert values(out["fetal_death"]) == [False, False, True, False, False, None]
    report = load_births(raw, mapping=path)
    assert report.ok
    assert values(report.births["neonatal_death_day"]) == [None, 40, None, 3, 10, None]


def test_user_mapping_extends_another_file(tmp_path):
    (tmp_path / "base.toml").write_text(
        'name = "base"\n[columns]\nkid = "birth_id"\nyr = "year"\nga = "gestational_age_days"\n',
        encoding="utf-8")
    (tmp_path / "child.toml").write_text(
        'name = "child"\nextends = "base.toml"\n[values.infant_sex]\n"M" = "male"\n'
        '"V" = "female"\n[columns]\nsex = "infant_sex"\n',
        encoding="utf-8")
    raw = pd.DataFrame({"kid": ["a", "b"], "yr": [2020, 2020], "ga": [280, 250],
                        "sex": ["V", "M"]})
    report = load_births(raw, mapping=tmp_path / "child.toml")
    assert report.births["infant_sex"].tolist() == ["female", "male"]
    assert report.births["gestational_age_days"].tolist() == [280, 250]


def test_user_mapping_can_rename_the_source_of_a_preset_target(tmp_path):
    """Module docstring example: ``extends = "perined"`` with ``zwduur_weken`` for the weeks."""
    path = tmp_path / "renamed.toml"
    path.write_text(
        'name = "my_extract"\nextends = "perined"\n[columns]\n'
        'zwduur_weken = "gestational_age_weeks"\n',
        encoding="utf-8")
    mapping = ColumnMapping.from_toml(path)
    raw = pd.DataFrame({"kind_id": ["a"], "jaar": [2020], "zwduur_weken": [37], "amdd": [1]})
    out, _ = mapping.apply(raw)
    assert out["gestational_age_days"].tolist() == [260]  # 7 * 37 + 1


# --- bad mapping files -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('[columns]\nfoo = "not_a_column"\n', "not_a_column"),
        ('[columns]\nfoo = "birth_id"\nbar = "birth_id"\n', "birth_id"),
        ('[columns]\nfoo = "birth_id"\n[values.no_such_column]\n"1" = "x"\n', "no_such_column"),
        ('[mortality_codes]\n"1" = "dead"\n', "dead"),
        ('colums = {}\n', "colums"),
        ('[columns\nfoo = "birth_id"\n', "not valid TOML"),
        ('extends = "perined"\n[columns]\nfoo = "nonsense"\n', "nonsense"),
        ('extends = "missing_base.toml"\n', "not found"),
    ],
    ids=["unknown-target", "duplicate-target", "unknown-values-column", "unknown-outcome",
         "unknown-key", "invalid-toml", "unknown-target-extending", "missing-parent"],
)
def test_bad_mapping_files(tmp_path, text, match):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MappingError, match=match):
        ColumnMapping.from_toml(path)


def test_missing_mapping_file(tmp_path):
    with pytest.raises(MappingError, match="not found"):
        ColumnMapping.from_toml(tmp_path / "absent.toml")
    with pytest.raises(MappingError, match="not found"):
        load_births(extract(), mapping=tmp_path / "absent.toml")


def test_weeks_that_are_not_numbers_are_a_mapping_error():
    """A text value in the weeks column names the source column, not a pandas parse error."""
    raw = extract()
    raw["amww"] = raw["amww"].astype(object)
    raw.loc[0, "amww"] = "onbekend"
    with pytest.raises(MappingError, match=r"Column 'amww' \(mapped to gestational_age_weeks\) "
                                           r"has values that are not numbers in <10 rows: "
                                           r"'onbekend'"):
        load_births(raw, mapping="perined")
