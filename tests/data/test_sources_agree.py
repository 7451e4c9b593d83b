"""Every source kind serves the same values, equal to the AnnData they come from."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cellucid.data import open_source

KINDS = ["anndata", "h5ad", "h5ad-memory", "zarr2", "zarr3"]


@pytest.fixture
def open_as(write_h5ad, write_zarr):
    """``open_as(kind, adata, **options)`` → a source over that AnnData in that form."""
    opened = []

    def open_(kind, adata, **options):
        stem = f"data{len(opened)}"  # a new file per call: an open file cannot be rewritten
        if kind == "anndata":
            src = open_source(adata, **options)
        elif kind == "h5ad":
            src = open_source(write_h5ad(adata, stem + ".h5ad"), **options)
        elif kind == "h5ad-memory":
            src = open_source(write_h5ad(adata, stem + ".h5ad"), backed=False, **options)
        else:
            src = open_source(write_zarr(adata, stem + ".zarr", zarr_format=int(kind[-1])), **options)
        opened.append(src)
        return src

    yield open_
    for src in opened:
        src.close()


def dense(X):
    return X.toarray() if hasattr(X, "toarray") else np.asarray(X)


@pytest.mark.parametrize("kind", KINDS)
def test_embeddings_equal_obsm(kind, make_adata, open_as):
    adata = make_adata()
    src = open_as(kind, adata)
    infos = {e.key: e for e in src.embeddings()}
    assert [e.key for e in src.embeddings()] == ["X_umap", "X_tsne", "X_diffmap_1d", "X_pca"]
    assert infos["X_umap"].dimensions == (1, 2, 3) and infos["X_umap"].n_columns == 3
    assert infos["X_tsne"].dimensions == (1, 2)
    assert infos["X_diffmap_1d"].dimensions == (1,)
    assert infos["X_pca"].n_columns == 10
    u2 = src.embedding("X_umap", 2)
    assert u2.dtype == np.float32 and u2.shape == (300, 2)
    assert np.array_equal(u2, adata.obsm["X_umap"])
    # 3D comes from the paired X_umap_3d array, 1D is the first column of the 2D one.
    assert np.array_equal(src.embedding("X_umap", 3), adata.obsm["X_umap_3d"].astype(np.float32))
    assert np.array_equal(src.embedding("X_umap", 1), adata.obsm["X_umap"][:, :1])
    assert np.array_equal(src.embedding("X_pca", 3), adata.obsm["X_pca"][:, :3])
    assert np.array_equal(src.latent(), adata.obsm["X_pca"])


@pytest.mark.parametrize("kind", KINDS)
def test_fields_equal_obs(kind, make_adata, open_as):
    adata = make_adata()
    src = open_as(kind, adata)
    kinds = {f.name: f.kind for f in src.fields()}
    assert kinds == {
        "cell_type": "categorical", "batch": "categorical", "score": "continuous",
        "count": "continuous", "flag": "boolean", "maybe": "boolean", "label": "categorical",
    }
    assert src.skipped_fields().keys() == {"barcode"}

    ct = src.obs_field("cell_type")
    assert ct.categories == list(adata.obs["cell_type"].cat.categories)
    assert np.array_equal(ct.codes, adata.obs["cell_type"].cat.codes.to_numpy())
    assert ct.n_missing == 2 and ct.codes[0] == -1
    assert ct.colors == list(adata.uns["cell_type_colors"])
    assert src.obs_field("batch").colors is None

    score = src.obs_field("score")
    assert score.values.dtype == np.float32 and score.n_missing == 3
    np.testing.assert_array_equal(score.values, adata.obs["score"].to_numpy(np.float32))
    assert np.array_equal(src.obs_field("count").values, adata.obs["count"].to_numpy(np.float32))

    flag = src.obs_field("flag")
    assert flag.categories == ["False", "True"]
    assert np.array_equal(flag.codes, adata.obs["flag"].to_numpy().astype(np.int32))
    maybe = src.obs_field("maybe")
    assert maybe.codes[4] == -1 and maybe.n_missing == 1
    assert maybe.codes[5] == int(adata.obs["maybe"].iloc[5])

    label = src.obs_field("label")
    assert label.categories == ["alpha", "beta", "gamma"]
    assert [label.categories[c] for c in label.codes[:20]] == list(adata.obs["label"].iloc[:20])
    assert list(src.obs_names(np.array([0, 299]))) == ["cell_0", "cell_299"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("matrix", ["csr", "csc", "dense"])
@pytest.mark.parametrize("dtype", ["float32", "int64"])
def test_genes_equal_x(kind, matrix, dtype, make_adata, open_as):
    adata = make_adata(matrix=matrix, dtype=dtype)
    src = open_as(kind, adata)
    X = dense(adata.X)
    assert list(src.gene_names()) == list(adata.var_names)
    for j in (0, 3, 7, 39):
        got = src.gene_by_index(j)
        assert got.dtype == np.float32 and got.shape == (300,)
        assert np.array_equal(got, X[:, j].astype(np.float32))
    assert np.array_equal(src.gene("cd3e"), X[:, 3].astype(np.float32))
    assert np.array_equal(src.gene("ENSG00000000007", "gene_ids"), X[:, 7].astype(np.float32))


@pytest.mark.parametrize("kind", KINDS)
def test_vectors_equal_obsm(kind, make_adata, open_as):
    adata = make_adata()
    src = open_as(kind, adata)
    fields = {v.field_id: v for v in src.vector_fields()}
    assert list(fields) == ["velocity_umap", "velocity_tsne"]
    assert fields["velocity_umap"].dimensions == {2: "velocity_umap_2d", 3: "velocity_umap_3d"}
    assert fields["velocity_tsne"].dimensions == {2: "velocity_tsne"}
    assert np.array_equal(src.vectors("velocity_umap", 3), adata.obsm["velocity_umap_3d"])
    assert np.array_equal(src.vectors("velocity_tsne", 2), adata.obsm["velocity_tsne"])


@pytest.mark.parametrize("kind", KINDS)
def test_summary_and_dataset_id_agree(kind, make_adata, open_as):
    adata = make_adata()
    reference = open_source(adata)
    src = open_as(kind, adata)
    s = src.summary()
    assert (s.n_cells, s.n_genes, s.expression, s.gene_id_columns, s.latent_key) == (
        300, 40, "X", ["gene_ids"], "X_pca")
    assert src.dataset_id() == reference.dataset_id()


@pytest.mark.parametrize("kind", ["anndata", "h5ad", "zarr2"])
def test_raw_and_layers(kind, make_adata, open_as):
    adata = make_adata(raw=True, layers=("counts",))
    raw = open_as(kind, adata, expression="raw")
    assert raw.summary().n_genes == 45 and raw.summary().expression == "raw"
    assert raw.gene_names()[-1] == "RAWONLY4"
    assert np.array_equal(raw.gene("RAWONLY4"), dense(adata.raw.X)[:, 44])
    assert np.array_equal(raw.gene("ENSR00000000003", "gene_ids"), dense(adata.raw.X)[:, 3])
    layer = open_as(kind, adata, expression="layer:counts")
    assert np.array_equal(layer.gene("LYZ"), dense(adata.layers["counts"])[:, 7].astype(np.float32))


@pytest.mark.parametrize("kind", ["anndata", "h5ad", "zarr3"])
def test_x_none_means_no_genes_with_a_reason(kind, make_adata, open_as):
    from cellucid.data.base import NotFound

    src = open_as(kind, make_adata(matrix=None))
    s = src.summary()
    assert s.n_genes == 0 and "X is None" in s.no_genes_reason
    assert len(src.gene_names()) == 0
    with pytest.raises(NotFound) as err:
        src.gene("CD3E")
    assert "X is None" in err.value.hint
    assert src.search_genes("CD") == []
    # Everything else still works.
    assert src.obs_field("cell_type").categories[0] == "T cell"


def test_backed_anndata_object_is_served(make_adata, write_h5ad):
    import anndata as ad

    adata = make_adata(matrix="csr")
    backed = ad.read_h5ad(write_h5ad(adata), backed="r")
    try:
        with open_source(backed) as src:
            assert src.kind == "anndata"
            assert np.array_equal(src.gene("LYZ"), adata.X[:, 7].toarray().ravel())
    finally:
        backed.file.close()


def test_anndata_is_not_copied(make_adata):
    adata = make_adata(matrix="dense")
    with open_source(adata) as src:
        assert src._backend.adata is adata
        assert np.shares_memory(src.expression_reader().dense, adata.X)
        cat = src._backend.obs_column("cell_type")
        assert isinstance(cat, pd.Categorical)
    assert adata.X is not None  # closing the source leaves the caller's AnnData alone


def test_arrays_shared_with_the_anndata_are_read_only(make_adata):
    adata = make_adata()
    with open_source(adata) as src:
        coords = src.embedding("X_umap", 2)
        assert np.shares_memory(coords, adata.obsm["X_umap"])  # served without a copy
        with pytest.raises(ValueError):
            coords[0, 0] = 1.0
        assert adata.obsm["X_umap"].flags.writeable  # the user's array is unchanged


def test_non_string_obs_column_labels(make_adata):
    adata = make_adata()
    adata.obs[7] = np.arange(adata.n_obs, dtype=float)
    with open_source(adata) as src:
        assert src.obs_field("7").values[3] == 3.0
