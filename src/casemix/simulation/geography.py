"""A synthetic Dutch-like geography: municipalities nested in GGD and care-office regions, VSVs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import box, mapping

__all__ = ["BOUNDARY_LEVELS", "OUTLINE", "Geography", "make_geography"]

#: The unit levels of :meth:`Geography.boundaries` and the names given to their units
#: (synthetic, in the style of the registry's own names).
BOUNDARY_LEVELS = {"municipality": "Gemeente", "vsv": "VSV", "ggd_region": "GGD-regio",
                   "care_office_region": "Zorgkantoorregio"}
#: The country of the synthetic geography: the unit square the municipalities lie in.
OUTLINE = box(0.0, 0.0, 1.0, 1.0)


@dataclass(frozen=True)
class Geography:
    """Synthetic units.

    Attributes
    ----------
    municipalities : pandas.DataFrame
        One row per municipality: ``municipality``, ``ggd_region``, ``care_office_region``,
        ``vsv`` (primary VSV), ``vsv_secondary``, ``weight`` (share of births), ``urbanisation``
        (1..5), ``ses_mean`` (municipality mean of neighbourhood SES), ``x``, ``y``.
    vsvs : list of str
        VSV codes.
    """

    municipalities: pd.DataFrame
    vsvs: list[str]

    def neighbours(self, level: str = "vsv") -> pd.DataFrame:
        """Adjacency of the units of ``level``: two units are neighbours when any of their
        municipalities are (Delaunay triangulation of the municipality points, a standard
        stand-in for shared borders).

        Returns
        -------
        pandas.DataFrame
            ``unit, neighbour``, each pair once (the format of
            :func:`casemix.bayes.read_adjacency`).
        """
        from scipy.spatial import Delaunay

        mun = self.municipalities
        unit = mun[level].to_numpy()
        tri = Delaunay(mun[["x", "y"]].to_numpy()).simplices
        a = np.concatenate([tri[:, 0], tri[:, 1], tri[:, 2]])
        b = np.concatenate([tri[:, 1], tri[:, 2], tri[:, 0]])
        pairs = pd.DataFrame({"unit": unit[a], "neighbour": unit[b]})
        pairs = pairs[pairs["unit"] != pairs["neighbour"]]
        ordered = np.sort(pairs.to_numpy(dtype=str), axis=1)
        return pd.DataFrame(ordered, columns=["unit", "neighbour"]).drop_duplicates(
            ignore_index=True)

    def boundaries(self) -> dict[str, Any]:
        """Boundaries of every unit, as a GeoJSON ``FeatureCollection``.

        Municipalities are the Voronoi cells of their points within :data:`OUTLINE`, so they
        tile it; a VSV (its primary municipalities, column ``vsv``), GGD region or
        care-office region is the union of its municipalities.

        Returns
        -------
        dict
            GeoJSON (``json.dump`` writes it): one feature per unit with properties
            ``level`` (:data:`BOUNDARY_LEVELS`), ``code`` and ``name``; coordinates are
            those of the columns ``x`` and ``y``.
        """
        mun = self.municipalities
        cells = pd.Series(_voronoi_cells(mun[["x", "y"]].to_numpy()), index=mun.index)
        features = []
        for level in BOUNDARY_LEVELS:
            for code, shape in cells.groupby(mun[level].to_numpy(), sort=True):
                geometry = shape.iloc[0] if level == "municipality" else shapely.union_all(
                    shape.to_numpy())
                features.append(_feature(level, str(code), geometry))
        return {"type": "FeatureCollection", "features": features}


def _voronoi_cells(xy: np.ndarray) -> np.ndarray:
    """The Voronoi cell of each point (in the points' order), clipped to :data:`OUTLINE`."""
    diagram = shapely.voronoi_polygons(shapely.MultiPoint(xy), extend_to=OUTLINE,
                                       ordered=True)
    return shapely.intersection(shapely.get_parts(diagram), OUTLINE)


def _feature(level: str, code: str, geometry: shapely.Geometry) -> dict[str, Any]:
    """One GeoJSON feature (exterior rings counter-clockwise, as RFC 7946 asks)."""
    number = int("".join(filter(str.isdigit, code)) or 0)
    return {"type": "Feature",
            "properties": {"level": level, "code": code,
                           "name": f"{BOUNDARY_LEVELS[level]} {number}"},
            "geometry": mapping(shapely.orient_polygons(geometry))}


def _nearest(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of the nearest centre, and of the second nearest, per point."""
    dist = ((points[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    order = np.argsort(dist, axis=1)
    return order[:, :2]


def make_geography(
    rng: np.random.Generator,
    *,
    n_municipalities: int = 340,
    n_vsv: int = 70,
    n_ggd: int = 25,
    n_care_office: int = 31,
) -> Geography:
    """Place municipalities on a unit square and group them into regions by proximity.

    Every region centre is itself a municipality, so no region is empty. Municipality sizes
    are log-normal (a few cities with many births, many small municipalities); larger ones are
    more urban, and SES is spatially smooth with city-level variation.
    """
    xy = rng.uniform(size=(n_municipalities, 2))
    size = rng.lognormal(mean=0.0, sigma=1.0, size=n_municipalities)
    rank = pd.Series(size).rank(pct=True).to_numpy()
    urbanisation = np.clip(5 - np.floor(rank * 5 + rng.normal(0, 0.6, n_municipalities)), 1, 5)
    ses_mean = 0.4 * np.sin(3 * xy[:, 0]) + 0.3 * np.cos(4 * xy[:, 1]) + rng.normal(
        0, 0.3, n_municipalities)
    ses_mean -= 0.15 * (3 - urbanisation)  # cities have more deprived neighbourhoods

    def centres(k: int) -> np.ndarray:
        return xy[rng.choice(n_municipalities, size=k, replace=False)]

    vsv_idx = _nearest(xy, centres(n_vsv))
    ggd_idx = _nearest(xy, centres(n_ggd))[:, 0]
    zk_idx = _nearest(xy, centres(n_care_office))[:, 0]
    municipalities = pd.DataFrame({
        "municipality": [f"GM{i + 1:04d}" for i in range(n_municipalities)],
        "ggd_region": [f"GGD{i + 1:02d}" for i in ggd_idx],
        "care_office_region": [f"ZK{i + 1:02d}" for i in zk_idx],
        "vsv": [f"VSV{i + 1:02d}" for i in vsv_idx[:, 0]],
        "vsv_secondary": [f"VSV{i + 1:02d}" for i in vsv_idx[:, 1]],
        "weight": size / size.sum(),
        "urbanisation": urbanisation.astype(int),
        "ses_mean": ses_mean,
        "x": xy[:, 0],
        "y": xy[:, 1],
    })
    return Geography(municipalities, [f"VSV{i + 1:02d}" for i in range(n_vsv)])
