"""GLMM on a synthetic case-mix set against R (fixture tests/fixtures/glmer_casemix).

Reference (key ``independent``): an independent base-R Laplace / AGQ marginal likelihood of
``y ~ parity + plurality + income + maternal_age + (1 | unit)`` optimised to a gradient below
1e-8 (it has the lowest deviance of all engines; lme4 with tolPwrss = 1e-12 agrees to ~2e-5).
Profiling: per unit, predicted P_k (own conditional mode) and expected E_k (random effect 0).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from casemix import CaseMixModel, ModelSpec, Term
from casemix.core.glmm import fit_glmm_binomial

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "glmer_casemix"


@pytest.fixture(scope="module")
def ref():
    return json.loads((FIXTURE / "results.json").read_text())


def _design(d: pd.DataFrame, ref) -> np.ndarray:
    inc = ref["factor_levels"]["income"]
    cols = [np.ones(len(d)), (d["parity"] == "multiparous"), (d["plurality"] == "multiple")]
    cols += [(d["income"].astype(str) == lv) for lv in inc[1:]]
    return np.column_stack([*cols, d["maternal_age"]]).astype(float)


@pytest.mark.parametrize(("n_agq", "key"), [(1, "nAGQ_1"), (25, "nAGQ_25")])
def test_compressed_glmm_equals_r(ref, n_agq, key):
    d = pd.read_csv(FIXTURE / "casemix_compressed.csv", dtype={"income": str})
    units = pd.Index(ref["fits"][key]["independent"]["ranef_levels"]).get_indexer(d["unit"])
    fit = fit_glmm_binomial(_design(d, ref), units, d["events"].to_numpy(float),
                            d["trials"].to_numpy(float), n_agq=n_agq, hessian="numeric")
    r = ref["fits"][key]["independent"]
    np.testing.assert_allclose(fit.coef, r["fixef"], rtol=0, atol=5e-6)
    np.testing.assert_allclose(fit.sigma**2, r["re_variance"], rtol=1e-5)
    np.testing.assert_allclose(fit.modes, r["ranef_mode"], rtol=0, atol=5e-6)
    np.testing.assert_allclose(fit.mode_var, r["ranef_cond_var"], rtol=1e-5)
    np.testing.assert_allclose(fit.std_error, r["se"], rtol=1e-4)


def test_casemix_model_glmm_profiling_equals_r(ref):
    """CaseMixModel(method='glmm') on the births: P_k, E_k and P/E per unit."""
    d = pd.read_csv(FIXTURE / "casemix_births.csv", dtype={"income": str})
    levels = ref["factor_levels"]
    spec = ModelSpec(name="t", outcome="y", levels=("unit",), adjusters=(
        Term("parity", levels=tuple(levels["parity"])),
        Term("plurality", levels=tuple(levels["plurality"])),
        Term("income", levels=tuple(levels["income"])), Term("maternal_age", "linear")))
    result = CaseMixModel(spec, method="glmm").fit(d)
    prof = pd.DataFrame(ref["fits"]["nAGQ_1"]["independent"]["profiling"]).set_index("unit")
    units = result.units.set_index("unit").loc[prof.index]
    np.testing.assert_allclose(units["expected"], prof["expected"], rtol=1e-5)
    np.testing.assert_allclose(units["shrunk_oe"], prof["predicted_over_expected"], rtol=1e-5)
    assert (units["shrunk_lower"] <= units["shrunk_oe"]).all()
    assert (units["shrunk_oe"] <= units["shrunk_upper"]).all()
    assert units["rank_lower"].le(units["rank"]).all() and units["rank"].le(
        units["rank_upper"]).all()


def test_parametric_bootstrap_intervals(ref):
    """Bootstrap draws (Chatterjee-Lahiri-Li prediction errors) are centred near the estimate
    and give intervals that contain it; 30 refits of the 40-unit fixture."""
    d = pd.read_csv(FIXTURE / "casemix_births.csv", dtype={"income": str})
    levels = ref["factor_levels"]
    spec = ModelSpec(name="t", outcome="y", levels=("unit",), adjusters=(
        Term("parity", levels=tuple(levels["parity"])),
        Term("plurality", levels=tuple(levels["plurality"])),
        Term("income", levels=tuple(levels["income"])), Term("maternal_age", "linear")))
    plain = CaseMixModel(spec, method="glmm").fit(d).units.set_index("unit")
    boot = CaseMixModel(spec, method="glmm", n_boot=30, seed=2).fit(d).units.set_index("unit")
    np.testing.assert_allclose(boot["shrunk_oe"], plain["shrunk_oe"])
    assert (boot["shrunk_lower"] <= boot["shrunk_oe"]).all()
    assert (boot["shrunk_oe"] <= boot["shrunk_upper"]).all()
    ratio = (boot["shrunk_upper"] - boot["shrunk_lower"]) / (
        plain["shrunk_upper"] - plain["shrunk_lower"])
    assert 0.5 < ratio.median() < 2.0
