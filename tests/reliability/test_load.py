"""Concurrent clients fetching random genes from a real ``cellucid serve`` process.

Default (about 15 s): 20 clients × 10 s on a 200,000-cell backed .h5ad.
``CELLUCID_LOAD_FULL=1``: 50 clients × 30 s on a 1,000,000-cell backed .h5ad (the figures
in docs/security.md). The figures are printed; the test asserts behaviour only: no
failed request, health answered throughout, memory bounded, the file untouched.
"""

from __future__ import annotations

import os

import pytest

from relutil import file_state
from load_driver import data_file, run_load

FULL = os.environ.get("CELLUCID_LOAD_FULL") == "1"
CLIENTS, SECONDS, CELLS, GENES = (50, 30, 1_000_000, 2000) if FULL else (20, 10, 200_000, 1000)
# The server's caches are bounded (128 MB responses + 64 MB decoded fields by default);
# growth beyond ~1 GiB over the idle server would mean something is not bounded.
RSS_GROWTH_LIMIT_MB = 1024


@pytest.mark.slow
def test_concurrent_gene_fetches_no_errors_bounded_memory_health_responsive():
    path = data_file(CELLS, GENES)
    before = file_state(path)
    result = run_load(path, CLIENTS, SECONDS)
    print("\nload:", result.summary())
    assert result.errors == [], result.errors[:5]
    assert result.requests >= CLIENTS  # every client got answers
    assert result.health_probes >= 5 and result.health_failures == 0
    assert result.rss_peak_mb - result.rss_start_mb < RSS_GROWTH_LIMIT_MB, result.summary()
    assert file_state(path) == before
