"""``GET /_cellucid/api/neighbors?cells=3,17,42&k=10``: each cell's k nearest neighbours.

Measured in the space :mod:`cellucid.data.neighbors` picks (latent space or stored graph; the
identity's ``neighbors`` block says which). The viewer asks for the cells of a selection in
batches of :data:`MAX_CELLS` (a URL stays well under its 16 KiB limit) and drops hidden cells
itself, asking again with a larger ``k`` for a cell that has too few visible ones left, so the
server keeps no per-viewer state. A GET: it changes nothing, so it needs no write token.

Answer: ``{"kind", "key", "n_dims", "k", "neighbors": [[j, ...], ...]}`` in the order of
``cells``, nearest first (graph: strongest connection first, at most the cell's degree).
"""

from __future__ import annotations

import numpy as np

from cellucid.data.base import NotFound
from cellucid.server.handlers.data import DataHandler

MAX_CELLS = 1000
MAX_K = 10_000


class NeighborsHandler(DataHandler):
    async def get(self) -> None:
        space = self.state.neighbors
        if space is None:
            raise NotFound("this dataset has no latent space and no neighbour graph",
                           "The viewer measures k-NN in the shown embedding; to use a latent space "
                           "pass --latent-key KEY (an obsm key), or store obsm['X_pca'] or "
                           "obsp['connectivities'] (scanpy.pp.neighbors).")
        cells = self.cells_param("cells", MAX_CELLS, "?cells=3,17,42&k=10")
        k = self.int_param("k", default=10, lo=1, hi=MAX_K)
        idx = np.asarray(cells, dtype=np.int64)
        rows = await self.state.run(("neighbors", tuple(cells), k), lambda: space.nearest(idx, k),
                                    executor=self.state.analysis_executor)
        self.write_json({**space.describe(), "k": k, "neighbors": [r.tolist() for r in rows]})
