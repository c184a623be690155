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

from casemix.disclosure import DEFAULT_THRESHOLD, suppress_counts
from casemix.exceptions import DataError

__all__ = ["DIFFERENCE_COLUMNS", "disclosed_alignment"]

#: Difference column -> (the package's count, the published count) it is computed from.
DIFFERENCE_COLUMNS: dict[str, tuple[str, str]] = {
    "numerator_difference": ("numerator", "numerator_reference"),
    "denominator_difference": ("denominator", "denominator_reference"),
}

_REQUIRED = ("unit", "year", "indicator", "numerator", "denominator", "numerator_reference",
             "denominator_reference", "numerator_difference", "denominator_difference",
             "agrees")


def _label(difference: float, threshold: int) -> str | None:
    """The shown text of one difference (``None``: blank)."""
    if np.isnan(difference):
        return None
    d = int(difference)
    if d == 0:
        return "0"
    if abs(d) < threshold:
        return f"+1..+{threshold - 1}" if d > 0 else f"-{threshold - 1}..-1"
    return f"{d:+d}"


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
    """The alignment table as it may leave the secure environment.

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
        suppression of the row, as in :func:`casemix.disclosure.suppress_counts`) and a
        boolean ``difference_banded`` (a difference of the row is shown as a band).

    Raises
    ------
    ValueError
        If ``threshold`` is below 1.
    DataError
        If a required column is missing or a difference is not a whole number.

    Notes
    -----
    With threshold :math:`t`, each row is treated as follows.

    1. Small counts: :func:`casemix.disclosure.suppress_counts` on the package's numerator
       and denominator (sets of units: ``year`` x ``indicator``), with ``rate`` and both
       differences as derived columns: a row whose numerator, denominator or complement
       (denominator minus numerator) is below :math:`t` has its numerator, rate and both
       differences blanked (and its denominator when that is below :math:`t`); secondary
       suppression as there.
    2. Each remaining difference :math:`d` (ours minus published) is shown as

       - blank when it is missing: the published figure is missing or suppressed (a
         difference from it would reveal our count), or our count is missing;
       - ``"0"`` when :math:`d = 0`;
       - ``"+1..+(t-1)"`` when :math:`1 \\le d \\le t-1` and ``"-(t-1)..-1"`` when
         :math:`-(t-1) \\le d \\le -1` (``"+1..+9"`` and ``"-9..-1"`` for :math:`t = 10`);
       - the exact value with its sign (``"+15"``, ``"-230"``) when :math:`|d| \\ge t`.

    3. Where a difference is banded, the package's count it was computed from is blanked as
       well, and so is ``rate``: the published count is public, so our count (or the rate
       with the other count) would give the difference back by subtraction.

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
    safe, _ = suppress_counts(table, numerator="numerator", denominator="denominator",
                              derived=["rate", *DIFFERENCE_COLUMNS],
                              group_by=("year", "indicator"), threshold=threshold)
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
    safe["difference_banded"] = banded_row
    return safe
