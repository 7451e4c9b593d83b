"""Where cellucid keeps files of its own on the user's machine (standard library only, so the
command line can say where without importing the data layer)."""

from __future__ import annotations

import os
from pathlib import Path

ENV_CACHE_DIR = "CELLUCID_CACHE_DIR"
ENV_CACHE_MAX = "CELLUCID_CACHE_MAX"


def cache_root() -> Path:
    """cellucid's cache folder: ``$CELLUCID_CACHE_DIR``, else ``$XDG_CACHE_HOME/cellucid``,
    else ``~/.cache/cellucid``."""
    root = os.environ.get(ENV_CACHE_DIR)
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = os.path.join(xdg, "cellucid") if xdg else os.path.join(Path.home(), ".cache", "cellucid")
    return Path(root)


def gene_index_dir() -> Path:
    """The gene indexes' folder: ``gene-index`` in :func:`cache_root`."""
    return cache_root() / "gene-index"
