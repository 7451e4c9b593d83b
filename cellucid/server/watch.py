"""Notice when the data files change under a running server.

A backed source keeps its file open. If the file is truncated or rewritten in place,
HDF5 reads past the new end as zeros; if a zarr store is deleted, zarr reads missing
chunks as the fill value. Either way the server would silently send wrong numbers.
So the server fingerprints the source's files at start (``DataSource.watched_paths``) and
checks the fingerprint around every data read: a change answers ``503`` with a clear
message, and ``/_cellucid/health`` reports it. A change is permanent for this server
(restart it to serve the new data).
"""

from __future__ import annotations

import os
from pathlib import Path

from cellucid.data.base import CellucidError

#: Metadata files whose replacement means a folder store was rewritten.
_FOLDER_MARKERS = ("zarr.json", ".zgroup", ".zattrs", ".zmetadata", "dataset_identity.json")


class DataChanged(CellucidError):
    """The served files changed on disk after the server opened them (HTTP 503)."""


def _stat(path: str) -> tuple | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def fingerprint(paths: tuple[str, ...]) -> dict[str, tuple | None]:
    """``stat`` facts of each path (and, for folders, of their top-level metadata files)."""
    out: dict[str, tuple | None] = {}
    for p in paths:
        out[p] = _stat(p)
        if os.path.isdir(p):
            for name in _FOLDER_MARKERS:
                child = os.path.join(p, name)
                if os.path.exists(child):
                    out[child] = _stat(child)
    return out


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
                    what = "was deleted" if now is None else "was replaced or modified"
                    self.problem = f"the data file {Path(path).name!r} {what} while being served"
                    break
        if self.problem is not None:
            raise DataChanged(self.problem,
                              "Restart cellucid to serve the file as it is now; the data already "
                              "shown in the viewer came from the file as it was.")
