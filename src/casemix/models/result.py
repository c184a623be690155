"""The frozen result of a case-mix fit: tidy tables, predictions, plots."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import expit, ndtr, ndtri

from casemix.core.cells import Cells, dense_unique, group_rows
from casemix.core.design import DesignRows, Encoding
from casemix.disclosure import DEFAULT_THRESHOLD
from casemix.models.data import analysed
from casemix.models.risk import RiskModel
from casemix.models.shrinkers import Shrinker
from casemix.models.spec import ModelSpec
from casemix.models.units import DERIVED_COLUMNS, UnitTable
from casemix.records.exclusions import ExclusionLog
from casemix.records.shares import Shares
from casemix.standardisation.indirect import UNIT_COLUMNS

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from casemix.calibration import CalibrationStatistics, GroupCalibration
    from casemix.funnel import FunnelResult

__all__ = ["CaseMixResult", "coefficient_table"]

#: Labels of the flag levels in column names.
LEVEL_LABELS = {"95": "95%", "998": "99.8%"}

def coefficient_table(names: list[str], coef: npt.NDArray[np.float64],
                      cov: npt.NDArray[np.float64], level: float = 0.95) -> pd.DataFrame:
    """Tidy coefficients: ``term, estimate, std_error, z, p_value, odds_ratio, or_lower,
    or_upper`` (Wald intervals on the log-odds scale)."""
    se = np.sqrt(np.diag(cov))
    z = coef / se
    q = ndtri(0.5 + level / 2)
    return pd.DataFrame({
        "term": names, "estimate": coef, "std_error": se, "z": z,
        "p_value": 2 * ndtr(-np.abs(z)), "odds_ratio": np.exp(coef),
        "or_lower": np.exp(coef - q * se), "or_upper": np.exp(coef + q * se),
    })


@dataclass(frozen=True)
class CaseMixResult:
    """Result of :meth:`casemix.CaseMixModel.fit`: frozen, with the strategies and settings
    that produced it (a run folder rebuilds the same fit from them).

    Attributes
    ----------
    spec : ModelSpec
    method : str
        Name of the method (:data:`casemix.models.methods.METHODS`), or
        ``"<risk kind>+<shrinker kind>"`` for a combination without a name.
    risk_model : RiskModel
        How expected counts were computed, with all settings resolved.
    shrinker : Shrinker
        How unit ratios were shrunk, with all settings resolved (sampler, priors, adjacency).
    seed : int
        Seed of every random draw of the fit.
    unit_table : UnitTable
        The unit comparison with its selections (``main``, ``yearly``, ``strata``).
    encoding : Encoding
        Learned design encoding (rebuilds the same design on new data).
    coefficients : pandas.DataFrame
        ``term, estimate, std_error, z, p_value, odds_ratio, or_lower, or_upper``.
    units : pandas.DataFrame
        ``unit_table.frame``: the unit comparison with the columns of
        :data:`casemix.standardisation.indirect.UNIT_COLUMNS` plus ``period`` and ``stratum``;
        not disclosure-controlled (use :meth:`units_disclosed` for anything exported).
    exclusions : ExclusionLog
    national_rate : float
        Weighted crude rate of the analysed births.
    notes : list of str
        Method switches and other remarks made during the fit (also issued as warnings).
    bayes : dict of str to casemix.bayes.BayesFit
        Bayesian methods: the fitted models by level (``idata`` holds the ArviZ
        InferenceData); see also :attr:`convergence`.
    verdict : dict
        How ``flag_95``/``flag_998`` were decided (:func:`casemix.models.verdicts.apply_verdict`):
        the between-unit family, a sentence naming the method, the spread settings and the
        robust spread of every comparison.
    """

    spec: ModelSpec
    method: str
    risk_model: RiskModel
    shrinker: Shrinker
    seed: int
    encoding: Encoding
    coefficients: pd.DataFrame
    coef: npt.NDArray[np.float64]
    cov: npt.NDArray[np.float64]
    intercept: float
    unit_table: UnitTable
    exclusions: ExclusionLog
    national_rate: float
    n_input: int
    n_analysed: int
    n_cells: int
    compressed: bool
    years: tuple[int, ...]
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    parameters: dict[str, float] = field(default_factory=dict)
    cells: Cells | None = field(default=None, repr=False)
    patterns: Cells | None = field(default=None, repr=False)
    outcome: npt.NDArray[np.float64] | None = field(default=None, repr=False)
    #: Births per analysed row when the rows are grouped births (None: one birth per row).
    row_births: npt.NDArray[np.float64] | None = field(default=None, repr=False)
    rows: npt.NDArray[np.intp] | None = field(default=None, repr=False)
    pattern_risk: npt.NDArray[np.float64] | None = field(default=None, repr=False)
    bayes: dict[str, Any] = field(default_factory=dict, repr=False)
    verdict: dict[str, Any] = field(default_factory=dict, repr=False)
    #: Levels with births shared between units: their pattern x unit cells (shares applied).
    level_cells: dict[str, Cells] = field(default_factory=dict, repr=False)
    #: The assignment table of shared births (None: every birth in one unit per level).
    shares: Shares | None = field(default=None, repr=False)
    #: Diagnostics computed once (:meth:`calibration`).
    _cache: dict[str, Any] = field(default_factory=dict, init=False, repr=False,
                                   compare=False)

    def cells_of(self, level: str) -> Cells | None:
        """The pattern x unit cells of ``level`` (its shared cells where births are
        shared)."""
        return self.level_cells.get(level, self.cells)

    @property
    def units(self) -> pd.DataFrame:
        """The unit table (all rows); see :attr:`unit_table` for its selections."""
        return self.unit_table.frame

    def strategies(self) -> dict[str, Any]:
        """The risk model, shrinker, seed and compression as plain data (``model.json``)."""
        return {"method": self.method, "risk_model": self.risk_model.to_dict(),
                "shrinker": self.shrinker.to_dict(), "seed": self.seed}

    @property
    def convergence(self) -> dict[str, dict[str, Any]]:
        """MCMC diagnostics of each Bayesian model of the fit (empty for other methods):
        R-hat, bulk/tail ESS, divergences and the failed checks, keyed by level."""
        return {name: fit.convergence.to_dict() for name, fit in self.bayes.items()}

    @property
    def fitted_risk(self) -> npt.NDArray[np.float64]:
        """Predicted risk of every analysed birth, in the order of the analysed rows."""
        if self.patterns is None or self.pattern_risk is None:
            raise ValueError("This result has no fitted data attached (it was loaded).")
        return self.pattern_risk[self.patterns.inverse]

    def predict(self, births: pd.DataFrame) -> npt.NDArray[np.float64]:
        """Expected risk per birth (case-mix part only for ``method="fixed"``)."""
        return predict_risk(self.encoding, self.coef, births)

    def units_disclosed(self, threshold: int = DEFAULT_THRESHOLD,
                        births: pd.DataFrame | None = None) -> pd.DataFrame:
        """The unit table as it may be exported: counts below ``threshold`` and what they can
        be recomputed from suppressed, across all of the run's linked tables, see
        :func:`casemix.models.disclosed.disclose_run` (pass ``births`` for the run folder's
        exact pattern: calibration by subgroup and the nesting of levels take part too)."""
        from casemix.models.disclosed import disclose_run

        return disclose_run(self, births, threshold=threshold).units

    def direct_standardisation(self, level: str | None = None) -> pd.DataFrame:
        """Directly standardised rates per unit, see
        :func:`casemix.standardisation.direct.direct_standardisation`."""
        from casemix.standardisation.direct import direct_standardisation

        if self.cells is None or self.patterns is None:
            raise ValueError("Direct standardisation needs a result with its data attached "
                             "(a fitted result, not a loaded model).")
        level = level or self.spec.levels[0]
        cells = self.cells_of(level)
        assert cells is not None  # self.cells is not None (checked above)
        # the fit starts from the case-mix model's coefficients (the same design)
        return direct_standardisation(self.design_rows(), self.patterns, cells, level,
                                      confidence_level=self.spec.confidence_level,
                                      coef=self.coef)

    def design_rows(self) -> DesignRows:
        """The distinct design rows (intercept first) and the row of each covariate pattern,
        built once (the fit stores the ones it used)."""
        if self.patterns is None:
            raise ValueError("This result has no fitted data attached (it was loaded).")
        if "design_rows" not in self._cache:
            self._cache["design_rows"] = self.encoding.design_rows(self.patterns.keys)
        return cast(DesignRows, self._cache["design_rows"])

    def _risk_rows(self) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]:
        """The row of each covariate pattern among cells of equal risk, and the risk of each
        row: the design rows where the patterns' risk is a function of their design row (it
        is for every risk model of the package; checked, to the bit), the patterns
        themselves otherwise. Diagnostics that sum births of equal risk run on the rows."""
        assert self.pattern_risk is not None
        if "risk_rows" not in self._cache:
            design, risk = self.design_rows(), self.pattern_risk
            row_risk = np.empty(design.n_rows)
            row_risk[design.index] = risk
            same = np.array_equal(row_risk[design.index].view(np.int64), risk.view(np.int64))
            self._cache["risk_rows"] = ((design.index, row_risk) if same else
                                        (np.arange(len(risk), dtype=np.intp), risk))
        return self._cache["risk_rows"]  # type: ignore[no-any-return]

    def _observed(self) -> npt.NDArray[np.float64]:
        if self.outcome is None:
            raise ValueError("This result has no fitted data attached (it was loaded).")
        return self.outcome

    def calibration(self) -> CalibrationStatistics:
        """Calibration and discrimination of the risk model on the analysed births, see
        :func:`casemix.calibration.calibration_statistics`.

        Notes
        -----
        Computed once per result (cached) on the covariate patterns
        (:func:`casemix.calibration.calibration_statistics_cells`: every birth of a pattern
        has the same risk, so the statistics are exact sums over patterns), except ICI, E50,
        E90 and Emax, whose lowess curve runs on the births. A fit on grouped births
        (:mod:`casemix.engine`) has no births to smooth: those four are missing (NaN); the
        others are exact.
        """
        if "calibration" not in self._cache:
            self._cache["calibration"] = self._pattern_calibration()
        return self._cache["calibration"]  # type: ignore[no-any-return]

    def _pattern_calibration(self) -> CalibrationStatistics:
        from casemix.calibration import calibration_statistics_cells, curve_errors

        observed = self._observed()
        if self.patterns is None or self.pattern_risk is None:
            raise ValueError("This result has no fitted data attached (it was loaded).")
        rows, risk = self._risk_rows()  # births of equal risk: sums over design rows
        inverse, n = rows[self.patterns.inverse], len(risk)
        count = self.row_births
        events = np.bincount(inverse, weights=observed if count is None else observed * count,
                             minlength=n)
        births = np.bincount(inverse, weights=count, minlength=n).astype(float)
        errors = ((np.nan,) * 4 if count is not None
                  else curve_errors(self.fitted_risk, observed))
        return calibration_statistics_cells(risk, events, births,
                                            errors=errors)  # type: ignore[arg-type]

    def calibration_curve(self, **options: Any) -> pd.DataFrame:
        """Smoothed calibration curve with band, see
        :func:`casemix.calibration.calibration_curve`."""
        from casemix.calibration import calibration_curve

        if self.row_births is not None:
            raise ValueError("The smoothed calibration curve runs on births; this fit is on "
                             "grouped births (casemix.engine): fit the births in memory.")
        return calibration_curve(self.fitted_risk, self._observed(), **options)

    def calibration_by(self, births: pd.DataFrame, column: str, *, pooled: bool = True
                       ) -> GroupCalibration:
        """O/E and calibration slope per value of ``column`` (a unit level or a subgroup such as
        ``income_quintile``, or a derived grouping such as ``neighbourhood_ses_quintile``,
        :data:`casemix.calibration.DERIVED_GROUPS`) for the births the model analysed;
        ``births`` is the table that was fitted.

        Computed on the group x covariate-pattern cells
        (:func:`casemix.calibration.calibration_by_group_cells`, exact); ``pooled=False``
        skips the pooled slope and its between-group variance (NaN)."""
        from casemix.calibration import with_derived_groups

        if self.rows is None or self.patterns is None or self.pattern_risk is None:
            raise ValueError("This result has no fitted data attached (it was loaded).")
        if column not in births:  # a derived grouping: only then derive (qcut costs)
            births = with_derived_groups(births)
        if column not in births:
            raise ValueError(f"Column {column!r} is not in the births table.")
        if "analysed_rows" not in self._cache:  # the same for every grouping
            observed, count = self._observed(), self.row_births
            self._cache["analysed_rows"] = (
                self._risk_rows()[0][self.patterns.inverse].astype(np.int64),
                observed if count is None else observed * count, count)
        row, events, count = self._cache["analysed_rows"]
        return self._calibration_cells(row, analysed(births[column], self.rows), events, count,
                                       column, pooled)

    def calibration_by_table(self, table: pd.DataFrame, births: pd.DataFrame, column: str, *,
                             pooled: bool = True) -> GroupCalibration:
        """:meth:`calibration_by` from a subgroup table of grouped births
        (:attr:`casemix.models.grouped.GroupedBirths.subgroups`): the analysed births grouped
        by the covariate-pattern columns, ``column`` and the outcome. ``births`` is the
        grouped table that was fitted; a row of ``table`` has the pattern of the fitted rows
        with its values of the pattern columns. Exact: the same cells as from the births."""
        from casemix.models.grouped import BIRTHS, OUTCOME

        if self.rows is None or self.patterns is None or self.pattern_risk is None:
            raise ValueError("This result has no fitted data attached (it was loaded).")
        columns = [c for c in table.columns if c not in (column, OUTCOME, BIRTHS)]
        # one fitted row per covariate pattern suffices to name the patterns
        patterns, first = np.unique(self.patterns.inverse, return_index=True)
        fitted = births[columns].iloc[self.rows[first]].reset_index(drop=True)
        pattern = _patterns_of(fitted, table[columns], patterns.astype(np.intp))
        count = table[BIRTHS].to_numpy(dtype=float)
        return self._calibration_cells(self._risk_rows()[0][pattern].astype(np.int64),
                                       table[column], table[OUTCOME].to_numpy(dtype=float)
                                       * count, count, column, pooled)

    def _calibration_cells(self, row: npt.NDArray[np.int64], groups: pd.Series,
                           events_of: npt.NDArray[np.float64],
                           count: npt.NDArray[np.float64] | None, column: str,
                           pooled: bool = True) -> GroupCalibration:
        """Calibration by ``groups`` from rows with their row of equal risk ``row``
        (:meth:`_risk_rows`), events ``events_of`` and births ``count`` (None: one each), on
        risk row x group cells."""
        from casemix.calibration import calibration_by_group_cells, group_codes

        risk = self._risk_rows()[1]
        codes, labels = group_codes(groups)
        # group x design row cells: every birth of one has the same group and risk
        key = row * len(labels) + codes
        cell_key, inverse = dense_unique(key, len(risk) * len(labels))
        events = np.bincount(inverse, weights=events_of, minlength=len(cell_key))
        births_per_cell = np.bincount(inverse, weights=count,
                                      minlength=len(cell_key)).astype(float)
        return calibration_by_group_cells(
            risk[cell_key // len(labels)], events, births_per_cell,
            cell_key % len(labels), labels, variable=column, pooled=pooled)

    def funnel(self, level: str | None = None, **options: Any) -> FunnelResult:
        """Funnel plot of O/E against E for one unit level, see
        :func:`casemix.funnel.funnel`."""
        from casemix.funnel import funnel

        u = self.unit_table.main(level or self.spec.levels[0])
        return funnel(u["observed"].to_numpy(dtype=float), u["expected"].to_numpy(dtype=float),
                      units=list(u["unit"]), kind="ratio", **options)

    def plot(self, level: str | None = None, ax: Axes | None = None) -> Axes:
        """Caterpillar plot of O/E with intervals, units ordered by O/E (never a bare rank);
        units coloured by the headline verdict at 95%."""
        import matplotlib.pyplot as plt

        level = level or self.spec.levels[0]
        t = self.unit_table.main(level).sort_values("oe")
        if ax is None:
            _, ax = plt.subplots(figsize=(6, max(3, 0.12 * len(t))))
        y = np.arange(len(t))
        colours = t["flag_95"].map({"above": "C3", "below": "C0", "within": "0.4"})
        ax.errorbar(t["oe"], y, xerr=[t["oe"] - t["oe_lower"], t["oe_upper"] - t["oe"]],
                    fmt="none", ecolor="0.7", lw=1)
        ax.scatter(t["oe"], y, c=colours.tolist(), s=12, zorder=3)
        ax.axvline(1.0, color="k", lw=0.8)
        ax.set_yticks(y, t["unit"], fontsize=6)
        ax.set_xlabel(f"O/E ({self.spec.confidence_level:.0%} interval)")
        ax.set_title(f"{self.spec.name}: {level}, method {self.method}")
        return ax

    def to_html(self, threshold: int = DEFAULT_THRESHOLD) -> str:
        """Disclosure-safe HTML tables of coefficients and units."""
        coefs = self.coefficients.to_html(index=False, float_format=lambda x: f"{x:.4g}")
        units = self.units_disclosed(threshold).to_html(index=False, na_rep="",
                                                        float_format=lambda x: f"{x:.4g}")
        return f"<h3>{self.spec.name} ({self.method})</h3>{coefs}{units}"

    def summary(self) -> dict[str, Any]:
        """Key figures of the fit."""
        return {"spec": self.spec.name, "method": self.method,
                "risk_model": self.risk_model.describe(), "shrinker": self.shrinker.describe(),
                "seed": self.seed, "outcome": self.spec.outcome,
                "years": list(self.years), "n_input": self.n_input,
                "n_analysed": self.n_analysed, "n_cells": self.n_cells,
                "compressed": self.compressed, "national_rate": self.national_rate,
                "n_excluded": self.n_input - self.n_analysed}

    def __str__(self) -> str:
        """Readable summary: the fit, odds ratios with CIs, and flags per level."""
        s = self.summary()
        lines = [f"Case-mix model {s['spec']!r} ({s['method']}: {s['risk_model']} + "
                 f"{s['shrinker']}), outcome {s['outcome']!r}, years {s['years'] or 'all'}",
                 f"  births {s['n_analysed']:,} analysed of {s['n_input']:,} "
                 f"({s['n_excluded']:,} excluded, see .exclusions); {s['n_cells']:,} "
                 f"{'cells' if s['compressed'] else 'rows'}; national rate "
                 f"{s['national_rate']:.4f}", ""]
        table = self.coefficients[["term", "odds_ratio", "or_lower", "or_upper", "p_value"]]
        lines.append(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
        lines.append(f"\nVerdict: {self.verdict.get('method', '')}")
        for level in self.spec.levels:
            t = self.unit_table.main(level)
            counts = {name: t[f"flag_{name}"].value_counts().reindex(
                ["below", "within", "above"], fill_value=0) for name in ("95", "998")}
            lines.append(
                f"{level}: {len(t)} units (before disclosure control); unusual beyond the "
                "between-unit variation, below/within/above: "
                + "; ".join(f"{LEVEL_LABELS[n]} {c['below']}/{c['within']}/{c['above']}"
                            for n, c in counts.items()))
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"<CaseMixResult {self.spec.name!r} method={self.method} "
                f"births={self.n_analysed:,} (of {self.n_input:,}) cells={self.n_cells:,} "
                f"national_rate={self.national_rate:.4f} levels={list(self.spec.levels)} "
                f"verdict={self.verdict.get('family', '')}>")


def predict_risk(encoding: Encoding, coef: npt.NDArray[np.float64],
                 births: pd.DataFrame) -> npt.NDArray[np.float64]:
    """Predicted probability for each birth from a design encoding and coefficients."""
    return expit(encoding.matrix(births) @ coef)


__all__ += ["DERIVED_COLUMNS", "UNIT_COLUMNS", "predict_risk"]


def _patterns_of(fitted: pd.DataFrame, rows: pd.DataFrame, inverse: npt.NDArray[np.intp]
                 ) -> npt.NDArray[np.intp]:
    """Covariate pattern of each of ``rows``: that of the ``fitted`` rows (patterns
    ``inverse``) with the same values of the columns of ``rows``."""
    both = [pd.concat([fitted[c], rows[c]], ignore_index=True) for c in rows.columns]
    ids, first = group_rows(both)
    lookup = np.full(len(first), -1, dtype=np.intp)
    lookup[ids[:len(fitted)]] = inverse
    out = lookup[ids[len(fitted):]]
    if (out < 0).any():
        raise ValueError(f"{int((out < 0).sum()):,} rows of the subgroup table have values of "
                         f"{list(rows.columns)} that no analysed birth has.")
    return out
