"""The funnel plot's labels of outlying units do not overlap one another (adjustText), and
its texts are at least 9 pt.

The reference is geometric: after ``fig.canvas.draw()`` no two label bounding boxes
(display coordinates) intersect. The data plant outliers at nearly the same point (VSV08
and VSV10 at E = 200, O/E 1.50 and 1.51), which overlapped before.
"""

from __future__ import annotations

import warnings
from itertools import combinations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from casemix.funnel import funnel

matplotlib.use("Agg")


def _units() -> tuple[np.ndarray, np.ndarray, list[str]]:
    rng = np.random.default_rng(8)
    expected = rng.uniform(40, 400, 70)
    observed = rng.poisson(expected).astype(float)
    planted = {7: (200, 1.50), 9: (200, 1.51), 20: (210, 1.48), 30: (150, 0.55),
               31: (155, 0.56), 40: (380, 1.35), 41: (390, 1.34)}
    for i, (e, ratio) in planted.items():
        expected[i], observed[i] = e, round(e * ratio)
    return observed, expected, [f"VSV{i + 1:02d}" for i in range(70)]


@pytest.fixture
def drawn():
    observed, expected, units = _units()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = funnel(observed, expected, units=units, overdispersion="none")
    fig, ax = plt.subplots(figsize=(7, 4.2))
    result.plot(ax)
    fig.canvas.draw()
    yield result, fig, ax
    plt.close(fig)


def _labels(ax, units) -> list:
    return [t for t in ax.texts if t.get_text() in set(units)]


def test_every_outlier_is_labelled(drawn):
    result, _, ax = drawn
    outliers = set(result.outliers(0.998)["unit"])
    assert {"VSV08", "VSV10"} <= outliers
    assert {t.get_text() for t in _labels(ax, result.units["unit"])} == outliers


def test_labels_do_not_overlap(drawn):
    result, fig, ax = drawn
    renderer = fig.canvas.get_renderer()
    boxes = {t.get_text(): t.get_window_extent(renderer)
             for t in _labels(ax, result.units["unit"])}
    assert len(boxes) >= 5
    overlapping = [(a, b) for (a, box_a), (b, box_b) in combinations(boxes.items(), 2)
                   if box_a.overlaps(box_b)]
    assert not overlapping


def test_labels_stay_inside_the_axes(drawn):
    result, fig, ax = drawn
    frame = ax.get_window_extent(fig.canvas.get_renderer())
    for text in _labels(ax, result.units["unit"]):
        box = text.get_window_extent()
        assert frame.x0 - 1 <= box.x0 and box.x1 <= frame.x1 + 1, text.get_text()
        assert frame.y0 - 1 <= box.y0 and box.y1 <= frame.y1 + 1, text.get_text()


def test_texts_are_at_least_9pt(drawn):
    _, fig, _ = drawn
    texts = [t for t in fig.findobj(matplotlib.text.Text) if t.get_text()]
    assert texts and all(t.get_fontsize() >= 9 for t in texts)


def test_the_same_plot_gives_the_same_labels():
    observed, expected, units = _units()
    positions = []
    for _ in range(2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = funnel(observed, expected, units=units, overdispersion="none")
        fig, ax = plt.subplots(figsize=(7, 4.2))
        result.plot(ax)
        positions.append([t.get_position() for t in _labels(ax, units)])
        plt.close(fig)
    assert positions[0] == positions[1]
