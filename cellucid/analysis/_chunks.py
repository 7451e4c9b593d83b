"""One block of rows of a stored expression matrix, read and reduced by the process that runs it.

These functions are what a Dask worker executes (see :mod:`cellucid.analysis.cluster`): each
opens the ``.h5ad`` / ``.zarr`` file itself, by path, reads the rows ``lo:hi`` with plain
h5py / zarr slices and returns a small partial result — per (group, gene) sums, or the
distinct (gene, value) pairs with their counts, or rank sums. Partial results add up, so the
client only sums them; the matrix itself never travels. They import nothing from Dask, so the
same function finishes a job in-process when the cluster goes away.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np


@dataclass(frozen=True)
class MatrixLocation:
    """Where a worker finds the matrix: ``kind`` (``"h5ad"`` / ``"zarr"``), ``path`` (as the
    workers see it: the same path on a shared filesystem), ``element`` (``X``, ``raw/X``,
    ``layers/NAME``), ``layout`` (``"csr"`` / ``"dense"``) and the shape."""

    kind: str
    path: str
    element: str
    layout: str
    n_cells: int
    n_genes: int


@contextlib.contextmanager
def opened_matrix(loc: MatrixLocation) -> Iterator[Any]:
    """The matrix element (an h5py / zarr group for CSR, an array for dense), open read-only."""
    if loc.kind == "h5ad":
        import h5py

        with h5py.File(loc.path, "r") as f:
            yield f[loc.element]
    else:
        import zarr

        yield zarr.open_group(loc.path, mode="r")[loc.element]


def read_csr_rows(node: Any, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(row_lengths, genes int64, values)`` of rows ``lo:hi`` of a CSR group."""
    indptr = np.asarray(node["indptr"][lo:hi + 1], dtype=np.int64)
    a, b = int(indptr[0]), int(indptr[-1])
    genes = np.asarray(node["indices"][a:b], dtype=np.int64)
    values = np.asarray(node["data"][a:b])
    return np.diff(indptr), genes, values


def _entry_codes(lengths: np.ndarray, genes: np.ndarray, values: np.ndarray, codes: np.ndarray | None):
    """Entries whose cell has ``code >= 0``, with their codes (``None``: every cell, group 0)."""
    if codes is None:
        return genes, values, None
    c = np.repeat(np.asarray(codes, dtype=np.int64), lengths)
    keep = c >= 0
    if not keep.all():
        genes, values, c = genes[keep], values[keep], c[keep]
    return genes, values, c


def partial_sums(loc: MatrixLocation, lo: int, hi: int, codes: np.ndarray | None,
                 n_groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sum, sum of squares and non-zero count per (group, gene) over rows ``lo:hi``;
    ``codes`` (length ``hi - lo``, ``-1`` = left out) or ``None`` for one group of all rows."""
    from cellucid.analysis._accumulate import _Acc, dense_block_add

    acc = _Acc(loc.n_genes, n_groups)
    with opened_matrix(loc) as node:
        if loc.layout == "csr":
            lengths, genes, values = read_csr_rows(node, lo, hi)
            genes, values, c = _entry_codes(lengths, genes, values, codes)
            acc.add(genes, values, c)
        else:
            block = np.asarray(node[lo:hi], dtype=np.float64)
            c = np.zeros(hi - lo, dtype=np.int64) if codes is None else np.asarray(codes, dtype=np.int64)
            dense_block_add(acc, block, c, n_groups)
    return acc.total, acc.squares, acc.nonzero


def partial_values(loc: MatrixLocation, lo: int, hi: int, limit: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The distinct stored non-zero (gene, float32 value) pairs of rows ``lo:hi`` as sorted
    keys ``gene << 32 | order bits`` with their counts, or ``None`` past ``limit`` pairs."""
    from cellucid.analysis._accumulate import gene_distinct

    with opened_matrix(loc) as node:  # CSR only: the value table is made for CSR matrices
        _, genes, values = read_csr_rows(node, lo, hi)
    # entries grouped by gene (a radix sort of 16-bit gene numbers), then one float32 sort per
    # gene, as in-process: several times faster than sorting packed 64-bit keys
    order = np.argsort(genes.astype(np.uint16) if loc.n_genes <= 1 << 16 else genes, kind="stable")
    genes, values = genes[order], values[order]
    cut = np.flatnonzero(genes[1:] != genes[:-1]) + 1
    keys, counts = [np.empty(0, np.uint64)], [np.empty(0, np.int64)]
    for a, b in zip([0, *cut.tolist()], [*cut.tolist(), genes.size]):
        pairs = gene_distinct(int(genes[a]), values[a:b]) if b > a else None
        if pairs is not None:
            keys.append(pairs[0])
            counts.append(pairs[1])
    keys_all = np.concatenate(keys)
    return None if keys_all.size > limit else (keys_all, np.concatenate(counts).astype(np.int64))


def merge_values(a: tuple[np.ndarray, np.ndarray] | None,
                 b: tuple[np.ndarray, np.ndarray] | None, limit: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Two :func:`partial_values` results as one (``None`` once past ``limit`` pairs)."""
    if a is None or b is None:
        return None
    keys, inverse = np.unique(np.concatenate([a[0], b[0]]), return_inverse=True)
    if keys.size > limit:
        return None
    counts = np.bincount(inverse.ravel(), weights=np.concatenate([a[1], b[1]]), minlength=keys.size)
    return keys, counts.astype(np.int64)


def partial_ranks(loc: MatrixLocation, lo: int, hi: int, codes: np.ndarray, n_labels: int,
                  table: Any) -> tuple[np.ndarray, np.ndarray]:
    """Rank sums and stored-value counts per (label, gene) over rows ``lo:hi`` from the
    value table (:class:`cellucid.analysis._ranksum.ValueTable`); CSR only."""
    from cellucid.analysis._accumulate import _RankAcc

    acc = _RankAcc(table, n_labels, loc.n_genes)
    with opened_matrix(loc) as node:
        lengths, genes, values = read_csr_rows(node, lo, hi)
    genes, values, c = _entry_codes(lengths, genes, values, codes)
    acc.add(genes, values, c if n_labels > 1 else None)
    return acc.result()


def row_chunks(indptr: np.ndarray | None, n_cells: int, n_genes: int, target_entries: int,
               min_chunks: int) -> list[tuple[int, int]]:
    """Row ranges ``(lo, hi)`` of about ``target_entries`` stored entries each (rows × genes
    for dense), and at least ``min_chunks`` of them (so every worker gets work)."""
    if n_cells == 0:
        return []
    total = int(indptr[-1]) if indptr is not None else n_cells * n_genes
    n = max(min_chunks, -(-total // max(target_entries, 1)), 1)
    n = min(n, n_cells)
    if indptr is None or total == 0:
        edges = np.linspace(0, n_cells, n + 1).round().astype(np.int64)
    else:
        # cut where the running count of entries crosses each multiple of total / n
        edges = np.searchsorted(indptr, np.linspace(0, total, n + 1)[1:-1], side="left")
        edges = np.unique(np.concatenate([[0], np.clip(edges, 1, n_cells - 1), [n_cells]]))
    return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]
