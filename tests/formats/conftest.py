"""Fixtures for the format tests; the file writers live in ``format_files.py``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The HTTP test client of tests/server (real requests against a real server).
sys.path.insert(0, str(Path(__file__).parents[1] / "server"))

from format_files import counts_data, write_10x_h5, write_10x_mtx  # noqa: E402


@pytest.fixture
def tenx(tmp_path):
    """``(h5 path, gz folder, plain folder, data)`` of one small Cell Ranger dataset."""
    data = counts_data()
    h5 = write_10x_h5(tmp_path / "filtered_feature_bc_matrix.h5", *data)
    gz = write_10x_mtx(tmp_path / "filtered_feature_bc_matrix", *data, gz=True)
    plain = write_10x_mtx(tmp_path / "plain" / "filtered_feature_bc_matrix", *data, gz=False)
    return h5, gz, plain, data
