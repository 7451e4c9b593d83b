"""Files changing under a running server: a file replaced while served gets no answer cached
from the old file — not from the response cache, not as a 304 to a client holding the old
ETag, not the old identity; a zarr chunk deleted while served is a clear 503, not the fill
value (zeros)."""

from __future__ import annotations

import os
import urllib.error
import urllib.request

import pytest

ROUTES = ["_cellucid/api/gene?index=3", "_cellucid/api/obs?field=cell_type", "_cellucid/api/obs/meta?field=cell_type",
          "_cellucid/api/genes?q=G1&limit=5", "_cellucid/api/cells?index=1,2", "dataset_identity.json"]


def _get(url, etag=None):
    req = urllib.request.Request(url, headers={"If-None-Match": etag} if etag else {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.headers.get("Etag"), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Etag"), err.read()


@pytest.mark.parametrize("how", ["replaced", "rewritten in place"])
def test_replaced_file_gets_no_cached_answers(tmp_path, how):
    from cellucid.anndata_server import AnnDataServer
    from cellucid.data.demo import write_demo_h5ad

    path = tmp_path / "served.h5ad"
    write_demo_h5ad(path, 2000, 100, seed=1)
    with AnnDataServer(path, port=0, quiet=True) as server:
        before = {}
        for route in ROUTES:
            status, etag, body = _get(server.base_url + route)
            assert status == 200, (route, body[:200])
            assert _get(server.base_url + route)[0] == 200  # now cached
            before[route] = etag
        state = server.runner._app.cellucid_state
        assert len(state.responses) > 0

        other = tmp_path / "other.h5ad"
        write_demo_h5ad(other, 2000, 100, seed=9)
        if how == "replaced":
            os.replace(other, path)
        else:
            path.write_bytes(other.read_bytes())

        for route in ROUTES:
            status, _etag, body = _get(server.base_url + route)
            assert status == 503 and b"while being served" in body, (route, status, body[:200])
            if before[route]:  # a client holding the old answer is not told it is still good
                assert _get(server.base_url + route, before[route])[0] == 503
        assert len(state.responses) == 0 and len(state.fields) == 0  # nothing of the old file is kept


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_a_zarr_chunk_deleted_while_served_is_a_clear_error_not_zeros(make_adata, write_zarr, zarr_format):
    import json

    import numpy as np

    from cellucid.anndata_server import AnnDataServer

    adata = make_adata(n_cells=300, n_genes=40, matrix="csr")
    path = write_zarr(adata, zarr_format=zarr_format)
    chunks = [p for p in (path / "X" / "data").rglob("*") if p.is_file() and not p.name.startswith((".", "zarr."))]
    assert chunks, list((path / "X" / "data").rglob("*"))
    with AnnDataServer(path, port=0, quiet=True) as server:
        status, _etag, body = _get(server.base_url + "_cellucid/api/gene?index=3")
        expected = np.asarray(adata.X[:, 3].toarray(), dtype=np.float32).ravel()
        assert status == 200 and np.array_equal(np.frombuffer(body, dtype="<f4"), expected)
        for chunk in chunks:
            chunk.unlink()
        for j in (5, 3):  # a gene never read (no cache) and the one read before (cached)
            status, _etag, body = _get(server.base_url + f"_cellucid/api/gene?index={j}")
            assert status == 503, (j, status, body[:200])
            error = json.loads(body)
            assert error["error"].startswith("the data file 'data.zarr' was modified")
            assert "Restart" in error["hint"]
        health = json.loads(_get(server.base_url + "_cellucid/health")[2])
        assert health["status"] == "data_changed"
