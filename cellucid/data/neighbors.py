"""Nearest neighbours of cells in the space a dataset says they live in (the viewer's k-NN grow).

The space is chosen once per source, in this order:

1. the latent space named by the user (``latent_key`` / ``--latent-key``);
2. the stored neighbour graph ``obsp["connectivities"]`` (what ``scanpy.pp.neighbors``
   writes, built in whatever representation the user chose): a cell's neighbours are its
   graph neighbours, strongest connection first, so at most its degree (``n_neighbors - 1``
   for scanpy) per cell;
3. the default latent space ``obsm["X_pca"]`` (and an export folder's ``latent.f32``);
4. none: the viewer then measures distances in the shown embedding, as before.

Latent distances are Euclidean in float64 (a k-d tree, exact); ties go to the lower cell index
only as far as scipy's tree breaks them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from cellucid.data.base import BadParameter, DataSource


@dataclass
class NeighborSpace:
    """One space to find neighbours in: ``kind`` ``"latent"`` (``load()`` gives n × dims
    float32) or ``"graph"`` (``load()`` gives a CSR matrix n × n of connection weights).
    Nothing is read until the first query (a latent space can be hundreds of MB)."""

    kind: str
    key: str
    n_dims: int | None
    load: Callable[[], Any] = field(repr=False)
    _data: Any = field(default=None, repr=False)
    _tree: Any = field(default=None, repr=False)

    @property
    def data(self) -> Any:
        if self._data is None:
            self._data = self.load()
        return self._data

    def describe(self) -> dict[str, Any]:
        """For ``dataset_identity.json`` (the viewer shows it beside the k-NN tool)."""
        return {"kind": self.kind, "key": self.key, "n_dims": self.n_dims}

    def nearest(self, cells: np.ndarray, k: int) -> list[np.ndarray]:
        """For each cell of ``cells``: its ``k`` nearest other cells, nearest first (graph:
        strongest first, and fewer when the cell has fewer graph neighbours)."""
        n = self.data.shape[0]
        cells = np.asarray(cells, dtype=np.int64)
        if cells.size and (cells.min() < 0 or cells.max() >= n):
            raise BadParameter("cell index out of range", f"Indices go from 0 to {n - 1}.")
        if self.kind == "graph":
            return [self._graph_row(int(c), k) for c in cells]
        if self._tree is None:
            from scipy.spatial import cKDTree

            self._tree = cKDTree(np.asarray(self.data, dtype=np.float64))
        kk = min(k + 1, n)  # +1: the cell itself comes back at distance 0
        # every core: exact queries in ~50 dimensions cost ~20 ms a cell at a million cells
        _, idx = self._tree.query(np.asarray(self.data[cells], dtype=np.float64), k=kk, workers=-1)
        idx = np.asarray(idx).reshape(len(cells), kk)
        out = []
        for c, row in zip(cells, idx):
            row = row[row != c]  # a duplicate of the cell may come first; drop only the cell
            out.append(row[:k].astype(np.int64))
        return out

    def _graph_row(self, c: int, k: int) -> np.ndarray:
        g = self.data
        lo, hi = g.indptr[c], g.indptr[c + 1]
        cols, w = g.indices[lo:hi], g.data[lo:hi]
        keep = (cols != c) & (w > 0)
        cols, w = cols[keep], w[keep]
        order = np.lexsort((cols, -w))  # strongest first, ties by cell index
        return cols[order][:k].astype(np.int64)


def neighbor_space(source: DataSource) -> NeighborSpace | None:
    """The space ``source``'s k-NN uses (see the module docstring), or ``None``."""
    key = source.summary().latent_key
    dims = source.latent_dims() if key is not None else None
    latent = NeighborSpace("latent", key, dims, source.latent) if dims is not None else None
    if latent is not None and source.latent_given():
        return latent
    if source.has_neighbor_graph():
        return NeighborSpace("graph", "connectivities", None, source.neighbor_graph)
    return latent
