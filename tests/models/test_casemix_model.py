"""CaseMixModel end to end against independent references.

R references (tests/fixtures/glm_casemix, see its README): model a =
``glm(big2 ~ parity_group + plurality_group + infant_sex + income_quintile +
migration_background + rms::rcs(maternal_age, c(20, 27, 31, 35, 41)), family = binomial)``;
c = the same with ``weights = weight``; d = a ``+ vsv``. ``by_vsv_model_a`` holds per VSV
``n``, ``observed = sum(big2)`` and ``expected = sum(fitted(a))``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2

from casemix import CaseMixModel, MethodSwitchWarning, ModelSpec, Term
from casemix.models.runs import load_model, save_run
from casemix.standardisation import UNIT_COLUMNS

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "glm_casemix"
FACTORS = ["parity_group", "plurality_group", "infant_sex", "income_quintile",
           "migration_background"]


@pytest.fixture(scope="module")
def data():
    d = pd.read_csv(FIXTURE / "casemix_data.csv", dtype={"income_quintile": str})
    return d.rename(columns={"big2": "event"})


@pytest.fixture(scope="module")
def ref():
    return json.loads((FIXTURE / "results.json").read_text())


def _spec(ref, **kw) -> ModelSpec:
    levels = ref["factor_levels"]
    terms = (*(Term(c, levels=tuple(levels[c])) for c in FACTORS),
             Term("maternal_age", "spline", knots=(20, 27, 31, 35, 41)))
    return ModelSpec(name="fixture", outcome="event", adjusters=terms, levels=("vsv",), **kw)


def _by_name(result):
    return result.coefficients.set_index("term")


def test_pooled_coefficients_and_expected_equal_glm(data, ref):
    result = CaseMixModel(_spec(ref)).fit(data)
    r = ref["models"]["a_main"]
    coef = _by_name(result).loc[r["coef_names"]]
    np.testing.assert_allclose(coef["estimate"], r["estimate"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(coef["std_error"], r["std_error"], rtol=1e-6)
    units = result.units.set_index("unit")
    by_vsv = pd.DataFrame(ref["by_vsv_model_a"]).set_index("vsv")
    np.testing.assert_array_equal(units.loc[by_vsv.index, "observed"], by_vsv["observed"])
    np.testing.assert_array_equal(units.loc[by_vsv.index, "n"], by_vsv["n"])
    np.testing.assert_allclose(units.loc[by_vsv.index, "expected"], by_vsv["expected"],
                               rtol=1e-8)


def test_sum_expected_equals_sum_observed_for_pooled_logistic(data, ref):
    """The score equation of the intercept: sum of fitted = sum of outcomes."""
    units = CaseMixModel(_spec(ref)).fit(data).units
    assert units["expected"].sum() == pytest.approx(units["observed"].sum(), rel=1e-10)


def test_fixed_effects_casemix_coefficients_equal_glm_with_vsv(data, ref):
    result = CaseMixModel(_spec(ref), method="fixed").fit(data)
    r = ref["models"]["d_vsv_fixed"]
    est = dict(zip(r["coef_names"], r["estimate"], strict=True))
    se = dict(zip(r["coef_names"], r["std_error"], strict=True))
    coef = _by_name(result).drop(index="(Intercept)")
    np.testing.assert_allclose(coef["estimate"], [est[t] for t in coef.index], atol=1e-6)
    np.testing.assert_allclose(coef["std_error"], [se[t] for t in coef.index], rtol=1e-6)
    units = result.units
    assert units["expected"].sum() == pytest.approx(units["observed"].sum(), rel=1e-9)


def test_case_weights_in_fit_and_counts(data, ref):
    with pytest.warns(MethodSwitchWarning, match="normal approximation"):
        result = CaseMixModel(_spec(ref, weights="weight")).fit(data)
    assert any("normal approximation" in n for n in result.notes)
    r = ref["models"]["c_weighted"]
    coef = _by_name(result).loc[r["coef_names"]]
    np.testing.assert_allclose(coef["estimate"], r["estimate"], atol=1e-6)
    np.testing.assert_allclose(coef["std_error"], r["std_error"], rtol=1e-6)
    units = result.units.set_index("unit")
    w_obs = (data["event"] * data["weight"]).groupby(data["vsv"]).sum()
    w_n = data["weight"].groupby(data["vsv"]).sum()
    np.testing.assert_allclose(units.loc[w_obs.index, "observed"].astype(float), w_obs)
    np.testing.assert_allclose(units.loc[w_n.index, "n"].astype(float), w_n)


@pytest.mark.parametrize("method", ["pooled", "fixed"])
def test_compressed_equals_rows(data, ref, method):
    cells = CaseMixModel(_spec(ref), method=method, compress=True).fit(data)
    rows = CaseMixModel(_spec(ref), method=method, compress=False).fit(data)
    assert cells.compressed and not rows.compressed and cells.n_cells < rows.n_cells
    np.testing.assert_allclose(cells.coef, rows.coef, rtol=0, atol=1e-8)
    np.testing.assert_allclose(cells.units["expected"], rows.units["expected"], rtol=1e-10)


def test_unit_without_events(data, ref):
    """O = 0: O/E = 0, lower limit 0; the exact Poisson-binomial upper limit E(g)/E where
    every birth's log-odds shifted by g gives P(X = 0) = prod(1 - p_i(g)) = 0.025 (solved
    here with brentq on the births' own risks), below the Poisson limit -ln(0.025)/E =
    chi2(0.975, 2)/2/E, which overstates Var(O)."""
    from scipy.optimize import brentq
    from scipy.special import expit, logit

    d = data.copy()
    d.loc[d["vsv"] == "VSV20", "event"] = 0
    result = CaseMixModel(_spec(ref)).fit(d)
    row = result.units.set_index("unit").loc["VSV20"]
    assert row["observed"] == 0 and row["oe"] == 0 and row["oe_lower"] == 0
    risk = result.fitted_risk[(d["vsv"].iloc[result.rows] == "VSV20").to_numpy()]
    g = brentq(lambda g: np.log1p(-expit(logit(risk) + g)).sum() - np.log(0.025), -20, 20,
               xtol=1e-14)
    assert row["oe_upper"] == pytest.approx(expit(logit(risk) + g).sum() / risk.sum(),
                                            rel=1e-8)
    assert row["oe_upper"] < -np.log(0.025) / row["expected"] == pytest.approx(
        chi2.ppf(0.975, 2) / 2 / row["expected"])
    fixed = CaseMixModel(_spec(ref), method="fixed").fit(d)
    assert fixed.units.set_index("unit").loc["VSV20", "observed"] == 0


def test_unit_table_interface(data, ref):
    units = CaseMixModel(_spec(ref)).fit(data).units
    assert list(units.columns[: len(UNIT_COLUMNS)]) == UNIT_COLUMNS
    assert set(units["flag_95"]) <= {"above", "below", "within"}
    inside = (units["oe_lower"] <= units["oe"]) & (units["oe"] <= units["oe_upper"])
    assert inside.all()
    np.testing.assert_allclose(units["adjusted_rate"] / units["oe"],
                               units["observed"].sum() / units["n"].sum())


def test_saved_model_reproduces_predictions_exactly(data, ref, tmp_path):
    with pytest.warns(MethodSwitchWarning):
        result = CaseMixModel(_spec(ref, weights="weight")).fit(data)
    save_run(result, tmp_path / "run", births=data)
    model = load_model(tmp_path / "run")
    np.testing.assert_array_equal(model.predict(data), result.predict(data))
    np.testing.assert_allclose(result.predict(data)[:5], ref["models"]["c_weighted"]["fitted"][
        :5], rtol=1e-8)
    with pytest.raises(Exception, match="already holds a run"):
        save_run(result, tmp_path / "run")
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["rows"]["analysed"] == len(data)
    assert len(manifest["data_sha256"]) == 64
    files = {p.name for p in (tmp_path / "run").iterdir()}
    assert {"model.json", "units.csv", "coefficients.csv", "exclusions.csv",
            "manifest.json"} <= files
    assert not any(name.endswith((".pkl", ".pickle")) for name in files)


def test_refit_gives_identical_numbers(data, ref):
    a = CaseMixModel(_spec(ref)).fit(data)
    b = CaseMixModel(_spec(ref)).fit(data.sample(frac=1.0, random_state=np.random.default_rng(
        3).integers(1e9)))
    pd.testing.assert_frame_equal(a.coefficients, b.coefficients, rtol=1e-12)


def test_bad_outcome_column(data, ref):
    d = data.assign(event=data["event"].replace({1: 2}))
    with pytest.raises(ValueError, match=r"'event' must be 0/1.*\{'2': \d+\}"):
        CaseMixModel(_spec(ref)).fit(d)


def test_unseen_level_when_scoring(data, ref, tmp_path):
    result = CaseMixModel(_spec(ref)).fit(data)
    save_run(result, tmp_path / "run")
    model = load_model(tmp_path / "run")
    new = data.head(4).assign(migration_background=["dutch", "martian", "martian", "dutch"])
    with pytest.raises(ValueError, match=r"migration_background.*'martian' \(2 rows\)"):
        model.predict(new)


def test_separation_gives_a_clear_error(data, ref):
    """A level without events (here: multiple births set to no event) is not estimable."""
    d = data.copy()
    d.loc[d["plurality_group"] == "multiple", "event"] = 0
    n_multiple = int((d["plurality_group"] == "multiple").sum())
    with pytest.raises(ValueError, match=rf"plurality_group=multiple \(0 events in "
                                         rf"{n_multiple} births\).*Merge the level"):
        CaseMixModel(_spec(ref)).fit(d)


def test_results_per_year_and_stratum(data, ref):
    rng = np.random.default_rng(5)
    d = data.assign(year=rng.choice([2022, 2023], size=len(data)))
    result = CaseMixModel(_spec(ref, by_year=True, stratify=("infant_sex",))).fit(d)
    units = result.units
    assert "year" in result.encoding.names[-1] or any(
        n.startswith("year=") for n in result.encoding.names)
    pooled = units.query("period == '2022-2023' and stratum == 'all'")
    per_year = units.query("period in ['2022', '2023'] and stratum == 'all'")
    by_sex = units.query("stratum.str.startswith('infant_sex=')", engine="python")
    assert len(pooled) == 20 and len(per_year) == 40 and len(by_sex) == 40
    for frame in (per_year, by_sex):  # counts of the parts add up to the pooled counts
        total = frame.groupby("unit")[["observed", "n", "expected"]].sum()
        pooled_u = pooled.set_index("unit")
        np.testing.assert_allclose(total["observed"].astype(float),
                                   pooled_u.loc[total.index, "observed"].astype(float))
        np.testing.assert_allclose(total["expected"], pooled_u.loc[total.index, "expected"])
