"""Helpers for reliability tests: "nothing lost" file fingerprints and fd counts."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def file_state(path) -> tuple[str, int, int]:
    """(sha256, size, mtime_ns): what "nothing lost" compares before and after."""
    p = Path(path)
    h = hashlib.sha256()
    with open(p, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    st = p.stat()
    return h.hexdigest(), st.st_size, st.st_mtime_ns


def open_fds() -> int:
    """File descriptors open in this process."""
    return len(os.listdir("/proc/self/fd"))
