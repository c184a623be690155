"""The report's figures: calibration, funnel, caterpillar, the maternal-age curve, and
maps; all text in the report language, no text smaller than 9 pt, PNG data URIs."""

from __future__ import annotations

import base64
import io
import warnings
from typing import Any

import numpy as np
import pandas as pd

from casemix.exceptions import MethodSwitchWarning
from casemix.report.columns import LEVELS, N_
from casemix.report.formatting import Formatter

__all__ = ["MIN_POINTS", "legible", "png"]

#: The smallest text in a figure (points).
MIN_POINTS = 9.0


def png(fig: Any) -> str:
    """A matplotlib figure as a base64 data URI (closed afterwards)."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def legible(fig: Any, minimum: float = MIN_POINTS) -> None:
    """Raise every text of ``fig`` (titles, labels, ticks, legends, annotations) to at
    least ``minimum`` points."""
    from matplotlib.text import Text

    for text in fig.findobj(Text):
        if text.get_fontsize() < minimum:
            text.set_fontsize(minimum)


def _decimal_axes(ax: Any, fmt: Formatter) -> None:
    """Tick labels with the report language's decimal mark."""
    from matplotlib.ticker import FuncFormatter

    def tick(x: float, _pos: int) -> str:
        digits = 0 if abs(x - round(x)) < 1e-9 else (1 if abs(10 * x - round(10 * x)) < 1e-9
                                                      else 2)
        return fmt.number(x, digits)

    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(FuncFormatter(tick))


def calibration_figure(curve: pd.DataFrame, fmt: Formatter) -> str:
    """The calibration curve with its band."""
    import matplotlib.pyplot as plt

    from casemix.calibration import plot_calibration

    _ = fmt.lang.gettext
    fig, ax = plt.subplots(figsize=(4.6, 4.6))
    plot_calibration(curve, ax, title=_("Calibration (spline, 95% band)"))
    ax.set_xlabel(_("predicted risk"))
    ax.set_ylabel(_("observed risk"))
    _decimal_axes(ax, fmt)
    legible(fig)
    return png(fig)


def group_figure(table: pd.DataFrame, variable: str, fmt: Formatter,
                 labels: dict[str, str]) -> str:
    """O/E per group of a subgroup check (suppressed groups not drawn)."""
    import matplotlib.pyplot as plt

    from casemix.calibration import GroupCalibration

    _ = fmt.lang.gettext
    shown = table[~table["suppressed"].astype(bool)].copy()
    shown["group"] = [_(labels.get(str(g), str(g))) for g in shown["group"]]
    fig, ax = plt.subplots(figsize=(4.8, max(2.8, 0.35 * len(shown) + 1)))
    GroupCalibration(shown, np.nan, np.nan, np.nan, variable).plot(ax)
    ax.set_xlabel(_("observed / expected"))
    ax.set_title(_("Calibration by %(variable)s", variable=_(variable)))
    _decimal_axes(ax, fmt)
    legible(fig)
    return png(fig)


def funnel_figure(shown: pd.DataFrame, target: float, overdispersion: str,
                  fmt: Formatter) -> str:
    """The funnel plot of the published units, labels clear of each other."""
    import matplotlib.pyplot as plt

    from casemix.funnel import funnel as funnel_plot

    _ = fmt.lang.gettext
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MethodSwitchWarning)
        funnel = funnel_plot(shown["observed"].to_numpy(dtype=float),
                             shown["expected"].to_numpy(dtype=float),
                             units=list(shown["unit"]), kind="ratio",
                             variance=shown["variance"].to_numpy(dtype=float), target=target,
                             overdispersion=overdispersion)
    fig, ax = plt.subplots(figsize=(8, 5))
    adjustment = {"none": _("no over-dispersion adjustment"),
                  "multiplicative": _("multiplicative, phi = %(phi)s",
                                      phi=fmt.number(funnel.phi, 2)),
                  "additive": _("additive random effects, tau2 = %(tau2)s",
                                tau2=fmt.number(funnel.tau2, 4))}[funnel.adjustment]
    funnel.plot(ax, title=_("Funnel plot (log scale, %(adjustment)s)", adjustment=adjustment))
    ax.set_xlabel(_("expected events"))
    ax.set_ylabel(_("observed / expected"))
    legend = ax.get_legend()
    if legend is not None:
        for text, level in zip(legend.get_texts(), funnel.levels, strict=False):
            text.set_text(_("%(level)s limits", level=fmt.level(level)))
    _decimal_axes(ax, fmt)
    legible(fig)
    return png(fig)


def caterpillar_figure(shrunk: pd.DataFrame, level_name: str, method: str, confidence: float,
                       fmt: Formatter) -> str:
    """Shrunken O/E per unit, ordered, each with its interval."""
    import matplotlib.pyplot as plt

    _ = fmt.lang.gettext
    s = shrunk.sort_values("shrunk_oe")
    fig, ax = plt.subplots(figsize=(7.5, max(3.5, 0.2 * len(s) + 1)))
    y = np.arange(len(s))
    ax.errorbar(s["shrunk_oe"], y, xerr=[s["shrunk_oe"] - s["shrunk_lower"],
                                         s["shrunk_upper"] - s["shrunk_oe"]],
                fmt="o", ms=3.5, color="C0", ecolor="0.6", lw=1)
    ax.axvline(1, color="k", lw=0.8)
    ax.set_yticks(y, s["unit"].astype(str))
    ax.set_ylim(-1, len(s))
    ax.set_xlabel(_("shrunken O/E (%(method)s) with %(level)s interval", method=method,
                    level=fmt.level(confidence)))
    ax.set_title(_("%(level)s: shrunken O/E, ordered (every position has an interval)",
                   level=level_name))
    _decimal_axes(ax, fmt)
    legible(fig)
    return png(fig)


def spline_figure(ages: np.ndarray, curve: pd.DataFrame, variable: str, fmt: Formatter) -> str:
    """Odds ratio of a spline term against its reference value, with its 95% band."""
    import matplotlib.pyplot as plt

    _ = fmt.lang.gettext
    fig, ax = plt.subplots(figsize=(4.8, 3.4))
    ax.fill_between(ages, curve["lower"], curve["upper"], alpha=0.25, lw=0)
    ax.plot(ages, curve["odds_ratio"], lw=1.5)
    ax.axhline(1, color="k", lw=0.8)
    ax.set_xlabel(_(variable))
    ax.set_ylabel(_("odds ratio (95% band)"))
    ax.set_title(_("%(variable)s against %(reference)s", variable=_(variable),
                   reference=fmt.number(curve.attrs["reference"], 0)))
    _decimal_axes(ax, fmt)
    legible(fig)
    return png(fig)


#: Legend texts of the maps (keys of :data:`casemix.report.maps.VERDICT_LABELS`).
MAP_LABELS = {
    "above_998": N_("above expected (99.8% limits)"),
    "above": N_("above expected (95% limits)"),
    "within": N_("within the limits"),
    "below": N_("below expected (95% limits)"),
    "below_998": N_("below expected (99.8% limits)"),
    "no_result": N_("no result"),
    "suppressed": N_("not published (small numbers)"),
    "missing": N_("Not on the map (no boundary): {units}."),
}


def level_maps(geometry: Any, published: Any, shrunk: Any, levels: tuple[str, ...],
               fmt: Formatter) -> list[dict[str, str]]:
    """A verdict map and a shrunken-O/E map per level that the boundary file covers.

    Parameters
    ----------
    geometry : Boundaries
        The boundary file (:func:`casemix.geography.read_boundaries`).
    published, shrunk : UnitTable
        The run's published unit table (its verdict) and the disclosed table of the run
        whose shrunken O/E is shown; suppressed units are hatched on both maps.
    """
    import matplotlib.pyplot as plt

    from casemix.exceptions import BoundaryError
    from casemix.report.maps import ratio_map, verdict_map

    _ = fmt.lang.gettext
    labels = {k: _(v) for k, v in MAP_LABELS.items()}
    out: list[dict[str, str]] = []
    unmatched: list[str] = []
    for level in levels:
        units = published.main(level).assign(unit=lambda t: t["unit"].astype(str))
        try:
            shapes = geometry.for_units(level, units["unit"], allow_missing=True)
        except BoundaryError as exc:  # the file does not hold this level
            unmatched.append(str(exc))
            continue
        hidden = set(units.loc[units["suppressed"].astype(bool), "unit"])
        name = _(LEVELS.get(level, level))
        verdict = units.set_index("unit")
        fig, ax = plt.subplots(figsize=(5.2, 5.9), layout="constrained")
        missing = verdict_map(ax, shapes, verdict["flag_95"].dropna(), hidden, labels,
                              _("Verdict (%(level)s)", level=name),
                              verdict_998=verdict["flag_998"].dropna())
        verdict_png = png(fig)
        s = shrunk.main(level).assign(unit=lambda t: t["unit"].astype(str)).set_index("unit")
        fig, ax = plt.subplots(figsize=(5.6, 5.9), layout="constrained")
        ratio_map(ax, shapes, s["shrunk_oe"].dropna(), hidden, labels,
                  _("Shrunken O/E (%(level)s)", level=name),
                  colorbar_label=_("observed / expected (log scale)"),
                  number_format=lambda v: fmt.number(v, 2))
        out.append({"title": name, "verdict": verdict_png, "ratio": png(fig),
                    "verdict_alt": _("map of the verdict"), "ratio_alt": _(
                        "map of the shrunken O/E"), "missing": missing})
    if not out and unmatched:  # maps were asked for and none can be drawn: say why
        raise BoundaryError(f"No map can be drawn from {geometry.source}: it matches the "
                            f"units of none of the levels {', '.join(levels)}. "
                            + " ".join(unmatched))
    return out
