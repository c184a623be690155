"""Disclosure control for every table that leaves the secure environment."""

from casemix.disclosure.suppression import DEFAULT_THRESHOLD, SuppressionLog, suppress_counts

__all__ = ["DEFAULT_THRESHOLD", "SuppressionLog", "suppress_counts"]
