"""Notice when the data files change under a running server.

A backed source keeps its file open. If the file is truncated or rewritten in place,
HDF5 reads past the new end as zeros; if a zarr store is deleted, zarr reads missing
chunks as the fill value. Either way the server would silently send wrong numbers.
So the server fingerprints the source's files at start (``DataSource.watched_paths``) and
checks the fingerprint around every data read: a change answers ``503`` with a clear
message, and ``/_cellucid/health`` reports it. A change is permanent for this server
(restart it to serve the new data).

For a folder (a zarr store, an export folder) every directory inside it is fingerprinted
too: deleting or renaming a file — such as one chunk of a zarr array — changes its
directory's modification time, so a chunk deleted while served is a clear ``503`` instead
of zarr's fill value. That costs one ``stat`` per directory per check (a few dozen for an
AnnData store; at most :data:`MAX_DIRS`, the shallowest). A chunk file rewritten in place keeps its
directory's time and is not seen.
"""

from __future__ import annotations

import os
from collections import deque
from pathlib import Path

from cellucid.data.base import CellucidError

#: Metadata files whose replacement means a folder store was rewritten.
_FOLDER_MARKERS = ("zarr.json", ".zgroup", ".zattrs", ".zmetadata", "dataset_identity.json")
#: Most directories of one folder store that are watched (the shallowest ones): ~3 µs of
#: ``stat`` each per check, so at most ~1.5 ms per check.
MAX_DIRS = 512


class DataChanged(CellucidError):
    """The served files changed on disk after the server opened them (HTTP 503)."""


def _stat(path: str) -> tuple | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def fingerprint(paths: tuple[str, ...]) -> dict[str, tuple | None]:
    """``stat`` facts of each path and, for folders, of their top-level metadata files and
    of every directory inside them (up to :data:`MAX_DIRS`)."""
    out: dict[str, tuple | None] = {}
    for p in paths:
        out[p] = _stat(p)
        if os.path.isdir(p):
            for name in _FOLDER_MARKERS:
                child = os.path.join(p, name)
                if os.path.exists(child):
                    out[child] = _stat(child)
            out.update((d, _stat(d)) for d in _directories(p, MAX_DIRS))
    return out


def _directories(root: str, limit: int) -> list[str]:
    """Up to ``limit`` directories inside ``root``, shallowest first (an array's own folder
    before the chunk-row folders deep inside another array)."""
    found: list[str] = []
    queue = deque([root])
    while queue and len(found) < limit:
        try:
            with os.scandir(queue.popleft()) as it:
                subdirs = sorted(e.path for e in it if e.is_dir(follow_symlinks=False))
        except OSError:
            continue
        found.extend(subdirs[: limit - len(found)])
        queue.extend(subdirs)
    return found


def _owner(path: str, roots: tuple[str, ...]) -> str:
    """The watched path (file or store folder) that ``path`` is, or lies in."""
    return next((r for r in roots if path == r or path.startswith(r.rstrip(os.sep) + os.sep)), path)


class FileWatch:
    """Remembers the fingerprint of a source's files; :meth:`check` raises once they change."""

    def __init__(self, paths: tuple[str, ...]):
        self.paths = tuple(str(p) for p in paths)
        self._start = fingerprint(self.paths)
        self.problem: str | None = None

    def check(self) -> None:
        """Raise :class:`DataChanged` if any watched file was replaced, changed or removed."""
        if self.problem is None and self.paths:
            for path, before in self._start.items():
                now = _stat(path)
                if now != before:
                    root = _owner(path, self.paths)
                    if root != path:  # a folder inside a store: files in it were removed or added
                        what = "was modified (files inside it were deleted, added or replaced)"
                    else:
                        what = "was deleted" if now is None else "was replaced or modified"
                    self.problem = f"the data file {Path(root).name!r} {what} while being served"
                    break
        if self.problem is not None:
            raise DataChanged(self.problem,
                              "Restart cellucid to serve the file as it is now; the data already "
                              "shown in the viewer came from the file as it was.")
