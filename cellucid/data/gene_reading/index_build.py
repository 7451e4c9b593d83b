"""Writing a gene-major index file (the format is described in :mod:`cellucid.data.gene_reading.gene_index`).

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
    """Write the index for a CSR matrix to ``path`` atomically (see the module docstring).

    Pass 1 counts non-zeros per column (where each column's block starts). Then, with
    bounded memory, one of two writers fills the blocks:

    - few columns (long runs per column in a stage): :func:`_write_staged` sorts row chunks
      by column into an in-memory stage and writes each column's piece of it in place;
    - many columns (short runs): :func:`_write_bucketed`, an external distribution sort
      through temporary bucket files, so the number of writes does not grow with
      chunks × columns.

    Between steps the build waits while a foreground column read is in flight
    (:meth:`GeneIndex.foreground`), so an interactive request is not slowed by the build
    competing for the CPU, the memory bus and the GIL.
    """
    from tqdm.auto import tqdm

    pause = owner._pause_for_foreground
    indptr = np.asarray(indptr[:], dtype=np.int64)  # n_rows + 1 int64: 8 MB per million cells
    if indptr.shape[0] != n_rows + 1:
        raise ValueError(f"indptr has {indptr.shape[0]} entries, expected n_rows + 1 = {n_rows + 1}")
    nnz = int(indptr[-1])
    path.parent.mkdir(parents=True, exist_ok=True)

    staged = (STAGE_FACTOR * chunk_nnz) // max(n_cols, 1) >= 256
    # Pass 1: non-zeros per column, per stage (row-aligned) when the staged writer is used.
    stages = []
    counts = np.zeros(n_cols, dtype=np.int64)
    for srow, send, sa, sb in _row_chunks(indptr, STAGE_FACTOR * chunk_nnz if staged else nnz + 1):
        scount = np.zeros(n_cols, dtype=np.int64)
        for lo in range(sa, sb, chunk_nnz):
            pause()
            scount += np.bincount(np.asarray(indices[lo : min(sb, lo + chunk_nnz)]), minlength=n_cols)[:n_cols]
        counts += scount
        stages.append((srow, send, sa, sb, scount))
    colptr = np.zeros(n_cols + 1, dtype=np.int64)
    np.cumsum(counts, out=colptr[1:])

    header = json.dumps({"version": FORMAT_VERSION, "n_rows": n_rows, "n_cols": n_cols, "nnz": nnz,
                         **(source or {})}).encode()
    header += b" " * (-len(header) % 8)
    blocks = 16 + len(header) + 8 * (n_cols + 1)

    fd_tmp, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        _pwrite_all(fd_tmp, MAGIC + len(header).to_bytes(8, "little") + header + colptr.astype("<i8").tobytes(), 0)
        os.ftruncate(fd_tmp, blocks + 8 * nnz)
        bar = tqdm(total=nnz, unit="nz", unit_scale=True, desc="cellucid gene index", disable=not progress, leave=False)

        def advance(k: int, total=[0]) -> None:  # noqa: B006 - a running counter
            total[0] += k
            bar.update(k)
            # 1.0 only once the index is open (health reports it as ready then)
            owner.progress = min(total[0] / nnz, 0.999) if nnz else 0.999

        if staged:
            _write_staged(fd_tmp, blocks, indptr, indices, data, colptr, counts, chunk_nnz, stages, advance, pause)
        else:
            chunks = _row_chunks(indptr, chunk_nnz)
            _write_bucketed(fd_tmp, blocks, chunks, indptr, indices, data, colptr, counts, chunk_nnz, path,
                            advance, pause)
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


def _row_chunks(indptr: np.ndarray, chunk_nnz: int, row: int = 0, n_rows: int | None = None):
    """``(row, end, a, b)``: whole rows ``row:end`` holding about ``chunk_nnz`` non-zeros
    (at least one row), which are ``indices[a:b]``; rows from ``row`` up to ``n_rows``."""
    n_rows = indptr.shape[0] - 1 if n_rows is None else n_rows
    while row < n_rows:
        end = int(np.searchsorted(indptr, indptr[row] + chunk_nnz, side="right")) - 1
        end = min(max(end, row + 1), n_rows)
        yield row, end, int(indptr[row]), int(indptr[end])
        row = end


def _write_staged(fd, blocks, indptr, indices, data, colptr, counts, chunk_nnz, stages, advance, pause) -> None:
    """Few columns (long runs per column): gather a stage of ``STAGE_FACTOR × chunk_nnz``
    non-zeros column-major in memory, then write each column's piece of the stage with
    two ``pwrite`` calls (rows, values). ``stages`` is ``[(row, end, a, b, col_counts)]``
    from the counting pass.

    Within a stage, row chunks of ``chunk_nnz`` are sorted by column (stable radix sort,
    so rows stay ascending) and scattered to their column's slot in the stage buffers.
    Memory: 8 bytes × stage (the buffers) + ~30 bytes × ``chunk_nnz`` (one chunk's sort).
    Writes: 2 × columns × stages (~140k at 1M cells × 2k genes, 4× fewer than writing
    every row chunk's runs directly).
    """
    n_cols = counts.shape[0]
    filled = np.zeros(n_cols, dtype=np.int64)  # entries written so far per column
    key_dtype = _small_uint(n_cols)
    biggest = max((b - a for _r, _e, a, b, _c in stages), default=0)
    stage_rows = np.empty(biggest, dtype="<u4")
    stage_vals = np.empty(biggest, dtype="<f4")
    ramp = np.arange(0, dtype=np.int64)
    for srow, send, sa, sb, scount in stages:
        if sb == sa:
            continue
        sstart = np.zeros(n_cols + 1, dtype=np.int64)
        np.cumsum(scount, out=sstart[1:])
        sfill = np.zeros(n_cols, dtype=np.int64)
        for row, end, a, b in _row_chunks(indptr, chunk_nnz, srow, send):
            if b == a:
                continue
            pause()
            cols = np.asarray(indices[a:b]).astype(key_dtype, copy=False)
            order = _stable_order(cols, n_cols)
            cols = cols[order]
            rows = np.repeat(np.arange(row, end, dtype="<u4"), np.diff(indptr[row : end + 1]))[order]
            vals = np.asarray(data[a:b], dtype="<f4")[order]
            del order
            bounds = np.searchsorted(cols, np.arange(n_cols + 1))  # each column's run here
            # Entry i (sorted) of column c goes to stage slot sstart[c] + sfill[c] + (i - bounds[c]).
            dest = (sstart[:-1] + sfill - bounds[:-1])[cols]
            if ramp.shape[0] < b - a:
                ramp = np.arange(b - a, dtype=np.int64)
            dest += ramp[: b - a]  # reused: a fresh 8 MB arange costs ~2k page faults
            if dest.size and (dest.max() >= sb - sa or dest.min() < 0):
                raise ValueError("CSR arrays are inconsistent: column counts changed between passes")
            stage_rows[dest] = rows
            stage_vals[dest] = vals
            sfill += np.diff(bounds)
            del cols, rows, vals, dest
        if not np.array_equal(sfill, scount):
            raise ValueError("CSR arrays are inconsistent: column counts changed between passes")
        pause()
        js = np.flatnonzero(scount)
        rows_off = blocks + 8 * colptr[js] + 4 * filled[js]
        vals_off = rows_off + 4 * counts[js]
        rows_b, vals_b = stage_rows.data.cast("B"), stage_vals.data.cast("B")
        for i, (s, e, ro, vo) in enumerate(zip(sstart[js].tolist(), sstart[js + 1].tolist(), rows_off.tolist(),
                                               vals_off.tolist())):
            if i % 128 == 0:
                pause()  # ~10 ms of writes between checks: a request never waits long for the GIL
            _pwrite_all(fd, rows_b[4 * s : 4 * e], ro)
            _pwrite_all(fd, vals_b[4 * s : 4 * e], vo)
        filled += scount
        advance(sb - sa)
    if not np.array_equal(filled, counts):
        raise ValueError("CSR arrays are inconsistent: column counts changed between passes")


def _write_bucketed(fd, blocks, chunks, indptr, indices, data, colptr, counts, budget, path, advance, pause) -> None:
    """Row chunks -> one bucket file per group of adjacent columns (``budget`` non-zeros at
    most) -> each bucket sorted by column (stable: rows stay ascending) and written to its
    contiguous region of the index with one write."""
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
            base = int(colptr[lo_col])
            if rec.size != int(colptr[hi_col]) - base:
                raise ValueError("CSR arrays are inconsistent: column counts changed between passes")
            if rec.size:
                local = (rec["c"] - lo_col).astype(_small_uint(hi_col - lo_col))
                order = _stable_order(local, hi_col - lo_col)
                del local
                c = rec["c"][order].astype(np.int64)
                # Entry k (sorted) of column j goes to row slot (colptr[j] - base) + k of the
                # region (u32 units); its value sits counts[j] slots further on.
                pos = colptr[c] - base + np.arange(rec.size, dtype=np.int64)
                out = np.empty(2 * rec.size, dtype="<u4")
                out[pos] = rec["r"][order]
                pos += counts[c]
                out[pos] = rec["v"][order].view("<u4")
                del c, pos, order
                _pwrite_all(fd, out, blocks + 8 * base)
                advance(rec.size)
                del out, rec
            os.close(fd_b)
            os.unlink(name_b)
            buckets[g] = (-1, "")
    finally:
        for fd_b, name_b in buckets:
            if fd_b >= 0:
                os.close(fd_b)
                os.unlink(name_b)
