"""Per-gene sums over groups of cells, read straight from a source's expression matrix.

Differential expression needs, per gene and per group of cells, the sum, the sum of
squares and the number of non-zero values. :class:`Expression` computes these without
building a dense matrix, choosing the cheapest path for how the matrix is stored:

- **CSR** (in memory, or a backed ``.h5ad`` whose ``indices`` / ``data`` are read directly,
  see :mod:`cellucid.data.gene_reading.hdf5_chunks`): the group's rows are gathered (the entries
  ``indptr[r]:indptr[r+1]`` of each row ``r``) and summed per gene with ``np.bincount``.
  Cost is proportional to the group's stored entries, not the matrix: 50k cells of a 1M-cell
  matrix read 5 % of it. The other side of a "vs rest" comparison is ``totals - group``,
  and the smaller side is the one read (a 900k-cell group reads the 100k others).
- **CSR** read through h5py / zarr (compressed or chunked): contiguous row blocks, entries of
  rows outside the group dropped.
- **CSC** or a ready gene index (:mod:`cellucid.data.gene_reading.gene_index`): one pass over every
  gene's stored cells with a membership test.
- **dense**: row blocks of the group.
- anything else (export folders): one gene at a time through the source.

All sums are float64. Duplicate entries of a non-canonical CSR matrix are treated as
separate values (anndata writes canonical matrices).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from cellucid.analysis._accumulate import _Acc, dense_block_add
from cellucid.analysis._steps import checkpoint
from cellucid.data.base import DataSource, InputError

# Stored entries handled per step: ~2M entries hold ~130 MB of temporaries at most (indices,
# codes, float64 values and ranks), which keeps a 1M-cell analysis inside a few hundred MB.
STEP_ENTRIES = 1 << 21
# Genes per gene-major block: the rank test packs a block's gene number into 16 bits.
MAX_BLOCK_GENES = 1 << 15


@dataclass
class Sums:
    """Per-gene (or per group × gene) ``total``, ``squares`` and ``nonzero`` counts over
    ``n`` cells. Arrays are float64 of shape ``(n_genes,)`` or ``(n_groups, n_genes)``."""

    total: np.ndarray
    squares: np.ndarray
    nonzero: np.ndarray
    n: Any

    def __sub__(self, other: "Sums") -> "Sums":
        return Sums(self.total - other.total, self.squares - other.squares,
                    self.nonzero - other.nonzero, self.n - other.n)

    def mean_var(self) -> tuple[np.ndarray, np.ndarray]:
        """Means and variances with ``ddof=1`` (as scanpy's ``_get_mean_var``)."""
        n = np.asarray(self.n, dtype=np.float64)
        if self.total.ndim == 2 and n.ndim == 1:
            n = n[:, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = self.total / n
            var = (self.squares - n * mean * mean) / (n - 1)
        return mean, np.maximum(var, 0.0)  # float rounding can leave -1e-17 for a constant gene


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + l)`` for each pair, vectorized."""
    total = int(lengths.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    offsets = np.cumsum(lengths) - lengths  # start of each run in the output
    pos = np.repeat(starts - offsets, lengths)
    pos += np.arange(total, dtype=np.int64)
    return pos


class Expression:
    """Sums over cells of one source's expression matrix (see the module docstring).

    Get one with :func:`expression_of` (cached per source, so ``totals`` are computed once).
    """

    def __init__(self, source: DataSource):
        s = source.summary()
        if not s.n_genes:
            raise InputError("this dataset has no genes", hint=s.no_genes_reason or
                             "differential expression needs an expression matrix (X, raw or a layer)")
        self.source = source
        self.n_cells, self.n_genes = int(s.n_cells), int(s.n_genes)
        get = getattr(source, "expression_reader", None)
        reader = get() if get is not None else None
        self.index = getattr(reader, "index", None)  # GeneIndex of an IndexedReader, or None
        self.reader = getattr(reader, "reader", reader)  # the ColumnReader
        self._totals: Sums | None = None
        # A cellucid.analysis.cluster.DaskCluster: whole-matrix passes run there (dask_jobs.py).
        self.cluster: Any = None

    # -- which path -------------------------------------------------------------------
    @property
    def layout(self) -> str:
        """``"csr"``, ``"csc"``, ``"dense"`` or ``"genes"`` (one gene at a time)."""
        return getattr(self.reader, "layout", None) or "genes"

    def _csr_arrays(self) -> tuple[np.ndarray, Any, Any] | None:
        """``(indptr, fetch_indices, fetch_data)`` when rows can be gathered cheaply (CSR in
        memory, or direct reads of a backed file), else ``None``."""
        r = self.reader
        if self.layout != "csr":
            return None
        if not r.on_disk:
            indices, data = np.asarray(r.indices), np.asarray(r.data)
            return r._full_indptr(), indices.__getitem__, data.__getitem__
        if getattr(r, "direct", None) is not None:
            ind, dat = r.direct
            return r._full_indptr(), ind.gather, dat.gather
        return None

    # -- sums over one group of rows ---------------------------------------------------
    def group_sums(self, rows: np.ndarray) -> Sums:
        """Sums over the cells at ``rows`` (sorted, unique int64 positions)."""
        rows = np.asarray(rows, dtype=np.int64)
        csr = self._csr_arrays()
        if csr is not None and rows.size * 8 <= self.n_cells:
            return self._csr_rows(csr, rows)
        codes = np.full(self.n_cells, -1, dtype=np.int64)
        codes[rows] = 0
        return self._by_codes(codes, 1, rows=rows, single=True)

    def totals(self) -> Sums:
        """Sums over all cells (computed once per :class:`Expression`)."""
        if self._totals is None:
            self._totals = self.category_sums(np.zeros(self.n_cells, dtype=np.int64), 1, single=True)
            if np.isnan(self._totals.total).any():
                bad = np.flatnonzero(np.isnan(self._totals.total))
                names = [str(g) for g in self.source.gene_names()[bad[:5]]]
                raise InputError(f"the expression matrix has NaN values (genes {', '.join(names)}"
                                 f"{', …' if bad.size > 5 else ''})",
                                 hint="replace NaN values (e.g. with 0) before testing, or choose another "
                                      "expression matrix (expression='raw' or 'layer:NAME')")
        return self._totals

    def _csr_rows(self, csr, rows: np.ndarray) -> Sums:
        acc = _Acc(self.n_genes, 1)
        for genes, values in self.row_entries(rows, csr):
            acc.add(genes, values)
        return _as_sums(acc, np.array([rows.size]), single=True)

    def subset_entries(self, rows: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """``(genes, values)`` of the rows' stored entries: gathered row by row for a small
        subset, read in contiguous blocks (other rows dropped) when the subset is more than
        1/8 of the cells — there the gather's scattered reads cost more than reading all."""
        if self.gatherable() and rows.size * 8 <= self.n_cells:
            yield from self.row_entries(rows)
            return
        codes = np.full(self.n_cells, -1, dtype=np.int64)
        codes[rows] = 0
        for genes, values, _ in self.coded_entries(codes, rows):
            yield genes, values

    def row_entries(self, rows: np.ndarray, csr=None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """``(genes int64, values)`` of the stored entries of ``rows``, in steps of about
        :data:`STEP_ENTRIES`, for a CSR matrix whose rows can be gathered (see
        :meth:`gatherable`)."""
        indptr, get_indices, get_data = csr or self._csr_arrays()
        starts = indptr[rows]
        lengths = indptr[rows + 1] - starts
        # Steps of about STEP_ENTRIES entries: rows split where the running count crosses.
        cum = np.cumsum(lengths)
        cuts = np.searchsorted(cum, np.arange(STEP_ENTRIES, int(cum[-1]) if cum.size else 0, STEP_ENTRIES))
        for part_s, part_l in zip(np.split(starts, cuts), np.split(lengths, cuts)):
            checkpoint()
            pos = _ranges(part_s, part_l)
            if pos.size:
                yield np.asarray(get_indices(pos), dtype=np.int64), get_data(pos)

    def gatherable(self) -> bool:
        """Whether rows can be gathered cheaply (CSR in memory, or direct reads of a file)."""
        return self._csr_arrays() is not None

    def coded_entries(self, codes: np.ndarray, rows: np.ndarray | None = None):
        """``(genes int64, values, codes)`` of every stored entry of a CSR matrix whose cell
        has ``codes >= 0``, in contiguous row blocks over all rows (or ``rows``' span)."""
        r = self.reader
        indptr = r._full_indptr()
        direct = getattr(r, "direct", None)
        indices, data = direct if direct is not None else (r.indices, r.data)
        lo_row = 0 if rows is None or not rows.size else int(rows[0])
        hi_row = self.n_cells if rows is None or not rows.size else int(rows[-1]) + 1
        row = lo_row
        while row < hi_row:
            checkpoint()
            # as many rows as fit in one step (at least one)
            stop = int(np.searchsorted(indptr, indptr[row] + STEP_ENTRIES, side="right")) - 1
            stop = min(max(stop, row + 1), hi_row)
            a, b = int(indptr[row]), int(indptr[stop])
            if b > a:
                idx = np.asarray(indices[a:b], dtype=np.int64)
                val = np.asarray(data[a:b])
                entry_codes = np.repeat(codes[row:stop], np.diff(indptr[row:stop + 1]))
                keep = entry_codes >= 0
                if not keep.all():
                    idx, val, entry_codes = idx[keep], val[keep], entry_codes[keep]
                yield idx, val, entry_codes
            row = stop

    # -- sums per category (markers) ---------------------------------------------------
    def category_sums(self, codes: np.ndarray, n_groups: int, single: bool = False) -> Sums:
        """Sums per group in one pass: ``codes`` (int, length n_cells) gives each cell's
        group ``0..n_groups-1``; ``-1`` cells are left out. Arrays are ``(n_groups, n_genes)``
        (``(n_genes,)`` with ``single=True``)."""
        return self._by_codes(np.asarray(codes, dtype=np.int64), n_groups, single=single)

    def _by_codes(self, codes: np.ndarray, n_groups: int, rows: np.ndarray | None = None,
                  single: bool = False) -> Sums:
        counts = np.bincount(codes[codes >= 0], minlength=n_groups)[:n_groups]
        acc = _Acc(self.n_genes, n_groups)
        layout = self.layout
        if self.cluster is not None:  # CSR / dense files; other layouts get a note and run here
            from cellucid.analysis.dask_jobs import cluster_sums

            out = cluster_sums(self, codes, n_groups)
            if out is not None:
                acc.total, acc.squares, acc.nonzero = out
                return _as_sums(acc, counts, single=single)
        if layout == "csr":
            self._csr_pass(codes, acc, rows)
        elif layout == "dense":
            self._dense_pass(codes, n_groups, acc, rows)
        else:
            for j, cells, vals in self.gene_columns():
                c = codes[cells]
                keep = c >= 0
                acc.add_gene(j, c[keep], vals[keep])
        return _as_sums(acc, counts, single=single)

    def _csr_pass(self, codes: np.ndarray, acc: "_Acc", rows: np.ndarray | None) -> None:
        for idx, val, entry_codes in self.coded_entries(codes, rows):
            acc.add(idx, val, entry_codes)

    def _dense_pass(self, codes: np.ndarray, n_groups: int, acc: "_Acc", rows: np.ndarray | None) -> None:
        dense = self.reader.dense
        step = max(1, STEP_ENTRIES // max(self.n_genes, 1))
        use = np.flatnonzero(codes >= 0) if rows is None else rows
        for k in range(0, use.size, step):
            checkpoint()
            sel = use[k:k + step]
            block = np.asarray(dense[sel] if sel.size < self.n_cells else dense[:], dtype=np.float64)
            dense_block_add(acc, block, codes[sel], n_groups)

    # -- weighted sums (correlation with every gene) ---------------------------------
    def dot(self, weights: np.ndarray) -> np.ndarray:
        """``Σ_cells weights[c] · X[c, g]`` for every gene (float64), in one pass."""
        w = np.asarray(weights, dtype=np.float64)
        out = np.zeros(self.n_genes)
        if self.layout == "csr":
            # each entry's "code" is its row, so its weight is w[row]
            for idx, val, row in self.coded_entries(np.arange(self.n_cells, dtype=np.int64)):
                out += np.bincount(idx, weights=w[row] * np.asarray(val, dtype=np.float64), minlength=self.n_genes)
        elif self.layout == "dense":
            step = max(1, STEP_ENTRIES // max(self.n_genes, 1))
            for k in range(0, self.n_cells, step):
                out += w[k:k + step] @ np.asarray(self.reader.dense[k:k + step], dtype=np.float64)
        else:
            for j, cells, vals in self.gene_columns():
                out[j] = float(np.dot(w[cells], np.asarray(vals, dtype=np.float64)))
        return out

    # -- gene-major access (rank tests, one-gene-at-a-time sums) ----------------------
    def gene_columns(self) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """``(gene, cells, values)`` for every gene, stored (or non-zero) cells only."""
        for lo, hi, colptr, cells, vals in self.gene_blocks():
            for j in range(lo, hi):
                a, b = colptr[j - lo], colptr[j - lo + 1]
                yield j, cells[a:b], vals[a:b]

    def gene_blocks(self, budget: int = 1 << 21) -> Iterator[tuple[int, int, np.ndarray, np.ndarray, np.ndarray]]:
        """Gene-major blocks ``(lo, hi, colptr, cells, values)``: the entries of genes
        ``lo..hi-1`` (``colptr`` relative to the block), at most about ``budget`` entries each."""
        for block in self._gene_blocks(budget):
            checkpoint()
            yield block

    def _gene_blocks(self, budget: int) -> Iterator[tuple[int, int, np.ndarray, np.ndarray, np.ndarray]]:
        r, layout = self.reader, self.layout
        index = self.index
        if layout == "csr" and index is not None and not index.ready and index.error is None and index.note is None:
            index.wait()  # the gene index is being built: rank tests read it gene by gene
        if index is not None and index.ready:
            yield from self._blocks_per_gene(index.column_sparse, index.nnz)
        elif layout == "csc":
            indptr = np.asarray(r.indptr[:], dtype=np.int64)
            yield from self._blocks_csc(indptr, r.indices, r.data, budget)
        elif layout == "csr":
            # No gene index (in memory, or none could be built): one pass over the matrix per
            # block of ~8M stored values. Never a transposed copy of X (the notebook promise).
            yield from self._blocks_csr_scan(1 << 23)
        elif layout == "dense":
            step = min(max(1, budget // max(self.n_cells, 1)), MAX_BLOCK_GENES)
            for lo in range(0, self.n_genes, step):
                hi = min(self.n_genes, lo + step)
                block = np.asarray(r.dense[:, lo:hi])
                gene, cells = np.nonzero(block.T)
                colptr = np.concatenate([[0], np.cumsum(np.bincount(gene, minlength=hi - lo))])
                yield lo, hi, colptr, cells, block.T[gene, cells]
        else:
            yield from self._blocks_per_gene(self._one_gene)

    def _one_gene(self, j: int) -> tuple[np.ndarray, np.ndarray]:
        sparse = self.source.gene_sparse_by_index(j)
        if sparse is not None:
            return sparse
        col = self.source.gene_by_index(j)
        cells = np.flatnonzero(col)
        return cells, col[cells]

    def _blocks_per_gene(self, read, nnz=None, budget: int = 1 << 21, group: int = 16):
        """Blocks of whole genes read one at a time: up to ~``budget`` entries when ``nnz(j)``
        is known (a gene index), else ``group`` genes. Small blocks keep the rank test's
        temporaries (~80 bytes per entry) near 150 MB at any size."""
        lo = 0
        while lo < self.n_genes:
            hi, total = lo, 0
            while hi < self.n_genes and hi - lo < MAX_BLOCK_GENES:
                c = nnz(hi) if nnz is not None else 1
                if hi > lo and (total + c > budget if nnz is not None else hi - lo >= group):
                    break
                total += c
                hi += 1
            parts = [read(j) for j in range(lo, hi)]
            colptr = np.concatenate([[0], np.cumsum([p[0].size for p in parts])])
            cells = np.concatenate([np.asarray(p[0], dtype=np.int64) for p in parts])
            vals = np.concatenate([np.asarray(p[1]) for p in parts])
            yield lo, hi, colptr, cells, vals
            lo = hi

    def _blocks_csc(self, indptr, indices, data, budget):
        lo = 0
        while lo < self.n_genes:
            hi = int(np.searchsorted(indptr, indptr[lo] + budget, side="right")) - 1
            hi = min(max(hi, lo + 1), self.n_genes, lo + MAX_BLOCK_GENES)
            a, b = int(indptr[lo]), int(indptr[hi])
            yield lo, hi, indptr[lo:hi + 1] - a, np.asarray(indices[a:b], dtype=np.int64), np.asarray(data[a:b])
            lo = hi

    def _blocks_csr_scan(self, budget):
        """No gene index: one pass over the matrix per block of genes holding ~``budget`` entries
        (~20 bytes each while the block is held)."""
        nz = self.totals().nonzero + 1
        edges = [0]
        acc = 0.0
        for j, c in enumerate(nz.tolist()):
            if acc and (acc + c > budget or j - edges[-1] >= MAX_BLOCK_GENES):
                edges.append(j)
                acc = 0.0
            acc += c
        edges.append(self.n_genes)
        r = self.reader
        indptr = r._full_indptr()
        direct = getattr(r, "direct", None)
        indices, data = direct if direct is not None else (r.indices, r.data)
        for lo, hi in zip(edges[:-1], edges[1:]):
            genes, cells, vals = [], [], []
            for a in range(0, int(indptr[-1]), STEP_ENTRIES):
                checkpoint()  # (one block is a whole pass over the matrix)
                b = min(int(indptr[-1]), a + STEP_ENTRIES)
                idx = np.asarray(indices[a:b], dtype=np.int64)
                keep = np.flatnonzero((idx >= lo) & (idx < hi))
                if keep.size:
                    genes.append(idx[keep] - lo)
                    cells.append(np.searchsorted(indptr, keep + a, side="right") - 1)
                    vals.append(np.asarray(data[a:b])[keep])
            g = np.concatenate(genes) if genes else np.empty(0, np.int64)
            order = np.argsort(g, kind="stable")
            colptr = np.concatenate([[0], np.cumsum(np.bincount(g, minlength=hi - lo))])
            yield (lo, hi, colptr, (np.concatenate(cells) if cells else g)[order],
                   (np.concatenate(vals) if vals else np.empty(0, np.float32))[order])


def _as_sums(acc: _Acc, counts: np.ndarray, single: bool = False) -> Sums:
    """``acc``'s arrays as :class:`Sums` over groups of ``counts`` cells (one group: 1D)."""
    if single:
        return Sums(acc.total[0], acc.squares[0], acc.nonzero[0], int(counts[0]))
    return Sums(acc.total, acc.squares, acc.nonzero, np.asarray(counts))


_BY_SOURCE: "weakref.WeakKeyDictionary[DataSource, Expression]" = weakref.WeakKeyDictionary()


def expression_of(source: DataSource) -> Expression:
    """The :class:`Expression` of ``source``, kept while the source lives (the server's
    source keeps its totals across requests)."""
    expr = _BY_SOURCE.get(source)
    if expr is None:
        expr = Expression(source)
        _BY_SOURCE[source] = expr
    return expr
