"""Restricted cubic splines in Harrell's parameterisation (as ``rms::rcs``)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["HARRELL_QUANTILES", "default_knots", "rcs_basis"]

#: Knot quantiles recommended by Harrell (Regression Modeling Strategies, 2nd ed., table 2.3).
HARRELL_QUANTILES: dict[int, tuple[float, ...]] = {
    3: (0.10, 0.50, 0.90),
    4: (0.05, 0.35, 0.65, 0.95),
    5: (0.05, 0.275, 0.50, 0.725, 0.95),
    6: (0.05, 0.23, 0.41, 0.59, 0.77, 0.95),
    7: (0.025, 0.1833, 0.3417, 0.50, 0.6583, 0.8167, 0.975),
}


def quantiles_of_counts(values: npt.ArrayLike, counts: npt.ArrayLike, q: npt.ArrayLike
                        ) -> npt.NDArray[np.float64]:
    """``numpy.quantile(numpy.repeat(values, counts), q)`` without repeating the values.

    Notes
    -----
    NumPy's default (linear, Hyndman and Fan type 7) quantile, computed as NumPy computes
    it, so the result is identical to the last digit: virtual index
    $h = (n - 1) q$, the order statistics $x_{(\\lfloor h \\rfloor)}$ and
    $x_{(\\lfloor h \\rfloor + 1)}$ found in the cumulative counts, and NumPy's two-sided
    linear interpolation (from the upper value when the weight is at least 1/2).
    tests/core/test_splines.py checks it against ``numpy.quantile`` on repeated values.
    """
    x = np.asarray(values, dtype=float)
    order = np.argsort(x, kind="stable")
    xs, cum = x[order], np.cumsum(np.asarray(counts, dtype=np.int64)[order])
    n = int(cum[-1])
    qs = np.asarray(q, dtype=float)
    virtual = (n - 1) * qs  # numpy's virtual index of the linear method
    previous = np.floor(virtual)
    above, below = virtual >= n - 1, virtual < 0
    lo = np.where(above, n - 1, np.where(below, 0, previous)).astype(np.int64)
    hi = np.where(above, n - 1, np.where(below, 0, previous + 1)).astype(np.int64)
    gamma = virtual - previous
    a, b = xs[np.searchsorted(cum, lo, side="right")], xs[np.searchsorted(cum, hi, side="right")]
    diff = b - a
    out: npt.NDArray[np.float64] = np.where(gamma >= 0.5, b - diff * (1 - gamma), a + diff * gamma)
    return out


def median_of_counts(values: npt.ArrayLike, counts: npt.ArrayLike) -> float:
    """``numpy.median(numpy.repeat(values, counts))`` without repeating the values (the mean
    of the two middle values for an even number, as NumPy takes it)."""
    x = np.asarray(values, dtype=float)
    order = np.argsort(x, kind="stable")
    xs, cum = x[order], np.cumsum(np.asarray(counts, dtype=np.int64)[order])
    n = int(cum[-1])
    middle = xs[np.searchsorted(cum, [(n - 1) // 2, n // 2], side="right")]
    return float(np.mean(middle)) if n % 2 == 0 else float(middle[1])


def default_knots(x: npt.ArrayLike, n_knots: int = 5, counts: npt.ArrayLike | None = None
                  ) -> npt.NDArray[np.float64]:
    """Knots at Harrell's recommended quantiles of ``x`` (missing values ignored); with
    ``counts``, of ``x`` repeated that often (grouped births, :func:`quantiles_of_counts`)."""
    if n_knots not in HARRELL_QUANTILES:
        raise ValueError(
            f"The 'n_knots' parameter must be one of {sorted(HARRELL_QUANTILES)}. "
            f"Got {n_knots!r} instead."
        )
    values = np.asarray(x, dtype=float)
    finite = np.isfinite(values)
    if counts is None:
        knots = np.quantile(values[finite], HARRELL_QUANTILES[n_knots])
    else:
        knots = quantiles_of_counts(values[finite], np.asarray(counts)[finite],
                                    HARRELL_QUANTILES[n_knots])
    if np.unique(knots).size < n_knots:
        raise ValueError(
            f"Cannot place {n_knots} distinct knots: the variable has too few distinct values "
            f"(knots would be {knots.tolist()}); use fewer knots or a categorical term."
        )
    return knots


def rcs_basis(x: npt.ArrayLike, knots: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Restricted cubic spline basis, ``k - 1`` columns for ``k`` knots.

    Parameters
    ----------
    x : array-like
        Values (no missing values).
    knots : array-like
        Increasing knots $t_1 < ... < t_k$, ``k >= 3``.

    Returns
    -------
    numpy.ndarray, shape (n, k - 1)
        Column 1 is ``x``; columns ``j + 1`` for ``j = 1..k-2`` are the non-linear terms.

    Notes
    -----
    Harrell's parameterisation with ``norm = 2`` (the default of ``rms::rcs`` and
    ``Hmisc::rcspline.eval``):

    $$
    x_{j+1} = \\frac{(x - t_j)_+^3 - (x - t_{k-1})_+^3 \\frac{t_k - t_j}{t_k - t_{k-1}}
              + (x - t_k)_+^3 \\frac{t_{k-1} - t_j}{t_k - t_{k-1}}}{(t_k - t_1)^2}
    $$

    The function is linear beyond the outer knots. Reference: Harrell FE. Regression Modeling
    Strategies, 2nd ed. Springer, 2015, section 2.4.5.
    """
    x = np.asarray(x, dtype=float)
    t = np.asarray(knots, dtype=float)
    k = t.size
    if k < 3 or np.any(np.diff(t) <= 0):
        raise ValueError(f"Spline knots must be at least 3 increasing values; got {t.tolist()}.")
    out = np.empty((x.size, k - 1))
    out[:, 0] = x
    scale = (t[-1] - t[0]) ** 2
    tail_km1 = np.clip(x - t[-2], 0, None) ** 3
    tail_k = np.clip(x - t[-1], 0, None) ** 3
    for j in range(k - 2):
        out[:, j + 1] = (
            np.clip(x - t[j], 0, None) ** 3
            - tail_km1 * (t[-1] - t[j]) / (t[-1] - t[-2])
            + tail_k * (t[-2] - t[j]) / (t[-1] - t[-2])
        ) / scale
    return out
