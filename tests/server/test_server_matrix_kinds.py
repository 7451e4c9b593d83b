"""Genes over HTTP for every matrix layout and dtype, from files and from memory
(uses the shared ``make_adata`` / ``write_h5ad`` / ``write_zarr`` / ``pbmc68k`` fixtures)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from server_http import Client

API = "/_cellucid/api"


def dense_column(matrix, index: int) -> np.ndarray:
    col = matrix[:, index]
    col = col.toarray() if sp.issparse(col) else np.asarray(col)
    return col.ravel().astype(np.float32)


@pytest.mark.parametrize("matrix", ["csr", "csc", "dense"])
@pytest.mark.parametrize("dtype", ["float32", "int64"])
@pytest.mark.parametrize("where", ["h5ad", "zarr", "memory"])
def test_gene_over_http_equals_the_matrix_column(make_adata, write_h5ad, write_zarr, matrix, dtype, where):
    from cellucid.anndata_server import AnnDataServer

    adata = make_adata(matrix=matrix, dtype=dtype)
    data = {"h5ad": lambda: write_h5ad(adata), "zarr": lambda: write_zarr(adata, zarr_format=3),
            "memory": lambda: adata}[where]()
    with AnnDataServer(data, port=0, quiet=True, gene_id_column="gene_ids") as server:
        client = Client(server.base_url)
        by_name = client.get(f"{API}/gene", {"name": "CD3E"})
        by_index = client.get(f"{API}/gene", {"index": 7})
    assert by_name.headers["X-Cellucid-Gene-Index"] == "3"
    np.testing.assert_array_equal(by_name.array(), dense_column(adata.X, 3))
    np.testing.assert_array_equal(by_index.array(), dense_column(adata.X, 7))


def test_pbmc68k_raw_expression_over_http(pbmc68k):
    from cellucid.anndata_server import AnnDataServer

    gene = pbmc68k.raw.var_names[10]
    with AnnDataServer(pbmc68k, port=0, quiet=True, expression="raw") as server:
        client = Client(server.base_url)
        ident = client.get("/dataset_identity.json").json()
        r = client.get(f"{API}/gene", {"name": gene})
        meta = client.get(f"{API}/obs/meta", {"field": "bulk_labels"}).json()
    assert ident["genes"]["n_genes"] == pbmc68k.raw.n_vars
    np.testing.assert_allclose(r.array(), dense_column(pbmc68k.raw.X, 10), rtol=1e-6)
    assert meta["colors"] == list(pbmc68k.uns["bulk_labels_colors"])
