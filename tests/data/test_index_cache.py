"""The gene-index cache respects the disk: a size cap, least-recently-used eviction, a clear
note (log once, /health) when an index is not built, and sizes/ages users can type."""

from __future__ import annotations

import logging
import os

import numpy as np
import pytest
import scipy.sparse as sp

from cellucid.data import store_source
from cellucid.data.gene_reading import index_cache
from cellucid.data.gene_reading.gene_index import GeneIndex, IndexedReader, cache_dir


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CELLUCID_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("CELLUCID_CACHE_MAX", raising=False)


def _csr(seed, n_rows=2000, n_cols=60):
    return sp.random(n_rows, n_cols, density=0.05, format="csr", dtype=np.float32, random_state=seed)


def _build(key, X, **kw):
    return GeneIndex.open_or_build(key, X.indptr, X.indices, X.data, *X.shape, background=False, progress=False,
                                   **kw)


def _keys():
    return sorted(e.key for e in index_cache.list_entries())


def test_least_recently_used_indexes_are_evicted_to_stay_under_the_cap():
    mats = {k: _csr(i) for i, k in enumerate("abcd")}
    size = _build("a", mats["a"]).path.stat().st_size
    cap = int(2.5 * size)  # room for two indexes, not three
    assert _build("b", mats["b"], cache_max=cap).ready
    assert _build("c", mats["c"], cache_max=cap).ready
    assert _keys() == ["b", "c"]  # a, the least recently used, made room for c
    again = _build("b", mats["b"], cache_max=cap)  # opened from the cache: b is now the newest
    assert again.ready and not again.built
    assert _build("d", mats["d"], cache_max=cap).ready
    assert _keys() == ["b", "d"]  # c went, not b
    assert index_cache.usage() <= cap
    np.testing.assert_array_equal(again.column(4), mats["b"][:, 4].toarray().ravel())


def test_an_index_larger_than_the_cap_is_not_built_and_reads_scan(caplog):
    from cellucid.data.gene_reading.columns import ColumnReader

    X = _csr(1)
    with caplog.at_level(logging.WARNING, logger="cellucid"):
        idx = _build("big", X, cache_max="1K")
    assert not idx.ready and not idx.built and idx.error is None
    assert "would need" in idx.note and "cache cap is 1.0 KB" in idx.note and "scanning" in idx.note
    assert not cache_dir().exists() or os.listdir(cache_dir()) == []
    warnings = [r for r in caplog.records if "would need" in r.getMessage()]
    assert len(warnings) == 1
    reader = IndexedReader(ColumnReader("csr", X.shape, False, indptr=X.indptr, indices=X.indices, data=X.data), idx)
    np.testing.assert_array_equal(reader.read(7), X[:, 7].toarray().ravel())


def test_the_environment_sets_the_cap_and_the_keyword_wins(monkeypatch):
    monkeypatch.setenv("CELLUCID_CACHE_MAX", "2K")
    idx = _build("env", _csr(2))
    assert not idx.ready and "(CELLUCID_CACHE_MAX;" in idx.note
    assert _build("env", _csr(2), cache_max="1G").ready


def test_default_cap_is_the_smaller_of_10_gib_and_half_the_free_space(tmp_path):
    limit, origin = index_cache.cache_limit()
    free = index_cache.shutil.disk_usage(tmp_path).free
    assert limit <= index_cache.DEFAULT_MAX_BYTES
    assert limit <= 0.5 * (free + index_cache.usage()) + 1
    assert origin in ("default", "50% of the free disk space")


@pytest.mark.parametrize("text,expected", [("10G", 10 * 2**30), ("500M", 500 * 2**20), ("1.5GiB", 3 * 2**29),
                                           ("200MB", 200 * 2**20), ("12345", 12345), (0, 0), ("2t", 2 * 2**40)])
def test_sizes(text, expected):
    assert index_cache.parse_size(text) == expected


@pytest.mark.parametrize("bad", ["lots", "-1G", "10 GB extra", ""])
def test_bad_sizes_say_what_is_accepted(bad):
    with pytest.raises(ValueError, match="use e.g. 10G"):
        index_cache.parse_size(bad)


def test_ages():
    assert index_cache.parse_age("30d") == 30 * 86400
    assert index_cache.parse_age("12h") == 12 * 3600
    with pytest.raises(ValueError, match="30d"):
        index_cache.parse_age("30 days")


def test_bad_cache_max_keyword_is_a_clear_input_error(make_adata, write_h5ad):
    from cellucid.data import open_source
    from cellucid.data.base import InputError

    with pytest.raises(InputError) as err:
        open_source(write_h5ad(make_adata()), cache_max="plenty")
    assert "cache_max" in err.value.message and "5G" in err.value.hint


def test_server_says_once_in_log_and_health_that_the_index_does_not_fit(make_adata, write_h5ad, monkeypatch, caplog):
    import json
    import urllib.request

    from cellucid.anndata_server import AnnDataServer

    monkeypatch.setattr(store_source, "GENE_INDEX_MIN_NNZ", 0)
    adata = make_adata(matrix="csr")
    with caplog.at_level(logging.WARNING, logger="cellucid"):
        with AnnDataServer(write_h5ad(adata), port=0, quiet=True, cache_max="1K") as server:
            for _ in range(2):
                with urllib.request.urlopen(server.url + "_cellucid/health") as resp:
                    health = json.load(resp)
            assert "would need" in health["gene_index_note"] and "scanning" in health["gene_index_note"]
            assert server.source.gene("CD3E").tolist() == np.asarray(adata[:, "CD3E"].X.toarray()).ravel().tolist()
    assert len([r for r in caplog.records if "would need" in r.getMessage()]) == 1
    assert not (cache_dir()).exists() or not any(n.endswith(".cgidx") for n in os.listdir(cache_dir()))


def test_list_records_the_source_file_and_clear_filters_by_file_and_age(make_adata, write_h5ad, monkeypatch):
    import time

    from cellucid.data import open_source

    monkeypatch.setattr(store_source, "GENE_INDEX_MIN_NNZ", 0)
    paths = [write_h5ad(make_adata(matrix="csr", seed=i), f"d{i}.h5ad") for i in range(3)]
    for p in paths:
        src = open_source(p)
        assert src._reader.index.wait(30)
        src.close()
    entries = index_cache.list_entries()
    assert sorted(e.source for e in entries) == sorted(str(p.resolve()) for p in paths)
    assert all(e.size > 0 and e.matrix == "X" for e in entries)
    old = {e.source: e for e in entries}[str(paths[0].resolve())]
    os.utime(old.path, (time.time() - 40 * 86400,) * 2)  # last used 40 days ago

    assert [e.source for e in index_cache.clear(older_than=30 * 86400)] == [str(paths[0].resolve())]
    assert [e.source for e in index_cache.clear(source=paths[1])] == [str(paths[1].resolve())]
    assert [e.source for e in index_cache.list_entries()] == [str(paths[2].resolve())]
    index_cache.clear()
    assert os.listdir(cache_dir()) == []
    for p in paths:  # the data files themselves are never touched
        assert p.exists()
