"""What an attacker can derive: the feasible interval of every hidden cell of linked tables.

For each hidden cell the attacker minimises and maximises its value subject to every relation
between the cells, the published values, and what is known of hidden cells (counts are >= 0,
``<10`` means at most 9): the linear-programming attack of sdcTable's ``attack()`` and
tau-ARGUS's audit. The linear programs are solved by HiGHS (``scipy.optimize.linprog``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from casemix.disclosure.linked import LinkedCells
from casemix.exceptions import CasemixError

__all__ = ["Protection", "complete", "feasible_intervals", "max_sum", "unprotected"]


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

    threshold: float = 10
    width: float = 10.0

    def fails(self, lower: npt.ArrayLike, upper: npt.ArrayLike, kind: npt.ArrayLike,
              shown_upper: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """True where a hidden cell's interval does not protect it.

        - ``shown`` (a suppressed count): the interval must reach ``threshold``, and where it
          reaches below the threshold (the count may be small) it must be at least ``width``
          wide; an interval pinned to exactly 0 (no births) or lying wholly at or above the
          threshold reveals no count of 1 to ``threshold - 1``;
        - ``masked`` (shown as ``<threshold``): the relations must not narrow
          ``[0, shown_upper]`` at all;
        - ``implied`` (shown nowhere, e.g. a complement n - O): the interval must not show
          the count to be small, i.e. its upper end must reach ``threshold`` unless it is 0;
        - ``total`` (shown nowhere, a sum such as the births without a unit code in one year,
          bounded by a count shown as ``<threshold``): it must not be shown to lie in
          ``1..threshold-1``, i.e. its interval reaches 0 or ``threshold``.
        """
        tol = 1e-6
        lo, hi = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
        kind, shown = np.asarray(kind), np.asarray(shown_upper, dtype=float)
        zero = hi <= tol
        small = hi < self.threshold - tol
        may_be_small = lo < self.threshold - tol
        exposed = (small | (may_be_small & (hi - lo < self.width - tol))) & ~zero
        narrowed = (lo > tol) | (hi < shown - tol)
        return np.select([kind == "masked", kind == "implied", kind == "total"],
                         [narrowed, small & ~zero, small & (lo > tol)], exposed)


    def certifies(self, lower: npt.ArrayLike, upper: npt.ArrayLike, kind: npt.ArrayLike,
                  shown_upper: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """True where inner bounds (a sub-interval of the feasible interval) already prove
        protection: a condition that stays true when the interval widens."""
        tol = 1e-6
        lo, hi = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
        kind, shown = np.asarray(kind), np.asarray(shown_upper, dtype=float)
        wide = (hi >= self.threshold - tol) & (hi - lo >= self.width - tol)
        whole = (lo <= tol) & (hi >= shown - tol)
        reaches = hi >= self.threshold - tol
        return np.select([kind == "masked", kind == "implied", kind == "total"],
                         [whole, reaches, reaches | (lo <= tol)], wide)


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


def _solve(A: sparse.csr_matrix, b: npt.NDArray[np.float64],
           bounds: list[tuple[float, float | None]], c: npt.NDArray[np.float64]
           ) -> tuple[int, npt.NDArray[np.float64] | None, float]:
    """``min c x`` subject to ``A x = b`` and the bounds (HiGHS): status, x, objective."""
    from scipy.optimize import linprog  # here: a scan worker imports this module

    res = linprog(c, A_eq=A, b_eq=b, bounds=bounds, method="highs")
    return res.status, (res.x if res.status == 0 else None), float(res.fun or 0.0)


def _bounds_lp(A: sparse.csr_matrix, b: npt.NDArray[np.float64],
               bounds: list[tuple[float, float | None]], cells: npt.NDArray[np.intp], *,
               lower: bool = True, upper: bool = True
               ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Min and max of each of ``cells`` subject to ``A x = b`` and the bounds (NaN for a
    side not asked for)."""
    lo, hi = np.full(len(cells), np.nan), np.full(len(cells), np.nan)
    sides = [(s, o) for s, o, want in ((1.0, lo, lower), (-1.0, hi, upper)) if want]
    polytope = _Polytope(A, b, bounds)
    for k, j in enumerate(cells):
        for sign, out in sides:
            status, fun = polytope.optimum(int(j), sign)
            if status == 3:  # unbounded
                out[k] = -sign * np.inf
            elif status == 0:
                out[k] = sign * fun
            # else infeasible: the published values contradict the relations (NaN)
    return lo, hi


_BANNER = [True]


def _highs():  # type: ignore[no-untyped-def]
    """A silent HiGHS instance (the first one in a process prints a banner to the C-level
    standard output, which would land in the middle of the CLI's output)."""
    import highspy

    if not _BANNER[0]:
        h = highspy.Highs()
    else:
        sys.stdout.flush()
        saved = os.dup(1)
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            try:
                h = highspy.Highs()
            finally:
                os.dup2(saved, 1)
                os.close(saved)
        _BANNER[0] = False
    h.setOptionValue("output_flag", False)
    return h


def _highs_polytope(A: sparse.csr_matrix, b: npt.NDArray[np.float64],
                    bounds: list[tuple[float, float | None]]):  # type: ignore[no-untyped-def]
    """A silent HiGHS model of ``{x : A x = b, bounds}`` (zero objective)."""
    import highspy

    h = _highs()
    inf = highspy.kHighsInf
    h.addVars(A.shape[1], np.array([lo for lo, _ in bounds], dtype=float),
              np.array([inf if hi is None else hi for _, hi in bounds], dtype=float))
    A = sparse.csr_matrix(A)
    h.addRows(A.shape[0], b, b, A.nnz, A.indptr[:-1].astype(np.int32),
              A.indices.astype(np.int32), A.data.astype(float))
    return h


class _Polytope:
    """``{x : A x = b, bounds}`` loaded into HiGHS once; each optimum changes only the
    objective, so the solver starts from the previous optimal basis (a warm start).

    scipy's ``linprog`` calls the same HiGHS solver but builds the model again for every
    objective; the bounds of one cell after another are many programs over one polytope,
    where the warm start is measurably faster (``benchmarks/bench_disclosure.py``)."""

    def __init__(self, A: sparse.csr_matrix, b: npt.NDArray[np.float64],
                 bounds: list[tuple[float, float | None]]) -> None:
        import highspy

        self._h = _highs_polytope(A, b, bounds)
        self._last: int | None = None
        self._ok = {highspy.HighsModelStatus.kOptimal: 0,
                    highspy.HighsModelStatus.kUnbounded: 3}

    def optimum(self, j: int, sign: float) -> tuple[int, float]:
        """``min sign * x_j``: status (0 optimal, 3 unbounded, 2 otherwise) and value."""
        if self._last is not None and self._last != j:
            self._h.changeColCost(self._last, 0.0)
        self._h.changeColCost(j, sign)
        self._last = j
        self._h.run()
        status = self._ok.get(self._h.getModelStatus(), 2)
        return status, float(self._h.getInfo().objective_function_value)


def _witnesses(A: sparse.csr_matrix, b: npt.NDArray[np.float64],
               bounds: list[tuple[float, float | None]], wanted: npt.NDArray[np.intp],
               reference: npt.NDArray[np.float64] | None, rng: np.random.Generator
               ) -> npt.NDArray[np.float64]:
    """Feasible points of the hidden cells: the true values (when known) and the optima of
    a few objectives over all wanted cells at once. Every cell's feasible interval contains
    the range of its values over these points."""
    points = [] if reference is None else [reference]
    n = A.shape[1]
    objectives = [np.zeros(n), np.zeros(n)]
    objectives[0][wanted], objectives[1][wanted] = 1.0, -1.0
    objectives += [np.where(np.isin(np.arange(n), wanted), rng.standard_normal(n), 0.0)
                   for _ in range(2)]
    for c in objectives:
        _, x, _ = _solve(A, b, bounds, c)
        if x is not None:
            points.append(x)
    return np.asarray(points).reshape(len(points), n)


def _extremes(A: sparse.csr_matrix, b: npt.NDArray[np.float64],
              bounds: list[tuple[float, float | None]], cells: npt.NDArray[np.intp],
              rng: np.random.Generator) -> npt.NDArray[np.float64]:
    """Two feasible points that push ``cells`` apart: a random half of them up and the other
    half down, and the reverse (a total that is fixed cannot push all of them one way)."""
    points = []
    signs = rng.choice([-1.0, 1.0], size=len(cells))
    for direction in (signs, -signs):
        c = np.zeros(A.shape[1])
        c[cells] = direction
        _, x, _ = _solve(A, b, bounds, c)
        if x is not None:
            points.append(x)
    return np.asarray(points).reshape(len(points), A.shape[1])


def feasible_intervals(cells: LinkedCells, hidden: npt.NDArray[np.bool_] | None = None,
                       *, only: npt.NDArray[np.bool_] | None = None,
                       certify: Protection | None = None,
                       reference: npt.NDArray[np.float64] | None = None,
                       exact: bool = True, seed: int = 20261130) -> pd.DataFrame:
    r"""The interval an attacker can derive for each hidden cell.

    Parameters
    ----------
    cells : LinkedCells
        Cells with the values of the published ones and the relations between them.
    hidden : ndarray of bool, optional
        Which cells are hidden (default: those not published); lets a suppression pattern be
        tried without changing ``cells``.
    only : ndarray of bool, optional
        Compute intervals for these hidden cells only (default: every hidden cell).
    certify : Protection, optional
        Only decide whether each cell passes: a cell that feasible witness points already show
        to be protected gets no linear programs of its own (its ``lower``/``upper`` are then
        inner bounds, ``certified`` is True). Without it every interval is exact.
    reference : ndarray, optional
        A complete feasible point (every cell's value, e.g. the true counts; see
        :func:`complete`): a witness too, and the best one (the writer's case).
    exact : bool, default True
        With ``certify``: compute exact intervals for the cells the witnesses do not certify
        (False leaves them as inner bounds with ``certified`` False; a quick first pass).

    Returns
    -------
    pandas.DataFrame
        One row per computed cell: ``cell`` (index), ``key``, ``lower``, ``upper``,
        ``exact`` (fixed by differencing alone), ``certified``.

    Notes
    -----
    With published values $v_P$ substituted, the hidden cells $x_H$ satisfy
    $A_H x_H = -A_P v_P$ and their bounds. Hidden cells are split into connected
    components (cells linked by a relation); within each, cells fixed by elimination (a
    relation with one unknown) are exact, and for the others two linear programs give
    $\min x_i$ and $\max x_i$ (de Wolf et al., tau-ARGUS manual; Meindl, sdcTable
    ``attack()``). With ``certify``, a few feasible points (the true values, and the optima of
    the sum of the cells and of random directions) bound every interval from inside; cells
    that these inner bounds already protect need no programs of their own, which is sound
    because the exact interval can only be wider.
    """
    values, published, lower, upper, kind = cells.arrays()
    hidden = ~published if hidden is None else np.asarray(hidden, dtype=bool)
    want = hidden if only is None else (np.asarray(only, dtype=bool) & hidden)
    rng = np.random.default_rng(seed)
    A = cells.matrix()
    H = np.flatnonzero(hidden)
    P = np.flatnonzero(~hidden)
    rhs = -(A[:, P] @ values[P]) if len(P) else np.zeros(A.shape[0])
    AH = A[:, H].tocsr()
    touched = np.diff(AH.indptr) > 0
    AH, rhs = AH[touched], rhs[touched]
    rows = []
    if len(H):
        for members, sub_rows, sub in _split_components(AH, want[H]):
            wanted = members[want[H[members]]]
            rows += _component(cells, sub, rhs[sub_rows], H[members],
                               np.searchsorted(members, wanted),
                               (values, lower, upper, kind), certify, reference, exact,
                               rng)
    seen = {r[0] for r in rows}
    for j in np.flatnonzero(want):
        if j not in seen:  # hidden cells in no relation: only their own bounds
            rows.append((j, cells.keys[j], lower[j], upper[j], False, False))
    frame = pd.DataFrame(rows, columns=["cell", "key", "lower", "upper", "exact",
                                        "certified"])
    return frame.sort_values("cell", ignore_index=True)


def _split_components(AH: sparse.csr_matrix, want: npt.NDArray[np.bool_]
                      ) -> Iterator[tuple[npt.NDArray[np.intp], npt.NDArray[np.intp],
                                          sparse.csr_matrix]]:
    """The connected components of the hidden cells (columns of ``AH``) that hold a wanted
    cell and a relation: ``(members, rows, AH[rows][:, members])`` each, in component order.

    Notes
    -----
    Cells are linked when a relation holds both with a nonzero coefficient. The entries are
    sorted by component once, so that each submatrix is built from its own entries instead
    of slicing the whole matrix per component (895 components of the 1M-birth run: 0.30 s
    of slicing down to 0.03 s); the submatrix keeps the entries of its rows, explicit zeros
    included, in their order, as the slicing did.
    """
    link = (abs(AH) > 0).astype(np.int8)
    n_comp, label = connected_components(link.T @ link, directed=False)
    coo = AH.tocoo()
    entry_comp = label[coo.col]
    by_entry = np.argsort(entry_comp, kind="stable")
    entry_ends = np.searchsorted(entry_comp[by_entry], np.arange(n_comp + 1))
    by_col = np.argsort(label, kind="stable")
    col_ends = np.searchsorted(label[by_col], np.arange(n_comp + 1))
    wanted_comps = np.unique(label[want])
    for comp in wanted_comps:
        members = by_col[col_ends[comp]:col_ends[comp + 1]]
        e = by_entry[entry_ends[comp]:entry_ends[comp + 1]]
        row, col, data = coo.row[e], coo.col[e], coo.data[e]
        rows, inverse = np.unique(row, return_inverse=True)
        related = np.bincount(inverse, weights=data != 0) > 0
        if not related.any():  # in no relation: the attacker knows only its bounds
            continue
        keep = related[inverse]
        local = (np.cumsum(related) - 1)[inverse[keep]]
        indptr = np.concatenate([[0], np.cumsum(np.bincount(local,
                                                            minlength=related.sum()))])
        sub = sparse.csr_matrix((data[keep], np.searchsorted(members, col[keep]), indptr),
                                shape=(int(related.sum()), len(members)))
        yield members, rows[related], sub


def _component(cells: LinkedCells, sub: sparse.csr_matrix, b: npt.NDArray[np.float64],
               index: npt.NDArray[np.intp], local: npt.NDArray[np.intp],
               arrays: tuple[npt.NDArray, ...], certify: Protection | None,
               reference: npt.NDArray[np.float64] | None, exact: bool,
               rng: np.random.Generator) -> list[tuple]:
    """Intervals of the wanted cells (``local`` positions) of one component."""
    _, lower, upper, kind = arrays
    pinned, is_pinned = _pin(sub, b)
    lo = np.where(is_pinned[local], pinned[local], np.nan)
    hi = lo.copy()
    certified = np.zeros(len(local), dtype=bool)
    todo = np.flatnonzero(~is_pinned[local])
    if len(todo):
        free = ~is_pinned
        position = np.cumsum(free) - 1
        sub_free = sub[:, free].tocsr()
        b_free = b - sub[:, is_pinned] @ pinned[is_pinned]
        keep = np.diff(sub_free.indptr) > 0
        A2, b2 = sub_free[keep], b_free[keep]
        cols = index[free]
        bounds = [(lo_, None if np.isinf(hi_) else hi_)
                  for lo_, hi_ in zip(lower[cols], upper[cols], strict=True)]
        targets = position[local[todo]]

        def settle(points: npt.NDArray[np.float64], todo: npt.NDArray[np.intp]
                   ) -> npt.NDArray[np.bool_]:
            """Inner bounds of ``todo`` from ``points``; True where they certify."""
            assert certify is not None
            t_idx = position[local[todo]]
            lo[todo], hi[todo] = points[:, t_idx].min(0), points[:, t_idx].max(0)
            ok = certify.certifies(lo[todo], hi[todo], kind[index[local[todo]]],
                                   upper[index[local[todo]]])
            certified[todo[ok]] = True
            return np.asarray(ok, dtype=bool)

        if certify is not None:
            point = None if reference is None else reference[cols]
            points = _witnesses(A2, b2, bounds, targets, point, rng)
            for _ in range(8):  # targeted witnesses: push the undecided cells together
                if not len(points) or not len(todo):
                    break
                ok = settle(points, todo)
                todo = todo[~ok]
                if not ok.any() and _ > 3:
                    break
                more = _extremes(A2, b2, bounds, position[local[todo]], rng)
                if not len(more):
                    break
                points = np.vstack([points, more])
            if len(todo) and len(points):
                gains = _needed_gain(certify, points, position[local[todo]],
                                     kind[index[local[todo]]], upper[index[local[todo]]])
                for batch in (32, 4, 1):
                    if not len(todo):
                        break
                    points = np.vstack([points, _capped_push(
                        A2, b2, bounds, points[0], position[local[todo]], gains, batch, rng)])
                    ok = settle(points, todo)
                    todo, gains = todo[~ok], gains[~ok]
        if len(todo) and exact and certify is None:
            lo[todo], hi[todo] = _bounds_lp(A2, b2, bounds, position[local[todo]])
        elif len(todo) and exact and certify is not None:  # the upper end first: often enough
            _, hi[todo] = _bounds_lp(A2, b2, bounds, position[local[todo]], lower=False)
            ok = certify.certifies(lo[todo], hi[todo], kind[index[local[todo]]],
                                   upper[index[local[todo]]])
            certified[todo[ok]] = True
            todo = todo[~ok]
            if len(todo):
                lo[todo], _ = _bounds_lp(A2, b2, bounds, position[local[todo]], upper=False)
    return [(int(j), cells.keys[j], lo[k], hi[k], bool(is_pinned[local[k]]),
             bool(certified[k])) for k, j in enumerate(index[local])]


def _needed_gain(certify: Protection, points: npt.NDArray[np.float64],
                 targets: npt.NDArray[np.intp], kind: npt.NDArray[np.str_],
                 shown_upper: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """How far above the first witness point each target must go to be certified from
    above: to ``max(threshold, lowest + width)`` for a suppressed count, to the threshold for
    an implied count or total, to the shown bound for a masked one."""
    base = points[0, targets]
    lowest = points[:, targets].min(0)
    goal = np.select([kind == "masked", np.isin(kind, ["implied", "total"])],
                     [shown_upper, np.full(len(targets), certify.threshold)],
                     np.maximum(certify.threshold, lowest + certify.width))
    return np.maximum(goal - base, 0.0) + 1e-6


def _capped_push(A: sparse.csr_matrix, b: npt.NDArray[np.float64],
                 bounds: list[tuple[float, float | None]], base: npt.NDArray[np.float64],
                 targets: npt.NDArray[np.intp], gains: npt.NDArray[np.float64], batch: int,
                 rng: np.random.Generator) -> npt.NDArray[np.float64]:
    """Feasible points that raise batches of targets together, each by at most its gain.

    One linear program per batch: maximise ``sum_i z_i`` with ``z_i <= x_i - base_i`` and
    ``z_i <= gain_i``. Capping the gains spreads the push over the batch (an uncapped sum
    piles everything onto one cell), so one program certifies up to ``batch`` cells where
    exact intervals need two programs per cell. Cells a batch cannot raise enough are left to
    smaller batches and finally to exact programs."""
    import highspy

    n, k, order = A.shape[1], len(targets), rng.permutation(len(targets))
    h = _highs_polytope(A, b, bounds)
    inf = highspy.kHighsInf
    h.addVars(k, np.full(k, -inf), gains.astype(float))  # z_i <= gain_i
    starts = np.arange(k, dtype=np.int32) * 2
    index = np.column_stack([targets, n + np.arange(k)]).ravel().astype(np.int32)
    values = np.tile([-1.0, 1.0], k)  # z_i - x_i <= -base_i
    h.addRows(k, np.full(k, -inf), -base[targets], 2 * k, starts, index, values)
    points = []
    previous = np.array([], dtype=np.int32)
    for start in range(0, k, batch):
        chosen = (n + order[start:start + batch]).astype(np.int32)
        if len(previous):
            h.changeColsCost(len(previous), previous, np.zeros(len(previous)))
        h.changeColsCost(len(chosen), chosen, -np.ones(len(chosen)))
        previous = chosen
        h.run()
        if h.getModelStatus() == highspy.HighsModelStatus.kOptimal:
            points.append(np.asarray(h.getSolution().col_value[:n]))
    return np.asarray(points).reshape(len(points), n)


def max_sum(cells: LinkedCells, hidden: npt.NDArray[np.bool_],
            which: npt.NDArray[np.intp]) -> float:
    """The largest value the sum of the hidden cells ``which`` can take (one linear program
    over the whole system; 0 means every one of them is pinned at 0)."""
    values, _, lower, upper, _ = cells.arrays()
    A = cells.matrix()
    H, P = np.flatnonzero(hidden), np.flatnonzero(~hidden)
    b = -(A[:, P] @ values[P]) if len(P) else np.zeros(A.shape[0])
    AH = A[:, H].tocsr()
    keep = np.diff(AH.indptr) > 0
    c = np.zeros(len(H))
    c[np.searchsorted(H, which)] = -1.0
    bounds = [(lo, None if np.isinf(hi) else hi)
              for lo, hi in zip(lower[H], upper[H], strict=True)]
    status, _, fun = _solve(AH[keep], b[keep], bounds, c)
    return np.inf if status == 3 else -fun


def complete(cells: LinkedCells) -> npt.NDArray[np.float64]:
    """Every cell's value: the known values, and for cells without one (totals that no table
    shows) a value that satisfies every relation (elimination, else one linear program).

    Raises
    ------
    CasemixError
        The known values contradict the relations.
    """
    values, _, lower, upper, _ = cells.arrays()
    unknown = np.isnan(values)
    if not unknown.any():
        return values
    out = values.copy()
    A = cells.matrix()
    K, U = np.flatnonzero(~unknown), np.flatnonzero(unknown)
    b = -(A[:, K] @ values[K])
    AU = A[:, U].tocsr()
    pinned, is_pinned = _pin(AU, b)
    out[U[is_pinned]] = pinned[is_pinned]
    if not is_pinned.all():
        rest = ~is_pinned
        b2 = b - AU[:, is_pinned] @ pinned[is_pinned]
        A2 = AU[:, rest].tocsr()
        keep = np.diff(A2.indptr) > 0
        bounds = [(lo, None if np.isinf(hi) else hi)
                  for lo, hi in zip(lower[U[rest]], upper[U[rest]], strict=True)]
        _, x, _ = _solve(A2[keep], b2[keep], bounds, np.zeros(int(rest.sum())))
        if x is None:
            raise CasemixError("The counts of the linked tables contradict their relations "
                               "(a total is not the sum of its parts).")
        out[U[rest]] = x
    return out


def unprotected(cells: LinkedCells, protection: Protection,
                hidden: npt.NDArray[np.bool_] | None = None) -> pd.DataFrame:
    """The hidden cells whose feasible interval fails ``protection`` (see
    :func:`feasible_intervals` for the columns)."""
    intervals = feasible_intervals(cells, hidden, certify=protection)
    return intervals[_failing(cells, intervals, protection)]


def _failing(cells: LinkedCells, intervals: pd.DataFrame, protection: Protection
             ) -> npt.NDArray[np.bool_]:
    """Rows of ``intervals`` that fail ``protection``."""
    index = intervals["cell"].to_numpy(dtype=np.intp)
    return protection.fails(intervals["lower"].to_numpy(), intervals["upper"].to_numpy(),
                            np.asarray(cells.kind)[index], np.asarray(cells.upper)[index])
