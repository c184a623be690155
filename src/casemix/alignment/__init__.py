"""Alignment of crude numbers with the national registry's published figures."""

from casemix.alignment.align import ALTERNATIVES, REFERENCE_COLUMNS, AlignmentResult, align
from casemix.alignment.disclosure import disclosed_alignment

__all__ = ["ALTERNATIVES", "REFERENCE_COLUMNS", "AlignmentResult", "align",
           "disclosed_alignment"]
