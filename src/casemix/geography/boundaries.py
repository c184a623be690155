"""Boundary files: the polygons of regions in a GeoJSON file, matched to unit codes.

A boundary file is a GeoJSON ``FeatureCollection`` of ``Polygon`` and ``MultiPolygon``
features, for example CBS's municipality boundaries (properties ``statcode`` ``GM0363`` and
``statnaam``), in RD New metres (EPSG:28992) or WGS84 longitude/latitude. One file may hold
one unit level or several, told apart by a ``level`` property. The property that holds the
unit codes is found from the codes themselves: the one whose values cover most of them
(compared case-insensitively).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import shapely
from shapely.errors import ShapelyError
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from casemix.exceptions import BoundaryError

__all__ = ["Boundaries", "boundaries_from_geojson", "looks_geographic", "read_boundaries"]

#: Geometry types a boundary file may hold.
AREAL_TYPES = ("Polygon", "MultiPolygon")
#: How many examples an error message shows.
_EXAMPLES = 5


@dataclass(frozen=True, eq=False)
class Boundaries:
    """The polygons of a boundary file, with the properties of their features.

    Attributes
    ----------
    source : str
        Where the features came from (the file's path), for messages.
    properties : pandas.DataFrame
        One row per feature that has a geometry: its properties as read.
    geometries : tuple of shapely.geometry.base.BaseGeometry
        Each feature's Polygon or MultiPolygon, in the order of ``properties``.
    crs : str or None
        The name in the file's ``crs`` member (older GeoJSON, e.g.
        ``urn:ogc:def:crs:EPSG::28992``), or None when the file has none.
    """

    source: str
    properties: pd.DataFrame
    geometries: tuple[BaseGeometry, ...]
    crs: str | None = None

    @property
    def level_key(self) -> str | None:
        """The property that names each feature's unit level (``level``, any case), if any."""
        return next((c for c in self.properties.columns if str(c).casefold() == "level"), None)

    @property
    def levels(self) -> list[str]:
        """The unit levels of a file with a ``level`` property (empty without one)."""
        if self.level_key is None:
            return []
        return sorted(self.properties[self.level_key].dropna().astype(str).unique())

    @property
    def geographic(self) -> bool:
        """Whether coordinates are longitude/latitude degrees: from the ``crs`` member when
        the file has one (EPSG:4326 or CRS84), otherwise guessed from the coordinates."""
        if self.crs is not None:
            return any(name in self.crs.upper() for name in ("CRS84", "4326"))
        return looks_geographic(tuple(shapely.total_bounds(self.geometries)))

    def for_units(
        self, level: str, codes: Iterable[object], *, key: str | None = None,
        allow_missing: bool = False,
    ) -> dict[str, BaseGeometry]:
        """The geometry of each unit of ``level``, keyed by its code.

        Parameters
        ----------
        level : str
            Unit level (``municipality``, ``vsv``, ...). In a file with a ``level`` property
            only its features of this level are used (compared case-insensitively); a file
            without one is taken to hold this level only.
        codes : iterable
            The unit codes of the data.
        key : str, optional
            The property holding the unit codes. By default the property whose values
            (case-insensitively) cover most of ``codes``.
        allow_missing : bool, default False
            Return the units found when some codes have no feature, instead of raising.

        Returns
        -------
        dict of str to shapely geometry
            Unit code (as given) to its Polygon or MultiPolygon; several features with the
            same code are united. Features of units not in ``codes`` are ignored.

        Raises
        ------
        casemix.exceptions.BoundaryError
            When the file has no features of ``level``, no property matches any code, or
            (unless ``allow_missing``) some codes have no feature: the message names the
            file, the level, how many codes are missing and a few of them.
        """
        wanted = list(dict.fromkeys(str(code).strip() for code in codes))
        props = self.properties.loc[self._of_level(level)]
        key = key if key is not None else self._detect_key(props, level, wanted)
        if key not in props.columns:
            raise BoundaryError(f"{self.source}: the {level} features have no property "
                                f"{key!r}; they have: {_names(props.columns)}.")
        index = _index_by_value(props[key])
        found = {code: self._geometry(index[code.casefold()]) for code in wanted
                 if code.casefold() in index}
        missing = [code for code in wanted if code not in found]
        if missing and (not found or not allow_missing):
            raise BoundaryError(_missing_message(self.source, level, key, missing, len(wanted),
                                                 props[key]))
        return found

    def _of_level(self, level: str) -> pd.Series:
        """Which features are of ``level`` (all of them in a file without levels)."""
        if self.level_key is None:
            return pd.Series(True, index=self.properties.index)
        mask = self.properties[self.level_key].astype(str).str.casefold() == level.casefold()
        if not mask.any():
            raise BoundaryError(f"{self.source}: no features of level {level!r}; its "
                                f"{self.level_key!r} property has: {_names(self.levels)}.")
        return mask

    def _detect_key(self, props: pd.DataFrame, level: str, codes: list[str]) -> str:
        """The property whose values cover most codes (the first of equals)."""
        wanted = {code.casefold() for code in codes}
        candidates = [c for c in props.columns if c != self.level_key]
        cover = {c: len(wanted & set(_folded(props[c]))) for c in candidates}
        best = max(candidates, key=lambda c: cover[c], default=None)
        if best is None or cover[best] == 0:
            shown = ", ".join(f"{c} (e.g. {_first(props[c])!r})" for c in candidates[:8])
            raise BoundaryError(
                f"{self.source}: no property of the {level} features holds the unit codes "
                f"(e.g. {', '.join(codes[:_EXAMPLES])}); properties: {shown or 'none'}. Use a "
                "boundary file of this unit level, or name the property with key=.")
        return str(best)

    def _geometry(self, rows: list[int]) -> BaseGeometry:
        """The geometry of one unit: its feature's, or the union of several."""
        if len(rows) == 1:
            return self.geometries[rows[0]]
        return shapely.union_all([self.geometries[i] for i in rows])


def _folded(values: pd.Series) -> pd.Series:
    """Values as stripped, case-folded text (missing values dropped)."""
    return values.dropna().astype(str).str.strip().str.casefold()


def _index_by_value(values: pd.Series) -> dict[str, list[int]]:
    """Case-folded value -> the features that have it (their row labels, which are their
    positions in :attr:`Boundaries.geometries`)."""
    index: dict[str, list[int]] = {}
    for row, value in _folded(values).items():
        index.setdefault(value, []).append(int(row))
    return index


def _first(values: pd.Series) -> object:
    """The first non-missing value of a property (None when there is none)."""
    present = values.dropna()
    return present.iloc[0] if len(present) else None


def _names(values: Iterable[object]) -> str:
    """A short list of names for a message."""
    names = [str(v) for v in values]
    more = f" (and {len(names) - 10} more)" if len(names) > 10 else ""
    return ", ".join(names[:10]) + more


def _missing_message(source: str, level: str, key: str, missing: list[str], n_codes: int,
                     values: pd.Series) -> str:
    """The error for unit codes without a feature."""
    return (f"{source}: {len(missing)} of {n_codes} {level} units have no boundary (matched "
            f"on property {key!r}), e.g. {', '.join(missing[:_EXAMPLES])}; the file's codes "
            f"look like {', '.join(map(str, values.dropna().head(3)))}. Use a boundary file of "
            "the same unit division (year) as the data.")


def looks_geographic(bounds: tuple[float, ...]) -> bool:
    """Whether bounds ``(minx, miny, maxx, maxy)`` fit longitude/latitude degrees."""
    minx, miny, maxx, maxy = bounds
    return bool(-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90)


def read_boundaries(path: str | Path) -> Boundaries:
    """Read a GeoJSON boundary file.

    Parameters
    ----------
    path : str or pathlib.Path
        A GeoJSON ``FeatureCollection`` (UTF-8) of Polygon and MultiPolygon features.

    Returns
    -------
    Boundaries
        Its polygons and properties; :meth:`Boundaries.for_units` matches them to units.

    Raises
    ------
    casemix.exceptions.BoundaryError
        When the file is not JSON, not a FeatureCollection, or holds other geometries.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text("utf-8-sig"))
    except UnicodeDecodeError:
        raise BoundaryError(f"{path}: not UTF-8 text; a GeoJSON file is UTF-8.") from None
    except json.JSONDecodeError as exc:
        raise BoundaryError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}, column "
                            f"{exc.colno}); a boundary file is GeoJSON.") from None
    return boundaries_from_geojson(data, source=str(path))


def boundaries_from_geojson(data: Any, *, source: str = "GeoJSON") -> Boundaries:
    """Boundaries from a parsed GeoJSON ``FeatureCollection``.

    Parameters
    ----------
    data : dict
        The parsed GeoJSON.
    source : str
        Its name in messages.

    Returns
    -------
    Boundaries
        Features without a geometry (``null``) are left out.
    """
    kind = data.get("type") if isinstance(data, Mapping) else type(data).__name__
    if kind != "FeatureCollection" or not isinstance(data.get("features"), list):
        hint = " (TopoJSON: convert it to GeoJSON first)" if kind == "Topology" else ""
        raise BoundaryError(f"{source}: expected a GeoJSON FeatureCollection with a list of "
                            f"features, got {kind!r}{hint}.")
    properties, geometries = [], []
    for number, feature in enumerate(data["features"], start=1):
        geometry = feature.get("geometry") if isinstance(feature, Mapping) else None
        if geometry is not None:
            geometries.append(_shape(geometry, source, number))
            properties.append(dict(feature.get("properties") or {}))
    if not geometries:
        raise BoundaryError(f"{source}: no feature has a Polygon or MultiPolygon geometry.")
    return Boundaries(source, pd.DataFrame(properties), tuple(geometries),
                      _crs_name(data.get("crs")))


def _shape(geometry: Any, source: str, number: int) -> BaseGeometry:
    """One feature's geometry as a shapely Polygon or MultiPolygon."""
    kind = geometry.get("type") if isinstance(geometry, Mapping) else type(geometry).__name__
    if kind not in AREAL_TYPES:
        raise BoundaryError(f"{source}: feature {number} is a {kind!r}; a boundary file holds "
                            f"{' or '.join(AREAL_TYPES)} features.")
    try:
        return shape(geometry)
    except (ShapelyError, ValueError, TypeError, IndexError, KeyError) as exc:
        raise BoundaryError(f"{source}: feature {number} has a malformed {kind} ({exc})."
                            ) from None


def _crs_name(crs: Any) -> str | None:
    """The name of an old-style GeoJSON ``crs`` member."""
    if isinstance(crs, Mapping) and isinstance(crs.get("properties"), Mapping):
        name = crs["properties"].get("name")
        return str(name) if name is not None else None
    return None
