"""Alignment of crude numbers with the national registry's published figures."""

from casemix.alignment.align import ALTERNATIVES, REFERENCE_COLUMNS, AlignmentResult, align

__all__ = ["ALTERNATIVES", "REFERENCE_COLUMNS", "AlignmentResult", "align"]
