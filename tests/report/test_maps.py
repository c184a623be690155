"""The choropleth maps: one patch per unit, hatched when suppressed, holes left empty, the
colour scale centred at 1 on the log scale, every text from the caller.

References are hand-computed: the colour of a ratio at the scale's limit is the colour map's
end (RdBu reversed at 0 or 1), a ratio of 1 its middle, and sqrt(limit) three quarters; a
longitude/latitude map at latitude 60 has aspect 1/cos(60 deg) = 2.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib import colormaps
from matplotlib.colors import to_rgba
from matplotlib.patches import PathPatch
from shapely.geometry import MultiPolygon, Polygon, box

from casemix.exceptions import ParameterError
from casemix.report.maps import VERDICT_COLOURS, ratio_map, verdict_map

ROOT = Path(__file__).resolve().parents[2]

matplotlib.use("Agg")

HOLED = Polygon(box(0, 0, 10, 10).exterior.coords, [box(4, 4, 6, 6).exterior.coords])
SHAPES = {
    "A": HOLED,
    "B": MultiPolygon([box(11, 0, 14, 3), box(11, 5, 12, 6)]),
    "C": box(11, 7, 14, 10),
    "D": box(15, 0, 20, 10),
}


@pytest.fixture
def ax():
    fig, ax = plt.subplots(figsize=(5, 4))
    yield ax
    plt.close(fig)


def _patches(ax) -> dict[str, PathPatch]:
    return {p.get_gid(): p for p in ax.patches if isinstance(p, PathPatch)}


def _pixel(ax, x: float, y: float) -> tuple[float, ...]:
    """The rendered RGBA (0..1) at data point (x, y)."""
    fig = ax.figure
    fig.canvas.draw()
    image = np.asarray(fig.canvas.buffer_rgba())
    px, py = ax.transData.transform((x, y))
    return tuple(image[int(image.shape[0] - py), int(px)] / 255)


def _texts(fig) -> list:
    return [t for t in fig.findobj(matplotlib.text.Text) if t.get_text()]


def test_one_patch_per_unit_and_hatching_only_on_suppressed(ax):
    verdict = pd.Series({"A": "above", "B": "below", "C": "within", "D": "above"})
    verdict_map(ax, SHAPES, verdict, suppressed={"D"})
    patches = _patches(ax)
    assert sorted(patches) == ["A", "B", "C", "D"]
    assert len([p for p in ax.patches if isinstance(p, PathPatch)]) == 4
    assert patches["D"].get_hatch() == "///"
    assert all(patches[c].get_hatch() is None for c in "ABC")
    assert len({p.get_hatch() for p in patches.values()}) == 2
    assert patches["A"].get_facecolor() == to_rgba(VERDICT_COLOURS["above"])
    assert patches["D"].get_facecolor() == to_rgba("white")  # its verdict is not shown
    assert patches["C"].get_facecolor() == to_rgba(VERDICT_COLOURS["within"])


def test_beyond_998_is_darker(ax):
    verdict = pd.Series({"A": "above", "B": "above", "C": "below", "D": "below"})
    strong = pd.Series({"A": "above", "B": "within", "C": "below", "D": "within"})
    verdict_map(ax, SHAPES, verdict, verdict_998=strong)
    patches = _patches(ax)
    assert patches["A"].get_facecolor() == to_rgba(VERDICT_COLOURS["above_998"])
    assert patches["B"].get_facecolor() == to_rgba(VERDICT_COLOURS["above"])
    assert patches["C"].get_facecolor() == to_rgba(VERDICT_COLOURS["below_998"])
    lightness = {k: sum(to_rgba(v)[:3]) for k, v in VERDICT_COLOURS.items()}
    assert lightness["above_998"] < lightness["above"]
    assert lightness["below_998"] < lightness["below"]


def test_holes_stay_empty_and_multipolygons_have_all_parts(ax):
    verdict_map(ax, SHAPES, pd.Series({"A": "above", "B": "above", "C": "above",
                                       "D": "above"}))
    fill = to_rgba(VERDICT_COLOURS["above"])
    assert _pixel(ax, 2, 2) == pytest.approx(fill, abs=0.01)
    assert _pixel(ax, 5, 5) == pytest.approx((1, 1, 1, 1), abs=0.01)  # the hole
    assert _pixel(ax, 11.5, 5.5) == pytest.approx(fill, abs=0.01)  # B's small part
    assert (_patches(ax)["B"].get_path().codes == 1).sum() == 2  # two MOVETOs: two rings


def test_units_without_a_boundary_are_named_in_the_caption(ax):
    verdict = pd.Series({"A": "within", "X": "above", "Y": "within"})
    caption = verdict_map(ax, {"A": HOLED}, verdict, suppressed={"Z"},
                          labels={"missing": "Niet op de kaart: {units}."})
    assert caption == "Niet op de kaart: X, Y, Z."
    assert verdict_map(ax, {"A": HOLED}, pd.Series({"A": "within"})) == ""


def test_every_text_comes_from_the_caller(ax):
    labels = {"above": "boven verwachting", "within": "binnen de grenzen",
              "below": "onder verwachting", "suppressed": "niet gepubliceerd"}
    verdict_map(ax, SHAPES, pd.Series({"A": "above", "B": "below", "C": "within"}),
                suppressed={"D"}, labels=labels, title="Oordeel per gemeente")
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["boven verwachting", "binnen de grenzen", "onder verwachting",
                      "niet gepubliceerd"]
    assert ax.get_title() == "Oordeel per gemeente"
    assert {t.get_text() for t in _texts(ax.figure)} == {*legend, "Oordeel per gemeente"}


def test_no_axes_equal_aspect_and_fonts_of_at_least_9pt():
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 4))
    verdict_map(left, SHAPES, pd.Series({"A": "above"}), lonlat=False)
    ratio_map(right, SHAPES, pd.Series({"A": 1.2, "B": 0.9}), suppressed={"C"})
    fig.canvas.draw()
    assert not left.axison and not right.axison
    assert left.get_aspect() == 1.0
    assert right.get_aspect() == pytest.approx(1 / math.cos(math.radians(5)))  # guessed
    assert all(t.get_fontsize() >= 9 for t in _texts(fig))
    plt.close(fig)


def test_longitude_latitude_aspect(ax):
    shapes = {"A": box(4.0, 59.5, 5.0, 60.5)}
    verdict_map(ax, shapes, pd.Series({"A": "within"}))
    assert ax.get_aspect() == pytest.approx(1 / math.cos(math.radians(60)))
    assert ax.get_aspect() == pytest.approx(2.0)


def test_metres_have_aspect_one(ax):
    verdict_map(ax, {"GM0363": box(110_000, 476_000, 135_000, 494_000)},
                pd.Series({"GM0363": "within"}))
    assert ax.get_aspect() == 1.0


def test_ratio_colours_are_centred_at_one_on_the_log_scale(ax):
    cmap = colormaps["RdBu_r"]
    ratio = pd.Series({"A": 1.25, "B": 0.8, "C": 1.0, "D": math.sqrt(1.25)})
    ratio_map(ax, SHAPES, ratio, limit=1.25)
    faces = {code: p.get_facecolor() for code, p in _patches(ax).items()}
    assert faces["A"] == pytest.approx(cmap(1.0))
    assert faces["B"] == pytest.approx(cmap(0.0))
    assert faces["C"] == pytest.approx(cmap(0.5))
    assert faces["D"] == pytest.approx(cmap(0.75))


def test_suppressed_ratios_neither_drawn_nor_scaled(ax):
    cmap = colormaps["RdBu_r"]
    ratio = pd.Series({"A": 1.5, "B": 1 / 1.2, "C": 1.0, "D": 9.0})
    ratio_map(ax, SHAPES, ratio, suppressed={"D"})
    patches = _patches(ax)
    assert patches["A"].get_facecolor() == pytest.approx(cmap(1.0))  # the limit is 1.5, not 9
    assert patches["D"].get_hatch() == "///"
    assert patches["D"].get_facecolor() == to_rgba("white")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "not published (small numbers)"]


def test_ratio_colour_bar_label_and_numbers_from_the_caller(ax):
    ratio_map(ax, SHAPES, pd.Series({"A": 1.3, "B": 0.9, "C": np.nan, "D": 1.0}),
              labels={"no_result": "geen uitkomst"}, title="Verhouding",
              colorbar_label="waargenomen / verwacht",
              number_format=lambda v: f"{v:.2f}".replace(".", ","))
    bar = ax.figure.axes[-1]
    assert bar.get_ylabel() == "waargenomen / verwacht"
    ticks = [t.get_text() for t in bar.get_yticklabels()]
    assert ticks == ["0,80", "0,91", "1,00", "1,10", "1,25"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["geen uitkomst"]
    assert _patches(ax)["C"].get_facecolor() == to_rgba("white")
    assert _patches(ax)["C"].get_hatch() == ".."  # not a ratio of 1 (white)


def test_bad_values_are_refused(ax):
    with pytest.raises(ParameterError, match="unit A has 'higher'"):
        verdict_map(ax, SHAPES, pd.Series({"A": "higher"}))
    with pytest.raises(ParameterError, match="ratios must be positive"):
        ratio_map(ax, SHAPES, pd.Series({"A": -1.0}))
    with pytest.raises(ParameterError, match="'A' has several"):
        ratio_map(ax, SHAPES, pd.Series([1.1, 1.2], index=["A", "A"]))
    with pytest.raises(ParameterError, match="'limit'"):
        ratio_map(ax, SHAPES, pd.Series({"A": 1.2}), limit=0.9)


def test_a_boundary_file_matching_no_level_is_an_error():
    """Maps asked for, none possible: the report says why instead of leaving them out."""
    from casemix import CaseMixModel, load_spec, simulate_cohort, validate_births
    from casemix.exceptions import BoundaryError
    from casemix.geography import boundaries_from_geojson
    from casemix.report import build_report

    square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
    foreign = boundaries_from_geojson({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "ZZ1"}, "geometry": square}]})
    births = validate_births(simulate_cohort(6_000, seed=3).births).births
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = CaseMixModel(load_spec(ROOT / "models" / "big2.toml")).fit(births)
        with pytest.raises(BoundaryError, match="none of the levels vsv, municipality"):
            build_report(result, births, geometry=foreign)
