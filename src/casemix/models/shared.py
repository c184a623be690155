"""Births shared between units: the unit cells of a level with each shared birth spread over
its units by its shares.

The risk model is fitted on births (one row each, in the unit of the births table); only the
unit comparison spreads a shared birth: unit $u$ gets $s_{iu} w_i$ of birth $i$'s weight,
$s_{iu} w_i y_i$ of its events and $s_{iu} w_i \\hat p_i$ of its expected events. Because
the shares of a birth add up to 1, national totals count every birth and event once.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from casemix.core.cells import Cells, compress_cells
from casemix.exceptions import CasemixWarning, SpecError
from casemix.models.data import ModelData
from casemix.models.risk import ExpectedCounts, RiskModel
from casemix.models.spec import ModelSpec
from casemix.records.shares import Shares, shares_from_frame

__all__ = ["checked_shares", "shared_cells"]


def checked_shares(shares: Shares | pd.DataFrame | None, births: pd.DataFrame,
                   spec: ModelSpec, risk: RiskModel) -> Shares | None:
    """Validate an assignment table against the births, the spec's levels and the method.

    Raises
    ------
    SpecError
        The method estimates an effect per unit (a random intercept per unit cannot share a
        birth between two units).
    DataError
        See :meth:`casemix.records.shares.Shares.check_births`.
    """
    if shares is None:
        return None
    shares = shares if isinstance(shares, Shares) else shares_from_frame(shares)
    unused = sorted(set(shares.levels) - set(spec.levels))
    if unused:
        warnings.warn(f"Shares at level(s) {', '.join(unused)} are not used: the spec does not "
                      f"compare them ({', '.join(spec.levels)}).", CasemixWarning, stacklevel=3)
        shares = shares.only(spec.levels)
    if not len(shares.frame):
        return None
    if "birth_id" not in births:
        raise SpecError("Shares need the births' 'birth_id' column to match births to units.")
    shares.check_births(births["birth_id"])
    if risk.has_unit_effects:
        raise SpecError(
            f"Births are shared between units at level(s) {', '.join(shares.levels)}, but this "
            f"method estimates an effect per unit ({risk.kind}), which cannot divide a birth "
            "between two units. Use a method that compares units on O and E: pooled, fixed, "
            "eb, fay-herriot, bayes or bym2.")
    return shares


def shared_cells(shares: Shares, births: pd.DataFrame, data: ModelData, patterns: Cells,
                 cells: Cells, expected: ExpectedCounts, keys: Sequence[str], *,
                 force: bool | None) -> dict[str, tuple[Cells, npt.NDArray[np.float64]]]:
    """Cells and expected counts of every level at which births are shared.

    Parameters
    ----------
    shares : Shares
    births : pandas.DataFrame
        The births the model was fitted on (for ``birth_id``).
    data : ModelData
        The analysed births (outcome, weights, variance weights).
    patterns, cells : Cells
        Covariate patterns and the unit cells of the births table.
    expected : ExpectedCounts
        The fitted risk model (its expected counts per unit cell give each pattern's risk).
    keys : sequence of str
        Key columns of the unit cells (levels, stratifying variables, year).

    Returns
    -------
    dict
        ``{level: (cells, expected)}``.

    Notes
    -----
    A shared birth with weight $w$ and variance weight $v$ ($w$ for frequency weights,
    $w^2$ for sampling weights) becomes one row per unit with weight $s w$ and variance
    weight $s^2 v$: the null variance of unit $u$'s count is
    $\\sum_i s_{iu}^2 v_i p_i (1 - p_i)$, the variance of a weighted sum.
    """
    ids = pd.Index(births["birth_id"].astype(str).to_numpy()[data.rows])
    v = data.w if data.v is None else data.v
    out = {}
    for level in shares.levels:
        rows = shares.for_level(level)
        pos = ids.get_indexer(rows["birth_id"])
        rows, pos = rows[pos >= 0], pos[pos >= 0]  # shares of births the model excludes
        alone = np.setdiff1d(np.arange(len(ids)), pos)
        take = np.concatenate([alone, pos])
        s = np.concatenate([np.ones(len(alone)), rows["share"].to_numpy(dtype=float)])
        frame = data.frame.iloc[take].reset_index(drop=True)
        frame[level] = np.concatenate([frame[level].iloc[:len(alone)].astype(object),
                                       rows["unit"].to_numpy(dtype=object)])
        within = patterns.inverse[take]
        level_cells = compress_cells(frame, list(keys), data.y[take], data.w[take] * s,
                                     within=within, force=force, v=v[take] * s * s)
        risk = _pattern_risk(cells, expected.per_level.get(level, expected.expected),
                             len(patterns.y))
        assert level_cells.pattern is not None
        out[level] = (level_cells, level_cells.m * risk[level_cells.pattern])
    return out


def _pattern_risk(cells: Cells, expected: npt.NDArray[np.float64], n_patterns: int
                  ) -> npt.NDArray[np.float64]:
    """The risk of each covariate pattern, read back from the expected counts of its cells
    (every risk model's E of a cell is its births times its pattern's risk)."""
    assert cells.pattern is not None
    risk = np.zeros(n_patterns)
    has = cells.m > 0
    risk[cells.pattern[has]] = expected[has] / cells.m[has]
    return risk
