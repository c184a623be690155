"""The synthetic boundary file: municipalities tile the country, regions are unions of their
municipalities, and its codes are the cohort's codes.

References: the outline is the unit square (area 1); a tiling has union area equal to the
outline's and, without overlaps, a sum of areas equal to the union's.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from casemix.cli import app
from casemix.geography import boundaries_from_geojson, read_boundaries
from casemix.simulation import simulate_cohort
from casemix.simulation.geography import BOUNDARY_LEVELS, OUTLINE

REGIONS = ("vsv", "ggd_region", "care_office_region")


@pytest.fixture(scope="module")
def cohort():
    return simulate_cohort(170_000, seed=11)


@pytest.fixture(scope="module")
def boundaries(cohort):
    geojson = json.loads(json.dumps(cohort.geography.boundaries()))  # as written to the file
    return boundaries_from_geojson(geojson, source="synthetic")


def _shapes(boundaries, level):
    props = boundaries.properties
    rows = np.flatnonzero(props["level"].to_numpy() == level)
    return dict(zip(props["code"].to_numpy()[rows], np.asarray(boundaries.geometries)[rows],
                    strict=True))


def test_municipalities_tile_the_outline(boundaries):
    cells = np.array(list(_shapes(boundaries, "municipality").values()))
    union = shapely.union_all(cells)
    assert union.area == pytest.approx(OUTLINE.area, rel=1e-6)
    assert shapely.area(cells).sum() == pytest.approx(union.area, rel=1e-6)  # no overlaps
    assert shapely.symmetric_difference(union, OUTLINE).area < 1e-9


def test_each_municipality_contains_its_point(cohort, boundaries):
    cells = _shapes(boundaries, "municipality")
    mun = cohort.geography.municipalities
    points = shapely.points(mun[["x", "y"]].to_numpy())
    assert shapely.contains(np.array([cells[c] for c in mun["municipality"]]), points).all()


@pytest.mark.parametrize("level", REGIONS)
def test_regions_are_unions_of_their_municipalities(cohort, boundaries, level):
    cells = _shapes(boundaries, "municipality")
    regions = _shapes(boundaries, level)
    members = cohort.geography.municipalities.groupby(level)["municipality"].apply(list)
    assert set(regions) == set(members.index)
    for code, municipalities in members.items():
        union = shapely.union_all([cells[m] for m in municipalities])
        assert shapely.symmetric_difference(regions[code], union).area < 1e-9, code
    areas = shapely.area(np.array(list(regions.values())))
    assert areas.sum() == pytest.approx(OUTLINE.area, rel=1e-6)  # the regions tile it too


@pytest.mark.parametrize("level", BOUNDARY_LEVELS)
def test_the_file_has_the_cohorts_codes(cohort, boundaries, level):
    assert set(_shapes(boundaries, level)) == set(cohort.births[level])
    shapes = boundaries.for_units(level, cohort.births[level].unique())
    assert len(shapes) == cohort.births[level].nunique()


def test_features_are_named_and_rfc7946_oriented(cohort):
    features = cohort.geography.boundaries()["features"]
    first = features[0]["properties"]
    assert first == {"level": "municipality", "code": "GM0001", "name": "Gemeente 1"}
    for feature in features:
        shape = shapely.geometry.shape(feature["geometry"])
        for polygon in shapely.get_parts(shape):
            assert polygon.exterior.is_ccw
            assert polygon.is_valid


def test_simulate_writes_the_boundary_file(tmp_path):
    out = tmp_path / "cohort.parquet"
    result = CliRunner().invoke(app, ["simulate", "--out", str(out), "--n-births", "3000",
                                      "--seed", "2"])
    assert result.exit_code == 0, result.output
    boundaries = read_boundaries(tmp_path / "cohort_boundaries.geojson")
    assert boundaries.levels == sorted(BOUNDARY_LEVELS)
    births = pd.read_parquet(out)
    for level in BOUNDARY_LEVELS:  # every unit of the data has a boundary
        assert len(boundaries.for_units(level, births[level].unique())) == births[
            level].nunique()
