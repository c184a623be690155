"""Post-stratification and raking (iterative proportional fitting) to population margins."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from casemix.exceptions import ConvergenceError, DataError, ParameterError
from casemix.weighting.design_effects import design_effects
from casemix.weighting.margins import Margin, Margins, cell_codes, classify
from casemix.weighting.result import Weights

__all__ = ["poststratify", "rake"]


@dataclass(frozen=True)
class _Cells:
    """The births' cells in each margin, with the targets."""

    margin: Margin
    codes: npt.NDArray[np.intp]
    n: npt.NDArray[np.int64]

    def sums(self, w: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return np.bincount(self.codes, w, minlength=len(self.margin.values)).astype(float)


def _base(births: pd.DataFrame, base: str | npt.ArrayLike | None) -> npt.NDArray[np.float64]:
    if base is None:
        return np.ones(len(births))
    w = np.asarray(births[base] if isinstance(base, str) else base, dtype=float)
    bad = ~np.isfinite(w) | (w <= 0)
    if bad.any():
        raise DataError(f"Base weights: {int(bad.sum()):,} of {len(w):,} are missing, zero or "
                        "negative; base weights must be positive.")
    return w


def _cells(births: pd.DataFrame, margins: Margins, base: npt.NDArray[np.float64]
           ) -> list[_Cells]:
    """Every margin's cell of each birth; a cell with a positive target but no births is an
    error (nothing can be weighted up to it)."""
    if len(births) == 0:
        raise DataError("No births to weight.")
    encoded = classify(births, margins)
    out = []
    for m in margins.margins:
        codes = cell_codes(encoded, m)
        n = np.bincount(codes, minlength=len(m.values))
        empty = (n == 0) & (m.totals > 0)
        if empty.any():
            shown = ", ".join(f"{m.values[i]!r} (total {m.totals[i]:g})"
                              for i in np.flatnonzero(empty)[:5])
            raise DataError(f"Margin {m.name!r}: {int(empty.sum())} cells have a population "
                            f"total but no births: {shown}. Merge them with a neighbouring "
                            "cell (collapse categories) in the margins table.")
        out.append(_Cells(m, codes, n))
    return out


def _fit(cells: list[_Cells], w: npt.NDArray[np.float64], base: npt.NDArray[np.float64]
         ) -> pd.DataFrame:
    frames = []
    for c in cells:
        achieved = c.sums(w)
        frames.append(pd.DataFrame({"margin": c.margin.name, "value": list(c.margin.values),
                                    "n": c.n, "base": c.sums(base),
                                    "target": c.margin.totals, "achieved": achieved,
                                    "deviation": achieved - c.margin.totals}))
    return pd.concat(frames, ignore_index=True)


def poststratify(births: pd.DataFrame, margins: Margins, *,
                 base: str | npt.ArrayLike | None = None) -> Weights:
    """Post-stratification weights: each cell's births weighted up to its population total.

    Parameters
    ----------
    births : pandas.DataFrame
        One row per birth, with the margin variables.
    margins : Margins
        One margin: the full cross-classification of the strata (a wide margins table, or a
        long one with a single margin).
    base : str or array-like, optional
        Column (or values) of base weights; default 1 for every birth.

    Returns
    -------
    Weights

    Raises
    ------
    DataError
        Births in cells that the margins do not list, cells with a total but no births,
        missing values of a stratum variable (each named, with counts).

    Notes
    -----
    For birth $i$ in cell $h$ with population total $N_h$,
    $w_i = d_i N_h / \\sum_{j \\in h} d_j$ ($d$ the base weights), so that the
    weights add up to $N_h$ in every cell. This is ``survey::postStratify``
    (Lumley 2010, section 7.2), and the calibration estimator of Deville & Särndal (1992)
    with a complete cross-classification.

    References
    ----------
    Deville, J.-C. & Särndal, C.-E. (1992). Calibration estimators in survey sampling.
    *JASA* 87, 376-382. Lumley, T. (2010). *Complex Surveys*. Wiley.
    """
    if len(margins.margins) != 1:
        raise ParameterError(
            f"poststratify needs one margin (the full cross-classification of the strata); "
            f"got {len(margins.margins)}: {[m.name for m in margins.margins]}. Use rake for "
            "several margins, or give a wide table.")
    d = _base(births, base)
    (c,) = _cells(births, margins, d)
    sums = c.sums(d)
    factor = np.divide(c.margin.totals, sums, out=np.zeros_like(sums), where=sums > 0)
    w = d * factor[c.codes]
    return Weights(w, "poststratify", _fit([c], w, d), 1, design_effects(w))


def _check_totals(margins: Margins) -> None:
    """Margins must describe the same population: equal grand totals."""
    totals = {m.name: float(m.totals.sum()) for m in margins.margins}
    first = next(iter(totals.values()))
    off = {k: v for k, v in totals.items() if abs(v - first) > 1e-9 * max(first, 1.0)}
    if off:
        raise DataError(f"The margins do not add up to the same total: "
                        f"{', '.join(f'{k} = {v:,.10g}' for k, v in totals.items())}. "
                        "Raking cannot meet margins of different populations.")


def _relative(c: _Cells, w: npt.NDArray[np.float64]) -> float:
    """Largest relative deviation of a margin's cells from their targets."""
    t = c.margin.totals
    dev = np.abs(c.sums(w) - t)
    return float(np.max(dev / np.where(t > 0, t, 1.0), initial=0.0))


def rake(births: pd.DataFrame, margins: Margins, *, base: str | npt.ArrayLike | None = None,
         tol: float = 1e-12, max_iter: int = 200,
         bounds: tuple[float, float] | None = None) -> Weights:
    """Raking weights: iterative proportional fitting to several margins.

    Parameters
    ----------
    births : pandas.DataFrame
        One row per birth, with the margin variables.
    margins : Margins
        The margins, visited in their order; a margin may be a cross-classification.
    base : str or array-like, optional
        Column (or values) of base weights; default 1.
    tol : float, default 1e-12
        Converged when every cell of every margin is within ``tol`` of its target,
        relatively.
    max_iter : int, default 200
        Cycles over all margins at most.
    bounds : (float, float), optional
        Bounds ``(L, U)`` on the ratio of the final to the base weight, applied after each
        step (bounded raking); the weights may then be unable to meet the margins.

    Returns
    -------
    Weights

    Raises
    ------
    DataError
        Unlisted or empty cells, missing values, margins with different grand totals.
    ConvergenceError
        Not converged after ``max_iter`` cycles; names the margin furthest from its target.

    Notes
    -----
    Each cycle visits the margins in turn and scales the weights of every cell $h$ of
    margin $m$ by $N_{mh} / \\sum_{i \\in h} w_i$ (Deming & Stephan 1940). The
    limit is the raking-ratio calibration estimator: among weights that meet all margins it
    minimises $\\sum_i w_i \\log(w_i / d_i) - w_i + d_i$ (Deville & Särndal 1992,
    case 2). This is ``survey::rake`` (Lumley 2010, section 7.3), whose default stopping
    rule is looser (10 cycles, epsilon 1).

    References
    ----------
    Deming, W. E. & Stephan, F. F. (1940). *Ann. Math. Stat.* 11, 427-444. Deville, J.-C. &
    Särndal, C.-E. (1992). *JASA* 87, 376-382. Lumley, T. (2010). *Complex Surveys*. Wiley.
    """
    if bounds is not None and not 0 <= bounds[0] <= 1 <= bounds[1]:
        raise ParameterError(f"rake: bounds must satisfy 0 <= L <= 1 <= U; got {bounds}.")
    d = _base(births, base)
    cells = _cells(births, margins, d)
    _check_totals(margins)
    w = d.copy()
    for iteration in range(1, max_iter + 1):
        for c in cells:
            sums = c.sums(w)
            factor = np.divide(c.margin.totals, sums, out=np.zeros_like(sums), where=sums > 0)
            w *= factor[c.codes]
            if bounds is not None:
                np.clip(w, d * bounds[0], d * bounds[1], out=w)
        worst = [_relative(c, w) for c in cells]
        if max(worst) <= tol:
            return Weights(w, "rake", _fit(cells, w, d), iteration, design_effects(w))
    k = int(np.argmax(worst))
    raise ConvergenceError(
        f"Raking did not converge in {max_iter} cycles: margin {cells[k].margin.name!r} is "
        f"still {worst[k]:.3g} (relative) from its totals (tolerance {tol:g})."
        + (" The bounds may be too tight for these margins." if bounds else
           " Check for margins that contradict each other, or raise max_iter."))
