"""Secondary suppression on linked tables: hide more cells until every hidden count is safe."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from casemix.disclosure.attack import (
    Protection,
    _failing,
    complete,
    feasible_intervals,
    max_sum,
)
from casemix.disclosure.linked import LinkedCells
from casemix.exceptions import CasemixError

__all__ = ["protect"]

#: Cost added to cells hidden only as a last resort.
LAST_RESORT = 1e12


def protect(cells: LinkedCells, hidden: npt.NDArray[np.bool_], protection: Protection, *,
            cost: npt.NDArray[np.float64] | None = None,
            last_resort: npt.NDArray[np.bool_] | None = None, max_rounds: int = 200
            ) -> npt.NDArray[np.bool_]:
    """Extend a suppression pattern until no hidden target can be derived.

    Parameters
    ----------
    cells : LinkedCells
        Every cell with its true value; ``published`` marks the cells the files would show.
    hidden : ndarray of bool
        Cells hidden so far (primary suppression, plus cells no file shows).
    protection : Protection
        When an attacker's interval is wide enough.
    cost : ndarray of float, optional
        Cost of hiding each cell (default: its value, so that small cells go first, but cells
        below twice the threshold last, since their own intervals would need protection too;
        ``inf`` for cells that no file shows, and for cells that must stay published).
    last_resort : ndarray of bool, optional
        Cells to hide only when no other cell can protect a failing one, however far away in
        the relations (national totals, which users need most).

    Returns
    -------
    ndarray of bool
        The hidden cells of the final pattern (a superset of ``hidden``).

    Raises
    ------
    CasemixError
        No pattern was found within ``max_rounds`` (a cell that cannot be protected).

    Notes
    -----
    A greedy audit-and-repair heuristic in the spirit of sdcTable's ``SIMPLEHEURISTIC`` and
    tau-ARGUS's modular method. First every protected hidden cell that is alone in a relation
    gets a partner (no linear programs). Then, in rounds: every hidden cell's interval is
    bounded from inside by feasible points (the true counts, linear-programming optima, and
    capped pushes of batches of cells, :func:`casemix.disclosure.feasible_intervals`); a cell
    these points do not show to be protected gets its exact upper (and, if needed, lower)
    bound; for each failing cell the relation through it with the fewest hidden cells gets its
    cheapest published cell hidden (cost: the value, over all exact copies of the cell;
    national totals last). The result is safe by construction (every hidden cell is certified
    by the audit's own criterion), not necessarily the minimal pattern.
    """
    values, _, _, _, kind = cells.arrays()
    hidden = np.asarray(hidden, dtype=bool).copy()
    if cost is None:  # the smallest cells that will not need protection of their own first
        cost = np.where(values < 2 * protection.threshold, values + 1e6, values)
        cost = np.where(np.isnan(values) | (kind != "shown"), np.inf, cost)
    if last_resort is not None:
        cost = np.where(np.asarray(last_resort, dtype=bool), cost + LAST_RESORT, cost)
    cost = _with_copies(cells.matrix().tocsr(), cost)
    A = cells.matrix().tocsc()
    At = A.T.tocsc()  # column j of At: the cells of relation j
    # protected cells: hidden counts a file would show, and hidden implied counts that are
    # small; an implied count or total of 10 or more needs no partner
    truth = complete(cells)
    sensitive = (np.isin(kind, ["shown", "masked"])
                 | ((truth > 0) & (truth < protection.threshold)))
    hidden = _singletons(A, At, hidden, sensitive, cost)
    for _ in range(max_rounds):
        intervals = feasible_intervals(cells, hidden, certify=protection, reference=truth)
        failing = intervals[_failing(cells, intervals, protection)]
        if failing.empty:
            return hidden
        chosen = np.zeros(cells.n, dtype=bool)
        stuck = []
        for cell in failing["cell"]:
            choice = _repair(int(cell), A, At, hidden, cost, chosen)
            if choice is None:
                stuck.append(int(cell))
            else:
                chosen[choice] = True
        if not chosen.any():  # nothing left to hide: what is still open must pass exactly
            _check_stuck(cells, hidden, protection, stuck)
            return hidden
        hidden |= chosen
        hidden = _singletons(A, At, hidden, sensitive, cost)
    raise CasemixError(f"Disclosure control found no safe pattern in {max_rounds} rounds.")


def _check_stuck(cells: LinkedCells, hidden: npt.NDArray[np.bool_], protection: Protection,
                 stuck: list[int]) -> None:
    """Cells with nothing left to hide around them must pass exactly (typically counts
    pinned at 0, which witnesses cannot certify); otherwise no pattern protects them."""
    if not stuck:
        return
    kind = np.asarray(cells.kind)[stuck]
    if (kind != "masked").all() and max_sum(cells, hidden, np.asarray(sorted(stuck))) <= 1e-6:
        return  # all pinned at 0: no count of 1 or more to protect (one linear program)
    only = np.zeros(cells.n, dtype=bool)
    only[stuck] = True
    exact = feasible_intervals(cells, hidden, only=only)
    bad = exact[_failing(cells, exact, protection)]
    if len(bad):
        key = str(bad["key"].iloc[0])
        raise CasemixError(
            f"Disclosure control cannot protect the hidden count {key!r}: every cell linked "
            "to it is hidden or must stay published. Merge small units or strata, or publish "
            "fewer linked tables.")


def _singletons(A, At, hidden: npt.NDArray[np.bool_], sensitive: npt.NDArray[np.bool_],
                cost: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """Hide a partner for every protected hidden cell that is alone in a relation.

    A relation with one unknown gives it away by subtraction, so it needs a second hidden
    cell: the cheapest published one. Repeated until no such relation is left (cheap, no
    linear programs; the audit then checks what differencing over several relations gives).
    """
    hidden = hidden.copy()
    while True:
        mask = (hidden & sensitive).astype(np.int8)
        unknown = np.asarray(abs(At.T) @ hidden.astype(np.float64)).ravel()  # per relation
        lonely = np.flatnonzero((np.asarray(abs(At.T) @ mask).ravel() == 1) & (unknown == 1))
        added = False
        for relation in lonely:
            members = At.indices[At.indptr[relation]:At.indptr[relation + 1]]
            if hidden[members].sum() != 1:
                continue  # a partner was added earlier in this pass
            open_ = [m for m in members if not hidden[m] and np.isfinite(cost[m])]
            if open_:
                hidden[min(open_, key=lambda j: (cost[j], j))] = True
                added = True
        if not added:
            return hidden


def _repair(cell: int, A, At, hidden: npt.NDArray[np.bool_], cost: npt.NDArray[np.float64],
            chosen: npt.NDArray[np.bool_], depth: int = 12) -> int | None:
    """A published cell to hide next to ``cell``: the cheapest one of the relation through
    ``cell`` with the fewest hidden cells (a cell already chosen this round counts as hidden).
    When every relation through ``cell`` is fully hidden, the search moves outwards through
    the hidden cells of those relations (breadth first, ``depth`` steps); a last-resort cell
    is chosen only when the search finds nothing else."""
    seen_relations: set[int] = set()
    seen_cells = np.zeros(len(hidden), dtype=bool)
    seen_cells[cell] = True
    frontier = np.array([cell])
    fallback: int | None = None
    for _ in range(depth):
        best: tuple[int, float, int] | None = None
        reached: list[npt.NDArray[np.intp]] = []
        for c in frontier:
            for relation in A.indices[A.indptr[c]:A.indptr[c + 1]]:
                if relation in seen_relations:
                    continue
                seen_relations.add(int(relation))
                members = At.indices[At.indptr[relation]:At.indptr[relation + 1]]
                is_hidden = hidden[members] | chosen[members]
                open_ = members[~is_hidden & np.isfinite(cost[members])]
                reached.append(members[is_hidden & ~seen_cells[members]])
                if len(open_):
                    m = int(open_[np.lexsort((open_, cost[open_]))[0]])
                    candidate = (int(is_hidden.sum()), float(cost[m]), m)
                    best = candidate if best is None or candidate < best else best
        if best is not None and best[1] < LAST_RESORT:
            return best[2]
        if best is not None and fallback is None:
            fallback = best[2]
        if not reached:
            return fallback
        frontier = np.unique(np.concatenate(reached))
        seen_cells[frontier] = True
        if not len(frontier):
            return fallback
    return fallback


def _with_copies(A: sparse.csr_matrix, cost: npt.NDArray[np.float64]
                 ) -> npt.NDArray[np.float64]:
    """Cost of hiding a cell together with its copies: cells equal by a relation ``a = b``
    (the births denominator of preterm birth, fetal death and perinatal mortality) hide
    together, since a published copy gives the hidden one away; so hiding one costs what
    hiding all of them costs."""
    pairs = np.flatnonzero((np.diff(A.indptr) == 2)
                           & np.isclose(np.asarray(A.sum(axis=1)).ravel(), 0.0))
    if not len(pairs):
        return cost
    ends = A.indices[A.indptr[pairs][:, None] + np.arange(2)]
    graph = sparse.coo_matrix((np.ones(len(pairs)), (ends[:, 0], ends[:, 1])),
                              shape=(A.shape[1], A.shape[1]))
    _, label = connected_components(graph, directed=False)
    finite = np.where(np.isfinite(cost), cost, 0.0)
    total = np.bincount(label, weights=finite)[label]
    return np.where(np.isfinite(cost), total, cost)
