"""Disclosure control of the alignment table: small counts suppressed, small differences banded.

A difference of 1 to 9 between the package's count and a published count is itself a small
group of births (say, the 3 births that one definition excludes), and a difference from a
published figure that the registry suppressed reveals the package's own count. The table that
leaves the secure environment therefore shows small differences as a band only, never as a
number.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from casemix.disclosure import DEFAULT_THRESHOLD
from casemix.exceptions import DataError
from casemix.indicators.rates import disclose_rates

__all__ = ["DIFFERENCE_COLUMNS", "RESIDUAL_COLUMNS", "disclosed_alignment"]

#: Difference column -> (the package's count, the published count) it is computed from.
DIFFERENCE_COLUMNS: dict[str, tuple[str, str]] = {
    "numerator_difference": ("numerator", "numerator_reference"),
    "denominator_difference": ("denominator", "denominator_reference"),
}
#: Residual column -> (the closest combination's count, the difference of the same count).
RESIDUAL_COLUMNS: dict[str, tuple[str, str]] = {
    "numerator_residual": ("numerator_best", "numerator_difference"),
    "denominator_residual": ("denominator_best", "denominator_difference"),
}

_REQUIRED = ("unit", "year", "indicator", "numerator", "denominator", "numerator_reference",
             "denominator_reference", "numerator_difference", "denominator_difference",
             "agrees")


def _label(difference: float, threshold: int, *, exact: bool = True) -> str | None:
    """The shown text of one difference (``None``: blank); ``exact=False`` shows a large
    difference as a band too (``">=+10"``, ``"<=-10"``)."""
    if np.isnan(difference):
        return None
    d = int(difference)
    if d == 0:
        return "0" if exact else None
    if abs(d) < threshold:
        return f"+1..+{threshold - 1}" if d >= 0 else f"-{threshold - 1}..-1"
    if not exact:
        return f">=+{threshold}" if d > 0 else f"<=-{threshold}"
    return f"{d:+d}"


def _protected_counts(table: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """Our numerators and denominators with small-count and differencing protection, per
    year as one indicator table (:func:`casemix.indicators.disclose_rates`): the units of
    a year and indicator add up to a national total the attacker is taken to know, and the
    indicators of a unit are linked by their definitions (nested events, live births)."""
    out = table.copy()
    out["numerator"] = out["numerator"].astype("Int64")
    out["denominator"] = out["denominator"].astype("Int64")
    out["suppressed"] = False
    for _year, rows in table.groupby("year", sort=False):
        rows = rows[rows["numerator"].notna() & rows["denominator"].notna()]
        if rows.empty:
            continue
        national = rows["unit"].astype(str).eq("national")
        t = pd.DataFrame({"level": np.where(national, "national", "unit"),
                          "unit": rows["unit"].astype(str), "indicator": rows["indicator"],
                          "numerator": rows["numerator"].astype(float),
                          "denominator": rows["denominator"].astype(float)},
                         index=rows.index)
        if not national.all():  # the year's totals, taken as known (conservative)
            # where the table has our national row it is the total; otherwise the sum of
            # the units stands in for it (apart from the rows' labels)
            have = set(t.loc[national, "indicator"])
            totals = t[~national & ~t["indicator"].isin(have)].groupby(
                "indicator", as_index=False)[["numerator", "denominator"]].sum().assign(
                level="national", unit="national")
            totals.index = pd.RangeIndex(-len(totals), 0)
            t = pd.concat([t, totals[t.columns]])
        t["rate"] = t["numerator"] / t["denominator"]
        safe = disclose_rates(t.reset_index(names="_row"), threshold=threshold,
                              missing={"unit": 0.0}).set_index("_row")
        safe = safe[safe.index.isin(rows.index)]
        for column in ("numerator", "denominator"):  # whole counts, hidden ones as NA
            out.loc[safe.index, column] = pd.array(
                pd.to_numeric(safe[column], errors="coerce").round(), dtype="Int64")
        out.loc[safe.index, "suppressed"] = safe["suppressed"].to_numpy()
    hidden_o = out["numerator"].isna() & table["numerator"].notna()
    hidden_n = out["denominator"].isna() & table["denominator"].notna()
    for column in ("rate", *DIFFERENCE_COLUMNS, *RESIDUAL_COLUMNS):
        if column in out:
            out.loc[hidden_o | hidden_n, column] = np.nan
    return out


def _differences(table: pd.DataFrame, column: str) -> npt.NDArray[np.float64]:
    """A difference column as floats (NaN: missing), checked to hold whole counts."""
    try:
        values = pd.to_numeric(table[column]).to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise DataError(f"Column {column!r} must hold numeric differences (the table of "
                        "AlignmentResult.table), not already disclosed text.") from exc
    finite = ~np.isnan(values)
    if not np.array_equal(values[finite], np.rint(values[finite])):
        raise DataError(f"Column {column!r} holds differences that are not whole counts; "
                        "the published and computed numerators and denominators must be "
                        "counts.")
    return values


def disclosed_alignment(table: pd.DataFrame, threshold: int = DEFAULT_THRESHOLD
                        ) -> pd.DataFrame:
    r"""The alignment table as it may leave the secure environment.

    Parameters
    ----------
    table : pandas.DataFrame
        The alignment table (:attr:`AlignmentResult.table`, or rows of it) with columns
        ``unit``, ``year``, ``indicator``, ``numerator_reference``,
        ``denominator_reference`` (published counts, NaN where not published),
        ``numerator``, ``denominator`` (the package's counts), ``numerator_difference``,
        ``denominator_difference`` (numeric: ours minus published) and ``agrees``; any other
        columns (``rate``, ``rate_reference``, ``explained_by``) are kept.
    threshold : int, default 10
        Disclosure threshold: counts and differences below it are not shown.

    Returns
    -------
    pandas.DataFrame
        A copy, in the input's column order, in which ``numerator_difference`` and
        ``denominator_difference`` are text (``"+15"``, ``"-230"``, ``"0"``, ``"+1..+9"``,
        ``"-9..-1"``, or missing for blank), followed by a boolean ``suppressed`` (small-count
        suppression of the row, step 1) and a
        boolean ``difference_banded`` (a difference of the row is shown as a band).

    Raises
    ------
    ValueError
        If ``threshold`` is below 1.
    DataError
        If a required column is missing or a difference is not a whole number.

    Notes
    -----
    With threshold $t$, each row is treated as follows.

    1. Small counts and differencing: per year, the package's numerators and denominators
       are protected as one indicator table (:func:`casemix.indicators.disclose_rates`):
       a numerator, complement or denominator below $t$ is hidden, and secondary
       suppression holds against the year's totals per indicator (taken as known), the
       definitional relations between indicators of a unit and nested events (28-day
       against 7-day neonatal deaths: their difference must not be small either). A hidden
       count blanks ``rate`` and both differences and residuals of its row.
    2. Each remaining difference $d$ (ours minus published) is shown as

       - blank when it is missing: the published figure is missing or suppressed (a
         difference from it would reveal our count), or our count is missing;
       - ``"0"`` when $d = 0$;
       - ``"+1..+(t-1)"`` when $1 \le d \le t-1$ and ``"-(t-1)..-1"`` when
         $-(t-1) \le d \le -1$ (``"+1..+9"`` and ``"-9..-1"`` for $t = 10$);
       - the exact value with its sign (``"+15"``, ``"-230"``) when $|d| \ge t$.

    3. Where a difference is banded, the package's count it was computed from is blanked as
       well, and so is ``rate``: the published count is public, so our count (or the rate
       with the other count) would give the difference back by subtraction.

    4. A residual $r$ (the closest combination's count minus the published one, for
       unexplained rows) is exact only where nothing small follows from it: $|r| \ge t$
       or $r = 0$, our count is shown, the closest combination moves our count by 0 or
       at least $t$ (residual minus difference is that move) and its counts pass the
       primary rule; otherwise it is a band (``"+1..+9"``, ``">=+10"``, ``"<=-10"``; blank
       for a residual 0). ``numerator_best`` and ``denominator_best`` are dropped.

    ``agrees`` is kept as it is (it shows only whether the counts agree within the
    tolerance), and so are the published counts, ``rate_reference`` and ``explained_by``.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"unit": ["A", "B"], "year": 2024, "indicator": "preterm",
    ...                   "numerator_reference": [100, 50], "denominator_reference": 900,
    ...                   "numerator": [103, 80], "denominator": 900,
    ...                   "numerator_difference": [3, 30], "denominator_difference": 0,
    ...                   "agrees": False})
    >>> disclosed_alignment(t)[["unit", "numerator", "numerator_difference",
    ...                         "difference_banded"]]
      unit  numerator numerator_difference  difference_banded
    0    A       <NA>               +1..+9               True
    1    B         80                  +30              False
    """
    if threshold < 1:
        raise ValueError(f"The disclosure threshold must be >= 1. Got {threshold!r} instead.")
    missing = [c for c in _REQUIRED if c not in table]
    if missing:
        raise DataError(f"The alignment table lacks column(s) {missing}.")
    for column in DIFFERENCE_COLUMNS:
        _differences(table, column)  # fail early on text or fractional differences
    safe = _protected_counts(table, threshold)
    banded_row = np.zeros(len(safe), dtype=bool)
    for column, (ours, _published) in DIFFERENCE_COLUMNS.items():
        values = _differences(safe, column)
        banded = ~np.isnan(values) & (values != 0) & (np.abs(values) < threshold)
        safe[column] = pd.Series([_label(v, threshold) for v in values], index=safe.index,
                                 dtype=object)
        if banded.any():
            if pd.api.types.is_integer_dtype(safe[ours].dtype):
                safe[ours] = safe[ours].astype("Int64").mask(banded)
            else:
                safe[ours] = safe[ours].astype(float).mask(banded)
        banded_row |= banded
    if "rate" in safe:
        safe.loc[banded_row, "rate"] = np.nan
    _residuals(safe, table, threshold)
    safe["difference_banded"] = banded_row
    return safe.drop(columns=[b for b, _ in RESIDUAL_COLUMNS.values() if b in safe])


def _residuals(safe: pd.DataFrame, table: pd.DataFrame, threshold: int) -> None:
    """Residual differences of the closest combination, in place: exact only where no small
    count follows from them (see :func:`disclosed_alignment`), else a band."""
    for column, (best, difference) in RESIDUAL_COLUMNS.items():
        if column not in table:
            continue
        ours = DIFFERENCE_COLUMNS[difference][0]
        r = _differences(table, column)
        moved = np.abs(pd.to_numeric(table[best]).to_numpy(float)
                       - pd.to_numeric(table[ours]).to_numpy(float))
        shown = safe[ours].notna().to_numpy() & ~np.isnan(r)
        exact = shown & ((np.abs(r) >= threshold) | (r == 0)) & (
            (moved == 0) | (moved >= threshold))
        exact &= _primary_ok(table, threshold)
        safe[column] = pd.Series([_label(v, threshold, exact=bool(e)) if s else None
                                  for v, e, s in zip(r, exact, ~np.isnan(r), strict=True)],
                                 index=safe.index, dtype=object)


def _primary_ok(table: pd.DataFrame, threshold: int) -> npt.NDArray[np.bool_]:
    """Rows whose closest combination's counts pass the primary rule (numerator,
    complement and denominator at least the threshold)."""
    if "numerator_best" not in table or "denominator_best" not in table:
        return np.zeros(len(table), dtype=bool)
    o = pd.to_numeric(table["numerator_best"]).to_numpy(float)
    n = pd.to_numeric(table["denominator_best"]).to_numpy(float)
    with np.errstate(invalid="ignore"):
        return np.minimum(np.minimum(o, n - o), n) >= threshold
