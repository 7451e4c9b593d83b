"""Exact Wilcoxon rank sums for every gene, with zeros as one tied block.

For one gene over ``N`` cells, a sparse matrix stores ``nnz`` values; the ``z = N - nnz``
zeros all share one tied rank. So only the stored values are sorted: negative values take
ranks ``1..n_neg``, the zeros ``n_neg+1 .. n_neg+z`` (average ``n_neg + (z + 1) / 2``) and
positive values follow. Ties among stored values get their average rank, as
``scipy.stats.rankdata`` (and scanpy) do, and ``Σ(t³ − t)`` over all tie blocks, zeros
included, gives scanpy's tie correction ``1 − Σ(t³ − t) / (N³ − N)``.

The sort is one ``np.sort`` of packed 64-bit keys per block of genes — gene (16 bits),
the value's order-preserving float bits (32) and the cell's group (16) — so no argsort or
per-gene Python loop is needed. The group rides along in the low bits: equal values of
different groups still form one tie block because blocks are found on the upper 48 bits.
"""

from __future__ import annotations

import numpy as np

from cellucid.analysis._accumulate import DENSE_MAX_CELLS, _order_bits, _RankAcc, gene_distinct
from cellucid.analysis._matrix import Expression

MAX_LABELS = (1 << 16) - 2  # groups that fit the key's 16 label bits (0 = "in the union, no group")


def rank_sums(expr: Expression, labels: np.ndarray, n_labels: int,
              included: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    """Rank sums per group and gene, over the cells in ``included`` (all when ``None``).

    ``labels`` (int, length n_cells) gives each cell's group ``0..n_labels-1`` or ``-1``
    (ranked with the others but in no group). Returns ``(R, ties, N, n_k)``: ``R`` of shape
    ``(n_labels, n_genes)`` with each group's sum of ranks, ``ties`` the per-gene
    ``Σ(t³ − t)``, ``N`` the number of ranked cells and ``n_k`` the group sizes.
    """
    if n_labels > MAX_LABELS:
        raise ValueError(f"at most {MAX_LABELS} groups per rank test")
    lab_all = np.asarray(labels, dtype=np.int64).copy()
    if included is not None:
        lab_all[~included] = -2  # not ranked at all
    N = int(np.count_nonzero(lab_all > -2))
    n_k = np.bincount(lab_all[lab_all >= 0], minlength=n_labels)[:n_labels].astype(np.float64)
    R = np.zeros((n_labels, expr.n_genes))
    ties = np.zeros(expr.n_genes)
    for lo, hi, colptr, cells, vals in expr.gene_blocks():
        ng = hi - lo
        gene = np.repeat(np.arange(ng, dtype=np.uint64), np.diff(colptr))
        lab = lab_all[cells]
        vals = np.asarray(vals)
        keep = (lab > -2) & (vals != 0)  # explicit zeros join the zero block
        gene, lab, vals = gene[keep], lab[keep], vals[keep]
        key = (gene << np.uint64(48)) | (_order_bits(vals) << np.uint64(16)) | (lab + 1).astype(np.uint64)
        key.sort()
        R[:, lo:hi], ties[lo:hi] = _block(key, ng, n_labels, N, n_k)
    return R, ties, N, n_k


def _block(key: np.ndarray, ng: int, n_labels: int, N: int, n_k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rank sums and tie sums of one sorted block of keys (see :func:`rank_sums`)."""
    m = key.size
    g = (key >> np.uint64(48)).astype(np.int64)
    vk = key >> np.uint64(16)
    lab = (key & np.uint64(0xFFFF)).astype(np.int64) - 1
    positive = (vk & np.uint64(0xFFFFFFFF)) >= np.uint64(0x80000000)  # zeros were removed
    nnz = np.bincount(g, minlength=ng).astype(np.float64)
    gstart = np.cumsum(nnz) - nnz
    z = N - nnz  # zeros per gene (the tie block every sparse gene has)
    n_neg = np.bincount(g[~positive], minlength=ng).astype(np.float64)
    R = np.zeros((n_labels, ng))
    ties = z ** 3 - z
    if m:
        new = np.empty(m, dtype=bool)
        new[0] = True
        np.not_equal(vk[1:], vk[:-1], out=new[1:])
        run_start = np.flatnonzero(new)
        run_end = np.append(run_start[1:], m)
        run_gene = g[run_start]
        # average 1-based rank among the gene's stored values, then shifted past the zeros
        run_rank = (run_start + run_end - 1) / 2.0 - gstart[run_gene] + 1.0
        run_rank += np.where(positive[run_start], z[run_gene], 0.0)
        rank = run_rank[np.cumsum(new) - 1]
        t = (run_end - run_start).astype(np.float64)
        ties += np.bincount(run_gene, weights=t ** 3 - t, minlength=ng)
        sel = lab >= 0
        k = lab[sel] * ng + g[sel]
        R += np.bincount(k, weights=rank[sel], minlength=n_labels * ng).reshape(n_labels, ng)
        nnz_k = np.bincount(k, minlength=n_labels * ng).reshape(n_labels, ng)
    else:
        nnz_k = np.zeros((n_labels, ng))
    zero_rank = n_neg + (z + 1.0) / 2.0
    R += (n_k[:, None] - nnz_k) * zero_rank[None, :]
    return R, ties


# -- the value table: exact ranks without sorting again ------------------------------------
# Count-like data (counts, log1p of counts) have few distinct values per gene. A table of
# every distinct (gene, value) with its average rank over all cells, made once per source
# (one sort), turns each later rank sum against "rest" into a lookup per stored entry of the
# group: ``np.searchsorted`` into the table, no sort. Data with more distinct values than
# TABLE_MAX (continuous values) keep the sort above.
TABLE_MAX = 1 << 23  # distinct (gene, value) pairs: 8M × 16 bytes = 128 MB at most
DENSE_MAX_VALUE = 4095  # count data up to this value get a dense lookup ...
# DENSE_MAX_CELLS (_accumulate.py): ... when genes × (max value + 1) ≤ this (64 MB of float64)


class ValueTable:
    """Distinct stored values per gene with their average rank among all ``N`` cells.

    ``keys`` (sorted uint64: gene << 32 | order bits of the float32 value), ``rank`` (float64,
    the average 1-based rank of that value among all cells, zeros included), and per gene
    ``zero_rank`` (the zeros' average rank) and ``ties`` (``Σ(t³ − t)``)."""

    def __init__(self, keys: np.ndarray, counts: np.ndarray, n_genes: int, N: int):
        self.keys, self.N = keys, N
        g = (keys >> np.uint64(32)).astype(np.int64)
        positive = (keys & np.uint64(0xFFFFFFFF)) >= np.uint64(0x80000000)
        c = counts.astype(np.float64)
        nnz = np.bincount(g, weights=c, minlength=n_genes)
        n_neg = np.bincount(g[~positive], weights=c[~positive], minlength=n_genes)
        z = N - nnz
        gstart = np.cumsum(nnz) - nnz
        before = np.cumsum(c) - c - gstart[g]  # stored values of the gene below this one
        self.rank = before + (c + 1.0) / 2.0 + np.where(positive, z[g], 0.0)
        self.zero_rank = n_neg + (z + 1.0) / 2.0
        self.ties = np.bincount(g, weights=c ** 3 - c, minlength=n_genes) + z ** 3 - z
        # Count data (every stored value a whole number in 1..DENSE_MAX_VALUE): ranks in a
        # dense (gene, value) array, so a lookup is arithmetic (~20 ns an entry) instead of a
        # binary search (~110 ns).
        self.dense: np.ndarray | None = None
        bits = (keys & np.uint64(0xFFFFFFFF)).astype(np.uint32)
        vals = (bits & np.uint32(0x7FFFFFFF)).view(np.float32)  # positive values: bit 31 was set
        if keys.size and positive.all() and np.all(vals == np.floor(vals)) and vals.max() <= DENSE_MAX_VALUE:
            self.width = int(vals.max()) + 1
            if n_genes * self.width <= DENSE_MAX_CELLS:
                dense = np.zeros(n_genes * self.width)
                dense[g * self.width + vals.astype(np.int64)] = self.rank
                self.dense = dense

    def ranks_of(self, genes: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Average rank of each (gene, non-zero value) entry."""
        if self.dense is not None:
            return self.dense[genes * self.width + np.asarray(values).astype(np.int64)]
        key = (genes.astype(np.uint64) << np.uint64(32)) | _order_bits(values)
        return self.rank[np.searchsorted(self.keys, key)]


def value_table(expr: Expression) -> ValueTable | None:
    """The :class:`ValueTable` of ``expr`` (made on first use, kept on it), or ``None`` when
    the data have too many distinct values for one."""
    cached = getattr(expr, "_value_table", False)
    if cached is not False:
        return cached
    if expr.cluster is not None:
        from cellucid.analysis.dask_jobs import cluster_value_table

        ran, pairs = cluster_value_table(expr, TABLE_MAX)
        if ran:
            expr._value_table = None if pairs is None else ValueTable(pairs[0], pairs[1], expr.n_genes, expr.n_cells)
            return expr._value_table
    keys, counts, total = [], [], 0
    table = None
    for lo, hi, colptr, _cells, vals in expr.gene_blocks():
        vals = np.asarray(vals)
        for j in range(lo, hi):
            pairs = gene_distinct(j, vals[colptr[j - lo]:colptr[j - lo + 1]])
            if pairs is not None:
                keys.append(pairs[0])
                counts.append(pairs[1])
                total += pairs[0].size
        if total > TABLE_MAX:
            break
    else:
        k = np.concatenate(keys) if keys else np.empty(0, np.uint64)
        table = ValueTable(k, np.concatenate(counts) if counts else np.empty(0, np.int64), expr.n_genes, expr.n_cells)
    expr._value_table = table
    return table


def rank_sums_vs_rest(expr: Expression, rows: np.ndarray, table: ValueTable) -> tuple[np.ndarray, np.ndarray]:
    """The rank sum over all cells of the group ``rows`` and the per-gene tie sums, from the
    value table: one lookup (or count) per stored entry of the smaller side (group or rest)."""
    N = expr.n_cells
    n = rows.size
    side = rows if n <= N // 2 else np.setdiff1d(np.arange(N, dtype=np.int64), rows, assume_unique=True)
    R, nnz = _side_ranks(expr, side, table)
    R = R[0] + (side.size - nnz[0]) * table.zero_rank
    if side is not rows:
        R = N * (N + 1) / 2.0 - R  # every gene's ranks add up to N(N+1)/2
    return R, table.ties


def _side_ranks(expr: Expression, side: np.ndarray, table: ValueTable) -> tuple[np.ndarray, np.ndarray]:
    """``(R, nnz)`` of one side's stored entries: gathered when the side is small, else a
    pass over the whole matrix (on the cluster when there is one)."""
    if expr.cluster is not None and not (expr.gatherable() and side.size * 8 <= expr.n_cells):
        from cellucid.analysis.dask_jobs import cluster_rank_sums

        codes = np.full(expr.n_cells, -1, dtype=np.int64)
        codes[side] = 0
        out = cluster_rank_sums(expr, codes, 1, table)
        if out is not None:
            return out
    acc = _RankAcc(table, 1, expr.n_genes)
    for genes, values in expr.subset_entries(side):
        acc.add(genes, values)
    return acc.result()


def category_rank_sums(expr: Expression, codes: np.ndarray, n_labels: int, table: ValueTable) -> np.ndarray:
    """Rank sums per category (``codes``, -1 = none) and gene, from the value table, in one
    pass over the stored entries (on the cluster when there is one)."""
    out = None
    if expr.cluster is not None:
        from cellucid.analysis.dask_jobs import cluster_rank_sums

        out = cluster_rank_sums(expr, codes, n_labels, table)
    if out is None:
        acc = _RankAcc(table, n_labels, expr.n_genes)
        for genes, values, c in expr.coded_entries(codes):
            acc.add(genes, values, c)
        out = acc.result()
    R, nnz = out
    n_k = np.bincount(codes[codes >= 0], minlength=n_labels)[:n_labels].astype(np.float64)
    return R + (n_k[:, None] - nnz) * table.zero_rank[None, :]
