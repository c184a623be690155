"""Secondary suppression on linked tables: hide more cells until every hidden count is safe."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from casemix.disclosure.attack import Protection, _failing, complete, feasible_intervals
from casemix.disclosure.linked import LinkedCells
from casemix.exceptions import CasemixError

__all__ = ["protect"]


def protect(cells: LinkedCells, hidden: npt.NDArray[np.bool_], protection: Protection, *,
            cost: npt.NDArray[np.float64] | None = None, max_rounds: int = 200
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
        Cost of hiding each cell (default: its value, so that small cells go first; ``inf``
        for cells that no file shows, and for cells that must stay published).

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
    tau-ARGUS's modular method: compute every hidden target's feasible interval by linear
    programming (:func:`casemix.disclosure.feasible_intervals`); for each target whose interval
    fails, take the relation through it with the fewest hidden cells and hide that relation's
    cheapest published cell; repeat until every interval holds. The result is safe by
    construction (it is the audit's own criterion), not necessarily the minimal pattern.
    """
    values, _, _, _, kind = cells.arrays()
    hidden = np.asarray(hidden, dtype=bool).copy()
    if cost is None:
        cost = np.where(np.isnan(values) | (kind != "shown"), np.inf, values)
    A = cells.matrix().tocsc()
    At = A.T.tocsc()  # column j of At: the cells of relation j
    # protected cells: hidden counts a file would show, and hidden implied counts that are
    # small; an implied count of 10 or more (a complement, a total) needs no partner
    truth = complete(cells)
    sensitive = (kind != "implied") | ((truth > 0) & (truth < protection.threshold))
    hidden = _singletons(A, At, hidden, sensitive, cost)
    for _ in range(max_rounds):
        intervals = feasible_intervals(cells, hidden, certify=protection, reference=truth)
        failing = intervals[_failing(cells, intervals, protection)]
        if failing.empty:
            return hidden
        chosen: set[int] = set()
        for cell in failing["cell"]:
            choice = _repair(int(cell), A, At, hidden, cost, chosen)
            if choice is None:
                key = cells.keys[int(cell)]
                raise CasemixError(
                    f"Disclosure control cannot protect the hidden count {key!r}: every cell "
                    "linked to it is hidden or must stay published. Merge small units or "
                    "strata, or publish fewer linked tables.")
            chosen.add(choice)
        hidden[list(chosen)] = True
        hidden = _singletons(A, At, hidden, sensitive, cost)
    raise CasemixError(f"Disclosure control found no safe pattern in {max_rounds} rounds.")


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
            chosen: set[int]) -> int | None:
    """A published cell to hide next to ``cell``: the cheapest one of the relation through
    ``cell`` with the fewest hidden cells (a cell already chosen this round counts as hidden).
    When every relation through ``cell`` is fully hidden, the search moves outwards through
    the hidden cells of those relations (breadth first)."""
    seen_cells, seen_relations = {cell}, set()
    frontier = [cell]
    while frontier:
        best: tuple[int, float, int] | None = None
        next_frontier: list[int] = []
        for c in frontier:
            for relation in A.indices[A.indptr[c]:A.indptr[c + 1]]:
                if relation in seen_relations:
                    continue
                seen_relations.add(relation)
                members = At.indices[At.indptr[relation]:At.indptr[relation + 1]]
                is_hidden = [bool(hidden[m]) or m in chosen for m in members]
                open_ = [m for m, h in zip(members, is_hidden, strict=True)
                         if not h and np.isfinite(cost[m])]
                next_frontier += [m for m, h in zip(members, is_hidden, strict=True)
                                  if h and m not in seen_cells]
                if open_:
                    m = min(open_, key=lambda j: (cost[j], j))
                    candidate = (sum(is_hidden), float(cost[m]), int(m))
                    best = candidate if best is None or candidate < best else best
        if best is not None:
            return best[2]
        seen_cells.update(next_frontier)
        frontier = next_frontier
    return None
