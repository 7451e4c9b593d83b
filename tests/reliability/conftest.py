"""Fixtures for load and fault tests: demo files on disk, servers on free loopback ports,
and the raw client shared with tests/security."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "security"))  # netprobe


@pytest.fixture(scope="module")
def demo_h5ad(tmp_path_factory):
    """A 20,000-cell × 500-gene demo .h5ad (written once per module)."""
    from cellucid.data.demo import write_demo_h5ad

    path = tmp_path_factory.mktemp("reliability") / "demo20k.h5ad"
    write_demo_h5ad(path, 20_000, 500, seed=3)
    return path
