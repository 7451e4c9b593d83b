"""The gene-index cache on the user's disk: where it lives, how large it may grow, who builds.

A gene-major index costs 8 bytes per stored non-zero (about 16 GB for a 1M-cell × 20k-gene
atlas), and home directories on shared machines often have a 10–50 GB quota. So:

- **Location**: :func:`cache_dir` (``$CELLUCID_CACHE_DIR``, else ``$XDG_CACHE_HOME/cellucid``,
  else ``~/.cache/cellucid``; the ``gene-index`` subfolder).
- **Cap**: :func:`cache_limit` — the ``cache_max`` keyword, else ``$CELLUCID_CACHE_MAX``,
  else the smaller of :data:`DEFAULT_MAX_BYTES` and :data:`FREE_SHARE` of the space the
  cache could use (free space plus what it holds now, so the cap does not shrink as the
  cache itself fills the disk).
- **Room**: :func:`make_room` evicts the least recently used indexes until a new one fits
  under the cap, then checks the disk has the build's peak space free (plus a reserve).
  When it cannot, no build starts: genes are read by scanning the matrix.
- **Last used** is an index file's modification time, set each time a server opens it.
- **One builder per file**: :func:`build_lock` holds an exclusive ``flock`` on
  ``<key>.lock`` while building, across processes (two notebooks on one file); the second
  waits, then opens the first one's index instead of building it again.
- **Housekeeping**: :func:`list_entries` and :func:`clear` (``cellucid cache list|clear``).

This module imports neither numpy nor anything heavy: ``cellucid --help`` and ``cellucid
cache`` use it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from cellucid._paths import ENV_CACHE_DIR, ENV_CACHE_MAX, gene_index_dir

# Version 2: compact columns (see index_format). Bumping it changes every cache key, so an
# index written by an older cellucid is never opened; make_room removes such files first.
MAGIC = b"CLDGIDX2"
FORMAT_VERSION = 2
_MAGIC_PREFIX = b"CLDGIDX"
INDEX_SUFFIX = ".cgidx"
ENV_DIR = ENV_CACHE_DIR
ENV_MAX = ENV_CACHE_MAX
#: Default cap: at most this much …
DEFAULT_MAX_BYTES = 10 * 1024**3
#: … and at most this share of (free space + the cache's current size).
FREE_SHARE = 0.5
#: Left free on the disk after a build: this share of the disk, at most :data:`RESERVE_MAX`.
RESERVE_SHARE = 0.05
RESERVE_MAX = 1024**3
try:
    import fcntl  # noqa: F401 - only its presence matters here
    _HAVE_FLOCK = True
except ImportError:  # Windows
    _HAVE_FLOCK = False
# How often a waiting builder retries the lock (it also stops at once when its server stops).
_LOCK_POLL_S = 0.2

_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}

__all__ = [
    "CacheEntry", "build_lock", "cache_dir", "cache_limit", "clear", "file_cache_key", "format_size",
    "list_entries", "make_room", "parse_age", "parse_size",
]


def cache_dir() -> Path:
    """Directory holding the gene indexes: the ``gene-index`` subfolder of
    ``$CELLUCID_CACHE_DIR``, else ``$XDG_CACHE_HOME/cellucid``, else ``~/.cache/cellucid``
    (created on demand by a build)."""
    return gene_index_dir()


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


# -- sizes and ages -----------------------------------------------------------------------
def parse_size(text: str | int | float) -> int:
    """Bytes from ``10G``, ``500M``, ``1.5GiB``, ``200MB``, ``12345`` or a number (binary
    units: 1K = 1024). Raises ``ValueError`` with what is accepted."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        if text < 0:
            raise ValueError(f"a cache size cannot be negative: {text}")
        return int(text)
    m = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([kmgt]?)(?:i?b)?\s*", str(text), re.IGNORECASE)
    if not m:
        raise ValueError(f"not a size: {text!r} (use e.g. 10G, 500M, 2T or a number of bytes)")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def parse_age(text: str) -> float:
    """Seconds from ``30d``, ``12h``, ``90m``, ``2w`` or ``45s``."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d*)?)\s*([smhdw])\s*", str(text), re.IGNORECASE)
    if not m:
        raise ValueError(f"not an age: {text!r} (use e.g. 30d, 12h, 90m, 2w)")
    return float(m.group(1)) * _AGE_UNITS[m.group(2).lower()]


def format_size(n: int | float) -> str:
    """``1.1 GB``-style text (binary units, as :func:`parse_size` reads them)."""
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB" and abs(n) < 1024**2:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


# -- what is in the cache ----------------------------------------------------------------
@dataclass
class CacheEntry:
    """One index in the cache: its file, the data file it was built from (``""`` when not
    recorded), the matrix (``X``, ``raw``, ``layer:NAME``), size in bytes and last use
    (seconds since the epoch)."""

    path: Path
    source: str
    matrix: str
    size: int
    last_used: float
    version: int = FORMAT_VERSION

    @property
    def key(self) -> str:
        return self.path.name[: -len(INDEX_SUFFIX)]


def read_header(fd: int) -> dict:
    """The JSON header of an open index file of any format version (``ValueError`` when it
    is not one); callers compare ``header["version"]`` with :data:`FORMAT_VERSION`."""
    head = os.pread(fd, 16, 0)
    if len(head) != 16 or head[:7] != _MAGIC_PREFIX:
        raise ValueError("not a cellucid gene index")
    hlen = int.from_bytes(head[8:16], "little")
    if hlen > 1 << 20:
        raise ValueError("gene index header is too long")
    header = json.loads(os.pread(fd, hlen, 16))
    header["_header_len"] = hlen
    return header


def list_entries(directory: Path | None = None) -> list[CacheEntry]:
    """Every index in the cache, least recently used first."""
    directory = cache_dir() if directory is None else Path(directory)
    out = []
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    for name in names:
        if not name.endswith(INDEX_SUFFIX):
            continue
        path = directory / name
        try:
            st = path.stat()
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue  # removed meanwhile
        try:
            header = read_header(fd)
        except (ValueError, OSError):
            header = {}
        finally:
            os.close(fd)
        out.append(CacheEntry(path, str(header.get("source", "")), str(header.get("matrix", "")),
                              st.st_size, st.st_mtime, int(header.get("version", 0))))
    out.sort(key=lambda e: e.last_used)
    return out


def usage(directory: Path | None = None) -> int:
    """Bytes held by every file in the cache folder (indexes, builds in progress, leftovers)."""
    directory = cache_dir() if directory is None else Path(directory)
    total = 0
    try:
        with os.scandir(directory) as it:
            for entry in it:
                with contextlib.suppress(OSError):
                    if entry.is_file(follow_symlinks=False):
                        total += entry.stat(follow_symlinks=False).st_blocks * 512
    except OSError:
        pass
    return total


def mark_used(path: Path) -> None:
    """Record that an index was just opened (its mtime); a read-only cache is left alone."""
    now = time.time_ns()  # explicit: the kernel's own "now" is coarse (ms), ties would hide the order
    with contextlib.suppress(OSError):
        os.utime(path, ns=(now, now))


def _free_bytes(directory: Path) -> tuple[int, int]:
    """(free bytes for this user, total bytes) of the file system holding ``directory``
    (or its nearest existing parent)."""
    p = Path(directory)
    while not p.exists() and p != p.parent:
        p = p.parent
    du = shutil.disk_usage(p)
    return du.free, du.total


def cache_limit(max_bytes: str | int | None = None, directory: Path | None = None) -> tuple[int, str]:
    """``(cap in bytes, where it came from)``: the ``max_bytes`` keyword, else
    ``$CELLUCID_CACHE_MAX``, else min(:data:`DEFAULT_MAX_BYTES`, :data:`FREE_SHARE` × (free
    space + the cache's size))."""
    if max_bytes is not None:
        return parse_size(max_bytes), "cache_max"
    env = os.environ.get(ENV_MAX, "").strip()
    if env:
        try:
            return parse_size(env), ENV_MAX
        except ValueError as exc:
            raise ValueError(f"${ENV_MAX}: {exc}") from None
    directory = cache_dir() if directory is None else Path(directory)
    free, _total = _free_bytes(directory)
    share = int(FREE_SHARE * (free + usage(directory)))
    if share < DEFAULT_MAX_BYTES:
        return share, f"{FREE_SHARE:.0%} of the free disk space"
    return DEFAULT_MAX_BYTES, "default"


# -- room for a new index -----------------------------------------------------------------
def make_room(key: str, final_bytes: int, peak_bytes: int, max_bytes: str | int | None = None,
              directory: Path | None = None) -> str | None:
    """Make room for a new index of ``final_bytes`` (``peak_bytes`` on disk while it is built):
    evict least recently used indexes (never ``key``'s) until it fits under the cap, then check
    the disk has the peak free with a reserve left over. Returns ``None`` when the build may
    go ahead, else why not (a sentence for the log and ``/health``)."""
    directory = cache_dir() if directory is None else Path(directory)
    limit, origin = cache_limit(max_bytes, directory)
    hint = f"raise it with {ENV_MAX} or cache_max=" if origin != "cache_max" else "raise cache_max="
    if final_bytes > limit:
        return (f"the gene index would need {format_size(final_bytes)} and the cache cap is "
                f"{format_size(limit)} ({origin}; {hint})")
    _remove_stale_builds(directory)
    entries = list_entries(directory)
    for entry in entries:  # written by another cellucid version: never read again here
        if entry.version != FORMAT_VERSION and entry.key != key:
            with contextlib.suppress(OSError):
                entry.path.unlink()
    used = usage(directory)
    for entry in entries:
        if used + final_bytes <= limit:
            break
        if entry.key == key or entry.version != FORMAT_VERSION:  # ours / removed above
            continue
        # Safe even while another server reads it: POSIX keeps an open file readable.
        with contextlib.suppress(OSError):
            blocks = entry.path.stat().st_blocks * 512
            entry.path.unlink()
            used -= blocks
    if used + final_bytes > limit:
        return (f"the gene index would need {format_size(final_bytes)} and the cache holds "
                f"{format_size(used)} of its {format_size(limit)} cap in files being built by "
                f"other processes ({hint})")
    free, total = _free_bytes(directory)
    reserve = min(RESERVE_MAX, int(RESERVE_SHARE * total))
    if peak_bytes + reserve > free:
        return (f"building the gene index needs {format_size(peak_bytes)} of disk space and "
                f"{format_size(free)} is free on the cache's disk (keeping {format_size(reserve)} spare); "
                f"free some space or set {ENV_DIR} to a larger disk")
    return None


def _remove_stale_builds(directory: Path) -> None:
    """Remove temporary files of builds that are no longer running (a killed process)."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if name.endswith((".tmp", ".bucket")):
            key = name.split(".", 1)[0]
            with _try_lock(directory / f"{key}.lock") as held:
                if held:
                    with contextlib.suppress(OSError):
                        os.unlink(directory / name)


# -- one builder per index ----------------------------------------------------------------
def _lock_once(path: Path) -> int | None:
    """Try once to take the exclusive lock file at ``path``: its fd (held) or ``None`` (busy).

    The holder removes the file before releasing it, so after ``flock`` succeeds the file must
    still be the one at ``path`` — else someone locked an unlinked file and this retries."""
    import fcntl

    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


def _unlock(path: Path, fd: int) -> None:
    """Remove the lock file, then release it (no lock files are left behind)."""
    with contextlib.suppress(OSError):
        os.unlink(path)
    os.close(fd)


@contextlib.contextmanager
def _try_lock(path: Path):
    """Yield True if the lock at ``path`` was free (it is held inside the block), else False."""
    if not _HAVE_FLOCK:  # Windows: no cross-process lock; builds may overlap (still atomic)
        yield True
        return
    try:
        fd = _lock_once(path)
    except OSError:
        fd = None
    with _holding(path, fd) as held:
        yield held


@contextlib.contextmanager
def _holding(path: Path, fd: int | None):
    """Yield whether the lock ``fd`` (``None``: not taken) is held; release it on exit."""
    if fd is None:
        yield False
        return
    try:
        yield True
    finally:
        _unlock(path, fd)


@contextlib.contextmanager
def build_lock(key: str, cancel: threading.Event, on_wait=None, directory: Path | None = None):
    """Hold the build lock of ``key`` (an exclusive ``flock`` on ``<key>.lock``), waiting while
    another process or server holds it; ``on_wait()`` is called once if it has to wait.
    Yields ``True`` once held, ``False`` if ``cancel`` was set while waiting. Raises
    ``OSError`` when the lock file cannot be created (read-only cache)."""
    directory = cache_dir() if directory is None else Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if not _HAVE_FLOCK:
        yield True
        return
    path = directory / f"{key}.lock"
    waited = False
    while (fd := _lock_once(path)) is None:
        if not waited and on_wait is not None:
            on_wait()
        waited = True
        if cancel.wait(_LOCK_POLL_S):
            break
    with _holding(path, fd) as held:
        yield held


# -- housekeeping ---------------------------------------------------------------------------
def clear(older_than: float | None = None, source: str | os.PathLike | None = None,
          directory: Path | None = None) -> list[CacheEntry]:
    """Remove indexes (all; or those not used for ``older_than`` seconds; or those built from
    the data file ``source``) and leftovers of builds that are no longer running. An index
    being built is never removed. Returns the removed entries."""
    directory = cache_dir() if directory is None else Path(directory)
    want = str(Path(source).expanduser().resolve()) if source is not None else None
    now = time.time()
    removed = []
    for entry in list_entries(directory):
        if older_than is not None and now - entry.last_used < older_than:
            continue
        if want is not None and entry.source != want:
            continue
        with contextlib.suppress(OSError):
            entry.path.unlink()
            removed.append(entry)
    if older_than is None and want is None:
        _remove_stale_builds(directory)  # and the lock files of killed builds with them
        for name in os.listdir(directory) if directory.is_dir() else ():
            if name.endswith(".lock"):
                with _try_lock(directory / name):
                    pass  # taken (so not in use) and removed; a held one is left alone
    return removed
