"""The neighbour graph (``obsp["connectivities"]``) as a list of edges for drawing.

The viewer draws the graph as faint lines; it needs each undirected edge once, as a pair of
cell positions, and no more of them than it can draw. Above ``max_edges`` a uniform random
sample (fixed seed, so every request and every viewer gets the same edges) is returned.
"""

from __future__ import annotations

import numpy as np

#: Edges sent when the caller does not say (1.6 MB at 8 bytes per edge).
DEFAULT_MAX_EDGES = 200_000
#: The most edges one request may ask for.
MOST_EDGES = 2_000_000
_SEED = 0


def graph_edges(matrix, max_edges: int = DEFAULT_MAX_EDGES) -> tuple[np.ndarray, int]:
    """``(pairs, total)``: ``pairs`` uint32 ``(m, 2)`` with ``i < j``, one row per undirected
    edge with a non-zero weight (the upper triangle of ``matrix + matrix.T``), sorted; at most
    ``max_edges`` rows, sampled uniformly without replacement above that. ``total`` is the
    number of undirected edges before sampling. Self-loops are left out."""
    import scipy.sparse as sp

    m = sp.csr_matrix(matrix)
    if m.shape[0] != m.shape[1]:
        raise ValueError(f"the neighbour graph must be square, got shape {m.shape}")
    # symmetric structure: an edge stored only as (j, i) still counts once
    coo = sp.triu(m + m.T, k=1).tocoo()
    keep = coo.data != 0
    rows, cols = coo.row[keep], coo.col[keep]
    total = int(rows.size)
    if total > max_edges:
        pick = np.random.default_rng(_SEED).choice(total, size=max_edges, replace=False)
        pick.sort()
        rows, cols = rows[pick], cols[pick]
    pairs = np.empty((rows.size, 2), dtype=np.uint32)
    pairs[:, 0] = rows
    pairs[:, 1] = cols
    return pairs, total
