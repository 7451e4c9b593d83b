"""Annotation tests: real servers on free loopback ports, folders and git repositories in tmp_path."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "server"))  # server_http.Client
sys.path.insert(0, str(HERE.parent / "cli"))     # cli_process.run_cli / Serving


@pytest.fixture
def clustered_h5ad(tmp_path):
    """600 demo cells written by anndata, with a ``leiden`` categorical field."""
    from cellucid.data.demo import demo_anndata

    adata = demo_anndata(600, 50)
    path = tmp_path / "data.h5ad"
    adata.write_h5ad(path)
    return path
