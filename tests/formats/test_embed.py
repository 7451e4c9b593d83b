"""Computing an embedding for data without one: in memory on open (serve --embed,
show_anndata(..., embed=True)) and in prepare(adata, embed=True); the user's object is left alone."""

from __future__ import annotations

import numpy as np
import pytest

from cellucid.data import InputError, open_source
from cellucid.data.base import NoEmbedding
from server_http import Client

from format_files import counts_data, fingerprint


def _adata():
    import anndata as ad
    import pandas as pd

    from cellucid.data.genes import make_unique

    X, barcodes, ids, names, types = counts_data(400, 100, 0, seed=4)
    names = make_unique(names)
    return ad.AnnData(X.astype(np.float32), obs=pd.DataFrame(index=barcodes.astype(str)),
                      var=pd.DataFrame({"gene_ids": ids.astype(str)}, index=names.astype(str) + "_"))


def test_an_anndata_without_embedding_is_refused_then_embedded_in_memory():
    adata = _adata()
    with pytest.raises(NoEmbedding):
        open_source(adata)
    X_before = adata.X.copy()
    with open_source(adata, embed=True) as src:
        keys = {e.key: e.dimensions for e in src.embeddings()}
        assert keys["X_umap"] == (1, 2, 3)
        assert src.obs_field("leiden").kind == "categorical"
        np.testing.assert_array_equal(src.gene("CD3E_"), adata[:, "CD3E_"].X.toarray().ravel())
        assert src.extra_identity()["embed"]["seed"] == 0
    # the caller's object is not modified
    assert list(adata.obsm) == [] and list(adata.obs.columns) == []
    assert (adata.X != X_before).nnz == 0


def test_prepare_embed_of_an_anndata_leaves_it_alone(tmp_path):
    from cellucid.export import prepare

    adata = _adata()
    out = prepare(adata, tmp_path / "export", embed={"seed": 3, "resolution": 0.5}, progress=False)
    assert list(adata.obsm) == [] and list(adata.obs.columns) == []
    with open_source(out) as src:
        assert "leiden" in {f.name for f in src.fields()}


def test_serve_embed_on_a_cell_ranger_file(tenx):
    from cellucid.anndata_server import AnnDataServer

    h5 = tenx[0]
    before = fingerprint(h5)
    with AnnDataServer(h5, port=0, quiet=True, embed=True) as server:
        server.start_background()
        c = Client(server.base_url)
        ident = c.get("/dataset_identity.json").json()
        assert ident["source_kind"] == "10x" and ident["stats"]["n_cells"] == 600
        assert ident["embed"]["recipe"].startswith("normalize_total")
        assert c.get("/_cellucid/api/obs", {"field": "leiden"}).status == 200
    assert fingerprint(h5) == before


def test_unknown_embed_parameter():
    with pytest.raises(InputError, match="unknown embed parameter"):
        open_source(_adata(), embed={"sead": 1})


@pytest.mark.slow
def test_embed_above_scanpys_exact_neighbour_limit():
    """From 8,192 cells scanpy uses pynndescent, whose csr_array result scanpy 1.11 cannot
    read with recent scipy ('getnnz'); cellucid hands it a csr_matrix instead."""
    import anndata as ad
    import pandas as pd

    from cellucid.data.embed import compute_embedding
    from cellucid.data.genes import make_unique

    X, barcodes, ids, names, _ = counts_data(8300, 80, 0, seed=5)
    adata = ad.AnnData(X.astype(np.float32), var=pd.DataFrame(index=make_unique(names)))
    out, record = compute_embedding(adata, progress=False)
    assert record["neighbours_method"] == "pynndescent"
    assert out.obsm["X_umap"].shape == (8300, 2) and out.obsm["X_umap_3d"].shape == (8300, 3)
    assert out.obs["leiden"].cat.categories.size >= 3


def test_embed_inplace_writes_into_the_anndata_when_asked():
    adata = _adata()
    with open_source(adata, embed="inplace") as src:
        assert "leiden" in {f.name for f in src.fields()}
    assert {"X_pca", "X_umap", "X_umap_3d"} <= set(adata.obsm) and "leiden" in adata.obs
    with pytest.raises(InputError, match="inplace"):
        open_source("/nonexistent/x.h5ad", embed="inplace")
