"""Births to cells out of core: validation, indicator derivation and grouping of a births
source in batches, by DuckDB (default), Spark (where the data live) or pandas (in memory).

A fit on the grouped births (:class:`casemix.models.grouped.GroupedBirths`) gives the same
cells, coefficients and unit table as a fit on the births; its memory grows with the cells,
not with the births.
"""

from typing import TYPE_CHECKING

from casemix._lazy import lazy_exports

if TYPE_CHECKING:
    from casemix.engine.scan import ENGINES, Rates, RatesPlan, Scan, scan_births
    from casemix.engine.sources import Source, resolve_source

#: The modules of the public names, imported on first use (:mod:`casemix._lazy`).
_EXPORTS = {
    "casemix.engine.scan": ("ENGINES", "Rates", "RatesPlan", "Scan", "scan_births"),
    "casemix.engine.sources": ("Source", "resolve_source"),
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = ["ENGINES", "Rates", "RatesPlan", "Scan", "Source", "resolve_source", "scan_births"]
