"""Reading boundary files: areas of hand-computed polygons (holes, MultiPolygons), the
detection of the code property, and the messages for codes that do not match.

Reference areas are computed by hand: a 10 x 10 square with a 2 x 2 hole has area 96, two
squares of 3 x 3 and 1 x 1 have 10 together, the right triangle with legs 4 and 3 has 6.
"""

from __future__ import annotations

import json

import pytest

from casemix.exceptions import BoundaryError, CasemixError
from casemix.geography import read_boundaries


def _square(x: float, y: float, side: float) -> list[list[float]]:
    """A closed counter-clockwise ring."""
    return [[x, y], [x + side, y], [x + side, y + side], [x, y + side], [x, y]]


def _feature(geometry: dict | None, **properties: object) -> dict:
    return {"type": "Feature", "properties": properties, "geometry": geometry}


SQUARE_WITH_HOLE = {"type": "Polygon", "coordinates": [_square(0, 0, 10),
                                                         _square(4, 4, 2)[::-1]]}
TWO_SQUARES = {"type": "MultiPolygon", "coordinates": [[_square(20, 0, 3)],
                                                         [_square(25, 0, 1)]]}
TRIANGLE = {"type": "Polygon", "coordinates": [[[0, 20], [4, 20], [0, 23], [0, 20]]]}


def _write(tmp_path, features: list[dict], name: str = "gemeenten.geojson", **extra) -> str:
    path = tmp_path / name
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features, **extra}),
                    "utf-8")
    return str(path)


@pytest.fixture
def cbs_like(tmp_path) -> str:
    """Municipalities as CBS publishes them: statcode and statnaam (one code lower case)."""
    return _write(tmp_path, [
        _feature(SQUARE_WITH_HOLE, id=1, statcode="GM0001", statnaam="Alpha"),
        _feature(TWO_SQUARES, id=2, statcode="GM0002", statnaam="Beta"),
        _feature(TRIANGLE, id=3, statcode="gm0003", statnaam="Gamma"),
        _feature(_square_polygon(50, 50, 1), id=4, statcode="GM0004", statnaam="Delta"),
    ])


def _square_polygon(x: float, y: float, side: float) -> dict:
    return {"type": "Polygon", "coordinates": [_square(x, y, side)]}


def test_areas_of_a_hole_a_multipolygon_and_a_triangle(cbs_like):
    shapes = read_boundaries(cbs_like).for_units("municipality", ["GM0001", "GM0002", "GM0003"])
    assert {code: shape.area for code, shape in shapes.items()} == {
        "GM0001": 96.0, "GM0002": 10.0, "GM0003": 6.0}
    assert shapes["GM0002"].geom_type == "MultiPolygon"
    assert len(shapes["GM0001"].interiors) == 1


def test_features_not_in_the_data_are_ignored(cbs_like):
    assert list(read_boundaries(cbs_like).for_units("municipality", ["GM0004"])) == ["GM0004"]


def test_the_code_property_is_found_from_the_codes(cbs_like):
    boundaries = read_boundaries(cbs_like)
    by_name = boundaries.for_units("gemeente", ["Alpha", "beta"])  # names match statnaam
    assert {k: v.area for k, v in by_name.items()} == {"Alpha": 96.0, "beta": 10.0}
    by_id = boundaries.for_units("gemeente", [3, 4])  # numbers match the numeric id
    assert {k: v.area for k, v in by_id.items()} == {"3": 6.0, "4": 1.0}


def test_the_property_with_most_matches_wins(tmp_path):
    """``code`` covers both units; ``old_code`` only one."""
    path = _write(tmp_path, [
        _feature(_square_polygon(0, 0, 1), old_code="A", code="X"),
        _feature(_square_polygon(2, 0, 2), old_code="B", code="A"),
    ])
    shapes = read_boundaries(path).for_units("vsv", ["A", "X"])
    assert {k: v.area for k, v in shapes.items()} == {"A": 4.0, "X": 1.0}


def test_an_explicit_key_is_used(cbs_like):
    shapes = read_boundaries(cbs_like).for_units("municipality", ["Gamma"], key="statnaam")
    assert shapes["Gamma"].area == 6.0
    with pytest.raises(BoundaryError, match="no property 'naam'"):
        read_boundaries(cbs_like).for_units("municipality", ["Gamma"], key="naam")


def test_a_file_with_several_levels(tmp_path):
    path = _write(tmp_path, [
        _feature(_square_polygon(0, 0, 1), level="municipality", code="GM01"),
        _feature(_square_polygon(1, 0, 1), level="municipality", code="GM02"),
        _feature(_square_polygon(0, 0, 2), level="VSV", code="VSV01"),
        _feature(_square_polygon(5, 5, 3), level="vsv", code="GM01"),  # same code, other level
    ])
    boundaries = read_boundaries(path)
    assert boundaries.levels == ["VSV", "municipality", "vsv"]
    assert boundaries.for_units("municipality", ["GM01"])["GM01"].area == 1.0
    vsv = boundaries.for_units("vsv", ["VSV01", "GM01"])
    assert {k: v.area for k, v in vsv.items()} == {"VSV01": 4.0, "GM01": 9.0}
    with pytest.raises(BoundaryError, match=r"no features of level 'ggd_region'.*municipality"):
        boundaries.for_units("ggd_region", ["GGD01"])


def test_features_with_the_same_code_are_united(tmp_path):
    path = _write(tmp_path, [_feature(_square_polygon(0, 0, 1), code="A"),
                             _feature(_square_polygon(1, 0, 1), code="a")])
    shape = read_boundaries(path).for_units("vsv", ["A"])["A"]
    assert shape.area == 2.0
    assert shape.bounds == (0.0, 0.0, 2.0, 1.0)


def test_missing_codes_are_reported_with_file_level_count_and_examples(cbs_like):
    codes = ["GM0001", "GM0363", "GM0518", "GM0599"]
    with pytest.raises(BoundaryError) as info:
        read_boundaries(cbs_like).for_units("municipality", codes)
    message = str(info.value)
    assert "gemeenten.geojson" in message
    assert "3 of 4 municipality units have no boundary" in message
    assert "GM0363, GM0518, GM0599" in message
    assert "'statcode'" in message
    assert isinstance(info.value, CasemixError)


def test_missing_codes_can_be_allowed(cbs_like):
    shapes = read_boundaries(cbs_like).for_units("municipality", ["GM0001", "GM0363"],
                                                 allow_missing=True)
    assert list(shapes) == ["GM0001"]


def test_no_matching_property_is_an_error_even_when_missing_is_allowed(cbs_like):
    with pytest.raises(BoundaryError, match=r"no property of the vsv features holds the unit "
                                            r"codes \(e.g. VSV01, VSV02\).*statcode"):
        read_boundaries(cbs_like).for_units("vsv", ["VSV01", "VSV02"], allow_missing=True)


def test_a_feature_without_geometry_counts_as_missing(tmp_path):
    path = _write(tmp_path, [_feature(_square_polygon(0, 0, 1), code="A"),
                             _feature(None, code="B")])
    with pytest.raises(BoundaryError, match=r"1 of 2 vsv units have no boundary.*e\.g\. B"):
        read_boundaries(path).for_units("vsv", ["A", "B"])


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "not valid JSON"),
    (json.dumps({"type": "Topology", "objects": {}}), "TopoJSON"),
    (json.dumps({"type": "FeatureCollection", "features": [
        _feature({"type": "Point", "coordinates": [0, 0]}, code="A")]}),
     "feature 1 is a 'Point'"),
    (json.dumps({"type": "FeatureCollection", "features": [
        _feature({"type": "Polygon", "coordinates": [[[0, 0], [1]]]}, code="A")]}),
     "feature 1 has a malformed Polygon"),
    (json.dumps({"type": "FeatureCollection", "features": []}), "no feature has a Polygon"),
])
def test_files_that_are_not_boundary_files(tmp_path, content, message):
    path = tmp_path / "bad.geojson"
    path.write_text(content, "utf-8")
    with pytest.raises(BoundaryError, match=message):
        read_boundaries(path)


def test_longitude_latitude_or_metres(tmp_path):
    lonlat = _write(tmp_path, [_feature(_square_polygon(4.9, 52.3, 0.1), code="A")], "a.json")
    rd = _write(tmp_path, [_feature(_square_polygon(121000, 487000, 500), code="A")], "b.json")
    named = _write(tmp_path, [_feature(_square_polygon(4.9, 52.3, 0.1), code="A")], "c.json",
                   crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::28992"}})
    assert read_boundaries(lonlat).geographic
    assert not read_boundaries(rd).geographic
    assert not read_boundaries(named).geographic  # the crs member wins over the guess
    assert read_boundaries(named).crs == "urn:ogc:def:crs:EPSG::28992"
