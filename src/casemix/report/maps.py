"""Choropleth maps of the units: the headline verdict and the shrunken O/E ratio.

Both maps draw on a matplotlib Axes the caller provides, one patch per unit (its ``gid`` is
the unit code), built from the exterior and interior rings of the unit's Polygon or
MultiPolygon (:mod:`casemix.geography`). Suppressed units are hatched, whatever value they
were given, so a map never shows more than the published tables. Every text on the map
(title, legend, colour-bar label) comes from the caller, who translates it; the defaults are
English. Units without a boundary are not drawn: the caption each function returns names
them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.patches import Patch, PathPatch
from matplotlib.path import Path

from casemix._params import check_in_range
from casemix.exceptions import ParameterError
from casemix.geography import looks_geographic

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from shapely.geometry.base import BaseGeometry

__all__ = ["RATIO_LABELS", "VERDICT_COLOURS", "VERDICT_LABELS", "ratio_map", "verdict_map"]

#: Legend texts of :func:`verdict_map` (English defaults; the caller passes its own).
#: ``missing`` is the caption for units without a boundary (``{units}`` lists them).
VERDICT_LABELS: dict[str, str] = {
    "above_998": "above expected (99.8% limits)",
    "above": "above expected (95% limits)",
    "within": "within the limits",
    "below": "below expected (95% limits)",
    "below_998": "below expected (99.8% limits)",
    "no_result": "no result",
    "suppressed": "not published (small numbers)",
    "missing": "Not on the map (no boundary): {units}.",
}
#: Legend texts of :func:`ratio_map`.
RATIO_LABELS: dict[str, str] = {key: VERDICT_LABELS[key] for key in
                                ("no_result", "suppressed", "missing")}
#: Fill of each verdict: red above, blue below (ColorBrewer RdBu), darker beyond 99.8%.
VERDICT_COLOURS: dict[str, str] = {"above_998": "#b2182b", "above": "#f4a582",
                                   "within": "#e3e3e3", "below": "#92c5de",
                                   "below_998": "#2166ac", "no_result": "white"}
VERDICTS = ("above", "below", "within")
#: Ratios whose reciprocals and themselves may mark the colour bar.
_RATIO_TICKS = (1.05, 1.1, 1.25, 1.5, 2.0, 3.0, 5.0)
_EDGE: dict[str, Any] = {"edgecolor": "white", "linewidth": 0.4}
_SUPPRESSED: dict[str, Any] = {"facecolor": "white", "edgecolor": "0.55", "hatch": "///",
                               "linewidth": 0.5}
#: No result (the unit is on the map but has no value): dotted, apart from a ratio of 1.
_NO_RESULT: dict[str, Any] = {"facecolor": "white", "edgecolor": "0.6", "hatch": "..",
                              "linewidth": 0.5}
_FONT = 9  # pt: legend, colour bar; titles are larger

Shapes = Mapping[str, "BaseGeometry"]


def verdict_map(
    ax: Axes,
    shapes: Shapes,
    verdict: pd.Series,
    suppressed: Collection[str] = frozenset(),
    labels: Mapping[str, str] | None = None,
    title: str = "Verdict",
    *,
    verdict_998: pd.Series | None = None,
    lonlat: bool | None = None,
) -> str:
    """Map of the headline verdict: above, below or within the limits.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    shapes : mapping of str to shapely geometry
        Unit code to its Polygon or MultiPolygon
        (:meth:`casemix.geography.Boundaries.for_units`).
    verdict : pandas.Series
        ``above``, ``below`` or ``within`` (``flag_95``) by unit code; units without one are
        drawn dotted ("no result").
    suppressed : collection of str
        Units not published: drawn hatched, whatever their verdict.
    labels : mapping of str to str, optional
        Legend texts by key of :data:`VERDICT_LABELS` (those not given keep the English
        default).
    title : str
        Title of the map.
    verdict_998 : pandas.Series, optional
        ``flag_998`` by unit code: units beyond the 99.8% limits are drawn darker.
    lonlat : bool, optional
        Whether coordinates are longitude/latitude (aspect ``1/cos`` of the mean latitude);
        guessed from the coordinates by default.

    Returns
    -------
    str
        The caption naming the units of ``verdict`` and ``suppressed`` without a boundary
        (``labels["missing"]``), or ``""`` when every unit is on the map.
    """
    text = {**VERDICT_LABELS, **(labels or {})}
    hidden = {str(code) for code in suppressed}
    category = _verdict_categories(shapes, _by_code(verdict), verdict_998, hidden)
    styles = {code: _verdict_style(c) for code, c in category.items()}
    _draw(ax, shapes, styles, lonlat)
    keys = ["above", "within", "below"] if verdict_998 is None else [
        "above_998", "above", "within", "below", "below_998"]
    keys += [key for key in ("no_result", "suppressed") if key in category.values()]
    _legend(ax, [(text[key], _verdict_style(key)) for key in keys])
    ax.set_title(title, fontsize=_FONT + 2)
    return _caption(text["missing"], shapes, [*_by_code(verdict).index, *hidden])


def ratio_map(
    ax: Axes,
    shapes: Shapes,
    ratio: pd.Series,
    suppressed: Collection[str] = frozenset(),
    labels: Mapping[str, str] | None = None,
    title: str = "Shrunken O/E",
    *,
    colorbar_label: str = "observed / expected (log scale)",
    limit: float | None = None,
    number_format: Callable[[float], str] | None = None,
    lonlat: bool | None = None,
) -> str:
    """Map of a ratio (the shrunken O/E) on a diverging colour scale centred at 1.

    Colours are symmetric on the log scale: a ratio of 1.25 is as dark red as 0.8 is dark
    blue. The scale runs from ``1/limit`` to ``limit``; ratios beyond are drawn in the end
    colours (the colour bar's arrows).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw; the colour bar takes room on its right.
    shapes : mapping of str to shapely geometry
        Unit code to its Polygon or MultiPolygon.
    ratio : pandas.Series
        Positive ratios by unit code; units without one are drawn dotted ("no result").
    suppressed : collection of str
        Units not published: drawn hatched, and their ratios (if given) neither drawn nor
        used for the scale.
    labels : mapping of str to str, optional
        Legend texts by key of :data:`RATIO_LABELS`.
    title : str
        Title of the map.
    colorbar_label : str
        Label of the colour bar.
    limit : float, optional
        The ratio (> 1) where the colours end. By default the most extreme published ratio
        (or its reciprocal), and at least 1.1 so that tiny differences stay pale.
    number_format : callable, optional
        Formats the colour bar's ratios (for example with a decimal comma); by default with
        up to two decimals.
    lonlat : bool, optional
        Whether coordinates are longitude/latitude; guessed by default.

    Returns
    -------
    str
        The caption naming the units without a boundary, or ``""``.
    """
    text = {**RATIO_LABELS, **(labels or {})}
    hidden = {str(code) for code in suppressed}
    values = _by_code(ratio).astype(float)
    shown = values[~values.index.isin(hidden)]
    if (shown <= 0).any():
        bad = shown[shown <= 0].head(3).to_dict()
        raise ParameterError(f"ratio_map: ratios must be positive; got {bad}.")
    half = _log_limit(shown, limit)
    norm = Normalize(-half, half, clip=True)
    cmap = _diverging()
    styles = {code: _SUPPRESSED if code in hidden else _ratio_style(
        values.get(code, np.nan), norm, cmap) for code in shapes}
    _draw(ax, shapes, styles, lonlat)
    extra = [(text["no_result"], _NO_RESULT)] * any(s is _NO_RESULT for s in styles.values())
    _legend(ax, extra + [(text["suppressed"], _SUPPRESSED)] * bool(hidden & set(shapes)))
    _colorbar(ax, half, cmap, shown, colorbar_label, number_format or _two_decimals)
    ax.set_title(title, fontsize=_FONT + 2)
    return _caption(text["missing"], shapes, [*values.index, *hidden])


def _by_code(values: pd.Series) -> pd.Series:
    """The series indexed by unit codes as text (one value per unit)."""
    codes = values.index.map(str)
    if codes.has_duplicates:
        raise ParameterError(f"maps: one value per unit; {codes[codes.duplicated()][0]!r} has "
                             "several (select one period and stratum of the unit table).")
    return values.set_axis(codes)


def _verdict_categories(shapes: Shapes, verdict: pd.Series, verdict_998: pd.Series | None,
                        hidden: set[str]) -> dict[str, str]:
    """Category of each unit on the map (``above``, ``above_998``, ..., ``suppressed``)."""
    strong = _by_code(verdict_998) if verdict_998 is not None else pd.Series(dtype=object)
    category = {}
    for code in shapes:
        value, beyond = verdict.get(code), strong.get(code)
        if code in hidden:
            category[code] = "suppressed"
        elif value is None or pd.isna(value):
            category[code] = "no_result"
        elif value not in VERDICTS:
            raise ParameterError(f"verdict_map: a verdict is one of {', '.join(VERDICTS)}; "
                                 f"unit {code} has {value!r}.")
        else:
            category[code] = f"{beyond}_998" if beyond in ("above", "below") else str(value)
    return category


def _verdict_style(category: str) -> dict[str, Any]:
    """Patch properties of a verdict category."""
    if category == "suppressed":
        return _SUPPRESSED
    if category == "no_result":
        return _NO_RESULT
    return {"facecolor": VERDICT_COLOURS[category], **_EDGE}


def _ratio_style(value: float, norm: Normalize, cmap: Any) -> dict[str, Any]:
    """Patch properties of a unit with this ratio (NaN: no result)."""
    if not np.isfinite(value):
        return _NO_RESULT
    return {"facecolor": cmap(norm(math.log(value))), **_EDGE}


def _log_limit(ratios: pd.Series, limit: float | None) -> float:
    """Half the width of the colour scale on the log scale."""
    if limit is not None:
        check_in_range("limit", limit, 1.0 + 1e-9, math.inf, owner="ratio_map")
        return math.log(limit)
    logs = np.abs(np.log(ratios.dropna().to_numpy(dtype=float)))
    return max(math.log(1.1), float(logs.max()) if len(logs) else 0.0)


def _diverging() -> Any:
    """Blue below 1, white at 1, red above (ColorBrewer RdBu, reversed)."""
    from matplotlib import colormaps

    return colormaps["RdBu_r"]


def _two_decimals(value: float) -> str:
    """A ratio with up to two decimals (0.8, 1.25, 1)."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _ring_path(geometry: BaseGeometry) -> Path:
    """One compound path of every ring of a (Multi)Polygon: exteriors counter-clockwise and
    holes clockwise, so that the nonzero fill rule leaves the holes empty."""
    rings = shapely.get_rings(shapely.get_parts(shapely.orient_polygons(geometry)))
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    codes = np.full(len(coords), Path.LINETO, dtype=Path.code_type)
    starts = np.flatnonzero(np.diff(ring, prepend=-1))
    codes[starts] = Path.MOVETO
    codes[np.r_[starts[1:], len(coords)] - 1] = Path.CLOSEPOLY
    return Path(coords, codes)


def _draw(ax: Axes, shapes: Shapes, styles: Mapping[str, Mapping[str, Any]],
          lonlat: bool | None) -> None:
    """One patch per unit, then the map's frame: its extent, aspect, no axes."""
    for code, geometry in shapes.items():
        if geometry is None or geometry.is_empty:
            continue
        patch = PathPatch(_ring_path(geometry), gid=code, **styles[code])
        ax.add_artist(patch)  # not add_patch: its limit update walks every vertex in Python
    _frame(ax, shapes, lonlat)


def _frame(ax: Axes, shapes: Shapes, lonlat: bool | None) -> None:
    """Extent with a small margin, equal aspect (corrected for latitude), no axes."""
    geometries = [g for g in shapes.values() if g is not None and not g.is_empty]
    if not geometries:
        ax.set_axis_off()
        return
    minx, miny, maxx, maxy = shapely.total_bounds(geometries)
    pad = 0.02 * max(maxx - minx, maxy - miny)
    ax.set_xlim(minx - pad, maxx + pad)
    ax.set_ylim(miny - pad, maxy + pad)
    geographic = looks_geographic((minx, miny, maxx, maxy)) if lonlat is None else lonlat
    ax.set_aspect(1 / math.cos(math.radians((miny + maxy) / 2)) if geographic else 1.0)
    ax.set_axis_off()


def _legend(ax: Axes, entries: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
    """A legend of filled boxes below the map, in two columns (nothing without entries)."""
    if entries:
        handles = [Patch(label=label, **style) for label, style in entries]
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0),
                  ncol=min(2, len(handles)), frameon=False, fontsize=_FONT,
                  handlelength=1.6, handleheight=1.2, columnspacing=1.5)


def _colorbar(ax: Axes, half: float, cmap: Any, ratios: pd.Series, label: str,
              number_format: Callable[[float], str]) -> None:
    """A colour bar right of the map (log ratios from ``-half`` to ``half``), marked at round
    ratios."""
    extreme = np.abs(np.log(ratios.dropna().to_numpy(dtype=float)))
    beyond = bool(len(extreme)) and float(extreme.max()) > half + 1e-12
    bar = ax.figure.colorbar(ScalarMappable(Normalize(-half, half), cmap), ax=ax,
                             orientation="vertical", fraction=0.04, pad=0.02, shrink=0.8,
                             extend="both" if beyond else "neither")
    ticks = [r for r in _RATIO_TICKS if math.log(r) <= half + 1e-9][-2:]
    ratios_marked = sorted({1.0, *ticks, *(1 / r for r in ticks)})
    bar.set_ticks([math.log(r) for r in ratios_marked],
                  labels=[number_format(r) for r in ratios_marked])
    bar.ax.tick_params(labelsize=_FONT)
    bar.set_label(label, fontsize=_FONT)


def _caption(template: str, shapes: Shapes, codes: list[str]) -> str:
    """The caption naming the units without a boundary (``""`` when there are none)."""
    missing = sorted(set(codes) - {code for code, g in shapes.items()
                                   if g is not None and not g.is_empty})
    return template.format(units=", ".join(missing)) if missing else ""
