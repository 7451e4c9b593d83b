"""The serve options reach the data layer and show in what the server answers."""

from __future__ import annotations

import os

import numpy as np
import psutil
import scipy.sparse as sp

from server_http import Client

API = "/_cellucid/api"


def _open_paths() -> set[str]:
    return {os.path.realpath(f.path) for f in psutil.Process().open_files()}


def test_backed_keeps_the_file_open_and_no_backed_does_not(h5ad_file):
    from cellucid.anndata_server import AnnDataServer

    path = os.path.realpath(h5ad_file)
    with AnnDataServer(h5ad_file, port=0, quiet=True) as backed:
        assert Client(backed.base_url).get(f"{API}/gene", {"index": 2}).status == 200
        assert path in _open_paths()
    with AnnDataServer(h5ad_file, port=0, quiet=True, backed=False) as loaded:
        assert Client(loaded.base_url).get(f"{API}/gene", {"index": 2}).status == 200
        assert path not in _open_paths()


def test_expression_from_a_layer(small_adata, tmp_path):
    from cellucid.anndata_server import AnnDataServer

    adata = small_adata.copy()
    adata.layers["counts"] = sp.csr_matrix(adata.X.toarray() * 10 + 1)
    path = tmp_path / "layers.h5ad"
    adata.write_h5ad(path)
    with AnnDataServer(path, port=0, quiet=True, expression="layer:counts") as server:
        client = Client(server.base_url)
        assert client.get("/dataset_identity.json").json()["genes"]["expression"] == "layer:counts"
        values = client.get(f"{API}/gene", {"index": 4}).array()
    np.testing.assert_array_equal(values, adata.layers["counts"][:, 4].toarray().ravel().astype(np.float32))


def test_latent_key_and_dataset_name_show_in_the_identity(small_adata):
    from cellucid.anndata_server import AnnDataServer

    with AnnDataServer(small_adata, port=0, quiet=True, latent_key="X_tsne", dataset_name="Mine") as server:
        ident = Client(server.base_url).get("/dataset_identity.json").json()
    assert ident["latent_key"] == "X_tsne"
    assert ident["name"] == "Mine"


def test_obs_keys_restrict_and_order_the_fields(small_adata):
    from cellucid.anndata_server import AnnDataServer

    with AnnDataServer(small_adata, port=0, quiet=True, obs_keys=["pseudotime", "batch"]) as server:
        client = Client(server.base_url)
        ident = client.get("/dataset_identity.json").json()
        hidden = client.get(f"{API}/obs", {"field": "cell_type"})
    assert [f["name"] for f in ident["fields"]] == ["pseudotime", "batch"]
    assert ident["default_field"] == "batch"
    assert hidden.status == 404


def test_no_genes_is_reported_and_gene_routes_say_why(small_adata):
    import anndata

    from cellucid.anndata_server import AnnDataServer

    no_x = anndata.AnnData(obs=small_adata.obs.copy(), obsm={"X_umap": small_adata.obsm["X_umap"]})
    with AnnDataServer(no_x, port=0, quiet=True) as server:
        client = Client(server.base_url)
        genes = client.get("/dataset_identity.json").json()["genes"]
        r = client.get(f"{API}/gene", {"index": 0})
    assert genes["available"] is False and genes["reason"]
    assert r.status == 404
    assert "no gene expression" in r.json()["error"]
