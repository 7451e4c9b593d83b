"""``GET /_cellucid/api/graph/edges?max=200000``: the neighbour graph's edges, for drawing.

Answer: uint32 ``(m, 2)`` little-endian, one row ``(i, j)`` with ``i < j`` per undirected edge
of ``obsp["connectivities"]``; above ``max`` (default 200,000, at most 2,000,000) a fixed
uniform sample of ``max`` edges (cellucid/data/graph_edges.py). Headers:
``X-Cellucid-Edges-Total`` (edges before sampling) and ``X-Cellucid-Edges-Sampled`` (1 / 0).
"""

from __future__ import annotations

from cellucid.data.base import NotFound
from cellucid.data.graph_edges import DEFAULT_MAX_EDGES, MOST_EDGES, graph_edges
from cellucid.server.handlers.data import DataHandler
from cellucid.server.responses import binary


class GraphEdgesHandler(DataHandler):
    async def get(self) -> None:
        source = self.state.source
        if not source.has_neighbor_graph():
            raise NotFound("this dataset has no neighbour graph (obsp['connectivities'])",
                           "Compute one with scanpy.pp.neighbors(adata) and save the file again.")
        most = self.int_param("max", default=DEFAULT_MAX_EDGES, lo=1, hi=MOST_EDGES)

        def build():
            pairs, total = graph_edges(source.neighbor_graph(), most)
            return binary(pairs, "uint32", {"X-Cellucid-Edges-Total": str(total),
                                             "X-Cellucid-Edges-Sampled": "1" if total > len(pairs) else "0"})

        await self.send_encoded(("graph-edges", most), build, executor=self.state.analysis_executor)
