"""Read one gene (one column of the cells × genes matrix) for all cells.

:func:`column_reader` wraps whatever holds the expression matrix — a numpy array, a scipy
sparse matrix, an h5py / zarr dataset (dense on disk), an h5py / zarr group written by
anndata as ``csr_matrix`` / ``csc_matrix``, or anndata's backed sparse dataset — in a
:class:`ColumnReader` whose :meth:`~ColumnReader.read` returns a dense ``float32`` array of
length ``n_rows``. Integer data is converted to float32; duplicate sparse entries are summed.

Cost of reading column ``j`` (``n`` rows, ``nnz`` stored entries, ``nnz_j`` in column j):

- dense in memory: a strided copy of ``n`` values.
- dense on disk: ``ds[:, j]`` — the storage library reads every chunk that crosses column
  ``j``; for row-chunked files that is close to reading the whole matrix, for column-friendly
  chunking far less.
- CSC (memory or disk): two ``indptr`` values, then one contiguous slice of ``nnz_j``
  indices and values — ``O(nnz_j)``, the cheap case.
- CSR in memory: one vectorized pass over ``indices`` (``O(nnz)`` compares).
- CSR on disk, uncompressed h5py datasets (anndata's default ``.h5ad``; ``strategy ==
  "csr-direct"``): ``indptr`` is read once and kept (``8 × (n + 1)`` bytes; for a large
  matrix the read starts on the scan helper thread when the reader is made); ``indices``
  is compared straight from short-lived 8 MB read-only mappings of the file at the chunks'
  byte offsets (``np.equal`` into a preallocated boolean buffer, hits listed word-wise),
  the values at the hits are picked from short-lived read-only mappings of ``data``, and
  ``np.searchsorted(indptr, pos)`` turns positions into rows (see
  :mod:`cellucid.data.gene_reading.hdf5_chunks`). Large scans are split over two threads. Memory: one
  8 MB window and a 1 MB buffer per thread. :meth:`ColumnReader.read_sparse` returns the
  scan's ``(rows, values)`` without building the dense column (the sparse gene route).
  Figures at 1M cells × 2,000 genes: docs/benchmarks.md (today) and
  docs/benchmark-history.md (against the former code).
- CSR on disk otherwise (compressed or zarr; ``strategy == "csr-chunked"``): ``indices`` is
  read through the storage library in chunks of :data:`SCAN_CHUNK` entries, and for each
  chunk with matches only the span of ``data`` between the first and last match. ~840 ms
  at 1M cells.

A gene-major cache can be put in front of either CSR reader for repeated access (see
:mod:`cellucid.data.gene_reading.gene_index`).

This module has no knowledge of AnnData files beyond the sparse group layout
(``indptr``/``indices``/``data`` + ``shape`` / ``encoding-type`` attributes).
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any, Literal

import numpy as np

# Entries of ``indices`` examined per step when scanning an on-disk CSR matrix: 16 MB of
# int32, small enough to stay cache-friendly (measured ~1.5x less CPU than 64 MB steps).
SCAN_CHUNK = 1 << 22

Layout = Literal["dense", "csr", "csc"]

# Direct CSR scans of at least SPLIT_MIN_NNZ entries are split over SCAN_THREADS threads
# (at most 2: the calling thread and one helper).
SCAN_THREADS = min(2, max(1, int(os.environ.get("CELLUCID_SCAN_THREADS", os.cpu_count() or 1))))
SPLIT_MIN_NNZ = 1 << 24
_pool_lock = threading.Lock()
_pool: Any = None


def _scan_pool():
    global _pool
    with _pool_lock:
        if _pool is None:
            from concurrent.futures import ThreadPoolExecutor

            _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cellucid-scan")
        return _pool


def _scan_halves(part, nnz: int) -> tuple[np.ndarray, ...]:
    """``part(lo, hi)`` → a tuple of arrays for entries ``[lo, hi)``, run over ``[0, nnz)``.

    A scan of at least :data:`SPLIT_MIN_NNZ` entries runs its second half on the helper
    thread: copying and comparing is bound by one core's rate, not by memory bandwidth.
    The halves' arrays are concatenated in order, so positions stay ascending.
    """
    if SCAN_THREADS > 1 and nnz >= SPLIT_MIN_NNZ:
        mid = nnz // 2
        second = _scan_pool().submit(part, mid, nnz)
        first = part(0, mid)
        return tuple(np.concatenate(pair) for pair in zip(first, second.result()))
    return part(0, nnz)


class ColumnReader:
    """Reads one column of a 2D matrix as dense float32.

    Attributes: ``shape`` (rows, columns), ``layout`` (``"dense"``, ``"csr"``, ``"csc"``),
    ``on_disk`` (True when reads go to a file). For sparse layouts ``indptr``, ``indices``
    and ``data`` are the underlying array-likes (numpy arrays or h5py/zarr datasets), which
    a cache builder can scan.
    """

    def __init__(
        self,
        layout: Layout,
        shape: tuple[int, int],
        on_disk: bool,
        dense: Any = None,
        indptr: Any = None,
        indices: Any = None,
        data: Any = None,
    ):
        self.layout = layout
        self.shape = (int(shape[0]), int(shape[1]))
        self.on_disk = on_disk
        self.dense = dense
        self.indptr = indptr
        self.indices = indices
        self.data = data
        self._indptr_cache: np.ndarray | None = None
        self._indptr_lock = threading.Lock()  # one read of indptr, also with a prefetch in flight
        # How a column is read, for tests and diagnostics: "dense", "csc", "csr-memory",
        # "csr-direct" (pread scan, see cellucid.data.gene_reading.hdf5_chunks) or "csr-chunked" (slices
        # through h5py / zarr).
        self.strategy = layout if layout != "csr" else ("csr-chunked" if on_disk else "csr-memory")
        # (indices, data) as DirectArray when the on-disk CSR arrays can be read directly.
        self.direct: tuple[Any, Any] | None = None

    def read(self, j: int) -> np.ndarray:
        """Dense float32 values of column ``j`` for every row."""
        j = int(j)
        if not 0 <= j < self.shape[1]:
            raise IndexError(f"column {j} out of range 0..{self.shape[1] - 1}")
        if self.layout == "dense":
            return _as_f32(np.asarray(self.dense[:, j]).reshape(-1))
        if self.layout == "csc":
            return self._read_csc(j)
        return self._read_csr(j)

    # -- sparse ------------------------------------------------------------------------
    def _read_csc(self, j: int) -> np.ndarray:
        lo, hi = (int(v) for v in self.indptr[j : j + 2])
        rows = np.asarray(self.indices[lo:hi], dtype=np.int64)
        vals = np.asarray(self.data[lo:hi])
        return _scatter(self.shape[0], rows, vals)

    def _full_indptr(self) -> np.ndarray:
        if self._indptr_cache is not None:
            return self._indptr_cache
        with self._indptr_lock:
            if self._indptr_cache is None:
                self._indptr_cache = self._read_indptr()
        return self._indptr_cache

    def _read_indptr(self) -> np.ndarray:
        source = self.indptr
        if self.direct is not None:
            from cellucid.data.gene_reading.hdf5_chunks import DirectArray

            # 4–8 MB at 1M rows: ~2 ms by pread against ~10 ms through h5py.
            direct = DirectArray.open(self.indptr)
            if direct is not None:
                source = direct
        try:
            return np.asarray(source[:], dtype=np.int64)
        finally:
            if source is not self.indptr:
                source.close()

    def full_indptr(self) -> "SharedIndptr":
        """``indptr`` as something that slices like an array and reads the file at most
        once for this reader (a gene index builder and the scans then share one copy)."""
        return SharedIndptr(self)

    def _read_csr(self, j: int) -> np.ndarray:
        indptr = self._full_indptr()
        nnz = int(indptr[-1])
        if self.direct is not None:
            return self._read_csr_direct(j, indptr, nnz)
        if not self.on_disk:
            return self._read_csr_memory(j, indptr, nnz)
        rows_parts, vals_parts = [], []
        for start in range(0, nnz, SCAN_CHUNK):
            stop = min(nnz, start + SCAN_CHUNK)
            hit = np.flatnonzero(np.asarray(self.indices[start:stop]) == j)
            if hit.size == 0:
                continue
            # Read only the data span that holds this chunk's matches.
            first, last = int(hit[0]), int(hit[-1])
            span = np.asarray(self.data[start + first : start + last + 1])
            vals_parts.append(span[hit - first])
            rows_parts.append(np.searchsorted(indptr, hit + start, side="right") - 1)
        if not rows_parts:
            return np.zeros(self.shape[0], dtype=np.float32)
        return _scatter(self.shape[0], np.concatenate(rows_parts), np.concatenate(vals_parts))

    def _read_csr_memory(self, j: int, indptr: np.ndarray, nnz: int) -> np.ndarray:
        # In block steps with a reused boolean buffer: ``indices == j`` over the whole array
        # would allocate one byte per stored entry (140 MB at 1M cells × 2k genes, 12 % of X —
        # the notebook case promises no copy of X) and page-fault it in, costing ~10x the scan.
        indices = np.asarray(self.indices)

        (pos,) = _scan_halves(lambda lo, hi: (_find_in_block_steps(indices, j, lo, hi),), nnz)
        rows = np.searchsorted(indptr, pos, side="right") - 1
        return _scatter(self.shape[0], rows, np.asarray(self.data)[pos], rows_sorted=True)

    def _read_csr_direct(self, j: int, indptr: np.ndarray, nnz: int) -> np.ndarray:
        rows, vals = self._entries_csr_direct(j, indptr, nnz)
        return _scatter(self.shape[0], rows, vals, rows_sorted=True)

    def _entries_csr_direct(self, j: int, indptr: np.ndarray, nnz: int) -> tuple[np.ndarray, np.ndarray]:
        """Stored entries of column ``j``: ``(rows, values)``, rows ascending (duplicates
        possible in a non-canonical matrix)."""
        indices, data = self.direct
        indices.check_size()  # a file truncated in place: a clear OSError, not garbage
        data.check_size()

        def part(lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
            pos = indices.find(j, hi, start=lo)
            vals = data.gather(pos)
            # Rows here, in each half's thread: ~3 ms for 70k positions at 1M rows.
            rows = np.searchsorted(indptr, pos, side="right")
            rows -= 1
            return rows, vals

        return _scan_halves(part, nnz)  # DirectArray buffers are per thread

    def read_sparse(self, j: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Column ``j`` as ``(rows int64, values float32)``, rows strictly increasing, for a
        direct CSR scan (``strategy == "csr-direct"``): the scan yields exactly these, so
        the sparse gene route needs no dense column. ``None`` for any other strategy (use
        :meth:`read`). Duplicate entries are summed as :meth:`read` sums them; explicit
        zeros may be included (the sparse encoder drops them)."""
        j = int(j)
        if self.direct is None or not 0 <= j < self.shape[1]:
            return None
        indptr = self._full_indptr()
        rows, vals = self._entries_csr_direct(j, indptr, int(indptr[-1]))
        vals = _as_f32(vals)
        if rows.size > 1 and bool(np.any(rows[1:] == rows[:-1])):
            dense = _scatter(self.shape[0], rows, vals, rows_sorted=True)
            rows = np.flatnonzero(dense.view(np.uint32))  # -0.0 and NaN stay, as in the dense column
            vals = dense[rows]
        return rows, vals

    def prefetch_indptr(self) -> None:
        """Start reading ``indptr`` on the scan helper thread, for a large direct CSR
        matrix: the first gene then does not wait for it (~3–10 ms at 1M cells)."""
        if self.direct is not None and self._indptr_cache is None and self.direct[0].n >= SPLIT_MIN_NNZ:
            _scan_pool().submit(self._full_indptr)

    def enable_direct(self) -> bool:
        """Switch an on-disk CSR reader over h5py datasets to direct reads when both
        ``indices`` and ``data`` are stored uncompressed (see
        :mod:`cellucid.data.gene_reading.hdf5_chunks`). Returns whether it did."""
        if self.layout != "csr" or not self.on_disk or self.direct is not None:
            return self.direct is not None
        from cellucid.data.gene_reading.hdf5_chunks import DirectArray

        indices = DirectArray.open(self.indices)
        data = DirectArray.open(self.data) if indices is not None else None
        if indices is None or data is None:
            if indices is not None:
                indices.close()
            return False
        self.direct = (indices, data)
        self.strategy = "csr-direct"
        return True

    def close(self) -> None:
        """Release direct-read file descriptors (the h5py file is closed by its owner)."""
        direct, self.direct = self.direct, None
        if direct is not None:
            for arr in direct:
                arr.close()
            self.strategy = "csr-chunked"


class SharedIndptr:
    """Slices of a reader's cached int64 ``indptr``, read on first use (by any thread)."""

    def __init__(self, reader: ColumnReader):
        self._reader = reader
        self.shape = (reader.shape[0] + 1,)

    def __getitem__(self, key: Any) -> np.ndarray:
        return self._reader._full_indptr()[key]


MEMORY_SCAN_BLOCK = 1 << 20  # entries compared per step: a 1 MB boolean buffer, cache-resident


def _find_in_block_steps(indices: np.ndarray, j: int, lo: int, hi: int) -> np.ndarray:
    """Positions ``p`` in ``[lo, hi)`` with ``indices[p] == j`` (ascending), scanning in
    :data:`MEMORY_SCAN_BLOCK` steps through one reused boolean buffer."""
    hit = np.empty(min(MEMORY_SCAN_BLOCK, max(hi - lo, 0)), dtype=bool)
    parts = []
    for start in range(lo, hi, MEMORY_SCAN_BLOCK):
        stop = min(hi, start + MEMORY_SCAN_BLOCK)
        mask = hit[: stop - start]
        np.equal(indices[start:stop], j, out=mask)
        found = np.flatnonzero(mask)
        if found.size:
            parts.append(found + start)
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)


def _as_f32(values: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=np.float32)


def _scatter(n: int, rows: np.ndarray, vals: np.ndarray, rows_sorted: bool = False) -> np.ndarray:
    out = np.zeros(n, dtype=np.float32)
    vals = np.asarray(vals, dtype=np.float32)
    if rows_sorted:  # ascending rows (a CSR scan): duplicates are neighbours, no sort needed
        dup = rows.size > 1 and bool(np.any(rows[1:] == rows[:-1]))
    else:
        dup = rows.size > 1 and np.unique(rows).size != rows.size
    if dup:
        np.add.at(out, rows, vals)  # non-canonical matrix: duplicates add up, as in scipy
    else:
        out[rows] = vals
    return out


def _attr_str(attrs, key: str) -> str | None:
    try:
        value = attrs.get(key)
    except Exception:  # noqa: BLE001 - some stores raise on odd attribute types
        return None
    if isinstance(value, bytes):
        value = value.decode()
    return value if isinstance(value, str) else None


def _is_group(obj: Any) -> bool:
    """An h5py or zarr group (something with keys and attrs, not an array)."""
    return hasattr(obj, "attrs") and hasattr(obj, "keys") and not hasattr(obj, "dtype")


def column_reader(matrix: Any) -> ColumnReader:
    """Wrap ``matrix`` (see the module docstring for accepted kinds) in a :class:`ColumnReader`.

    Raises ``TypeError`` for something that is not a 2D matrix.
    """
    # A scipy matrix means scipy.sparse is already imported; an h5py/zarr node does not
    # need it, so the backed start-up path does not pay scipy's ~0.2 s import.
    sp = sys.modules.get("scipy.sparse")
    if isinstance(matrix, np.ndarray) or isinstance(matrix, np.matrix):
        if matrix.ndim != 2:
            raise TypeError(f"expected a 2D matrix, got {matrix.ndim} dimensions")
        return ColumnReader("dense", matrix.shape, False, dense=np.asarray(matrix))
    if sp is not None and sp.issparse(matrix):
        fmt = matrix.format
        if fmt in ("csr", "csc"):
            return ColumnReader(
                fmt, matrix.shape, False, indptr=matrix.indptr, indices=matrix.indices, data=matrix.data
            )
        # Other scipy formats (coo, lil, …) are rare in AnnData; convert once to CSC.
        csc = matrix.tocsc()
        return ColumnReader("csc", csc.shape, False, indptr=csc.indptr, indices=csc.indices, data=csc.data)
    # anndata's backed sparse dataset (AnnData(backed="r").X) exposes its storage group.
    group = getattr(matrix, "group", None)
    if group is not None and hasattr(matrix, "format") and _is_group(group):
        return _sparse_group_reader(group)
    if _is_group(matrix):
        return _sparse_group_reader(matrix)
    shape = getattr(matrix, "shape", None)
    if shape is not None and len(shape) == 2 and hasattr(matrix, "dtype"):
        # h5py / zarr dense array: slicing reads from disk.
        return ColumnReader("dense", tuple(shape), True, dense=matrix)
    raise TypeError(f"cannot read genes from a {type(matrix).__name__}")


def _sparse_group_reader(group: Any) -> ColumnReader:
    enc = _attr_str(group.attrs, "encoding-type") or _attr_str(group.attrs, "h5sparse_format")
    if enc in ("csr_matrix", "csr"):
        layout: Layout = "csr"
    elif enc in ("csc_matrix", "csc"):
        layout = "csc"
    else:
        raise TypeError(f"unsupported matrix encoding {enc!r} (expected csr_matrix or csc_matrix)")
    shape = tuple(int(v) for v in group.attrs.get("shape", group.attrs.get("h5sparse_shape")))
    reader = ColumnReader(
        layout, shape, True, indptr=group["indptr"], indices=group["indices"], data=group["data"]
    )
    if layout == "csr" and reader.enable_direct():  # no-op for zarr, compressed or odd datasets
        reader.prefetch_indptr()
    return reader
