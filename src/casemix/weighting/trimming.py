"""Weight trimming with redistribution, as ``survey::trimWeights``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from casemix.exceptions import ParameterError

__all__ = ["Trimmed", "trim"]


@dataclass(frozen=True)
class Trimmed:
    """Trimmed weights and what trimming did.

    Attributes
    ----------
    weights : numpy.ndarray
        The trimmed weights (same total as before).
    lower, upper : float
        The bounds used (absolute weights).
    n_lower, n_upper : int
        Births whose weight was raised to ``lower`` / cut to ``upper`` (in the first round).
    rounds : int
        Rounds of trimming (more than 1 only with ``strict=True``).
    """

    weights: npt.NDArray[np.float64]
    lower: float
    upper: float
    n_lower: int
    n_upper: int
    rounds: int

    def to_dict(self) -> dict[str, float | int]:
        """The bounds and counts as plain data."""
        return {"lower": self.lower, "upper": self.upper, "n_lower": self.n_lower,
                "n_upper": self.n_upper, "rounds": self.rounds}


def trim(weights: npt.ArrayLike, lower: float = -np.inf, upper: float = np.inf, *,
         strict: bool = False, max_rounds: int = 100) -> Trimmed:
    """Trim weights to ``[lower, upper]`` and spread what was cut over the other births.

    Parameters
    ----------
    weights : array-like of float
        The weights.
    lower, upper : float
        Bounds on the weights (absolute). ``lower <= upper``.
    strict : bool, default False
        Repeat until no weight is outside the bounds (redistribution can push an untrimmed
        weight past a bound); otherwise one round, as ``trimWeights(strict=FALSE)``.
    max_rounds : int, default 100
        Rounds at most with ``strict=True``.

    Returns
    -------
    Trimmed

    Raises
    ------
    ParameterError
        ``lower > upper``, or bounds that no set of weights with this total can meet
        (``n * lower > total`` or ``n * upper < total``).

    Notes
    -----
    One round (Lumley's ``survey::trimWeights``): with $O$ the births outside the
    bounds, $\\tilde w_i = \\min(\\max(w_i, L), U)$ and the amount cut
    $\\Delta = \\sum_i (w_i - \\tilde w_i)$, every birth inside gets
    $\\tilde w_i + \\Delta / |\\bar O|$. The total $\\sum_i w_i$ is kept.

    References
    ----------
    Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*. Wiley; R package
    ``survey``, function ``trimWeights``.
    """
    w = np.asarray(weights, dtype=float).copy()
    if lower > upper:
        raise ParameterError(f"trim: lower ({lower:g}) must not exceed upper ({upper:g}).")
    if len(w) and (len(w) * lower > w.sum() * (1 + 1e-12)
                   or len(w) * upper < w.sum() * (1 - 1e-12)):
        raise ParameterError(f"trim: bounds [{lower:g}, {upper:g}] cannot keep the total "
                             f"{w.sum():g} of {len(w):,} weights (mean {w.mean():g}).")
    counts: tuple[int, int] | None = None
    rounds = 0
    while rounds < (max_rounds if strict else 1):
        below, above = w < lower, w > upper
        outside = below | above
        if not outside.any() or outside.all():
            break
        counts = counts or (int(below.sum()), int(above.sum()))
        new = np.clip(w, lower, upper)
        new[~outside] += (w - new).sum() / (~outside).sum()
        w, rounds = new, rounds + 1
    n_lower, n_upper = counts or (0, 0)
    return Trimmed(w, float(lower), float(upper), n_lower, n_upper, rounds)
