"""Disclosure control for every table that leaves the secure environment."""

from casemix.disclosure.suppression import (
    DEFAULT_THRESHOLD,
    SuppressionLog,
    check_threshold,
    mask_small_counts,
    suppress_counts,
)

__all__ = ["DEFAULT_THRESHOLD", "SuppressionLog", "check_threshold", "mask_small_counts",
           "suppress_counts"]
