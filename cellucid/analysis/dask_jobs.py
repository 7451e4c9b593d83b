"""The analysis reductions over all cells, as jobs of row blocks on a :class:`DaskCluster`.

An :class:`~cellucid.analysis._matrix.Expression` with a ``cluster`` hands three passes to
it: per-group sums (totals, markers, large groups of the t-test), the distinct-value table
of the Wilcoxon test, and per-group rank sums. Each is split into blocks of rows
(:func:`cellucid.analysis._chunks.row_chunks`, ~8M stored entries each); a worker opens the
file by path and returns a partial result, which the client adds up. Only group codes of
the block's cells (1–4 bytes a cell) go to the workers, and per-gene arrays come back.

Each function returns ``None`` when the pass cannot run on the cluster — the matrix is in
memory, not a ``.h5ad`` / ``.zarr`` store, or stored gene-major (CSC) — and the caller then
computes in-process as without a cluster. The sums are the same up to float64 rounding
(blocks are added in another order); counts and the value table are exact.
"""

from __future__ import annotations

import contextlib
import os
from functools import partial
from typing import Any

import numpy as np

from cellucid.analysis import _chunks
from cellucid.analysis._chunks import MatrixLocation

# Stored entries per block: ~100 MB of indices + values read by a worker per task.
CHUNK_ENTRIES = 1 << 23


def chunk_entries() -> int:
    """Entries per block: ``CELLUCID_DASK_CHUNK_ENTRIES`` or :data:`CHUNK_ENTRIES`."""
    return int(os.environ.get("CELLUCID_DASK_CHUNK_ENTRIES") or CHUNK_ENTRIES)


@contextlib.contextmanager
def using(expr, dask_client: Any):
    """Within the block, ``expr``'s passes run on ``dask_client`` (a ``distributed.Client``
    or an address; ``None`` keeps what ``expr`` has, e.g. the server's cluster), with a
    progress bar and Python warnings (the notebook API)."""
    if dask_client is None:
        yield
        return
    from cellucid.analysis.cluster import as_cluster

    cluster = as_cluster(dask_client, warn=True, progress_bar=True, wait=True)
    before, expr.cluster = expr.cluster, cluster
    try:
        yield
    finally:
        expr.cluster = before
        if cluster is not dask_client:
            cluster.close()


def location(expr) -> MatrixLocation | None:
    """Where the workers read ``expr``'s matrix, or ``None`` (then says why, once)."""
    get = getattr(expr.source, "matrix_location", None)
    where = get() if get is not None else None
    if where is None:
        expr.cluster.note_in_process("the matrix is not read from a .h5ad / .zarr path the workers can open "
                                     "(in memory, or another format)")
        return None
    if expr.layout not in ("csr", "dense"):
        expr.cluster.note_in_process(f"the matrix is stored {expr.layout.upper()} (gene-major): only CSR and "
                                     "dense matrices are split into row blocks")
        return None
    kind, path, element = where
    return MatrixLocation(kind, path, element, expr.layout, expr.n_cells, expr.n_genes)


def _blocks(expr, loc: MatrixLocation) -> list[tuple[int, int]]:
    expr.cluster.client()  # a connection being made: wait for it (and its worker count)
    indptr = expr.reader._full_indptr() if loc.layout == "csr" else None
    workers = max(expr.cluster.n_workers, 1)
    return _chunks.row_chunks(indptr, loc.n_cells, loc.n_genes, chunk_entries(), 2 * workers)


def _small(codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Codes in the smallest integer type that holds them (what travels to the workers)."""
    dtype = np.int8 if n_groups < 127 else np.int16 if n_groups < 32767 else np.int32
    return codes.astype(dtype)


def _add(acc: tuple, part: tuple) -> tuple:
    for a, p in zip(acc, part):
        a += p
    return acc


def _coded_tasks(expr, loc: MatrixLocation, codes: np.ndarray | None, n_groups: int) -> list[tuple]:
    tasks = []
    for lo, hi in _blocks(expr, loc):
        c = None if codes is None else codes[lo:hi]
        if c is not None and not (c >= 0).any():
            continue  # no cell of this block is in any group
        tasks.append((loc, lo, hi, None if c is None else _small(c, n_groups), n_groups))
    return tasks


def cluster_sums(expr, codes: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``(total, squares, nonzero)`` of shape ``(n_groups, n_genes)`` per group of ``codes``
    (-1: left out), on the cluster; ``None`` when it cannot run there."""
    loc = location(expr)
    if loc is None:
        return None
    everyone = n_groups == 1 and not codes.any()  # totals: no codes to send
    tasks = _coded_tasks(expr, loc, None if everyone else codes, n_groups)
    zeros = tuple(np.zeros((n_groups, expr.n_genes)) for _ in range(3))
    job = "totals" if everyone else "sums"
    return expr.cluster.run(job, tasks, _chunks.partial_sums, _add, zeros)


def cluster_value_table(expr, limit: int) -> tuple[bool, tuple[np.ndarray, np.ndarray] | None]:
    """``(ran, keys_and_counts)``: the distinct (gene, value) pairs of a CSR matrix with their
    counts (``None`` past ``limit``); ``ran`` is False when it cannot run on the cluster."""
    loc = location(expr)
    if loc is None or loc.layout != "csr":
        return False, None
    tasks = [(loc, lo, hi, limit) for lo, hi in _blocks(expr, loc)]
    empty = (np.empty(0, np.uint64), np.empty(0, np.int64))
    return True, expr.cluster.run("values", tasks, _chunks.partial_values,
                                  partial(_chunks.merge_values, limit=limit), empty)


def cluster_rank_sums(expr, codes: np.ndarray, n_labels: int, table: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """``(R, nnz)`` per (label, gene) from the value table over the cells with ``codes >= 0``,
    on the cluster; ``None`` when it cannot run there."""
    loc = location(expr)
    if loc is None or loc.layout != "csr":
        return None
    tasks = [t[:4] for t in _coded_tasks(expr, loc, codes, n_labels)]
    zeros = (np.zeros((n_labels, expr.n_genes)), np.zeros((n_labels, expr.n_genes)))
    return expr.cluster.run("ranks", [(*t, n_labels) for t in tasks], _chunks.partial_ranks, _add, zeros,
                            shared=(table,))
