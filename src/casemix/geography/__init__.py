"""Geography of the units: their boundaries (GeoJSON polygons), matched to unit codes."""

from casemix.geography.boundaries import (
    Boundaries,
    boundaries_from_geojson,
    looks_geographic,
    read_boundaries,
)

__all__ = ["Boundaries", "boundaries_from_geojson", "looks_geographic", "read_boundaries"]
