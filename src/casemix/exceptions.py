"""One exception and warning tree for the whole package.

Every error the package raises on purpose is a :class:`CasemixError`; errors caused by the
user's data are also :class:`ValueError` so that generic handlers keep working.
"""

from __future__ import annotations

__all__ = [
    "BoundaryError",
    "CasemixError",
    "CasemixWarning",
    "ConvergenceError",
    "DataError",
    "DataWarning",
    "MappingError",
    "MethodSwitchWarning",
    "ParameterError",
    "RunFolderError",
    "SamplingWarning",
    "SpecError",
]


class CasemixError(Exception):
    """Base class of every error raised by casemix."""


class DataError(CasemixError, ValueError):
    """The input data violate the birth-record schema (names column, value and row count)."""


class MappingError(DataError):
    """A column mapping cannot translate an extract to canonical columns."""


class ParameterError(CasemixError, ValueError):
    """A function or class parameter has a value outside its allowed set or range (the
    message names the parameter, the owner, what is allowed and what was given)."""


class RunFolderError(CasemixError):
    """A run folder cannot be written (the target exists or is not writable) or read (it is
    incomplete, left by an interrupted save, or changed after it was written)."""


class SpecError(CasemixError, ValueError):
    """A model or indicator specification is invalid."""


class BoundaryError(CasemixError, ValueError):
    """A boundary file (GeoJSON) cannot be read, or its features do not match the units."""


class ConvergenceError(CasemixError, RuntimeError):
    """An iterative fit did not converge."""


class CasemixWarning(UserWarning):
    """Base class of every warning issued by casemix."""


class DataWarning(CasemixWarning):
    """Something in the data deserves attention but is not fatal."""


class MethodSwitchWarning(CasemixWarning):
    """A statistical method switched (fallback); the switch is also recorded in the results."""


class SamplingWarning(CasemixWarning):
    """MCMC diagnostics (R-hat, effective sample size, divergences) fail their thresholds: the
    posterior summaries may be unreliable. Also recorded in the results and the manifest."""
