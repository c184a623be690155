"""What an attacker can derive: the feasible interval of every hidden cell of linked tables.

For each hidden cell the attacker minimises and maximises its value subject to every relation
between the cells, the published values, and what is known of hidden cells (counts are >= 0,
``<10`` means at most 9): the linear-programming attack of sdcTable's ``attack()`` and
tau-ARGUS's audit. The linear programs are solved by HiGHS (``scipy.optimize.linprog``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components

from casemix.disclosure.linked import LinkedCells

__all__ = ["Protection", "feasible_intervals", "unprotected"]


@dataclass(frozen=True)
class Protection:
    """When a hidden count counts as protected.

    Parameters
    ----------
    threshold : int, default 10
        The attacker's interval must reach at least this value: otherwise the count is shown
        to be small (below the threshold).
    width : float, default 10
        The interval must be at least this wide: otherwise the count is pinned.
    """

    threshold: int = 10
    width: float = 10.0

    def fails(self, lower: npt.NDArray[np.float64], upper: npt.NDArray[np.float64]
              ) -> npt.NDArray[np.bool_]:
        """True where an interval does not protect its cell."""
        tol = 1e-6
        return (upper < self.threshold - tol) | (upper - lower < self.width - tol)


def _pin(A: sparse.csr_matrix, rhs: npt.NDArray[np.float64]
         ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Cells fixed by elimination: a relation with a single unknown cell fixes it; repeat.

    Exact and much cheaper than a linear program for the cells that are recoverable by
    plain differencing (most leaks are of this kind)."""
    A = A.tocsr()
    n = A.shape[1]
    value = np.full(n, np.nan)
    known = np.zeros(n, dtype=bool)
    b = rhs.copy()
    At = A.tocsc()
    unknown_per_row = np.diff(A.indptr).astype(np.int64)
    queue = list(np.flatnonzero(unknown_per_row == 1))
    while queue:
        r = queue.pop()
        if unknown_per_row[r] != 1:
            continue
        cols = A.indices[A.indptr[r]:A.indptr[r + 1]]
        coefs = A.data[A.indptr[r]:A.indptr[r + 1]]
        free = ~known[cols]
        if not free.any():
            continue
        j, c = cols[free][0], coefs[free][0]
        value[j] = b[r] / c
        known[j] = True
        for rr, cc in zip(At.indices[At.indptr[j]:At.indptr[j + 1]],
                          At.data[At.indptr[j]:At.indptr[j + 1]], strict=True):
            b[rr] -= cc * value[j]
            unknown_per_row[rr] -= 1
            if unknown_per_row[rr] == 1:
                queue.append(rr)
    return value, known


def _bounds_lp(A: sparse.csr_matrix, b: npt.NDArray[np.float64],
               lower: npt.NDArray[np.float64], upper: npt.NDArray[np.float64],
               cells: npt.NDArray[np.intp]) -> tuple[npt.NDArray[np.float64],
                                                     npt.NDArray[np.float64]]:
    """Min and max of each of ``cells`` subject to ``A x = b``, ``lower <= x <= upper``."""
    bounds = list(zip(lower, np.where(np.isinf(upper), None, upper), strict=True))
    lo, hi = np.full(len(cells), np.nan), np.full(len(cells), np.nan)
    n = A.shape[1]
    for k, j in enumerate(cells):
        c = np.zeros(n)
        for sign, out in ((1.0, lo), (-1.0, hi)):
            c[j] = sign
            res = linprog(c, A_eq=A, b_eq=b, bounds=bounds, method="highs")
            if res.status == 3:  # unbounded
                out[k] = -sign * np.inf
            elif res.status == 0:
                out[k] = sign * res.fun
            else:  # infeasible: the published values contradict the relations
                out[k] = np.nan
    return lo, hi


def feasible_intervals(cells: LinkedCells, hidden: npt.NDArray[np.bool_] | None = None,
                       *, only: npt.NDArray[np.bool_] | None = None) -> pd.DataFrame:
    """The interval an attacker can derive for each hidden cell.

    Parameters
    ----------
    cells : LinkedCells
        Cells with the values of the published ones and the relations between them.
    hidden : ndarray of bool, optional
        Which cells are hidden (default: those not published); lets a suppression pattern be
        tried without changing ``cells``.
    only : ndarray of bool, optional
        Compute intervals for these hidden cells only (default: the hidden targets).

    Returns
    -------
    pandas.DataFrame
        One row per computed cell: ``cell`` (index), ``key``, ``lower``, ``upper``,
        ``exact`` (fixed by differencing alone).

    Notes
    -----
    With published values :math:`v_P` substituted, the hidden cells :math:`x_H` satisfy
    :math:`A_H x_H = -A_P v_P` and their bounds. Hidden cells are split into connected
    components (cells linked by a relation); within each, cells fixed by elimination (a
    relation with one unknown) are exact, and for the others two linear programs give
    :math:`\\min x_i` and :math:`\\max x_i` (de Wolf et al., tau-ARGUS manual; Meindl, sdcTable
    ``attack()``).
    """
    values, published, lower, upper, target = cells.arrays()
    hidden = ~published if hidden is None else np.asarray(hidden, dtype=bool)
    want = (hidden & target) if only is None else (np.asarray(only, dtype=bool) & hidden)
    A = cells.matrix()
    H = np.flatnonzero(hidden)
    P = np.flatnonzero(~hidden)
    rhs = -(A[:, P] @ values[P]) if len(P) else np.zeros(A.shape[0])
    AH = A[:, H].tocsr()
    touched = np.diff(AH.indptr) > 0
    AH, rhs = AH[touched], rhs[touched]
    rows = []
    if len(H):
        link = (abs(AH) > 0).astype(np.int8)
        n_comp, label = connected_components(link.T @ link, directed=False)
        for comp in range(n_comp):
            members = np.flatnonzero(label == comp)
            wanted = members[want[H[members]]]
            if not len(wanted):
                continue
            sub_rows = np.flatnonzero(np.asarray(abs(AH[:, members]).sum(axis=1)).ravel())
            if not len(sub_rows):  # in no relation: the attacker knows only its bounds
                continue
            sub = AH[sub_rows][:, members]
            b = rhs[sub_rows]
            pinned, known = _pin(sub, b)
            local = np.searchsorted(members, wanted)
            lo = np.where(known[local], pinned[local], np.nan)
            hi = lo.copy()
            todo = local[~known[local]]
            if len(todo):
                free = ~known
                sub_free = sub[:, free]
                b_free = b - sub[:, known] @ pinned[known]
                keep = np.diff(sub_free.tocsr().indptr) > 0
                position = np.cumsum(free) - 1
                l2, h2 = _bounds_lp(sub_free.tocsr()[keep], b_free[keep],
                                    lower[H[members]][free], upper[H[members]][free],
                                    position[todo])
                lo[~known[local]], hi[~known[local]] = l2, h2
            for k, j in enumerate(H[members[local]]):
                rows.append((j, cells.keys[j], lo[k], hi[k], bool(known[local[k]])))
    # hidden targets in no relation: only their own bounds
    seen = {r[0] for r in rows}
    for j in np.flatnonzero(want):
        if j not in seen:
            rows.append((j, cells.keys[j], lower[j], upper[j], False))
    frame = pd.DataFrame(rows, columns=["cell", "key", "lower", "upper", "exact"])
    return frame.sort_values("cell", ignore_index=True)


def unprotected(cells: LinkedCells, protection: Protection,
                hidden: npt.NDArray[np.bool_] | None = None) -> pd.DataFrame:
    """The hidden targets whose feasible interval fails ``protection`` (see
    :func:`feasible_intervals` for the columns)."""
    intervals = feasible_intervals(cells, hidden)
    return intervals[protection.fails(intervals["lower"].to_numpy(),
                                      intervals["upper"].to_numpy())]
