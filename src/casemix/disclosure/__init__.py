"""Disclosure control for every table that leaves the secure environment.

- :mod:`~casemix.disclosure.suppression`: table-level suppression and masking of small counts.
- :mod:`~casemix.disclosure.linked`: the cells of linked tables and the relations between them.
- :mod:`~casemix.disclosure.attack`: the attacker's feasible interval of each hidden cell
  (linear programming, HiGHS).
- :mod:`~casemix.disclosure.protect`: secondary suppression on the linked system.
- :mod:`~casemix.disclosure.tables`: the cells and relations of casemix's count tables.
"""

from typing import TYPE_CHECKING

from casemix._lazy import lazy_exports
from casemix.disclosure.protect import protect

if TYPE_CHECKING:
    from casemix.disclosure.attack import Protection, feasible_intervals, unprotected
    from casemix.disclosure.linked import Cell, LinkedCells
    from casemix.disclosure.suppression import (
        DEFAULT_THRESHOLD,
        SuppressionLog,
        check_threshold,
        mask_small_counts,
        suppress_counts,
    )

#: The modules of the public names, imported on first use (:mod:`casemix._lazy`).
_EXPORTS = {
    "casemix.disclosure.attack": ("Protection", "feasible_intervals", "unprotected"),
    "casemix.disclosure.linked": ("Cell", "LinkedCells"),
    "casemix.disclosure.suppression": (
        "DEFAULT_THRESHOLD", "SuppressionLog", "check_threshold", "mask_small_counts",
        "suppress_counts",
    ),
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = ["DEFAULT_THRESHOLD", "Cell", "LinkedCells", "Protection", "SuppressionLog",
           "check_threshold", "feasible_intervals", "mask_small_counts", "protect",
           "suppress_counts", "unprotected"]
