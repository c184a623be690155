"""Geography of the units: boundary files (GeoJSON polygons) matched to unit codes, municipal
crosswalks and region tables, and births harmonised to the boundaries of a reference year."""

from casemix.geography.boundaries import (
    Boundaries,
    boundaries_from_geojson,
    looks_geographic,
    read_boundaries,
)
from casemix.geography.crosswalk import CROSSWALK_COLUMNS, Crosswalk, read_crosswalk
from casemix.geography.harmonise import SHARES_COLUMNS, Harmonised, harmonise
from casemix.geography.regions import REGION_LEVELS, RegionTable, read_regions

__all__ = ["CROSSWALK_COLUMNS", "REGION_LEVELS", "SHARES_COLUMNS", "Boundaries", "Crosswalk",
           "Harmonised", "RegionTable", "boundaries_from_geojson", "harmonise",
           "looks_geographic", "read_boundaries", "read_crosswalk", "read_regions"]
