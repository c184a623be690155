"""Poisson-binomial tests and O/E intervals for binary outcomes with known risks.

A unit's events are a sum of independent Bernoulli variables with the risks of its births,
so their exact distribution is Poisson-binomial with mean $E = \\sum p_i$ and variance
$V = \\sum p_i(1-p_i)$. The Poisson distribution (Garwood, Byar) has variance E, which
overstates V by about $1/(1 - \\bar p)$: 18% at the 15% of Big2, so Poisson intervals and
tests are too wide and too cautious for common outcomes. They coincide for rare outcomes
(perinatal mortality), and remain the only choice when just O and E are known (published
totals).

Births come grouped in cells (births of a unit with one covariate pattern share one risk),
and all units of a comparison are handled at once.

Notes
-----
Exponential tilting by $\\gamma$ of a Poisson-binomial distribution is the same
distribution with every risk shifted by $\\gamma$ on the logit scale,
$P_\\gamma(x) = P_0(x) e^{\\gamma x - K(\\gamma)}$ with cumulant generating function
$K(\\gamma) = \\sum_i [\\log(1 + e^{\\eta_i + \\gamma}) - \\log(1 + e^{\\eta_i})]$,
$\\eta_i = \\mathrm{logit}\\, p_i$. The O/E interval inverts the exact test in
$\\gamma$ (a common shift of the unit's log-odds, as in logistic provider profiling,
e.g. the R package pprof): the lower limit is $E(\\gamma_L)/E$ with
$P_{\\gamma_L}(X \\ge O) = \\alpha/2$, the upper $E(\\gamma_U)/E$ with
$P_{\\gamma_U}(X \\le O) = \\alpha/2$, where $E(\\gamma) = K'(\\gamma)$.

Tails are computed at the tilt $\\hat s$ that centres the distribution at O
($K'(\\hat s) = O$), where every probability that matters is well away from the
floating-point floor: for a unit of at most :data:`EXACT_MAX_BIRTHS` births, the exact
distribution at $\\hat s$ from the characteristic function (DFT-CF; Hong Y. On
computing the distribution function for the Poisson binomial distribution. Comput Stat Data
Anal 2013;59:41-51), tilted back exactly with $e^{(\\gamma - \\hat s)x + K(\\hat s) -
K(\\gamma)}$; for larger units the Lugannani-Rice saddlepoint approximation with the
continuity correction $\\tilde k = k - 1/2$,
$P(X \\ge k) \\approx 1 - \\Phi(w) - \\phi(w)(1/w - 1/u)$,
$w = \\mathrm{sgn}(s)\\sqrt{2(s\\tilde k - K(s))}$, $u = 2\\sinh(s/2)\\sqrt{K''(s)}$
at $K'(s) = \\tilde k$ (Butler RW. Saddlepoint approximations with applications. 2007,
sec. 1.2.3, the second continuity correction). Against exact enumeration the saddlepoint
tails are accurate to a relative error below 1e-3 from a few hundred births on (tested).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import expit, logit, logsumexp, ndtr, ndtri

from casemix._params import check_in_range, check_one_of
from casemix.core.cells import sorted_sums, stable_order
from casemix.exceptions import DataError

__all__ = ["EXACT_MAX_BIRTHS", "PoissonBinomialUnits", "poisson_binomial_units"]

FloatArray = npt.NDArray[np.float64]
#: Units with at most this many births get exact tails; larger ones the saddlepoint. The
#: exact distribution costs births x cells per unit; the saddlepoint's relative error is
#: below 1e-3 from a few hundred births on.
EXACT_MAX_BIRTHS = 300
METHODS = ("auto", "exact", "saddlepoint")


def _softplus(x: FloatArray) -> FloatArray:
    return np.logaddexp(0.0, x)


#: Largest |shift| for which tilted terms are products of exponentials (see ``_tilt``).
_TILT_RANGE = 300.0


@dataclass(frozen=True)
class PoissonBinomialUnits:
    """The Poisson-binomial distributions of the events of K units.

    Build with :func:`poisson_binomial_units`. Attributes, with the cells sorted by unit:
    ``eta`` (logit risk per cell), ``counts`` (births per cell), ``group`` (unit of each
    cell); ``n_units``, ``births``, ``expected`` (E) and ``variance`` (V) per unit.
    """

    eta: FloatArray
    counts: FloatArray
    group: npt.NDArray[np.intp]
    n_units: int
    births: FloatArray
    expected: FloatArray
    variance: FloatArray
    method: str
    _cache: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        # the cells sorted by unit (stable) once, so that per-unit sums are contiguous
        # reductions (``np.add.reduceat``, ~10x faster than ``bincount`` at 13M cells) and a
        # per-unit value reaches the cells by ``np.repeat`` instead of a gather
        g = self.group
        if len(g) > 1 and not bool(np.all(g[1:] >= g[:-1])):
            order = stable_order(g, self.n_units)
            for name in ("eta", "counts", "group"):
                object.__setattr__(self, name, getattr(self, name)[order])
        sizes = np.bincount(self.group, minlength=self.n_units)
        self._cache["sizes"] = sizes
        self._cache["starts"] = np.r_[0, np.cumsum(sizes)]
        # e^eta once: a tilted term e^{eta + g} is then e^eta e^g (one product per cell
        # instead of one exponential)
        normal = self.eta.min(initial=0.0) > -_TILT_RANGE * 2
        self._cache["base"] = np.exp(self.eta) if normal else None

    def _sum(self, values: FloatArray) -> FloatArray:
        """Per unit sum of ``counts * values`` over its cells (``values``, a temporary of the
        caller, is overwritten: no cell-sized array more)."""
        return sorted_sums(np.multiply(values, self.counts, out=values), self._cache["sizes"])

    def _per_cell(self, shift: FloatArray) -> FloatArray:
        """A per-unit value on each of the unit's cells."""
        return np.repeat(shift, self._cache["sizes"])

    def _tilt(self, shift: FloatArray) -> FloatArray | None:
        """$t_i = e^{\\eta_i + \\gamma_{k(i)}}$ per cell from $e^{\\eta_i}$ and
        $e^{\\gamma_k}$ (exact to a few ulp), or None where the exponentials would leave
        the range of normal floating-point numbers (a shift beyond +-300, a risk below
        1e-300): the terms are then computed from $\\eta_i + \\gamma$ directly."""
        if self._cache["base"] is None or np.abs(shift).max(initial=0.0) > _TILT_RANGE:
            return None
        t = self._per_cell(np.exp(shift))
        t *= self._cache["base"]
        return t

    def _log1p_tilt(self, shift: FloatArray) -> FloatArray:
        """$\\log(1 + e^{\\eta_i + \\gamma})$ per cell."""
        t = self._tilt(shift)
        if t is None:
            return _softplus(self.eta + self._per_cell(shift))
        return np.log1p(t, out=t)

    def _risks(self, shift: FloatArray) -> FloatArray:
        """$\\mathrm{expit}(\\eta_i + \\gamma)$ per cell, $t / (1 + t)$."""
        t = self._tilt(shift)
        if t is None:
            return expit(self.eta + self._per_cell(shift))  # type: ignore[no-any-return]
        one_plus = t + 1.0
        return np.divide(t, one_plus, out=t)

    def cgf(self, shift: FloatArray) -> FloatArray:
        """$K(\\gamma)$ per unit."""
        return self._cgf_from(self._log_mgf_sum(shift))

    def _log_mgf_sum(self, shift: FloatArray) -> FloatArray:
        """$\\sum_i \\log(1 + e^{\\eta_i + \\gamma})$ per unit: $K(\\gamma)$ before
        the constant of $\\gamma = 0$ is taken off, and $-\\log P_\\gamma(X = 0)$."""
        if not shift.any():  # at 0 (eta + 0 is eta): the sum kept for K(0)
            return self._log_mgf_sum_at_zero()
        if self._tilt_applies(shift):
            return self._tilted_log_mgf_sum(shift)
        return self._sum(self._log1p_tilt(shift))

    def _tilt_applies(self, shift: FloatArray) -> bool:
        """Whether :meth:`_tilt` computes the terms of ``shift`` from $e^{\\eta_i}$ (then
        each unit's terms depend on its own shift only)."""
        return self._cache["base"] is not None and bool(
            np.abs(shift).max(initial=0.0) <= _TILT_RANGE)

    def _tilted_log_mgf_sum(self, shift: FloatArray) -> FloatArray:
        """:meth:`_log_mgf_sum` by the tilt, passing only over the cells of the units whose
        shift changed since the last call (the interval search moves few units once most
        have converged: 10-25 of 340 municipalities in most of its steps).

        Notes
        -----
        A unit's sum is a function of its own shift and cells alone: the same exponential,
        products, logarithms and contiguous reduction (:func:`sorted_sums`) over the same
        values, so a unit's sum recomputed from a gathered copy of its cells equals the sum
        of the whole pass to the bit (tested).
        """
        last_shift, last_sum = self._cache.get("last_log_mgf", (None, None))
        moved = np.ones(len(shift), dtype=bool) if last_shift is None else shift != last_shift
        if last_sum is None or moved.sum() * 2 > len(shift):  # most units: a whole pass
            out = self._sum(self._log1p_tilt(shift))
        else:
            out = last_sum.copy()
            units = np.flatnonzero(moved)
            if len(units):
                out[units] = self._units_log_mgf_sum(shift[units], units)
        self._cache["last_log_mgf"] = (shift.copy(), out.copy())  # callers may keep `out`
        return out

    def _units_log_mgf_sum(self, shift: FloatArray, units: npt.NDArray[np.intp]
                           ) -> FloatArray:
        """$\\sum_i \\log(1 + e^{\\eta_i + \\gamma_k})$ of the given units (their shifts
        ``shift``) over a gathered copy of their cells."""
        sizes = self._cache["sizes"][units]
        starts = self._cache["starts"][units]
        # the cells of the units, in order: each unit's run of positions from its start
        offsets = np.repeat(starts - (np.cumsum(sizes) - sizes), sizes)
        cells = np.arange(len(offsets)) + offsets
        t = np.repeat(np.exp(shift), sizes)
        t *= self._cache["base"][cells]
        np.log1p(t, out=t)
        return sorted_sums(np.multiply(t, self.counts[cells], out=t), sizes)

    def _log_mgf_sum_at_zero(self) -> FloatArray:
        if "K0" not in self._cache:
            self._cache["K0"] = self._sum(self._log1p_tilt(np.zeros(self.n_units)))
        return self._cache["K0"]  # type: ignore[no-any-return]

    def _cgf_from(self, log_mgf_sum: FloatArray) -> FloatArray:
        return log_mgf_sum - self._log_mgf_sum_at_zero()

    def mean(self, shift: FloatArray) -> FloatArray:
        """$E(\\gamma) = K'(\\gamma)$, the expected events with shifted log-odds."""
        return self._sum(self._risks(shift))

    def _second(self, shift: FloatArray) -> FloatArray:
        q = self._risks(shift)
        q *= 1 - q
        return self._sum(q)

    def saddlepoint(self, k: FloatArray) -> FloatArray:
        """The tilt s with $K'(s) = k$ per unit (``k`` strictly between 0 and n):
        safeguarded Newton, vectorised over units (cached: the interval search asks for the
        same k many times)."""
        key = ("s", k.tobytes())
        if key not in self._cache:
            self._cache[key] = self._newton(k)
        return self._cache[key]  # type: ignore[no-any-return]

    def _newton(self, k: FloatArray) -> FloatArray:
        n = self.births
        lo, hi = np.full(self.n_units, -50.0), np.full(self.n_units, 50.0)
        s = logit(np.clip(k / n, 1e-12, 1 - 1e-12)) - logit(np.clip(self.expected / n, 1e-12,
                                                                   1 - 1e-12))
        s = np.clip(s, -49.0, 49.0)
        for _ in range(100):
            q = self._risks(s)
            second = 1 - q
            second *= q  # q (1 - q) without a third cell-sized array
            f = self._sum(q) - k
            lo, hi = np.where(f < 0, s, lo), np.where(f > 0, s, hi)
            step = s - f / np.maximum(self._sum(second), 1e-300)
            inside = (step > lo) & (step < hi)
            new = np.where(inside, step, (lo + hi) / 2)
            if np.all(np.abs(new - s) < 1e-13 * np.maximum(1, np.abs(s))):
                return new
            s = new
        return s

    def upper_tail(self, observed: npt.ArrayLike, shift: npt.ArrayLike = 0.0) -> FloatArray:
        """$P_\\gamma(X \\ge O)$ per unit (``shift`` = $\\gamma$)."""
        return self._tail(np.asarray(observed, dtype=float), _per_unit(shift, self.n_units),
                          upper=True)

    def lower_tail(self, observed: npt.ArrayLike, shift: npt.ArrayLike = 0.0) -> FloatArray:
        """$P_\\gamma(X \\le O)$ per unit."""
        return self._tail(np.asarray(observed, dtype=float), _per_unit(shift, self.n_units),
                          upper=False)

    def _tail(self, O: FloatArray, g: FloatArray, *, upper: bool) -> FloatArray:
        n = self.births
        k = O if upper else O + 1  # P(X <= O) = 1 - P(X >= O + 1)
        out = np.where(k <= 0, 1.0, 0.0)
        inner = (k > 0) & (k <= n)
        # the closed forms at the ends: P(X >= n) = prod q, P(X >= 1) = 1 - prod(1 - q)
        top = inner & (k == n)
        bottom = inner & (k == 1) & ~top
        rest = inner & ~top & ~bottom
        # one pass over the cells for K(g), shared by P(X >= 1) and both tail methods
        log_mgf = self._log_mgf_sum(g) if (bottom | rest).any() else None
        if top.any():
            eta = self.eta + self._per_cell(g)
            out = np.where(top, np.exp(-self._sum(_softplus(-eta))), out)
        if bottom.any():
            out = np.where(bottom, -np.expm1(-log_mgf), out)  # type: ignore[operator]
        if rest.any():
            cgf_g = self._cgf_from(log_mgf)  # type: ignore[arg-type]
            exact = self._exact_units(rest)
            if exact.any():
                out[exact] = self._exact_upper(k, g, exact, cgf_g)
            approx = rest & ~exact
            if approx.any():
                out[approx] = self._saddle_upper(k, g, cgf_g)[approx]
        out = np.clip(out, 0.0, 1.0)
        return out if upper else 1.0 - out

    def _exact_units(self, mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
        if self.method == "exact":
            return mask.copy()
        if self.method == "saddlepoint":
            return np.zeros_like(mask)
        return mask & (self.births <= EXACT_MAX_BIRTHS)

    def _saddle_upper(self, k: FloatArray, g: FloatArray, cgf_g: FloatArray) -> FloatArray:
        """Lugannani-Rice with continuity correction for P_g(X >= k), 0 < k < n
        (``cgf_g`` = $K(g)$)."""
        kt = np.clip(k - 0.5, 1e-9, self.births - 1e-9)
        s_hat = self.saddlepoint(kt)
        s = s_hat - g  # saddlepoint of the tilted distribution
        exponent = np.maximum(s * kt - (self._cgf_at(kt, s_hat) - cgf_g), 0.0)
        w = np.sign(s) * np.sqrt(2 * exponent)
        key = ("K2", kt.tobytes())
        if key not in self._cache:
            self._cache[key] = self._second(s_hat)
        with np.errstate(over="ignore"):  # far tails: u = inf and 1/u = 0, as intended
            u = 2 * np.sinh(s / 2) * np.sqrt(self._cache[key])
        near = np.abs(s) < 1e-5
        with np.errstate(divide="ignore", invalid="ignore"):
            lr = ndtr(-w) - np.exp(-w**2 / 2) / np.sqrt(2 * np.pi) * (1 / w - 1 / u)
        if not near.any():
            return lr
        normal = ndtr(-(kt - self.mean(g)) / np.sqrt(self._second(g)))
        return np.where(near, normal, lr)

    def _exact_upper(self, k: FloatArray, g: FloatArray, units: npt.NDArray[np.bool_],
                     cgf_g: FloatArray) -> FloatArray:
        """Exact P_g(X >= k) for the selected units, from the distribution tilted to be
        centred at k (DFT-CF there, tilted back exactly), all units at once (``cgf_g`` =
        $K(g)$)."""
        # one tilt for k and k + 1 (the upper tail at O and the lower tail at O share it):
        # centred half-way, every probability near k is far above the floating-point floor
        kt = np.clip(np.floor(k - 1e-9) + 0.5, 0.5, self.births - 0.5)
        s_all = self.saddlepoint(kt)
        s_hat = s_all[units]
        log_pmf = self._log_pmfs(kt, s_hat, units)
        log_norm = self._cgf_at(kt, s_all)[units] - cgf_g[units]
        x = np.arange(log_pmf.shape[1], dtype=float)
        d = (g[units] - s_hat)[:, None]
        with np.errstate(invalid="ignore"):
            log_terms = log_pmf + d * x[None, :] + log_norm[:, None]
        above = x[None, :] >= np.ceil(k[units] - 1e-9)[:, None]
        with np.errstate(over="ignore"):  # the side not used may overflow
            upper = np.exp(logsumexp(np.where(above, log_terms, -np.inf), axis=1))
            lower = np.exp(logsumexp(np.where(above, -np.inf, log_terms), axis=1))
        # sum on the side where the tilted terms decay away from k
        return np.where(d[:, 0] <= 0, upper, 1 - lower)

    def _cgf_at(self, kt: FloatArray, s_hat: FloatArray) -> FloatArray:
        """$K(\\hat s)$ at the saddlepoint of ``kt`` (cached with it)."""
        key = ("K", kt.tobytes())
        if key not in self._cache:
            self._cache[key] = self.cgf(s_hat)
        return self._cache[key]  # type: ignore[no-any-return]

    def _log_pmfs(self, kt: FloatArray, s_hat: FloatArray, units: npt.NDArray[np.bool_]
                  ) -> FloatArray:
        """Log pmf of each selected unit at its tilt (rows padded with -inf), cached."""
        key = ("pmf", kt.tobytes(), units.tobytes())
        if key in self._cache:
            return self._cache[key]  # type: ignore[no-any-return]
        starts = self._cache["starts"]  # the cells are sorted by unit
        chosen = np.flatnonzero(units)
        width = int(self.births[chosen].max()) + 1 if len(chosen) else 1
        out = np.full((len(chosen), width), -np.inf)
        for row, j in enumerate(chosen):
            cells = slice(starts[j], starts[j + 1])
            pmf = _pmf(self.eta[cells] + s_hat[row], self.counts[cells], int(self.births[j]))
            with np.errstate(divide="ignore"):
                out[row, :len(pmf)] = np.log(pmf)
        self._cache[key] = out
        return out



def _pmf(eta: FloatArray, counts: FloatArray, n: int) -> FloatArray:
    """Exact pmf of a Poisson-binomial count (risks expit(eta), ``counts`` births each) by the
    discrete Fourier transform of its characteristic function (Hong 2013)."""
    size = n + 1
    half = size // 2 + 1  # the characteristic function is Hermitian: half the points suffice
    omega = 2 * np.pi * np.arange(half) / size
    q = expit(eta)[:, None]
    log_phi = (counts[:, None] * np.log((1 - q) + q * np.exp(1j * omega[None, :]))).sum(axis=0)
    # pmf(x) = (1/size) sum_l phi(omega_l) exp(-i omega_l x): irfft of the conjugate
    pmf = np.fft.irfft(np.conj(np.exp(log_phi)), n=size)
    return np.clip(pmf, 0.0, None)


def _per_unit(value: npt.ArrayLike, k: int) -> FloatArray:
    return np.broadcast_to(np.asarray(value, dtype=float), (k,)).astype(float)


def poisson_binomial_units(counts: npt.ArrayLike, risks: npt.ArrayLike, group: npt.ArrayLike,
                           n_units: int, *, method: str = "auto") -> PoissonBinomialUnits:
    """The Poisson-binomial distributions of K units from their cells.

    Parameters
    ----------
    counts : array-like, shape (C,)
        Births per cell (whole numbers).
    risks : array-like, shape (C,)
        Risk of the births of each cell, in (0, 1).
    group : array-like of int, shape (C,)
        Unit (0 .. K-1) of each cell.
    n_units : int
    method : {"auto", "exact", "saddlepoint"}
        ``auto``: exact for units of at most :data:`EXACT_MAX_BIRTHS` births.

    Returns
    -------
    PoissonBinomialUnits

    Raises
    ------
    DataError
        Counts that are not whole numbers, or risks outside (0, 1).
    """
    check_one_of("method", method, METHODS, owner="poisson_binomial_units")
    c = np.asarray(counts, dtype=float)
    p = np.asarray(risks, dtype=float)
    g = np.asarray(group, dtype=np.intp)
    if not (c.shape == p.shape == g.shape):
        raise DataError("counts, risks and group must have one value per cell; got shapes "
                        f"{c.shape}, {p.shape} and {g.shape}.")
    bad = ~((p > 0) & (p < 1))
    if bad.any():
        raise DataError(f"risks must lie strictly between 0 and 1; {int(bad.sum())} cell(s) do "
                        f"not (e.g. {p[bad][:3].tolist()}).")
    bad = (c < 0) | (c != np.round(c))
    if bad.any():
        raise DataError(f"counts must be whole numbers of births >= 0; {int(bad.sum())} cell(s) "
                        f"are not (e.g. {c[bad][:3].tolist()}). Case weights need the Poisson "
                        "or normal approximation instead.")
    births = np.bincount(g, weights=c, minlength=n_units).astype(float)
    expected = np.bincount(g, weights=c * p, minlength=n_units).astype(float)
    variance = np.bincount(g, weights=c * p * (1 - p), minlength=n_units).astype(float)
    return PoissonBinomialUnits(logit(p), c, g, int(n_units), births, expected, variance,
                                method)


def poisson_binomial_test(units: PoissonBinomialUnits, observed: npt.ArrayLike
                          ) -> tuple[FloatArray, FloatArray]:
    """z-score and exact two-sided p-value of O against its Poisson-binomial distribution.

    Returns
    -------
    (z, p_value)
        $z = (O - E)/\\sqrt V$; the p-value is twice the smaller tail,
        $\\min\\{1, 2\\min(P(X \\ge O), P(X \\le O))\\}$ (the rule of the exact
        Poisson-binomial test of pprof).
    """
    O = np.asarray(observed, dtype=float)
    up, down = units.upper_tail(O), units.lower_tail(O)
    z = (O - units.expected) / np.sqrt(units.variance)
    return z, np.minimum(1.0, 2 * np.minimum(up, down))


def poisson_binomial_ratio_interval(units: PoissonBinomialUnits, observed: npt.ArrayLike, *,
                                    level: float = 0.95) -> tuple[FloatArray, FloatArray]:
    """Exact O/E interval by inverting the Poisson-binomial test in a common logit shift.

    Returns
    -------
    (lower, upper)
        $E(\\gamma_L)/E$ and $E(\\gamma_U)/E$ (see the module Notes); the lower
        limit is 0 for O = 0 and the upper limit n/E for O = n.
    """
    check_in_range("level", level, 0.5, 1 - 1e-9, owner="poisson_binomial_ratio_interval")
    O = np.asarray(observed, dtype=float)
    alpha = (1 - level) / 2
    n, E = units.births, units.expected
    inner = np.clip(O, 0.5, n - 0.5)
    centre = units.saddlepoint(inner)  # the shift at which O is the mean
    scale = 1 / np.sqrt(np.maximum(units.variance, 1e-12)) * np.maximum(1, E / np.maximum(
        units.variance, 1e-12)) ** 0.5
    lower = _solve(lambda g: units.upper_tail(O, g), alpha, centre, scale, increasing=True)
    upper = _solve(lambda g: units.lower_tail(O, g), alpha, centre, scale, increasing=False)
    lo = np.where(O <= 0, 0.0, units.mean(lower) / E)
    hi = np.where(n <= O, n / E, units.mean(upper) / E)
    return lo, hi


def _solve(tail, target: float, start: FloatArray, scale: FloatArray, *,
           increasing: bool) -> FloatArray:  # type: ignore[no-untyped-def]
    """Shift gamma per unit where ``tail(gamma)`` equals ``target``: a safeguarded secant on
    $\\Phi^{-1}(tail)$, which is nearly linear in gamma, inside a bracket that is
    widened from ``start +- 8 scale`` until it holds the root; 1e-10 in gamma."""
    z_target = ndtri(target)
    sign = 1.0 if increasing else -1.0

    def h(gamma: FloatArray) -> FloatArray:
        return sign * (ndtri(np.clip(tail(gamma), 1e-300, 1 - 1e-16)) - z_target)

    lo, hi = start - 8 * scale, start + 8 * scale
    f_lo, f_hi = h(lo), h(hi)
    for _ in range(12):  # widen until h(lo) <= 0 <= h(hi)
        bad_lo, bad_hi = f_lo > 0, f_hi < 0
        if not (bad_lo.any() or bad_hi.any()):
            break
        lo = np.where(bad_lo, lo - 4 * (hi - lo), lo)
        hi = np.where(bad_hi, hi + 4 * (hi - lo), hi)
        f_lo, f_hi = h(lo), h(hi)
    lo, hi = np.clip(lo, -60, 60), np.clip(hi, -60, 60)
    side = np.zeros_like(lo)  # Illinois: which end was kept last (-1 lo, +1 hi)
    with np.errstate(divide="ignore", invalid="ignore"):  # f_hi = f_lo: bisect below
        x = lo - f_lo * (hi - lo) / (f_hi - f_lo)
    for _ in range(100):
        x = np.where(np.isfinite(x) & (x > lo) & (x < hi), x, (lo + hi) / 2)
        f = h(x)
        done = np.abs(f) < 1e-11
        left = f <= 0
        # the end kept twice in a row has its value halved (Illinois), so the false
        # position does not stagnate on one side
        f_hi = np.where(left & (side == 1), f_hi / 2, f_hi)
        f_lo = np.where(~left & (side == -1), f_lo / 2, f_lo)
        lo, f_lo = np.where(left, x, lo), np.where(left, f, f_lo)
        hi, f_hi = np.where(left, hi, x), np.where(left, f_hi, f)
        side = np.where(left, 1, -1)
        if np.all(done | (hi - lo < 1e-11)):
            return x
        with np.errstate(invalid="ignore", divide="ignore"):
            x = lo - f_lo * (hi - lo) / (f_hi - f_lo)
    return x


__all__ += ["poisson_binomial_ratio_interval", "poisson_binomial_test"]
