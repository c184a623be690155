"""Births shared between VSVs and sampling weights: O, E, n and their variance per unit.

The references are computed here by hand from the per-birth risks of the fitted model
(``result.fitted_risk``): O_u = sum_i s_iu w_i y_i, E_u = sum_i s_iu w_i p_i,
V_u = sum_i (s_iu w_i)^2 p_i (1 - p_i), the variance of a weighted sum; the intervals are
Byar's (Breslow & Day 1987, vol. II, p. 69) on the effective counts O/k, E/k with
k = V / sum_i s_iu w_i p_i (1 - p_i), written out below with scipy's normal quantile.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from casemix import CaseMixModel, load_spec
from casemix.exceptions import CasemixWarning, DataError, SpecError
from casemix.models.spec import ModelSpec
from casemix.records.shares import shares_from_frame
from casemix.simulation import simulate_cohort


@pytest.fixture(scope="module")
def births() -> pd.DataFrame:
    return simulate_cohort(30_000, seed=7).births


@pytest.fixture(scope="module")
def spec() -> ModelSpec:
    return load_spec("models/big2.toml")


def _fit(spec: ModelSpec, births: pd.DataFrame):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return CaseMixModel(spec).fit(births)


def _fit_shares(spec, births, shares, method=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return CaseMixModel(spec, method=method).fit(births, shares=shares)


def _half(births: pd.DataFrame, a: str, b: str, n: int) -> tuple[pd.DataFrame, pd.Series]:
    ids = births.loc[births["vsv"] == a, "birth_id"].head(n)
    frame = pd.concat([pd.DataFrame({"birth_id": ids, "level": "vsv", "unit": a, "share": 0.5}),
                       pd.DataFrame({"birth_id": ids, "level": "vsv", "unit": b, "share": 0.5})])
    return frame, ids


def _byar(O, E, level=0.95):
    z = norm.ppf(1 - (1 - level) / 2)
    lo = O * (1 - 1 / (9 * O) - z / (3 * np.sqrt(O))) ** 3 / E
    O1 = O + 1
    hi = O1 * (1 - 1 / (9 * O1) + z / (3 * np.sqrt(O1))) ** 3 / E
    return lo, hi


def test_a_birth_shared_half_and_half_adds_half_to_each_unit(births, spec):
    vsvs = sorted(births["vsv"].unique())
    a, b = vsvs[5], vsvs[6]
    shares, ids = _half(births, a, b, 120)
    plain = _fit(spec, births).unit_table.main("vsv").set_index("unit")
    result = _fit_shares(spec, births, shares)
    shared = result.unit_table.main("vsv").set_index("unit")
    # by hand from the per-birth risks of the fit (the model is fitted on births: the same)
    analysed = births.iloc[result.rows].reset_index(drop=True)
    risk, y = result.fitted_risk, result.outcome
    is_shared = analysed["birth_id"].isin(ids).to_numpy()
    s_a = np.where(analysed["vsv"].eq(a), np.where(is_shared, 0.5, 1.0), 0.0)
    s_b = np.where(analysed["vsv"].eq(b), 1.0, 0.0) + np.where(is_shared, 0.5, 0.0)
    n_shared = int(is_shared.sum())
    for unit, s in ((a, s_a), (b, s_b)):
        assert shared.loc[unit, "n"] == pytest.approx(s.sum(), abs=1e-9)
        assert float(shared.loc[unit, "observed"]) == pytest.approx((s * y).sum(), abs=1e-9)
        assert shared.loc[unit, "expected"] == pytest.approx((s * risk).sum(), rel=1e-12)
        V = (s * s * risk * (1 - risk)).sum()
        assert shared.loc[unit, "variance"] == pytest.approx(V, rel=1e-10)
        k = V / (s * risk * (1 - risk)).sum()
        assert shared.loc[unit, "n_effective"] == pytest.approx(s.sum() / k, rel=1e-10)
        O, E = (s * y).sum() / k, (s * risk).sum() / k
        lo, hi = _byar(O, E)
        assert shared.loc[unit, "oe_lower"] == pytest.approx(lo, rel=1e-9)
        assert shared.loc[unit, "oe_upper"] == pytest.approx(hi, rel=1e-9)
    assert shared.loc[a, "n"] == plain.loc[a, "n"] - 0.5 * n_shared
    assert shared.loc[b, "n"] == plain.loc[b, "n"] + 0.5 * n_shared
    # nationally nothing is counted twice, and the other units do not move
    assert shared["n"].sum() == pytest.approx(plain["n"].sum(), abs=1e-9)
    assert float(shared["observed"].sum()) == pytest.approx(float(plain["observed"].sum()),
                                                            abs=1e-9)
    assert result.national_rate == pytest.approx(float(plain["observed"].sum())
                                                 / plain["n"].sum(), rel=1e-12)
    other = [u for u in vsvs if u not in (a, b)]
    pd.testing.assert_frame_equal(
        shared.loc[other, ["n", "expected", "oe_lower", "oe_upper", "p_value"]].astype(float),
        plain.loc[other, ["n", "expected", "oe_lower", "oe_upper", "p_value"]].astype(float),
        rtol=1e-12)


def test_sampling_weights_of_one_reproduce_the_unweighted_run_exactly(births, spec):
    plain = _fit(spec, births).units
    weighted = births.assign(w=1.0)
    for kind in ("sampling", "frequency"):
        one = ModelSpec(**{**spec.__dict__, "weights": "w", "weights_kind": kind})
        pd.testing.assert_frame_equal(_fit(one, weighted).units, plain, check_exact=True)


def test_sampling_weights_use_the_variance_of_a_weighted_sum(births, spec):
    rng = np.random.default_rng(3)
    w = rng.choice([0.8, 1.0, 1.5, 2.5], size=len(births))
    data = births.assign(w=w)
    sampling = ModelSpec(**{**spec.__dict__, "weights": "w", "weights_kind": "sampling"})
    frequency = ModelSpec(**{**spec.__dict__, "weights": "w", "weights_kind": "frequency"})
    rs, rf = _fit(sampling, data), _fit(frequency, data)
    us, uf = (r.unit_table.main("vsv").set_index("unit") for r in (rs, rf))
    analysed = data.iloc[rs.rows].reset_index(drop=True)
    risk, ww = rs.fitted_risk, analysed["w"].to_numpy()
    for unit in us.index[:5]:
        s = analysed["vsv"].eq(unit).to_numpy()
        v = risk * (1 - risk)
        assert us.loc[unit, "variance"] == pytest.approx((ww[s] ** 2 * v[s]).sum(), rel=1e-10)
        assert uf.loc[unit, "variance"] == pytest.approx((ww[s] * v[s]).sum(), rel=1e-10)
        # Kish: with equal risks n/k is (sum w)^2 / sum w^2; here k weighs by p(1-p)
        k = (ww[s] ** 2 * v[s]).sum() / (ww[s] * v[s]).sum()
        assert us.loc[unit, "n_effective"] == pytest.approx(ww[s].sum() / k, rel=1e-10)
    # same point estimates, wider intervals than frequency weights claim
    np.testing.assert_allclose(us["oe"], uf["oe"], rtol=1e-12)
    assert (us["oe_upper"] - us["oe_lower"] > uf["oe_upper"] - uf["oe_lower"]).mean() > 0.9


def test_shares_are_checked(births, spec):
    vsvs = sorted(births["vsv"].unique())
    shares, _ = _half(births, vsvs[0], vsvs[1], 5)
    bad = shares.assign(share=[0.5] * 5 + [0.4] * 5)
    with pytest.raises(DataError, match=r"add up to 1.*5 \(birth, level\) pairs"):
        shares_from_frame(bad)
    with pytest.raises(DataError, match="'share' must be a number in \\(0, 1\\]; 1 rows"):
        shares_from_frame(shares.assign(share=[1.5] + [0.5] * 9))
    with pytest.raises(DataError, match="repeat a \\(birth_id, level, unit\\)"):
        shares_from_frame(pd.concat([shares, shares.head(1)]))
    with pytest.raises(DataError, match="missing: share"):
        shares_from_frame(shares.drop(columns="share"))
    with pytest.raises(DataError, match="not in the births table \\(2 rows\\)"):
        _fit_shares(spec, births, pd.concat([shares, pd.DataFrame(
            {"birth_id": ["nobody"] * 2, "level": "vsv", "unit": vsvs[:2], "share": 0.5})]))
    with pytest.warns(CasemixWarning, match="ggd_region are not used: the spec does not "
                      "compare them"):
        result = CaseMixModel(spec).fit(births, shares=shares.assign(level="ggd_region"))
    assert result.shares is None
    with pytest.raises(SpecError, match="cannot divide a birth between two units"):
        _fit_shares(spec, births, shares, method="glmm")


def test_shrinkers_on_o_and_e_take_the_shares(births, spec):
    vsvs = sorted(births["vsv"].unique())
    shares, _ = _half(births, vsvs[2], vsvs[3], 60)
    result = _fit_shares(spec, births, shares, method="eb")
    main = result.unit_table.main("vsv")
    assert main["shrunk_oe"].notna().all()


def test_the_run_records_its_weights(births, spec, tmp_path):
    from casemix.models.runs import load_run, reproduce_run, save_run

    rng = np.random.default_rng(5)
    data = births.assign(w=rng.uniform(0.5, 2.0, size=len(births)))
    weighted = ModelSpec(**{**spec.__dict__, "weights": "w"})
    result = _fit(weighted, data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        save_run(result, tmp_path / "run", births=data)
    record = load_run(tmp_path / "run").manifest["weights"]
    w = data["w"].to_numpy()[result.rows]
    assert record["column"] == "w" and record["kind"] == "sampling"
    assert record["design_effect"] == pytest.approx(len(w) * (w**2).sum() / w.sum() ** 2,
                                                    rel=1e-12)
    assert record["n_effective"] == pytest.approx(w.sum() ** 2 / (w**2).sum(), rel=1e-12)
    assert (record["min"], record["max"]) == (w.min(), w.max())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reproduce_run(tmp_path / "run", data)
