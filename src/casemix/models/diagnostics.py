"""Diagnostic tables of a fit: the subgroups whose calibration a run shows."""

from __future__ import annotations

__all__ = ["SUBGROUPS"]

#: Subgroups whose calibration is written to a run folder and shown in the report.
SUBGROUPS = ("income_quintile", "migration_background", "education", "parity", "plurality")
