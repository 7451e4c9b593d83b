"""Writing a gene-major index file (the file is described in :mod:`cellucid.data.gene_reading.gene_index`,
each column's encoding in :mod:`cellucid.data.gene_reading.index_format`).

:func:`build_index` reads a CSR matrix in bounded-memory row chunks and writes its columns
contiguously, atomically (temporary file, ``fsync``, ``os.replace``). The owner
(:class:`cellucid.data.gene_reading.gene_index.GeneIndex`) gives it ``_pause_for_foreground`` — called
between steps, it waits while a gene request scans and raises when the server stops — and
receives its ``progress``.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from cellucid.data.gene_reading import index_format as fmt
from cellucid.data.gene_reading.index_cache import FORMAT_VERSION, MAGIC

# Non-zeros per build chunk and per column group: the builder's transient memory is
# ~60 bytes × this (~65 MB), whatever the matrix size.
DEFAULT_CHUNK_NNZ = 1 << 20
# The staged writer gathers this many chunks column-major before writing (8 bytes per
# non-zero: 32 MB at the default chunk), so each column gets one write per stage.
STAGE_FACTOR = 4


# One non-zero in a bucket file: column, row, value.
_REC = np.dtype([("c", "<u4"), ("r", "<u4"), ("v", "<f4")])


def _groups(counts: np.ndarray, budget: int) -> np.ndarray:
    """Edges of contiguous column groups holding at most ``budget`` non-zeros each (a
    column with more stands alone)."""
    edges, acc = [0], 0
    for j, c in enumerate(counts.tolist()):
        if acc and acc + c > budget:
            edges.append(j)
            acc = 0
        acc += c
    edges.append(len(counts))
    return np.asarray(edges, dtype=np.int64)


def _small_uint(n: int):
    """Smallest unsigned dtype holding 0..n-1 (numpy radix-sorts 8- and 16-bit keys)."""
    return np.uint8 if n <= 1 << 8 else np.uint16 if n <= 1 << 16 else np.uint32


def _stable_order(keys: np.ndarray, n_keys: int) -> np.ndarray:
    """``np.argsort(keys, kind="stable")`` for small non-negative integer keys, ~3× faster:
    when key bits + position bits fit in 32, sort ``key << p | position`` as uint32
    (numpy's SIMD sort; unique values, so the order is the stable one)."""
    key_bits = max(int(n_keys - 1).bit_length(), 1)
    pos_bits = 32 - key_bits
    if keys.shape[0] > (1 << pos_bits):
        return np.argsort(keys, kind="stable")
    packed = keys.astype(np.uint32) << np.uint32(pos_bits)
    packed |= np.arange(keys.shape[0], dtype=np.uint32)
    packed.sort()
    packed &= np.uint32((1 << pos_bits) - 1)
    return packed


def _pwrite_all(fd: int, buf, offset: int) -> None:
    view = memoryview(buf).cast("B")
    while view:
        n = os.pwrite(fd, view, offset)
        view, offset = view[n:], offset + n


def build_index(path: Path, indptr, indices, data, n_rows: int, n_cols: int, chunk_nnz: int, progress: bool, owner,
                source: dict | None = None) -> None:
    """Write the index for a CSR matrix to ``path`` atomically (layout: :mod:`.index_format`).

    Pass 1 counts non-zeros per column and row block and finds each column's value dtype,
    which fixes where every column's bytes go. Then, with bounded memory, one of two
    writers fills the columns:

    - few columns (long runs per column in a stage): :func:`_write_staged` sorts row chunks
      by column into an in-memory stage and writes each column's piece of it in place;
    - many columns (short runs): :func:`_write_bucketed`, an external distribution sort
      through temporary bucket files, so the number of writes does not grow with
      chunks × columns.

    Between steps the build calls ``owner._pause_for_foreground`` (it may wait for a gene
    request that scans; see :meth:`GeneIndex.foreground`).
    """
    from tqdm.auto import tqdm

    pause = owner._pause_for_foreground
    indptr = np.asarray(indptr[:], dtype=np.int64)  # n_rows + 1 int64: 8 MB per million cells
    if indptr.shape[0] != n_rows + 1:
        raise ValueError(f"indptr has {indptr.shape[0]} entries, expected n_rows + 1 = {n_rows + 1}")
    nnz = int(indptr[-1])
    path.parent.mkdir(parents=True, exist_ok=True)
    nb = fmt.n_blocks(n_rows)

    staged = (STAGE_FACTOR * chunk_nnz) // max(n_cols, 1) >= 256
    # Pass 1, per stage (row-aligned, never across a row block): non-zeros per column, and
    # the value dtype each column needs.
    stages = []
    block_counts = np.zeros((nb, n_cols), dtype=np.int64)
    codes = np.zeros(n_cols, dtype=np.uint8)
    for blk in range(nb):
        r0, r1 = blk * fmt.BLOCK_ROWS, min(n_rows, (blk + 1) * fmt.BLOCK_ROWS)
        for srow, send, sa, sb in _row_chunks(indptr, STAGE_FACTOR * chunk_nnz if staged else nnz + 1, r0, r1):
            scount = np.zeros(n_cols, dtype=np.int64)
            for lo in range(sa, sb, chunk_nnz):
                pause()
                hi = min(sb, lo + chunk_nnz)
                cols = np.asarray(indices[lo:hi])
                scount += np.bincount(cols, minlength=n_cols)[:n_cols]
                fmt.classify(cols, np.asarray(data[lo:hi], dtype=np.float32), codes)
            block_counts[blk] += scount
            stages.append((srow, send, sa, sb, scount))
    counts = block_counts.sum(axis=0)
    offsets = np.zeros(n_cols + 1, dtype=np.int64)  # byte offset of each column's block
    np.cumsum(fmt.column_sizes(counts, codes, nb), out=offsets[1:])
    colptr = np.zeros(n_cols + 1, dtype=np.int64)  # entries before each column
    np.cumsum(counts, out=colptr[1:])

    header = json.dumps({"version": FORMAT_VERSION, "n_rows": n_rows, "n_cols": n_cols, "nnz": nnz,
                         "block_rows": fmt.BLOCK_ROWS, **(source or {})}).encode()
    header += b" " * (-len(header) % 8)
    table = offsets.astype("<i8").tobytes() + colptr.astype("<i8").tobytes() + codes.tobytes()
    table += b"\0" * (-len(table) % 8)
    blocks = 16 + len(header) + len(table)
    layout = _Layout(blocks, offsets, counts, codes, nb)

    fd_tmp, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        _pwrite_all(fd_tmp, MAGIC + len(header).to_bytes(8, "little") + header + table, 0)
        os.ftruncate(fd_tmp, blocks + int(offsets[-1]))
        per_block = np.ascontiguousarray(block_counts.T, dtype="<u4")  # row j: column j's counts
        del block_counts
        for j in np.flatnonzero(counts).tolist():
            _pwrite_all(fd_tmp, per_block[j], blocks + int(offsets[j]))
        del per_block
        bar = tqdm(total=nnz, unit="nz", unit_scale=True, desc="cellucid gene index", disable=not progress, leave=False)

        def advance(k: int, total=[0]) -> None:  # noqa: B006 - a running counter
            total[0] += k
            bar.update(k)
            # 1.0 only once the index is open (health reports it as ready then)
            owner.progress = min(total[0] / nnz, 0.999) if nnz else 0.999

        if staged:
            _write_staged(fd_tmp, layout, indptr, indices, data, stages, advance, pause)
        else:
            chunks = _row_chunks(indptr, chunk_nnz)
            _write_bucketed(fd_tmp, layout, chunks, indptr, indices, data, chunk_nnz, path, advance, pause)
        bar.close()
        os.fsync(fd_tmp)
        os.close(fd_tmp)
        fd_tmp = -1
        os.replace(tmp, path)  # atomic: readers see the old state or the whole new file
    finally:
        if fd_tmp >= 0:
            os.close(fd_tmp)
        if os.path.exists(tmp):
            os.unlink(tmp)


class _Layout:
    """Where each column's pieces go in the file being written."""

    def __init__(self, blocks: int, offsets: np.ndarray, counts: np.ndarray, codes: np.ndarray, nb: int):
        self.counts, self.codes, self.nb, self.offsets = counts, codes, nb, offsets
        self.low = blocks + offsets[:-1] + 4 * nb  # file offset of each column's uint16 rows
        self.vals = self.low + 2 * counts  # … and of its values
        self.itemsize = np.array([fmt.itemsize(c) for c in range(len(fmt.VALUE_DTYPES))], dtype=np.int64)[codes]


def _row_chunks(indptr: np.ndarray, chunk_nnz: int, row: int = 0, n_rows: int | None = None):
    """``(row, end, a, b)``: whole rows ``row:end`` holding about ``chunk_nnz`` non-zeros
    (at least one row), which are ``indices[a:b]``; rows from ``row`` up to ``n_rows``."""
    n_rows = indptr.shape[0] - 1 if n_rows is None else n_rows
    while row < n_rows:
        end = int(np.searchsorted(indptr, indptr[row] + chunk_nnz, side="right")) - 1
        end = min(max(end, row + 1), n_rows)
        yield row, end, int(indptr[row]), int(indptr[end])
        row = end


def _write_staged(fd, layout: _Layout, indptr, indices, data, stages, advance, pause) -> None:
    """Few columns (long runs per column): turn a stage of ``STAGE_FACTOR × chunk_nnz``
    non-zeros column-major in memory (scipy's CSR → CSC conversion: a counting sort in C,
    rows stay ascending), then write each column's piece of the stage with two ``pwrite``
    calls (low row bits, values). ``stages`` is ``[(row, end, a, b, col_counts)]`` from the
    counting pass; a stage never spans two row blocks.

    Memory: ~18 bytes × stage (its CSR arrays, their CSC copy, the low row bits).
    Writes: 2 × columns × stages (~70k at 1M cells × 2k genes).
    """
    import scipy.sparse as sp

    counts, codes = layout.counts, layout.codes
    n_cols = counts.shape[0]
    filled = np.zeros(n_cols, dtype=np.int64)  # entries written so far per column
    for srow, send, sa, sb, scount in stages:
        if sb == sa:
            continue
        pause()
        ptr = indptr[srow : send + 1] - sa
        csr = sp.csr_matrix((np.asarray(data[sa:sb], dtype="<f4"), np.asarray(indices[sa:sb]), ptr),
                            shape=(send - srow, n_cols))
        csc = csr.tocsc()
        del csr
        sstart = csc.indptr.astype(np.int64)
        if not np.array_equal(np.diff(sstart), scount):
            raise ValueError("CSR arrays are inconsistent: column counts changed between passes")
        pause()
        # Rows of a stage lie in one row block: its low 16 bits are the stage's offset in
        # the block plus the row within the stage.
        low = csc.indices.astype("<u2")
        low += np.uint16(srow & (fmt.BLOCK_ROWS - 1))
        js = np.flatnonzero(scount)
        # The stage's values in each dtype its columns use (one cast each, not one per column).
        typed = {c: fmt.encode_values(csc.data, c).data.cast("B") for c in np.unique(codes[js]).tolist()}
        del csc
        low_b = low.data.cast("B")
        size = layout.itemsize[js]
        low_off = layout.low[js] + 2 * filled[js]
        vals_off = layout.vals[js] + size * filled[js]
        for i, (s, e, lo, vo, z, c) in enumerate(zip(sstart[js].tolist(), sstart[js + 1].tolist(), low_off.tolist(),
                                                      vals_off.tolist(), size.tolist(), codes[js].tolist())):
            if i % 128 == 0:
                pause()  # ~10 ms of writes between checks: a request never waits long for the GIL
            _pwrite_all(fd, low_b[2 * s : 2 * e], lo)
            _pwrite_all(fd, typed[c][z * s : z * e], vo)
        del typed, low, low_b
        filled += scount
        advance(sb - sa)
    if not np.array_equal(filled, counts):
        raise ValueError("CSR arrays are inconsistent: column counts changed between passes")


def _write_bucketed(fd, layout: _Layout, chunks, indptr, indices, data, budget, path, advance, pause) -> None:
    """Row chunks -> one bucket file per group of adjacent columns (``budget`` non-zeros at
    most) -> each bucket sorted by column (stable: rows stay ascending) and written to its
    contiguous region of the index with one write."""
    counts, codes = layout.counts, layout.codes
    edges = _groups(counts, budget)
    n_groups = len(edges) - 1
    group_of = np.repeat(np.arange(n_groups, dtype=_small_uint(n_groups)), np.diff(edges))
    buckets: list[tuple[int, str]] = []
    sizes = [0] * n_groups
    try:
        for _ in range(n_groups):
            buckets.append(tempfile.mkstemp(prefix=path.name + ".", suffix=".bucket", dir=path.parent))
        for row, end, a, b in chunks:
            if b == a:
                continue
            pause()
            cols = np.asarray(indices[a:b])
            key = group_of[cols]
            order = _stable_order(key, n_groups)
            rec = np.empty(b - a, dtype=_REC)
            rec["c"] = cols[order]
            rec["r"] = np.repeat(np.arange(row, end, dtype="<u4"), np.diff(indptr[row : end + 1]))[order]
            rec["v"] = np.asarray(data[a:b], dtype="<f4")[order]
            gb = np.searchsorted(key[order], np.arange(n_groups + 1)).tolist()
            del order, key, cols
            for g in range(n_groups):
                if gb[g + 1] > gb[g]:
                    piece = rec[gb[g] : gb[g + 1]]
                    _pwrite_all(buckets[g][0], piece, sizes[g])
                    sizes[g] += piece.nbytes
        for g in range(n_groups):
            pause()
            fd_b, name_b = buckets[g]
            rec = np.fromfile(name_b, dtype=_REC)
            lo_col, hi_col = int(edges[g]), int(edges[g + 1])
            if rec.size != int(counts[lo_col:hi_col].sum()):
                raise ValueError("CSR arrays are inconsistent: column counts changed between passes")
            if rec.size:
                local = (rec["c"] - lo_col).astype(_small_uint(hi_col - lo_col))
                order = _stable_order(local, hi_col - lo_col)
                bounds = np.searchsorted(local[order], np.arange(hi_col - lo_col + 1)).tolist()
                del local
                low = (rec["r"][order] & (fmt.BLOCK_ROWS - 1)).astype("<u2")
                vals = rec["v"][order]
                del order, rec
                # Each column: its block counts (already written), then low rows and values.
                for k, j in enumerate(range(lo_col, hi_col)):
                    s, e = bounds[k], bounds[k + 1]
                    if e - s != counts[j]:
                        raise ValueError("CSR arrays are inconsistent: column counts changed between passes")
                    if e > s:
                        _pwrite_all(fd, low[s:e].tobytes() + fmt.encode_values(vals[s:e], int(codes[j])).tobytes(),
                                    int(layout.low[j]))
                advance(len(low))
                del low, vals
            os.close(fd_b)
            os.unlink(name_b)
            buckets[g] = (-1, "")
    finally:
        for fd_b, name_b in buckets:
            if fd_b >= 0:
                os.close(fd_b)
                os.unlink(name_b)
