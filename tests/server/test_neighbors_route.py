"""/neighbors: k-NN in the latent space (X_pca by default, or --latent-key) or in the stored
neighbour graph (obsp['connectivities']), from real files written by anndata."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from server_http import Client

API = "/_cellucid/api"
CELLS = [0, 5, 17, 123, 299]


def _brute_force(latent: np.ndarray, cell: int, k: int) -> list[int]:
    d = ((latent.astype(np.float64) - latent[cell].astype(np.float64)) ** 2).sum(axis=1)
    d[cell] = np.inf
    return np.argsort(d, kind="stable")[:k].tolist()


def _graph(n: int, seed: int = 1) -> sp.csr_matrix:
    """A symmetric random graph with distinct weights (so 'strongest first' has one answer)."""
    rng = np.random.default_rng(seed)
    rows = np.repeat(np.arange(n), 12)
    cols = rng.integers(0, n, rows.size)
    g = sp.csr_matrix((rng.random(rows.size) + 0.01, (rows, cols)), shape=(n, n))
    g = (g + g.T).tocsr()
    g.setdiag(0)
    g.eliminate_zeros()
    return g


def _graph_top(g: sp.csr_matrix, cell: int, k: int) -> list[int]:
    row = g.getrow(cell).toarray().ravel()
    order = np.argsort(-row, kind="stable")
    return [int(j) for j in order[:k] if row[j] > 0]


def _neighbors(server, cells, k):
    r = Client(server.base_url).get(f"{API}/neighbors", {"cells": ",".join(map(str, cells)), "k": k})
    assert r.status == 200, r.body
    return r.json()


def test_default_x_pca_neighbours_equal_brute_force(make_adata, write_h5ad):
    from cellucid.anndata_server import AnnDataServer

    adata = make_adata()
    path = write_h5ad(adata)
    latent = np.asarray(adata.obsm["X_pca"], dtype=np.float32)
    with AnnDataServer(path, port=0, quiet=True) as server:
        ident = Client(server.base_url).get("/dataset_identity.json").json()
        body = _neighbors(server, CELLS, 7)
    assert ident["neighbors"] == {"kind": "latent", "key": "X_pca", "n_dims": 10}
    assert body["kind"] == "latent" and body["key"] == "X_pca"
    assert body["neighbors"] == [_brute_force(latent, c, 7) for c in CELLS]
    # and they are not simply the shown embedding's neighbours (the test would pass trivially)
    umap = np.asarray(adata.obsm["X_umap"], dtype=np.float32)
    assert body["neighbors"] != [_brute_force(umap, c, 7) for c in CELLS]


@pytest.mark.parametrize("writer", ["write_h5ad", "write_zarr"])
def test_connectivities_graph_neighbours(make_adata, writer, request):
    from cellucid.anndata_server import AnnDataServer

    adata = make_adata()
    g = _graph(adata.n_obs)
    adata.obsp["connectivities"] = g
    path = request.getfixturevalue(writer)(adata)
    with AnnDataServer(path, port=0, quiet=True) as server:
        ident = Client(server.base_url).get("/dataset_identity.json").json()
        body = _neighbors(server, CELLS, 5)
        big = _neighbors(server, CELLS, 500)
    assert ident["neighbors"] == {"kind": "graph", "key": "connectivities", "n_dims": None}
    assert body["neighbors"] == [_graph_top(g, c, 5) for c in CELLS]
    # more than a cell's degree: all its graph neighbours, no more
    assert big["neighbors"] == [_graph_top(g, c, 500) for c in CELLS]
    assert all(len(row) == g.getrow(c).nnz for row, c in zip(big["neighbors"], CELLS))


def test_a_named_latent_key_wins_over_the_graph(make_adata, write_h5ad):
    from cellucid.anndata_server import AnnDataServer

    adata = make_adata()
    adata.obsp["connectivities"] = _graph(adata.n_obs)
    path = write_h5ad(adata)
    with AnnDataServer(path, port=0, quiet=True, latent_key="X_tsne") as server:
        body = _neighbors(server, CELLS, 4)
    assert (body["kind"], body["key"], body["n_dims"]) == ("latent", "X_tsne", 2)
    tsne = np.asarray(adata.obsm["X_tsne"], dtype=np.float32)
    assert body["neighbors"] == [_brute_force(tsne, c, 4) for c in CELLS]


def test_no_latent_and_no_graph_is_a_clear_404(make_adata, write_h5ad):
    from cellucid.anndata_server import AnnDataServer

    adata = make_adata()
    del adata.obsm["X_pca"]
    path = write_h5ad(adata)
    with AnnDataServer(path, port=0, quiet=True) as server:
        client = Client(server.base_url)
        assert client.get("/dataset_identity.json").json()["neighbors"] is None
        r = client.get(f"{API}/neighbors", {"cells": "1,2", "k": 3})
    assert r.status == 404
    assert "--latent-key" in r.json()["hint"]


def test_bad_requests_are_400(make_adata, write_h5ad):
    from cellucid.anndata_server import AnnDataServer

    path = write_h5ad(make_adata())
    with AnnDataServer(path, port=0, quiet=True) as server:
        client = Client(server.base_url)
        for params in ({"cells": "1,x"}, {"cells": "300"}, {"cells": "1", "k": "0"}, {"k": "3"}):
            r = client.get(f"{API}/neighbors", params)
            assert r.status == 400, params
            assert r.json()["hint"]


def test_prepare_writes_latent_and_the_export_folder_serves_it(make_adata, tmp_path):
    from cellucid.anndata_server import AnnDataServer
    from cellucid.export import prepare

    adata = make_adata()
    out = tmp_path / "export"
    prepare(adata, out)
    assert (out / "latent.f32").exists()
    latent = np.asarray(adata.obsm["X_pca"], dtype=np.float32)
    with AnnDataServer(out, port=0, quiet=True) as server:
        body = _neighbors(server, CELLS, 6)
    assert body["key"] == "X_pca" and body["n_dims"] == 10
    assert body["neighbors"] == [_brute_force(latent, c, 6) for c in CELLS]
