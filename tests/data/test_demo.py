"""The built-in demo dataset: deterministic, complete, and marker genes light up clusters."""

from __future__ import annotations

import anndata as ad
import numpy as np
import scipy.sparse as sp

from cellucid.data.demo import CELL_TYPES, MARKER_GENES, demo_anndata, write_demo_h5ad


def test_same_seed_gives_identical_data():
    a, b = demo_anndata(1500, 120, seed=3), demo_anndata(1500, 120, seed=3)
    assert (a.X != b.X).nnz == 0
    assert a.obs.equals(b.obs)
    for key in a.obsm:
        assert np.array_equal(a.obsm[key], b.obsm[key])


def test_different_seed_gives_different_data():
    a, b = demo_anndata(500, 50, seed=0), demo_anndata(500, 50, seed=1)
    assert not np.array_equal(a.obsm["X_umap"], b.obsm["X_umap"])


def test_contents_match_the_description():
    a = demo_anndata(2000, 300)
    assert a.shape == (2000, 300)
    assert a.obsm["X_umap"].shape == (2000, 2) and a.obsm["X_umap_3d"].shape == (2000, 3)
    assert a.obsm["X_tsne"].shape == (2000, 2) and a.obsm["X_pca"].shape == (2000, 50)
    assert a.obsm["velocity_umap_2d"].shape == (2000, 2)
    assert a.obsm["velocity_umap_3d"].shape == (2000, 3)
    # The 3D embedding is the 2D one plus height.
    assert np.array_equal(a.obsm["X_umap_3d"][:, :2], a.obsm["X_umap"])
    assert list(a.obs["cell_type"].cat.categories) == CELL_TYPES
    assert len(a.uns["cell_type_colors"]) == len(CELL_TYPES)
    assert len(a.uns["batch_colors"]) == 3 and "leiden_colors" not in a.uns
    assert a.obs["is_doublet"].dtype == bool
    assert a.obs_names[0] == "cell_0" and a.obs_names[-1] == "cell_1999"
    assert list(a.var_names[:8]) == MARKER_GENES and a.var_names[8] == "GENE0008"
    assert a.var["gene_ids"].iloc[5] == "ENSG00000100005"
    assert sp.isspmatrix_csr(a.X) and a.X.dtype == np.float32 and a.X.has_canonical_format
    density = a.X.nnz / (a.n_obs * a.n_vars)
    assert 0.06 <= density <= 0.08
    assert np.allclose(a.obs["n_counts"].to_numpy(), np.asarray(a.X.sum(axis=1)).ravel())


def test_pseudotime_increases_along_the_clusters():
    a = demo_anndata(3000, 50)
    codes = a.obs["cell_type"].cat.codes.to_numpy()
    means = [a.obs["pseudotime"].to_numpy()[codes == k].mean() for k in range(len(CELL_TYPES))]
    assert means == sorted(means)


def test_velocity_points_forward_in_pseudotime():
    a = demo_anndata(3000, 20)
    t = a.obs["pseudotime"].to_numpy()
    pos, vel = a.obsm["X_umap_3d"], a.obsm["velocity_umap_3d"]
    # Moving a little along the vector should land at later pseudotime on average:
    # the vectors agree with the direction from early to late cells of the same cluster.
    order = np.argsort(t)
    early, late = pos[order[:300]].mean(0), pos[order[-300:]].mean(0)
    assert float(np.mean(vel @ (late - early))) > 0


def test_every_gene_marks_one_cluster():
    a = demo_anndata(4000, 64)
    codes = a.obs["cell_type"].cat.codes.to_numpy()
    X = a.X.toarray()
    for g in (0, 5, 13, 63):  # CD34, CD3E, GENE0013, GENE0063
        means = np.array([X[codes == k, g].mean() for k in range(8)])
        assert int(np.argmax(means)) == g % 8
        assert means[g % 8] > 10 * np.delete(means, g % 8).max()


def test_write_demo_h5ad_equals_the_in_memory_demo(tmp_path):
    path = write_demo_h5ad(tmp_path / "demo.h5ad", 1000, 90, seed=2)
    on_disk, in_mem = ad.read_h5ad(path), demo_anndata(1000, 90, seed=2)
    assert (on_disk.X != in_mem.X).nnz == 0
    assert on_disk.obs.equals(in_mem.obs)
    assert on_disk.var.equals(in_mem.var)
    for key in in_mem.obsm:
        assert np.array_equal(on_disk.obsm[key], in_mem.obsm[key])
    assert list(on_disk.uns["cell_type_colors"]) == list(in_mem.uns["cell_type_colors"])


def test_write_demo_h5ad_streams_more_chunks_than_one(tmp_path, monkeypatch):
    from cellucid.data import demo

    monkeypatch.setattr(demo, "_CHUNK_ROWS", 100)  # force several appended chunks
    path = write_demo_h5ad(tmp_path / "demo.h5ad", 1050, 40)
    assert (ad.read_h5ad(path).X != demo_anndata(1050, 40).X).nnz == 0


def test_no_genes_gives_x_none(tmp_path):
    a = demo_anndata(50, 0)
    assert a.X is None and a.n_vars == 0
    assert ad.read_h5ad(write_demo_h5ad(tmp_path / "d.h5ad", 50, 0)).X is None
