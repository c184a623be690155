"""Model specifications: the shipped specs load, bad specs fail clearly, mediators warn."""

from __future__ import annotations

from pathlib import Path

import pytest

from casemix import ModelSpec, SpecError, load_spec
from casemix.models import MediatorWarning

MODELS = Path(__file__).resolve().parents[2] / "models"
BASE = {"name": "t", "outcome": "big2", "adjust": [{"column": "maternal_age", "type": "spline"},
                                                     {"column": "parity", "breaks": [1]}]}


@pytest.mark.parametrize("path", sorted(MODELS.glob("*.toml")), ids=lambda p: p.stem)
def test_shipped_specs_load(path):
    spec = load_spec(path)
    assert spec.name == path.stem
    assert spec.is_indicator
    again = ModelSpec.from_dict(spec.to_dict())
    assert again == spec
    assert again.fingerprint() == spec.fingerprint()


@pytest.mark.parametrize("path", sorted(MODELS.glob("*.toml")), ids=lambda p: p.stem)
def test_shipped_specs_check_simulated_columns(path):
    """Every shipped spec accepts the validated simulated cohort's columns (perinatal
    mortality is built from the indicator fetal_death, which reads the column of the same
    name: this recursed without end)."""
    from casemix import simulate_cohort, validate_births

    births = validate_births(simulate_cohort(500, seed=1).births).births
    load_spec(path).check_data(list(births.columns))


def test_without_ses_drops_ses_adjusters():
    spec = load_spec(MODELS / "big2.toml")
    plain = spec.without_ses()
    assert {t.column for t in plain.adjusters} == {t.column for t in spec.adjusters} - set(
        spec.ses)
    assert plain.name == "big2_without_ses"


@pytest.mark.parametrize(("change", "message"), [
    ({"colour": "red"}, r"unknown key\(s\) \['colour'\]"),
    ({"outcome": None}, r"required key 'outcome'"),
    ({"method": "magic"},
     r"'method' of spec 't' must be one of pooled, fixed, glmm, eb, fay-herriot, bayes, "
     r"bayes-joint, bym2. Got 'magic'"),
    ({"adjust": []}, r"has no adjusters"),
    ({"adjust": [{"column": "parity"}, {"column": "parity"}]}, r"\['parity'\] twice"),
    ({"adjust": [{"column": "parity", "knots": 3, "kind": "x"}]}, r"unknown key\(s\) \['kind'\]"),
    ({"interactions": [["parity", "education"]]}, r"interaction \(parity, education\)"),
    ({"ses": ["education"]}, r"ses lists \['education'\]"),
    ({"adjust": [{"column": "big2"}]}, r"adjusts for its own outcome"),
    ({"adjust": [{"column": "parity", "breaks": [2, 1]}]}, r"strictly increasing"),
    ({"adjust": [{"column": "parity", "breaks": [1], "labels": ["a"]}]}, r"need 2 labels"),
    ({"adjust": [{"column": "parity", "type": "smooth"}]}, r"kind must be categorical"),
    ({"definitions": {"min_weeks": 24}}, r"\[definitions\]: Unknown definition rule"),
    ({"definitions": {"perinatal_neonatal_days": 14}}, r"must be one of 7, 28"),
    ({"confidence_level": 1.5}, r"'confidence_level'"),
])
def test_bad_specs(change, message):
    spec = {**BASE, **change}
    spec = {k: v for k, v in spec.items() if v is not None}
    with pytest.raises(ValueError, match=message):
        ModelSpec.from_dict(spec)


def test_bad_files(tmp_path):
    with pytest.raises(SpecError, match="not found"):
        load_spec(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = [unclosed")
    with pytest.raises(SpecError, match="not valid TOML"):
        load_spec(bad)


def test_mediator_warning_for_mortality():
    spec = {**BASE, "outcome": "perinatal_mortality",
            "adjust": [{"column": "gestational_age_days", "type": "spline"}]}
    with pytest.warns(MediatorWarning, match=r"\['gestational_age_days'\].*causal path"):
        ModelSpec.from_dict(spec)


def test_no_mediator_warning_when_stratified(recwarn):
    spec = {**BASE, "outcome": "perinatal_mortality", "stratify": ["gestational_age_days"]}
    ModelSpec.from_dict(spec)
    assert not [w for w in recwarn if issubclass(w.category, MediatorWarning)]
