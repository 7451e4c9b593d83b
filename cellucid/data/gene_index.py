"""A gene-major (CSC) copy of a cell-major (CSR) expression matrix, cached on disk.

Reading one gene (a column) for all cells from an on-disk CSR matrix means scanning the
whole ``indices`` array: seconds at a million cells. This module builds, once per dataset
file, a column-major index in the user's cache directory and then answers one gene with a
single small contiguous read (``8 × nnz_of_that_gene`` bytes).

- Built from any array-likes that slice like numpy (h5py / zarr datasets of a backed
  AnnData, numpy arrays, or :class:`cellucid.data.hdf5_chunks.DirectArray` — used when the
  file allows it: ``pread`` at chunk offsets, no h5py lock held) in bounded-memory row
  chunks, optionally in a background thread with a tqdm progress bar. The server keeps
  answering with column scans until it is ready; while such a scan runs the build waits
  between its steps (:meth:`GeneIndex.foreground`), so the scan gets the CPU, the memory
  bus and the GIL.
- Memory while building: ``indptr`` (8 bytes per row), a stage of 4M non-zeros held
  column-major (32 MB) and one 1M-non-zero chunk being sorted (~30 MB). At 1M cells ×
  2,000 genes ``cellucid serve`` peaked at 219–225 MB (VmHWM) while building with gene
  requests in between (246–253 MB before direct reads and this writer); the build took
  8.7–18 s on this shared, loaded 2-core VM (before: 10–40 s under the same loads; ~9–19 s
  standalone for both, the writes to the page cache and the sorts dominate).
- Stored under :func:`cache_dir` (``$CELLUCID_CACHE_DIR``, else
  ``$XDG_CACHE_HOME/cellucid``, else ``~/.cache/cellucid``), never next to the user's
  file; named by a key that changes when the file changes (:func:`file_cache_key`).
- Written atomically: a temporary file in the same directory, ``fsync``, then
  ``os.replace``. A half-written index is never visible under the final name.

File layout (little-endian)::

    b"CLDGIDX1" | uint64 header_len | JSON header (padded to 8 bytes)
    | int64 colptr[n_cols + 1]
    | for each column j: uint32 rows[nnz_j] then float32 values[nnz_j]

Column ``j``'s block starts at ``blocks_offset + 8 * colptr[j]`` and is ``8 * nnz_j``
bytes long, so one ``pread`` fetches it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

MAGIC = b"CLDGIDX1"
FORMAT_VERSION = 1
# Non-zeros per build chunk and per column group: the builder's transient memory is
# ~60 bytes × this (~65 MB), whatever the matrix size.
DEFAULT_CHUNK_NNZ = 1 << 20
# The staged writer gathers this many chunks column-major before writing (8 bytes per
# non-zero: 32 MB at the default chunk), so each column gets one write per stage.
STAGE_FACTOR = 4
# Longest the build waits for foreground reads to finish before taking a step anyway
# (so a steady stream of requests cannot stall it for ever).
MAX_PAUSE_S = 2.0
# A background build starts this many seconds after it is requested (at source open), so
# it does not compete with the viewer's first requests; $CELLUCID_GENE_INDEX_DELAY overrides.
START_DELAY_S = 1.5
ENV_DELAY = "CELLUCID_GENE_INDEX_DELAY"

__all__ = ["GeneIndex", "IndexedReader", "cache_dir", "file_cache_key", "index_for_reader"]
# Set to "0" to never build or use gene indexes (e.g. no writable cache dir wanted).
ENV_DISABLE = "CELLUCID_GENE_INDEX"


def cache_dir() -> Path:
    """Directory holding cellucid's gene indexes (created on demand by the builder).

    ``$CELLUCID_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/cellucid``, else
    ``~/.cache/cellucid``; the ``gene-index`` subfolder of that.
    """
    root = os.environ.get("CELLUCID_CACHE_DIR")
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = os.path.join(xdg, "cellucid") if xdg else os.path.join(Path.home(), ".cache", "cellucid")
    return Path(root) / "gene-index"


def file_cache_key(path: str | os.PathLike, dataset_id: str = "", matrix: str = "X") -> str:
    """Cache key for the index of ``matrix`` in the file at ``path``.

    Combines the dataset id, the absolute path, the file size and its modification time
    (nanoseconds), so rewriting or touching the file gives a new key and a stale index is
    never used. For a directory (zarr store) the sizes and newest mtime of all its files
    count.
    """
    p = Path(path).resolve()
    st = p.stat()
    size, mtime = st.st_size, st.st_mtime_ns
    if p.is_dir():
        # A zarr store: a directory's own mtime does not change when files inside are
        # rewritten, so fold in every file of the store.
        for dirpath, _dirs, files in os.walk(p):
            for name in files:
                s = os.stat(os.path.join(dirpath, name))
                size += s.st_size
                mtime = max(mtime, s.st_mtime_ns)
    payload = json.dumps([FORMAT_VERSION, dataset_id, str(p), size, mtime, matrix])
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def index_for_reader(reader: Any, path: str | os.PathLike, dataset_id: str = "", matrix: str = "X",
                     background: bool = True, progress: bool = True, min_nnz: int = 0) -> "GeneIndex | None":
    """A :class:`GeneIndex` for an on-disk CSR ``reader`` (:class:`cellucid.data.expression.ColumnReader`)
    of the file at ``path``, opened from the cache or built in the background; ``None`` when
    no index is useful (dense, CSC or in-memory matrix, or fewer than ``min_nnz`` stored
    entries: a scan is fast enough) or ``$CELLUCID_GENE_INDEX`` is ``0``.

    Callers use ``idx.column(j)`` once ``idx.ready`` and their own reader until then.
    """
    if os.environ.get(ENV_DISABLE, "1").strip() in ("0", "false", "no", "off"):
        return None
    if reader is None or getattr(reader, "layout", None) != "csr" or not getattr(reader, "on_disk", False):
        return None
    if min_nnz and int(reader.indptr[-1]) < min_nnz:  # one element read, not the whole indptr
        return None
    n_rows, n_cols = reader.shape
    key = file_cache_key(path, dataset_id, matrix)
    # Direct (pread) access when the reader has it: faster, and no h5py global lock held
    # for seconds by the build thread while a request wants to read.
    indices, data = getattr(reader, "direct", None) or (reader.indices, reader.data)
    indptr = reader.full_indptr() if hasattr(reader, "full_indptr") else reader.indptr  # one shared copy
    return GeneIndex.open_or_build(key, indptr, indices, data, n_rows, n_cols,
                                   background=background, progress=progress)


class IndexedReader:
    """A column reader that answers from a :class:`GeneIndex` once it is ready and from the
    wrapped reader (e.g. :class:`cellucid.data.expression.ColumnReader`) until then.
    Every other attribute (``shape``, ``layout``, …) is the wrapped reader's."""

    def __init__(self, reader: Any, index: "GeneIndex"):
        self.reader = reader
        self.index = index

    def read(self, j: int) -> np.ndarray:
        """Dense float32 column ``j``: one small read when the index is ready, else a scan
        (during which the build pauses, see :meth:`GeneIndex.foreground`)."""
        if self.index.ready:
            try:
                return self.index.column(j)
            except OSError:  # index file gone or damaged: the matrix is still there
                pass
        with self.index.foreground():
            return self.reader.read(j)

    def read_sparse(self, j: int) -> tuple[np.ndarray, np.ndarray] | None:
        """``(rows, values)`` of column ``j`` from the ready index, else from the wrapped
        reader's ``read_sparse`` when it has one (a direct CSR scan yields exactly these),
        else ``None`` (read dense)."""
        if self.index.ready:
            try:
                return self.index.column_sparse(j)
            except OSError:
                pass
        read = getattr(self.reader, "read_sparse", None)
        if read is None:
            return None
        with self.index.foreground():
            return read(j)

    def close(self) -> None:
        self.index.close()
        close = getattr(self.reader, "close", None)
        if close is not None:
            close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.reader, name)


class GeneIndex:
    """Column access to a CSR matrix through an on-disk CSC index.

    Use :meth:`open_or_build`; then check :attr:`ready` and call :meth:`column`.
    ``error`` holds the exception if building failed (the caller keeps its slow path).
    """

    def __init__(self, path: Path, n_rows: int, n_cols: int):
        self.path = Path(path)
        self.n_rows = int(n_rows)
        self.n_cols = int(n_cols)
        self.error: BaseException | None = None
        self.progress = 0.0  # fraction of non-zeros written, 0..1
        self._ready = threading.Event()
        self._fd: int | None = None
        self._colptr: np.ndarray | None = None
        self._blocks_offset = 0
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._busy = 0  # foreground reads in flight; the build waits while > 0
        self._idle = threading.Condition()
        # Set by close(): the build stops at its next step. Why: interpreter shutdown with a
        # daemon thread still inside h5py/numpy on the user's file can deadlock on h5py's lock.
        self._cancel = threading.Event()

    # -- public API ---------------------------------------------------------------------
    @classmethod
    def open_or_build(
        cls,
        cache_key: str,
        indptr: Any,
        indices: Any,
        data: Any,
        n_rows: int,
        n_cols: int,
        background: bool = True,
        progress: bool = True,
        chunk_nnz: int = DEFAULT_CHUNK_NNZ,
        start_delay: float | None = None,
    ) -> "GeneIndex":
        """Open the cached index for ``cache_key``, or build it from the CSR arrays.

        ``indptr`` (length ``n_rows + 1``), ``indices`` and ``data`` may be numpy arrays or
        h5py/zarr datasets; they are read in slices of about ``chunk_nnz`` non-zeros. With
        ``background=True`` the build runs in a daemon thread and this returns at once
        (``ready`` becomes true when done), after ``start_delay`` seconds (default
        ``$CELLUCID_GENE_INDEX_DELAY`` or :data:`START_DELAY_S`); otherwise it blocks until
        built.
        Never raises for a build problem: it is stored in :attr:`error`.
        """
        if not all(c.isalnum() or c in "-_." for c in cache_key) or not cache_key:
            raise ValueError(f"cache_key must be a non-empty file-name-safe string, got {cache_key!r}")
        idx = cls(cache_dir() / f"{cache_key}.cgidx", n_rows, n_cols)
        if idx._try_open():
            return idx
        if start_delay is None:
            try:
                start_delay = float(os.environ.get(ENV_DELAY, START_DELAY_S))
            except ValueError:
                start_delay = START_DELAY_S

        def run() -> None:
            if background and start_delay > 0:
                # Let the first requests after start (embedding, coloring, the first gene)
                # have the machine: they are what a user waits for; the build is not.
                if idx._cancel.wait(start_delay):
                    return
            try:
                _build(idx.path, indptr, indices, data, idx.n_rows, idx.n_cols, chunk_nnz, progress, idx)
                if not idx._try_open():
                    raise OSError(f"gene index {idx.path} was built but could not be opened")
                idx.progress = 1.0
            except _Cancelled:
                pass  # closed while building: the temporary file is already removed
            except BaseException as exc:  # kept for the caller; it falls back to the slow path
                idx.error = exc

        if background:
            idx._thread = threading.Thread(target=run, name="cellucid-gene-index", daemon=True)
            idx._thread.start()
        else:
            run()
        return idx

    @property
    def ready(self) -> bool:
        """True once the index is on disk and open."""
        return self._ready.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until ready (or the build failed, or ``timeout`` seconds); return :attr:`ready`."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.ready

    @contextlib.contextmanager
    def foreground(self):
        """Mark a foreground (interactive) read in flight: a running build waits between
        its steps until none is (at most :data:`MAX_PAUSE_S` per step)."""
        with self._idle:
            self._busy += 1
        try:
            yield
        finally:
            with self._idle:
                self._busy -= 1
                if self._busy == 0:
                    self._idle.notify_all()

    def _pause_for_foreground(self) -> None:
        """Called by the build between steps: stop if closed, wait while a read is in flight."""
        if self._cancel.is_set():
            raise _Cancelled()
        with self._idle:
            if self._busy:
                self._idle.wait_for(lambda: self._busy == 0 or self._cancel.is_set(), timeout=MAX_PAUSE_S)
        if self._cancel.is_set():
            raise _Cancelled()

    def column(self, j: int) -> np.ndarray:
        """Dense float32 values of column ``j`` for all rows (one contiguous read)."""
        rows, vals = self.column_sparse(j)
        out = np.zeros(self.n_rows, dtype=np.float32)
        out[rows] = vals
        return out

    def column_sparse(self, j: int) -> tuple[np.ndarray, np.ndarray]:
        """Stored entries of column ``j``: ``(rows uint32, values float32)`` in CSR row order
        (one contiguous read; no dense array is built — the server's sparse gene route)."""
        if not self.ready:
            raise RuntimeError("gene index is not ready yet; check .ready first")
        j = int(j)
        if not 0 <= j < self.n_cols:
            raise IndexError(f"column {j} out of range 0..{self.n_cols - 1}")
        lo, hi = int(self._colptr[j]), int(self._colptr[j + 1])
        n = hi - lo
        buf = os.pread(self._fd, 8 * n, self._blocks_offset + 8 * lo) if n else b""
        if len(buf) != 8 * n:
            raise OSError(f"gene index {self.path} is truncated")
        return np.frombuffer(buf, dtype="<u4", count=n), np.frombuffer(buf, dtype="<f4", count=n, offset=4 * n)

    def nnz(self, j: int) -> int:
        """Number of stored entries of column ``j``."""
        return int(self._colptr[int(j) + 1] - self._colptr[int(j)])

    def close(self, timeout: float = 10.0) -> None:
        """Stop a running build (it removes its temporary file) and wait up to ``timeout``
        seconds for it, then close the file handle. Idempotent.

        Callers close the matrix's file only after this, so the build thread never reads
        from a closed file or holds h5py's lock at interpreter exit.
        """
        self._cancel.set()
        with self._idle:
            self._idle.notify_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        with self._lock:
            self._ready.clear()
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    # -- internals ----------------------------------------------------------------------
    def _try_open(self) -> bool:
        """Open and validate an existing index file; False when missing or unusable."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return False
        try:
            head = os.pread(fd, 16, 0)
            if len(head) != 16 or head[:8] != MAGIC:
                raise ValueError("bad magic")
            hlen = int.from_bytes(head[8:16], "little")
            header = json.loads(os.pread(fd, hlen, 16))
            if (header["version"], header["n_rows"], header["n_cols"]) != (FORMAT_VERSION, self.n_rows, self.n_cols):
                raise ValueError("header does not match")
            colptr_off = 16 + hlen
            colptr = np.frombuffer(os.pread(fd, 8 * (self.n_cols + 1), colptr_off), dtype="<i8")
            blocks = colptr_off + 8 * (self.n_cols + 1)
            if colptr.size != self.n_cols + 1 or os.fstat(fd).st_size != blocks + 8 * int(colptr[-1]):
                raise ValueError("size does not match")
        except (ValueError, KeyError, OSError):
            os.close(fd)
            return False
        with self._lock:
            self._fd, self._colptr, self._blocks_offset = fd, colptr.copy(), blocks
            self._ready.set()
        return True


class _Cancelled(Exception):
    """Raised inside the build when :meth:`GeneIndex.close` asks it to stop."""


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


def _build(path: Path, indptr, indices, data, n_rows: int, n_cols: int, chunk_nnz: int, progress: bool, owner: GeneIndex) -> None:
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

    header = json.dumps({"version": FORMAT_VERSION, "n_rows": n_rows, "n_cols": n_cols, "nnz": nnz}).encode()
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
