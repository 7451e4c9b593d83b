"""Every matrix layout and store the data layer reads exports to the same values."""

from __future__ import annotations

import pytest

import cellucid
from cellucid.data import open_source


@pytest.mark.parametrize("matrix", ["csr", "csc", "dense"])
@pytest.mark.parametrize("store", ["memory", "h5ad", "zarr2", "zarr3"])
def test_matrix_layouts_and_stores(tmp_path, make_adata, write_h5ad, write_zarr, assert_same, matrix, store):
    a = make_adata(matrix=matrix, dtype="int32" if matrix == "csc" else "float64", layers=("counts",))
    data = {"memory": lambda: a, "h5ad": lambda: write_h5ad(a),
            "zarr2": lambda: write_zarr(a, zarr_format=2), "zarr3": lambda: write_zarr(a, zarr_format=3)}[store]()
    out = cellucid.prepare(data, tmp_path / "exp", var_gene_id_column="gene_ids", progress=False)
    with open_source(out) as src, open_source(data, gene_id_column="gene_ids") as ref:
        assert_same(src, ref, gene_sample=range(40))
    out2 = cellucid.prepare(data, tmp_path / "layer", layer="counts", progress=False)
    with open_source(out2) as src, open_source(data, expression="layer:counts") as ref:
        assert src.summary().expression == "layer:counts"
        assert_same(src, ref, gene_sample=range(0, 40, 3))


def test_shared_fixture_dataset_with_vectors_raw_and_missing(tmp_path, make_adata, assert_same):
    a = make_adata(vectors=True, raw=True, missing=True)
    out = cellucid.prepare(a, tmp_path / "exp", progress=False)
    with open_source(out) as src, open_source(a) as ref:
        assert_same(src, ref, gene_sample=range(40))
        assert src.vector_field_problems() == ref.vector_field_problems()
    out = cellucid.prepare(a, tmp_path / "raw", expression="raw", progress=False)
    with open_source(out) as src, open_source(a, expression="raw") as ref:
        assert_same(src, ref, gene_sample=range(45))


def test_backed_anndata_and_views(tmp_path, make_adata, write_h5ad, assert_same):
    import anndata as ad

    a = make_adata(matrix="csr")
    backed = ad.read_h5ad(write_h5ad(a), backed="r")
    try:
        out = cellucid.prepare(backed, tmp_path / "backed", progress=False)
        with open_source(out) as src, open_source(a) as ref:
            assert_same(src, ref, gene_sample=range(40))
    finally:
        backed.file.close()
    view = a[a.obs["cell_type"] == a.obs["cell_type"].cat.categories[0]]
    out = cellucid.prepare(view, tmp_path / "view", progress=False)
    with open_source(out) as src, open_source(view) as ref:
        assert src.summary().n_cells == view.n_obs < a.n_obs
        assert_same(src, ref, gene_sample=range(40))
