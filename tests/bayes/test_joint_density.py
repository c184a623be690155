"""The compiled density of the one-stage model against PyMC's graph of the same model.

nutpie samples :class:`casemix.bayes.joint_density.JointDensity`; PyMC's sampler samples
:func:`casemix.bayes.joint.joint_model`. Both must be one posterior: log densities equal up to
a constant, and equal gradients, on the same coordinates (z, log tau).
"""

from __future__ import annotations

import numpy as np
import pytest

from casemix.bayes.joint import joint_model, laplace_start
from casemix.bayes.joint_density import JointDensity
from casemix.bayes.settings import Priors


def _cells(seed: int = 3):
    rng = np.random.default_rng(seed)
    n_pat, n_units, n_cells = 60, 12, 400
    X = np.column_stack([np.ones(n_pat), rng.normal(size=n_pat), rng.integers(0, 2, n_pat)])
    pattern = rng.integers(0, n_pat, n_cells)
    unit = rng.integers(0, n_units, n_cells)
    m = rng.integers(1, 30, n_cells).astype(float)
    eta = X[pattern] @ [-1.5, 0.4, -0.3] + rng.normal(0, 0.3, n_units)[unit]
    y = rng.binomial(m.astype(int), 1 / (1 + np.exp(-eta))).astype(float)
    return X, pattern, unit, y, m, n_units


@pytest.mark.parametrize("priors", [Priors(), Priors(tau_sd=0.5, coef_sd=1.5, intercept_sd=3),
                                    Priors(tau_precision_gamma=(0.5, 0.01))])
def test_compiled_density_is_the_pymc_model(priors):
    X, pattern, unit, y, m, n_units = _cells()
    mode, chol, _ = laplace_start(X, pattern, unit, y, m, n_units)
    density = JointDensity.build(X, pattern, unit, y, m, mode, chol, priors)
    model = joint_model(X, pattern, unit, y, m, units=[str(k) for k in range(n_units)],
                        names=["a", "b", "c"], priors=priors, start=(mode, chol))
    logp, dlogp = model.compile_logp(), model.compile_dlogp()
    gamma = priors.tau_precision_gamma is not None
    tau_name = "tau_precision_log__" if gamma else "tau_log__"
    # the PyMC coordinate is log tau, or log(1/tau^2) = -2 log tau
    scale = -2.0 if gamma else 1.0
    rng = np.random.default_rng(1)
    values, grads = [], []
    for _ in range(4):
        x = rng.normal(0, 0.7, density.ndim)
        x[-1] = np.log(rng.uniform(0.1, 0.8))
        point = {"z": x[:-1], tau_name: scale * x[-1]}
        lp, grad = density(x)
        values.append(lp - float(logp(point)))
        g = dlogp(point)  # order of model.value_vars: z, then tau
        order = [v.name for v in model.value_vars]
        g_z = g[:len(mode)] if order[0] == "z" else g[1:]
        g_t = g[-1] if order[0] == "z" else g[0]
        grads.append((grad[:-1] - g_z, grad[-1] - g_t * scale))
    np.testing.assert_allclose(values, values[0], atol=1e-8)  # equal up to a constant
    for g_z, g_t in grads:
        np.testing.assert_allclose(g_z, 0, atol=1e-8)
        np.testing.assert_allclose(g_t, 0, atol=1e-8)


def test_expand_maps_back_to_the_parameters():
    X, pattern, unit, y, m, n_units = _cells()
    mode, chol, sigma = laplace_start(X, pattern, unit, y, m, n_units)
    density = JointDensity.build(X, pattern, unit, y, m, mode, chol)
    out = density.expand(density.start(sigma))
    np.testing.assert_allclose(np.r_[out["beta"], out["u"]], mode)
    assert float(out["tau"]) == pytest.approx(max(sigma, 1e-2))
