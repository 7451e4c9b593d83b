"""The gene index of a file never seen before gets built while clients keep requesting
genes (each of those requests scans the matrix until it is built).

Before the build had a guaranteed share of the time, it paused while any request scanned:
under load some request always was, so the index was never built and every request stayed
a scan (measured at 1M cells: 543 requests in 30 s, no index afterwards). Here: 20 clients
for 30 s on a 200,000-cell backed .h5ad whose index builds in about a second alone.
"""

from __future__ import annotations

import os

import pytest

from load_driver import data_file, run_load
from relutil import file_state

CLIENTS, SECONDS, CELLS, GENES = 20, 30, 200_000, 1000


@pytest.mark.slow
def test_index_gets_built_under_a_steady_stream_of_gene_requests(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("CELLUCID_CACHE_DIR", str(cache))  # never seen: an empty cache
    monkeypatch.delenv("CELLUCID_GENE_INDEX", raising=False)
    monkeypatch.delenv("CELLUCID_GENE_INDEX_DELAY", raising=False)
    path = data_file(CELLS, GENES)
    before = file_state(path)
    result = run_load(path, CLIENTS, SECONDS)
    print("\nload while building:", result.summary())
    assert result.errors == [], result.errors[:5]
    assert result.gene_index_first is not None and result.gene_index_first < 1.0  # it started unbuilt
    assert result.gene_index_last == 1.0, result.summary()  # … and was built during the load
    built = [p for p in os.listdir(cache / "gene-index") if p.endswith(".cgidx")]
    assert len(built) == 1
    assert file_state(path) == before
