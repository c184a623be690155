"""Disclosure control for every table that leaves the secure environment.

- :mod:`~casemix.disclosure.suppression`: table-level suppression and masking of small counts.
- :mod:`~casemix.disclosure.linked`: the cells of linked tables and the relations between them.
- :mod:`~casemix.disclosure.attack`: the attacker's feasible interval of each hidden cell
  (linear programming, HiGHS).
- :mod:`~casemix.disclosure.protect`: secondary suppression on the linked system.
- :mod:`~casemix.disclosure.tables`: the cells and relations of casemix's count tables.
"""

from casemix.disclosure.attack import Protection, feasible_intervals, unprotected
from casemix.disclosure.linked import Cell, LinkedCells
from casemix.disclosure.protect import protect
from casemix.disclosure.suppression import (
    DEFAULT_THRESHOLD,
    SuppressionLog,
    check_threshold,
    mask_small_counts,
    suppress_counts,
)

__all__ = ["DEFAULT_THRESHOLD", "Cell", "LinkedCells", "Protection", "SuppressionLog",
           "check_threshold", "feasible_intervals", "mask_small_counts", "protect",
           "suppress_counts", "unprotected"]
