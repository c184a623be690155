"""Annual workflow: refit every specification for a new year, compare runs."""

from casemix.workflow.compare import RunComparison, compare_runs
from casemix.workflow.refit import new_run_folder, refit_all

__all__ = ["RunComparison", "compare_runs", "new_run_folder", "refit_all"]
