"""A gene-major (CSC) copy of a cell-major (CSR) expression matrix, cached on disk.

Reading one gene (a column) for all cells from an on-disk CSR matrix means scanning the
whole ``indices`` array: seconds at a million cells. This module builds, once per dataset
file, a column-major index in the user's cache directory and then answers one gene with a
single small contiguous read (about 3 bytes per stored entry of that gene for counts).

- Built from any array-likes that slice like numpy (h5py / zarr datasets of a backed
  AnnData, numpy arrays, or :class:`cellucid.data.gene_reading.hdf5_chunks.DirectArray` — used when the
  file allows it: ``pread`` at chunk offsets, no h5py lock held) in bounded-memory row
  chunks, optionally in a background thread with a tqdm progress bar. The server keeps
  answering with column scans until it is ready; while such a scan runs the build waits
  between its steps (:meth:`GeneIndex.foreground`), so the scan gets the CPU, the memory
  bus and the GIL — but never more than half the time (:data:`BUILD_SHARE`), so the
  build also ends under a steady stream of requests.
- Memory while building: ``indptr`` (8 bytes per row), a stage of 4M non-zeros held
  column-major (24 MB) and one 1M-non-zero chunk being sorted (~30 MB): bounded whatever
  the matrix size, so a build fits beside a server's memory budget (peak and build time
  at 1M cells in docs/benchmark-history.md).
- Stored under :func:`cache_dir` (``$CELLUCID_CACHE_DIR``, else
  ``$XDG_CACHE_HOME/cellucid``, else ``~/.cache/cellucid``), never next to the user's
  file; named by a key that changes when the file changes (:func:`file_cache_key`).
  The cache's size cap, least-recently-used eviction, free-space check and the lock that
  lets one process build a given index are :mod:`cellucid.data.gene_reading.index_cache`'s; when an
  index cannot be built, :attr:`GeneIndex.note` says why (logged once, shown in /health)
  and genes are read by scanning.
- Written atomically: a temporary file in the same directory, ``fsync``, then
  ``os.replace``. A half-written index is never visible under the final name.

File layout (little-endian)::

    b"CLDGIDX2" | uint64 header_len | JSON header (padded to 8 bytes)
    | int64 offsets[n_cols + 1]   byte offset of each column's block
    | int64 colptr[n_cols + 1]    entries before each column
    | uint8 codes[n_cols]         each column's value dtype (padded to 8 bytes)
    | column blocks, one after the other

A column's block (row-block counts, the low 16 bits of its rows, its values in the
smallest exact dtype; see :mod:`cellucid.data.gene_reading.index_format`) starts at
``blocks_offset + offsets[j]``, so one ``pread`` fetches it. Integer counts take about
3 bytes per non-zero (the ``.h5ad`` holds 8), float values 6 (4 when float16 is exact);
figures in docs/benchmarks.md. Format version 1 (8 bytes per non-zero) is not read: its
cache key differs, so it is rebuilt.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from cellucid.data.gene_reading import index_cache
from cellucid.data.gene_reading import index_format as fmt
from cellucid.data.gene_reading.index_build import DEFAULT_CHUNK_NNZ, STAGE_FACTOR, build_index
from cellucid.data.gene_reading.index_cache import FORMAT_VERSION, INDEX_SUFFIX, cache_dir, file_cache_key

log = logging.getLogger("cellucid.data")

# Longest the build waits for foreground reads to finish before taking a step anyway.
MAX_PAUSE_S = 2.0
# Share of the time the build keeps while gene requests scan: it pauses for them at most
# (1 - share) / share as long as it has just worked. Why: under a steady stream of
# requests (50 clients) some request is always scanning, and a build that yields to every
# one never finished — so every request stayed a scan, for ever. With half the time the
# build ends in about twice its own time and then every request is fast.
BUILD_SHARE = 0.5
# A background build starts this many seconds after it is requested (at source open), so
# it does not compete with the viewer's first requests; $CELLUCID_GENE_INDEX_DELAY overrides.
START_DELAY_S = 1.5
ENV_DELAY = "CELLUCID_GENE_INDEX_DELAY"

__all__ = ["GeneIndex", "IndexedReader", "cache_dir", "file_cache_key", "index_for_reader"]
# Set to "0" to never build or use gene indexes (e.g. no writable cache dir wanted).
ENV_DISABLE = "CELLUCID_GENE_INDEX"


def index_for_reader(reader: Any, path: str | os.PathLike, dataset_id: str = "", matrix: str = "X",
                     background: bool = True, progress: bool = True, min_nnz: int = 0,
                     cache_max: str | int | None = None) -> "GeneIndex | None":
    """A :class:`GeneIndex` for an on-disk CSR ``reader`` (:class:`cellucid.data.gene_reading.columns.ColumnReader`)
    of the file at ``path``, opened from the cache or built in the background; ``None`` when
    no index is useful (dense, CSC or in-memory matrix, or fewer than ``min_nnz`` stored
    entries: a scan is fast enough) or ``$CELLUCID_GENE_INDEX`` is ``0``. ``cache_max`` caps
    the whole cache (see :func:`cellucid.data.gene_reading.index_cache.cache_limit`).

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
                                   background=background, progress=progress, cache_max=cache_max,
                                   source={"source": str(Path(path).resolve()), "matrix": matrix})


class IndexedReader:
    """A column reader that answers from a :class:`GeneIndex` once it is ready and from the
    wrapped reader (e.g. :class:`cellucid.data.gene_reading.columns.ColumnReader`) until then.
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
        self._colptr: np.ndarray | None = None  # entries before each column
        self._offsets: np.ndarray | None = None  # byte offset of each column's block
        self._codes: np.ndarray | None = None  # each column's value dtype (index_format)
        self._nb = 0
        self._blocks_offset = 0
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._busy = 0  # foreground reads in flight; the build waits while > 0
        # Set by a server: True while a viewer is loading (a data request in the last second).
        # The build waits between its steps while it is, within the same share as for reads:
        # started during a page's first load it competed with the browser for 2 cores.
        self.yield_while: Callable[[], bool] | None = None
        self._pause_credit = 0.0  # seconds the build may still pause (see BUILD_SHARE)
        self._resumed: float | None = None  # when the build last went back to work
        self._idle = threading.Condition()
        # Set by close(): the build stops at its next step. Why: interpreter shutdown with a
        # daemon thread still inside h5py/numpy on the user's file can deadlock on h5py's lock.
        self._cancel = threading.Event()
        self._note: str | None = None
        self.built = False  # True once this object wrote the index (False: it found one)

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
        cache_max: str | int | None = None,
        source: dict | None = None,
    ) -> "GeneIndex":
        """Open the cached index for ``cache_key``, or build it from the CSR arrays.

        ``indptr`` (length ``n_rows + 1``), ``indices`` and ``data`` may be numpy arrays or
        h5py/zarr datasets; they are read in slices of about ``chunk_nnz`` non-zeros. With
        ``background=True`` the build runs in a daemon thread and this returns at once
        (``ready`` becomes true when done), after ``start_delay`` seconds (default
        ``$CELLUCID_GENE_INDEX_DELAY`` or :data:`START_DELAY_S`); otherwise it blocks until
        built. ``source`` (``{"source": path, "matrix": name}``) is recorded in the index
        for ``cellucid cache list``.

        A build starts only when the index fits under the cache cap (``cache_max``, see
        :func:`~cellucid.data.gene_reading.index_cache.cache_limit`; least recently used indexes are
        evicted for it) and on the disk, and only one process builds a given index at a
        time (another one waits, then opens it). Never raises for a build problem: it is
        stored in :attr:`error`, and :attr:`note` says in a sentence why there is no index.
        """
        if not all(c.isalnum() or c in "-_." for c in cache_key) or not cache_key:
            raise ValueError(f"cache_key must be a non-empty file-name-safe string, got {cache_key!r}")
        idx = cls(cache_dir() / f"{cache_key}{INDEX_SUFFIX}", n_rows, n_cols)
        if idx._try_open():
            return idx
        if start_delay is None:
            try:
                start_delay = float(os.environ.get(ENV_DELAY, START_DELAY_S))
            except ValueError:
                start_delay = START_DELAY_S
        nnz = int(indptr[-1])  # one element read
        staged = (STAGE_FACTOR * chunk_nnz) // max(n_cols, 1) >= 256
        # At most: header padded generously, the tables, and float32 values for every column
        # (the dtypes are known only after the build's first pass).
        final = 16 + 4096 + 17 * (n_cols + 1) + 4 * fmt.n_blocks(n_rows) * n_cols + 6 * nnz
        # The bucketed writer holds 12 bytes per non-zero in bucket files before it writes
        # the index's (the index file is sparse until then).
        peak = final if staged else final + 12 * nnz

        def room() -> bool:
            try:
                why = index_cache.make_room(cache_key, final, peak, cache_max)
            except (OSError, ValueError) as exc:
                why = f"the gene index cache is not usable ({exc})"
            if why is not None:
                idx._skip(why)
            return why is None

        def run() -> None:
            if background and start_delay > 0:
                # Let the first requests after start (embedding, coloring, the first gene)
                # have the machine: they are what a user waits for; the build is not.
                if idx._cancel.wait(start_delay):
                    return

            def on_wait() -> None:  # another server (this process or another) holds the lock
                idx._set_note("another cellucid process is building this gene index; genes are read "
                              "by scanning until it is done")

            try:
                with index_cache.build_lock(cache_key, idx._cancel, on_wait) as held:
                    if not held or idx._try_open():  # stopped while waiting / the other one built it
                        return
                    idx._set_note(None)
                    if not room():  # checked again: the disk may have filled since the start
                        return
                    build_index(idx.path, indptr, indices, data, idx.n_rows, idx.n_cols, chunk_nnz, progress,
                                idx, source)
                    if not idx._try_open():
                        raise OSError(f"gene index {idx.path} was built but could not be opened")
                    idx.built = True
                idx.progress = 1.0
            except _Cancelled:
                pass  # closed while building: the temporary file is already removed
            except BaseException as exc:  # kept for the caller; it falls back to the slow path
                idx.error = exc
                idx._skip(_build_failure(exc))

        if not room():  # said at once (log, /health), not after the start delay
            return idx
        if background:
            idx._thread = threading.Thread(target=run, name="cellucid-gene-index", daemon=True)
            idx._thread.start()
        else:
            run()
        return idx

    @property
    def note(self) -> str | None:
        """Why genes are (still) read by scanning instead of from this index, in a sentence
        (the build would not fit, failed, or waits for another process); ``None`` otherwise."""
        return self._note

    def _set_note(self, note: str | None) -> None:
        self._note = note

    def _skip(self, why: str) -> None:
        """No index this time: say so once in the log, keep it for /health."""
        note = f"{why}; genes are read by scanning the matrix (correct, slower)"
        if self._note != note:
            log.warning("cellucid: %s", note)
        self._note = note

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
        its steps until none is, within its guaranteed share of the time (:data:`BUILD_SHARE`)."""
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
        """Called by the build between steps: stop if closed, wait while a read is in flight
        (or :attr:`yield_while` says a viewer is loading) — but only as long as the build's
        guaranteed share (:data:`BUILD_SHARE`) allows: each
        second of work earns ``(1 - share) / share`` seconds of pause (at most
        :data:`MAX_PAUSE_S` banked, which is also what the first step may wait), so the
        build always progresses."""
        if self._cancel.is_set():
            raise _Cancelled()
        now = time.monotonic()
        if self._resumed is None:  # the first step may wait (a request already scanning) …
            self._pause_credit = MAX_PAUSE_S
        else:  # … later ones as long as the build's share allows
            earned = (now - self._resumed) * (1 - BUILD_SHARE) / BUILD_SHARE
            self._pause_credit = min(self._pause_credit + earned, MAX_PAUSE_S)
        others = self.yield_while
        with self._idle:
            if (self._busy or (others is not None and others())) and self._pause_credit > 0:
                if others is None:
                    self._idle.wait_for(lambda: self._busy == 0 or self._cancel.is_set(), timeout=self._pause_credit)
                else:  # (a time-based condition: looked at again every 50 ms)
                    deadline = now + self._pause_credit
                    while not self._cancel.is_set() and (self._busy or others()) and time.monotonic() < deadline:
                        self._idle.wait(min(0.05, deadline - time.monotonic()))
                self._pause_credit = max(0.0, self._pause_credit - (time.monotonic() - now))
        if self._cancel.is_set():
            raise _Cancelled()
        self._resumed = time.monotonic()

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
        lo, hi = int(self._offsets[j]), int(self._offsets[j + 1])
        buf = os.pread(self._fd, hi - lo, self._blocks_offset + lo) if hi > lo else b""
        try:
            return fmt.decode(buf, self.nnz(j), self._nb, int(self._codes[j]))
        except ValueError as exc:  # short read or bad counts: the file was cut or damaged
            raise OSError(f"gene index {self.path} is damaged ({exc})") from None

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
            header = index_cache.read_header(fd)
            hlen = header["_header_len"]
            if (header["version"], header["n_rows"], header["n_cols"]) != (FORMAT_VERSION, self.n_rows, self.n_cols):
                raise ValueError("header does not match")
            n = self.n_cols + 1
            table_off = 16 + hlen
            table_len = 16 * n + self.n_cols
            table = os.pread(fd, table_len, table_off)
            if len(table) != table_len:
                raise ValueError("tables are cut short")
            offsets = np.frombuffer(table, dtype="<i8", count=n)
            colptr = np.frombuffer(table, dtype="<i8", count=n, offset=8 * n)
            codes = np.frombuffer(table, dtype=np.uint8, count=self.n_cols, offset=16 * n)
            blocks = table_off + table_len + (-table_len % 8)
            if codes.size and codes.max() >= len(fmt.VALUE_DTYPES):
                raise ValueError("unknown value dtype")
            if os.fstat(fd).st_size != blocks + int(offsets[-1]):
                raise ValueError("size does not match")
        except (ValueError, KeyError, OSError):
            os.close(fd)
            return False
        with self._lock:
            self._fd, self._blocks_offset = fd, blocks
            self._offsets, self._colptr, self._codes = offsets.copy(), colptr.copy(), codes.copy()
            self._nb = fmt.n_blocks(self.n_rows)
            self._ready.set()
        index_cache.mark_used(self.path)  # least recently used indexes are evicted first
        self._note = None
        return True


def _build_failure(exc: BaseException) -> str:
    """Why a build failed, in a sentence for the log and /health (never a traceback, never a
    local path: /health is readable by anyone who can reach the server)."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return f"the disk filled up while building the gene index ({exc.strerror})"
    if isinstance(exc, OSError) and exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return (f"the gene index cache folder is not writable ({exc.strerror}); set "
                f"{index_cache.ENV_DIR} to a writable folder")
    if isinstance(exc, OSError) and exc.strerror:
        return f"building the gene index failed ({exc.strerror})"
    return f"building the gene index failed ({type(exc).__name__}: {exc})"


class _Cancelled(Exception):
    """Raised inside the build when :meth:`GeneIndex.close` asks it to stop."""
