"""Read uncompressed 1-D HDF5 datasets straight from the file, by byte offset.

h5py reads a slice of a chunked dataset through HDF5's chunk machinery: per chunk a B-tree
lookup, a copy into the chunk cache and another into the result, all under h5py's global
lock (so a background thread reading the file stalls every other h5py call). For a dataset
stored *without filters* (no compression, no shuffle — anndata's default for ``.h5ad``)
the bytes on disk are exactly the array's bytes, so once the chunk locations are known
(listed once with ``H5Dchunk_iter``, ~2 ms for 535 chunks) a slice is one ``os.preadv``
into a reusable numpy buffer per chunk, with no lock held.

:meth:`DirectArray.open` returns ``None`` for anything it cannot read this way (filters,
compact / external / virtual layout, unallocated chunks, a non-``sec2`` file driver, an
unusual dtype, a self-check that fails); callers then keep their h5py path.

Scanning (:meth:`DirectArray.find`) reads blocks with ``pread`` into a per-thread buffer
that stays in the CPU cache (:meth:`DirectArray.find_pread`), and picking the values at the
hits (:meth:`DirectArray.gather`) reads the spans holding them (:meth:`DirectArray.gather_pread`).
This is the default because it is the safe one: a file *truncated in place* while it is read
is then a short read, an :class:`OSError` the server answers as a JSON error, where a
memory mapping cut under a read raises SIGBUS and kills the process (in Jupyter, the kernel);
tests/reliability/test_truncated_while_served.py cuts a file under six scanning clients.

``CELLUCID_SCAN=mmap`` / ``CELLUCID_GATHER=mmap`` (or ``DirectArray.scan_method`` /
``gather_method = "mmap"``) compare straight from read-only mappings of at most
:data:`SCAN_WINDOW` bytes (8 MB), each unmapped right after use: no copy of the bytes, and
the resident set (VmRSS / VmHWM, which counts mapped file pages) grows by one window per
thread, not by the 560 MB of ``indices`` a whole-file mapping would add against the
server's 300 MB budget. The pages are mapped by the page-fault handler, which maps a
whole neighbourhood per fault (fault-around; the page cache holds large folios on this
kernel): touching 64 MB cost ~1.3 ms this way against ~3.5 ms with
``madvise(MADV_POPULATE_READ)`` (which maps page by page), so windows are not
pre-populated. The compare runs in steps of :data:`MAPPED_BLOCK` entries into a 1 MB
boolean buffer, whose hits are listed by :func:`_true_positions` (8-byte words screened
first: ~18 µs instead of ~30 µs per 256k entries); a failed mapping falls back to ``pread``.
Picking the values at the hits (:meth:`DirectArray.gather_mapped`) uses short-lived
read-only mappings of at most :data:`MAP_WINDOW` bytes (8 MB): only the pages holding hits
are touched instead of copying the spans between them (~15 ms against ~40 ms with
``pread`` spans for the ~75k hits of a gene at 1M cells, one thread). The risk of these
mapped paths: a file truncated in place while a window is mapped raises SIGBUS. The file
size is checked with ``fstat`` right before each mapping (and Python's ``mmap`` refuses to
map past the end), which narrows it to a truncation landing inside the ~1 ms one window is
in use. Replacing or deleting the file (a new inode; how anndata and most tools write) is
safe either way: the old inode stays readable.

Why offer mapped windows: a whole scan of ``indices`` costs less CPU than copying it with
``pread`` first, and a first gene comes sooner; the figures (1M cells) are in
docs/benchmark-history.md. Once the gene index is built, no gene is scanned at all.

The descriptor is a ``dup`` of the one h5py holds, so reads always see the same file
(inode) as h5py, even after the path is replaced or deleted.
"""

from __future__ import annotations

import contextlib
import functools
import mmap
import os
import threading
from typing import Any, NamedTuple

import numpy as np

__all__ = ["DirectArray", "Extent"]

# Elements per read step of find_pread: 1 MB of int32 stays in the L2/L3 cache between the
# copy and the compare; measured no better with 4 MB, worse with 64 KB (syscall count).
DEFAULT_BLOCK = 1 << 18
# Elements compared per step of find_mapped (nothing is copied, only the 1 MB boolean
# result must stay in cache): a full scan took ~11 % less CPU than with DEFAULT_BLOCK.
MAPPED_BLOCK = 1 << 20
# Bytes mapped at a time by gather_mapped: bounds what a gather adds to the resident set.
MAP_WINDOW = 8 << 20
# Bytes mapped at a time by find_mapped (same reason).
SCAN_WINDOW = 8 << 20


class Extent(NamedTuple):
    """``count`` elements starting at element ``start`` lie at byte ``offset`` of the file."""

    start: int
    count: int
    offset: int


def _layout_ok(dset: Any) -> bool:
    import h5py

    plist = dset.id.get_create_plist()
    if plist.get_nfilters() != 0 or plist.get_external_count() != 0:
        return False
    return plist.get_layout() in (h5py.h5d.CONTIGUOUS, h5py.h5d.CHUNKED)


def _chunk_extents(dset: Any) -> list[Extent] | None:
    """Every chunk of a 1-D chunked dataset, in element order; ``None`` if one is missing."""
    n = int(dset.shape[0])
    c = int(dset.chunks[0])
    found: list[tuple[int, int, int]] = []
    try:
        dset.id.chunk_iter(lambda info: found.append((info.chunk_offset[0], info.byte_offset, info.filter_mask)))
    except (AttributeError, NotImplementedError, TypeError):  # old HDF5: one call per chunk
        for i in range(dset.id.get_num_chunks()):
            info = dset.id.get_chunk_info(i)
            found.append((info.chunk_offset[0], info.byte_offset, info.filter_mask))
    found.sort()
    if len(found) != -(-n // c):
        return None  # unallocated chunks read as the fill value: leave that to HDF5
    out = []
    for k, (start, offset, mask) in enumerate(found):
        if start != k * c or mask != 0 or offset is None:
            return None
        out.append(Extent(start, min(c, n - start), int(offset)))
    return out


def _merge(extents: list[Extent], itemsize: int) -> list[Extent]:
    """Adjacent extents that are also adjacent in the file become one (fewer reads)."""
    merged: list[Extent] = []
    for e in extents:
        if merged:
            m = merged[-1]
            if m.start + m.count == e.start and m.offset + m.count * itemsize == e.offset:
                merged[-1] = Extent(m.start, m.count + e.count, m.offset)
                continue
        merged.append(e)
    return merged


def _mapped_else_copied(method: str, mapped, copied):
    """``mapped()`` when ``method`` is ``"mmap"``, falling back to ``copied()`` (``pread``)
    when the file cannot be mapped here (odd filesystem, address space); a file that shrank
    is an error either way, never retried."""
    if method == "mmap":
        try:
            return mapped()
        except (OSError, ValueError, BufferError) as exc:
            if isinstance(exc, OSError) and "shrank" in str(exc):
                raise
    return copied()


def _true_positions(mask: np.ndarray, words: np.ndarray) -> np.ndarray:
    """``np.flatnonzero(mask)`` (int64) for a sparse boolean ``mask``, ~40 % faster:
    ``mask`` seen as 8-byte words is screened with one compare into ``words`` (a scratch
    of ``len(mask) // 8`` booleans), and only the words holding a hit are resolved."""
    n8 = mask.shape[0] - mask.shape[0] % 8
    if n8 == 0 or not mask.flags.c_contiguous:
        return np.flatnonzero(mask)
    np.not_equal(mask[:n8].view(np.uint64), 0, out=words)
    pos = np.flatnonzero(words)
    if pos.size:
        word, byte = np.nonzero(mask[:n8].reshape(-1, 8)[pos])
        pos = pos[word] * 8 + byte  # nonzero is row-major: ascending
    if n8 < mask.shape[0]:
        tail = np.flatnonzero(mask[n8:])
        if tail.size:
            pos = np.concatenate([pos, tail + n8])
    return pos


def _pread_into(fd: int, buf: np.ndarray, offset: int) -> None:
    """Fill ``buf`` from ``offset``; a short read (file shrank) raises :class:`OSError`."""
    view = memoryview(buf).cast("B")
    while view:
        if _HAVE_PREADV:
            n = os.preadv(fd, [view], offset)
        else:  # macOS before Python 3.13: one extra copy
            chunk = os.pread(fd, len(view), offset)
            n = len(chunk)
            view[:n] = chunk
        if n <= 0:
            raise OSError(f"the file ended at byte {offset} while reading it (it was truncated?)")
        view, offset = view[n:], offset + n


_HAVE_PREADV = hasattr(os, "preadv")


def _holding_fd(method):
    """Run a read method with the descriptor held open (:meth:`DirectArray._in_use`)."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self._in_use():
            return method(self, *args, **kwargs)

    return wrapper


class DirectArray:
    """A 1-D uncompressed h5py dataset whose bytes are read with ``pread``.

    Thread-safe: reads use no shared state except the descriptor (``pread`` has no file
    position). Build with :meth:`open`; release with :meth:`close`.
    """

    def __init__(self, fd: int, dtype: np.dtype, n: int, extents: list[Extent], name: str = ""):
        self.fd = fd
        self.dtype = np.dtype(dtype)
        self.n = int(n)
        self.extents = extents
        self.name = name
        self._starts = np.asarray([e.start for e in extents], dtype=np.int64)
        self._end = max((e.offset + e.count * self.dtype.itemsize for e in extents), default=0)
        self._local = threading.local()
        self._users = 0  # reads in flight: close() waits for them (no reuse of a closed fd)
        self._closing = False
        self._lock = threading.Lock()
        # "pread" or "mmap": how find() reads the array and how gather() picks scattered
        # elements (see the module docstring). pread by default: a user's file cut in place
        # under a mapping kills the process with SIGBUS; under pread it is a short read.
        self.scan_method = os.environ.get("CELLUCID_SCAN", "pread")
        self.gather_method = os.environ.get("CELLUCID_GATHER", "pread")

    @classmethod
    def open(cls, dset: Any) -> "DirectArray | None":
        """A :class:`DirectArray` over the h5py dataset ``dset``, or ``None`` when it cannot
        be read directly (see the module docstring). Never raises for an unusual dataset."""
        try:
            return cls._open(dset)
        except Exception:  # noqa: BLE001 - anything odd: the caller keeps reading through h5py
            return None

    @classmethod
    def _open(cls, dset: Any) -> "DirectArray | None":
        import h5py

        if not hasattr(os, "pread") or not hasattr(mmap, "PROT_READ"):
            return None  # Windows: no positional reads; h5py it is
        if not isinstance(dset, h5py.Dataset) or dset.ndim != 1:
            return None
        dtype = np.dtype(dset.dtype)
        if dtype.kind not in "iuf" or dtype.itemsize not in (1, 2, 4, 8):
            return None
        f = dset.file
        if f.driver != "sec2" or f.mode != "r":
            return None  # only a read-only plain file: nothing else can change it under h5py
        if not _layout_ok(dset):
            return None
        n = int(dset.shape[0])
        if n == 0:
            extents: list[Extent] = []
        elif dset.chunks is None:
            offset = dset.id.get_offset()
            if offset is None:
                return None  # never written: HDF5 returns the fill value
            extents = [Extent(0, n, int(offset))]
        else:
            extents = _chunk_extents(dset)
            if extents is None:
                return None
        fd = os.dup(f.id.get_vfd_handle())
        arr = cls(fd, dtype, n, _merge(extents, dtype.itemsize), dset.name)
        try:
            ok = arr._self_check(dset)
        except Exception:  # noqa: BLE001
            ok = False
        if not ok:
            arr.close()
            return None
        return arr

    def _self_check(self, dset: Any) -> bool:
        """The bytes at the computed offsets are what h5py reads (first and last elements of
        each of a few extents): guards against any offset-convention surprise."""
        if not self.extents:
            return True
        picks = {0, len(self.extents) // 2, len(self.extents) - 1}
        for k in sorted(picks):
            e = self.extents[k]
            for lo in (e.start, max(e.start, e.start + e.count - 16)):
                hi = min(lo + 16, e.start + e.count)
                if not np.array_equal(self.read(lo, hi), dset[lo:hi]):
                    return False
        return True

    # -- reading --------------------------------------------------------------------------
    def check_size(self, end: int | None = None) -> None:
        """Raise :class:`OSError` if the file is now shorter than the data it must hold
        (up to byte ``end``, default: all of it)."""
        size = os.fstat(self.fd).st_size
        if size < (self._end if end is None else end):
            raise OSError(f"{self.name}: the file shrank to {size} bytes while being read (truncated?)")

    def blocks(self, start: int = 0, stop: int | None = None, block: int = DEFAULT_BLOCK):
        """``(start, count, offset)`` pieces of at most ``block`` elements covering
        ``start:stop``, in order."""
        stop = self.n if stop is None else min(int(stop), self.n)
        start = int(start)
        if start >= stop:
            return
        k = int(np.searchsorted(self._starts, start, side="right")) - 1
        item = self.dtype.itemsize
        while start < stop:
            e = self.extents[k]
            end = min(stop, e.start + e.count)
            for s in range(start, end, block):
                cnt = min(block, end - s)
                yield s, cnt, e.offset + (s - e.start) * item
            start = end
            k += 1

    @_holding_fd
    def read(self, start: int, stop: int, out: np.ndarray | None = None) -> np.ndarray:
        """Elements ``start:stop`` (clipped to the array) as a new array or into ``out``."""
        stop = min(int(stop), self.n)
        start = min(int(start), stop)
        if out is None:
            out = np.empty(stop - start, dtype=self.dtype)
        elif out.dtype != self.dtype or out.shape[0] < stop - start:
            raise ValueError("out has the wrong dtype or is too small")
        for s, cnt, off in self.blocks(start, stop, block=1 << 62):
            _pread_into(self.fd, out[s - start : s - start + cnt], off)
        return out[: stop - start]

    @property
    def shape(self) -> tuple[int]:
        return (self.n,)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, key: slice) -> np.ndarray:
        """``arr[a:b]`` (step 1 only), read from the file: lets code written for numpy or
        h5py slicing (e.g. the gene index builder) use direct reads."""
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise TypeError("DirectArray supports only arr[start:stop]")
        start, stop, _ = key.indices(self.n)
        return self.read(start, max(start, stop))

    def buffer(self, n: int, slot: str = "main") -> np.ndarray:
        """A per-thread scratch array of this dtype with at least ``n`` elements."""
        return self._scratch(f"buf_{slot}", n, self.dtype)

    def _scratch(self, slot: str, n: int, dtype: Any) -> np.ndarray:
        """A per-thread scratch array named ``slot`` with at least ``n`` elements."""
        buf = getattr(self._local, slot, None)
        if buf is None or buf.shape[0] < n:
            buf = np.empty(n, dtype=dtype)
            setattr(self._local, slot, buf)
        return buf[:n]

    def _hit_buffer(self, n: int) -> np.ndarray:
        return self._scratch("hit", n, bool)

    @_holding_fd
    def find(self, value: int, stop: int | None = None, block: int | None = None, start: int = 0) -> np.ndarray:
        """Ascending positions ``start <= p < stop`` where the array equals ``value`` (int64).

        :attr:`scan_method` picks how the bytes are read (:meth:`find_mapped`, the default,
        or :meth:`find_pread`); if the file cannot be mapped the scan is redone with
        ``pread``. A file that shrank raises :class:`OSError` either way.
        """
        return _mapped_else_copied(
            self.scan_method,
            lambda: self.find_mapped(value, stop, block, start),
            lambda: self.find_pread(value, stop, block, start),
        )

    def _scan_block(self, values: np.ndarray, value: int, first: int, parts: list, hit: np.ndarray) -> None:
        """Append the positions (offset by ``first``) where ``values == value`` to ``parts``."""
        h = hit[: values.shape[0]]
        np.equal(values, value, out=h)
        p = _true_positions(h, self._word_buffer(h.shape[0] // 8))
        if p.size:
            p += first
            parts.append(p)

    def _word_buffer(self, n: int) -> np.ndarray:
        return self._scratch("words", n, bool)

    @staticmethod
    def _joined(parts: list) -> np.ndarray:
        if not parts:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    @_holding_fd
    def find_mapped(self, value: int, stop: int | None = None, block: int | None = None, start: int = 0,
                    window: int | None = None) -> np.ndarray:
        """Like :meth:`find`, comparing straight from read-only mappings of at most
        ``window`` bytes, each unmapped right after use (see the module docstring): no copy,
        and the resident set grows by one window at most. Compared ``block`` elements at a
        time into a boolean buffer that stays in the CPU cache."""
        block = MAPPED_BLOCK if block is None else int(block)
        hit = self._hit_buffer(block)
        parts: list[np.ndarray] = []
        per = max((SCAN_WINDOW if window is None else window) // self.dtype.itemsize, block)
        for s, cnt, off in self.blocks(start, stop, per):

            def scan(view: np.ndarray) -> None:  # called at once, inside this iteration
                for k in range(0, view.shape[0], block):
                    self._scan_block(view[k : k + block], value, s + k, parts, hit)

            self._in_window(off, cnt, scan)
        return self._joined(parts)

    def _in_window(self, offset: int, count: int, use):
        """``use(view)`` on a read-only mapping of ``count`` elements at byte ``offset`` of
        the file, unmapped as soon as ``use`` returns (it must not keep ``view``). The file
        size is checked first: touching a mapping past the end of the file raises SIGBUS."""
        end = offset + count * self.dtype.itemsize
        self.check_size(end)
        base = offset - offset % mmap.ALLOCATIONGRANULARITY
        mm = mmap.mmap(self.fd, end - base, prot=mmap.PROT_READ, offset=base)
        try:
            # (the view is a temporary: gone when use returns, so close() finds no export)
            return use(np.frombuffer(mm, dtype=self.dtype, count=count, offset=offset - base))
        finally:
            mm.close()

    @_holding_fd
    def find_pread(self, value: int, stop: int | None = None, block: int | None = None, start: int = 0) -> np.ndarray:
        """Like :meth:`find`, each block read with ``pread`` into a per-thread buffer that
        stays in the CPU cache, then compared. Memory: two buffers of ``block`` elements per
        thread, plus the result."""
        block = DEFAULT_BLOCK if block is None else int(block)
        buf = self.buffer(block, "find")
        hit = self._hit_buffer(block)
        parts: list[np.ndarray] = []
        for s, cnt, off in self.blocks(start, stop, block):
            b = buf[:cnt]
            _pread_into(self.fd, b, off)
            self._scan_block(b, value, s, parts, hit)
        return self._joined(parts)

    @_holding_fd
    def gather(self, pos: np.ndarray) -> np.ndarray:
        """Elements at the ascending positions ``pos`` (see :meth:`gather_mapped` and
        :meth:`gather_pread`; :attr:`gather_method` picks one)."""
        return _mapped_else_copied(self.gather_method, lambda: self.gather_mapped(pos), lambda: self.gather_pread(pos))

    def _gather_target(self, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``pos`` as int64 (checked in range) and an empty output array for it."""
        pos = np.asarray(pos, dtype=np.int64)
        if pos.size and (pos[0] < 0 or pos[-1] >= self.n):
            raise IndexError("position out of range")
        return pos, np.empty(pos.shape[0], dtype=self.dtype)

    @_holding_fd
    def gather_mapped(self, pos: np.ndarray, window: int | None = None) -> np.ndarray:
        """Elements at the ascending positions ``pos``, picked from read-only mappings of
        at most ``window`` bytes of the file, each unmapped right after use.

        Only the pages holding the positions are touched (no copy of the spans between
        them), and the resident set grows by at most one window. The file size is checked
        before each mapping (see the module docstring for the remaining risk).
        """
        pos, out = self._gather_target(pos)
        if pos.size == 0:
            return out
        item = self.dtype.itemsize
        per = max((MAP_WINDOW if window is None else window) // item, 1)
        ext = np.searchsorted(self._starts, pos, side="right") - 1
        brk = np.empty(pos.shape[0], dtype=bool)
        brk[0] = True
        brk[1:] = ext[1:] != ext[:-1]
        brk[1:] |= (pos[1:] // per) != (pos[:-1] // per)
        firsts = np.flatnonzero(brk)
        lasts = np.append(firsts[1:], pos.shape[0])
        for a, b, k in zip(firsts.tolist(), lasts.tolist(), ext[firsts].tolist()):
            e = self.extents[k]
            lo, hi = int(pos[a]), int(pos[b - 1]) + 1
            self._in_window(e.offset + (lo - e.start) * item, hi - lo,
                            lambda view: view.take(pos[a:b] - lo, out=out[a:b]))
        return out

    @_holding_fd
    def gather_pread(self, pos: np.ndarray, gap: int = 1 << 14, window: int = DEFAULT_BLOCK) -> np.ndarray:
        """Elements at the ascending positions ``pos``.

        Nearby positions share one read: a run of positions with gaps below ``gap``
        elements (64 KB of float32: about what one more read and its Python step cost,
        ~10 µs, buys in copying) within one
        ``window`` is read as a span into a scratch buffer; isolated positions cost one
        small read each. So a rare gene reads a few KB, a common one about the whole array.
        """
        pos, out = self._gather_target(pos)
        if pos.size == 0:
            return out
        item = self.dtype.itemsize
        # Which extent each position falls in; runs break at extent and window borders.
        ext = np.searchsorted(self._starts, pos, side="right") - 1
        brk = np.empty(pos.shape[0], dtype=bool)
        brk[0] = True
        np.greater(np.diff(pos), gap, out=brk[1:])
        brk[1:] |= ext[1:] != ext[:-1]
        brk[1:] |= (pos[1:] // window) != (pos[:-1] // window)
        firsts = np.flatnonzero(brk)
        lasts = np.empty_like(firsts)
        lasts[:-1] = firsts[1:]
        lasts[-1] = pos.shape[0]
        buf = self.buffer(window, "gather")
        for a, b, k in zip(firsts.tolist(), lasts.tolist(), ext[firsts].tolist()):
            e = self.extents[k]
            lo, hi = int(pos[a]), int(pos[b - 1]) + 1
            span = buf[: hi - lo]
            _pread_into(self.fd, span, e.offset + (lo - e.start) * item)
            span.take(pos[a:b] - lo, out=out[a:b])
        return out

    @contextlib.contextmanager
    def _in_use(self):
        """Keep the descriptor open for the duration of one read (see :meth:`close`)."""
        with self._lock:
            if self._closing or self.fd < 0:
                raise OSError(f"{self.name}: the file was closed")
            self._users += 1
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                last = self._closing and self._users == 0
            if last:
                self._close_fd()

    def close(self) -> None:
        """Close the duplicated descriptor, once reads in flight are done (closing it under
        them could let a newly opened file take its number). Idempotent."""
        with self._lock:
            self._closing = True
            busy = self._users > 0
        if not busy:
            self._close_fd()

    def _close_fd(self) -> None:
        with self._lock:
            fd, self.fd = self.fd, -1
        if fd >= 0:
            os.close(fd)

    def __del__(self):  # a reader dropped without close() must not leak its descriptor
        try:
            self.close()
        except Exception:  # noqa: BLE001
            pass
