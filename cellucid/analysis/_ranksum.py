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

from cellucid.analysis._matrix import Expression

MAX_LABELS = (1 << 16) - 2  # groups that fit the key's 16 label bits (0 = "in the union, no group")


def _order_bits(values: np.ndarray) -> np.ndarray:
    """float32 values as uint64 whose integer order is the float order (no NaN here)."""
    b = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32)
    neg = (b >> np.uint32(31)).astype(bool)
    out = np.where(neg, ~b, b | np.uint32(0x80000000))
    return out.astype(np.uint64)


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
