"""A backed CSR store reads genes through the gene-major index once it is built."""

from __future__ import annotations

import os

import numpy as np

from cellucid.data import open_source
from cellucid.data import store_source


def test_backed_csr_store_uses_the_gene_index_and_keeps_values(make_adata, write_h5ad, tmp_path, monkeypatch):
    monkeypatch.setenv("CELLUCID_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(store_source, "GENE_INDEX_MIN_NNZ", 0)
    adata = make_adata(n_cells=400, n_genes=30, matrix="csr")
    path = write_h5ad(adata)
    before = (path.read_bytes(), path.stat().st_mtime_ns)

    src = open_source(path)
    index = src._reader.index
    assert index.wait(30) and src.gene_index_progress() == 1.0
    expected = np.asarray(adata.X.toarray(), dtype=np.float32)
    for j in range(adata.n_vars):
        np.testing.assert_array_equal(src.gene_by_index(j), expected[:, j])
    # the index lives in the cache dir, never beside the user's file
    assert index.path.parent == tmp_path / "cache" / "gene-index"
    assert sorted(os.listdir(path.parent)) == ["cache", path.name]
    src.close()
    assert not index.ready  # its file handle is closed with the source
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_small_or_column_major_matrices_are_read_without_an_index(make_adata, write_h5ad, tmp_path, monkeypatch):
    monkeypatch.setenv("CELLUCID_CACHE_DIR", str(tmp_path / "cache"))
    small = open_source(write_h5ad(make_adata(matrix="csr"), "small.h5ad"))  # below the default threshold
    monkeypatch.setattr(store_source, "GENE_INDEX_MIN_NNZ", 0)
    csc = open_source(write_h5ad(make_adata(matrix="csc"), "csc.h5ad"))  # columns are cheap already
    try:
        assert small.gene_index_progress() is None and csc.gene_index_progress() is None
        assert not (tmp_path / "cache").exists()
    finally:
        small.close()
        csc.close()


def test_health_reports_gene_index_progress(make_adata, write_h5ad, tmp_path, monkeypatch):
    import json
    import urllib.request

    from cellucid.anndata_server import AnnDataServer

    monkeypatch.setenv("CELLUCID_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(store_source, "GENE_INDEX_MIN_NNZ", 0)
    with AnnDataServer(write_h5ad(make_adata(matrix="csr")), port=0, quiet=True) as server:
        server.source._reader.index.wait(30)
        with urllib.request.urlopen(server.url + "_cellucid/health") as resp:
            assert json.load(resp)["gene_index"] == 1.0


def test_server_makes_a_building_index_wait_while_a_viewer_loads(make_adata, write_h5ad, tmp_path, monkeypatch):
    """The server hands the index build its "a viewer is loading" test (a data request in the
    last second): true right after a data request, false once the server was left quiet."""
    import urllib.request

    from cellucid.anndata_server import AnnDataServer

    monkeypatch.setenv("CELLUCID_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("CELLUCID_GENE_INDEX_DELAY", "30")  # still waiting to start while we look
    monkeypatch.setattr(store_source, "GENE_INDEX_MIN_NNZ", 0)
    with AnnDataServer(write_h5ad(make_adata(matrix="csr")), port=0, quiet=True) as server:
        index = server.source._reader.index
        state = server._runner._app.cellucid_state
        assert index.yield_while == state.viewer_loading
        with urllib.request.urlopen(server.url + "_cellucid/api/obs/meta?field=cell_type") as resp:
            assert resp.status == 200
        assert index.yield_while(quiet_s=60)  # a data request just came
        state.last_request = float("-inf")  # (as after a long quiet)
        assert not index.yield_while()
