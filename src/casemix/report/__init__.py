"""The diagnostic report (one self-contained HTML file) that analysts discuss with Perined."""

from casemix.report.build import build_report, sensitivity_table, write_report

__all__ = ["build_report", "sensitivity_table", "write_report"]
