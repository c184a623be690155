"""Adjacency graphs of regions for spatial models: reading, components, ICAR scaling."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from casemix.exceptions import DataError

__all__ = ["Adjacency", "icar_scaling_factor", "read_adjacency"]


@dataclass(frozen=True, eq=False)
class Adjacency:
    """An undirected graph of regions.

    Attributes
    ----------
    units : tuple of str
        Region labels; position ``i`` is node ``i``.
    edges : ndarray of int, shape (n_edges, 2)
        Each neighbour pair once, ``i < j``.
    """

    units: tuple[str, ...]
    edges: npt.NDArray[np.intp]

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]], units: Sequence[str] | None = None
                   ) -> Adjacency:
        """Graph from neighbour pairs (either or both directions; duplicates merged).

        ``units`` lists every region, also those without neighbours (islands); by default the
        regions named in ``pairs``.
        """
        frame = pd.DataFrame(list(pairs), columns=["a", "b"], dtype=str)
        if units is None:
            units = list(dict.fromkeys([*frame["a"], *frame["b"]]))
        labels = tuple(str(u) for u in units)
        position = pd.Index(labels)
        if not position.is_unique:
            raise DataError("Adjacency: region labels must be unique; "
                            f"{position[position.duplicated()][:5].tolist()} repeat.")
        i, j = position.get_indexer(frame["a"]), position.get_indexer(frame["b"])
        unknown = (i < 0) | (j < 0)
        if unknown.any():
            names = sorted(set(frame["a"][i < 0]) | set(frame["b"][j < 0]))
            raise DataError(f"Adjacency: {int(unknown.sum())} neighbour pairs name regions "
                            f"that are not in the unit list, e.g. {names[:5]}.")
        loops = i == j
        if loops.any():
            raise DataError(f"Adjacency: {int(loops.sum())} pairs link a region to itself, "
                            f"e.g. {frame['a'][loops].iloc[0]!r}.")
        edges = np.unique(np.sort(np.column_stack([i, j]), axis=1), axis=0)
        return cls(labels, edges.astype(np.intp).reshape(-1, 2))

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON): ``units`` and ``pairs`` of labels; :meth:`from_dict` reads it."""
        return {"units": list(self.units),
                "pairs": [[self.units[a], self.units[b]] for a, b in self.edges]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Adjacency:
        """Graph from :meth:`to_dict` output."""
        return cls.from_pairs([tuple(p) for p in d["pairs"]], d["units"])

    def __eq__(self, other: object) -> bool:
        """Same regions in the same order with the same neighbour pairs."""
        if not isinstance(other, Adjacency):
            return NotImplemented
        return self.units == other.units and np.array_equal(self.edges, other.edges)

    def __hash__(self) -> int:
        return hash((self.units, self.edges.tobytes()))

    def fingerprint(self) -> str:
        """SHA-256 of the canonical JSON of :meth:`to_dict` (recorded in run manifests)."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def n(self) -> int:
        """Number of regions."""
        return len(self.units)

    def matrix(self) -> sparse.csr_matrix:
        """Symmetric 0/1 adjacency matrix W."""
        i, j = self.edges[:, 0], self.edges[:, 1]
        W = sparse.coo_matrix((np.ones(2 * len(i)), (np.r_[i, j], np.r_[j, i])),
                              shape=(self.n, self.n))
        return W.tocsr()

    def components(self) -> npt.NDArray[np.intp]:
        """Connected-component label of each region (an island is a component of size 1)."""
        return connected_components(self.matrix(), directed=False)[1]

    def scaling_factors(self) -> npt.NDArray[np.float64]:
        """Per region, the ICAR scaling factor of its connected component (1 for islands)."""
        labels = self.components()
        W = self.matrix()
        out = np.ones(self.n)
        for c in np.unique(labels):
            idx = np.flatnonzero(labels == c)
            if len(idx) > 1:
                out[idx] = icar_scaling_factor(W[idx][:, idx])
        return out

    def reorder(self, units: Sequence[str]) -> Adjacency:
        """The same graph with nodes in the order of ``units`` (which must be the same set)."""
        units = [str(u) for u in units]
        missing = sorted(set(units) - set(self.units))
        extra = sorted(set(self.units) - set(units))
        if missing or extra:
            raise DataError(
                f"Adjacency and data disagree on the regions: {len(missing)} units with data "
                f"are not in the adjacency file (e.g. {missing[:5]}), {len(extra)} regions of "
                f"the file have no data (e.g. {extra[:5]}).")
        pairs = [(self.units[a], self.units[b]) for a, b in self.edges]
        return Adjacency.from_pairs(pairs, units)


def icar_scaling_factor(W: sparse.spmatrix | npt.ArrayLike) -> float:
    """Geometric mean of the marginal variances of an intrinsic CAR on a connected graph.

    Parameters
    ----------
    W : (n, n) matrix
        Symmetric 0/1 adjacency of one connected component (n >= 2).

    Returns
    -------
    float
        $s = \\exp\\big(\\tfrac1n\\sum_i \\log \\Sigma_{ii}\\big)$ with
        $\\Sigma = Q^{+}$ the generalised inverse of $Q = D - W$, i.e. the
        covariance of the ICAR under its sum-to-zero constraint. Dividing the ICAR by
        $\\sqrt{s}$ gives it unit generalised variance, so that its variance parameter
        means the same on every graph.

    Notes
    -----
    Sorbye SH, Rue H. Scaling intrinsic Gaussian Markov random field priors in spatial
    modelling. Spatial Statistics 2014;8:39-51; the BYM2 model of Riebler et al. (2016) uses
    it. Dense pseudo-inverse: exact, and fast for the few hundred regions of Dutch
    geographies (a few thousand take seconds).
    """
    W = sparse.csr_matrix(W) if sparse.issparse(W) else sparse.csr_matrix(np.asarray(W))
    Q = (sparse.diags(np.asarray(W.sum(axis=1)).ravel()) - W).toarray()
    sigma = np.linalg.pinv(Q, hermitian=True)
    return float(np.exp(np.mean(np.log(np.diag(sigma)))))


def read_adjacency(path: str | Path, units: Sequence[str] | None = None) -> Adjacency:
    """Read an adjacency file.

    Parameters
    ----------
    path : str or Path
        CSV with one neighbour pair per row in its first two columns (header required; each
        pair in either or both directions), or JSON ``{"unit": ["neighbour", ...], ...}``
        (a region with an empty list is an island).
    units : sequence of str, optional
        All regions (to include islands that a CSV cannot list).

    Returns
    -------
    Adjacency
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"Adjacency file {str(path)!r} does not exist.")
    if path.suffix.lower() == ".json":
        mapping = json.loads(path.read_text())
        pairs = [(str(a), str(b)) for a, bs in mapping.items() for b in bs]
        listed = [str(a) for a in mapping]
        return Adjacency.from_pairs(pairs, units if units is not None else listed)
    frame = pd.read_csv(path, dtype=str)
    if frame.shape[1] < 2:
        raise DataError(f"Adjacency file {str(path)!r} needs two columns (region, neighbour); "
                        f"found {list(frame.columns)}.")
    empty = frame.iloc[:, :2].isna().any(axis=1)
    if empty.any():
        raise DataError(f"Adjacency file {str(path)!r}: {int(empty.sum())} rows lack a region "
                        "or neighbour.")
    return Adjacency.from_pairs(frame.iloc[:, :2].itertuples(index=False), units)
