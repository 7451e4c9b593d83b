"""Loom files written by loompy (and by anndata's write_loom): served lazily, values equal to
loompy's own reading, bad files refused clearly, files never written."""

from __future__ import annotations

import warnings

import loompy
import numpy as np
import pytest

from cellucid.data import InputError, open_source
from cellucid.data.base import NoEmbedding
from cellucid.data.loom_source import RowsAsColumns
from server_http import Client

from format_files import fingerprint, refused, write_loom


@pytest.fixture
def loom(tmp_path):
    return write_loom(tmp_path / "cells.loom")


def test_loom_is_read_as_loompy_reads_it(loom):
    with loompy.connect(str(loom), "r") as ds, open_source(loom) as src:
        s = src.summary()
        assert (s.kind, s.n_cells, s.n_genes) == ("loom", ds.shape[1], ds.shape[0])
        names = list(src.gene_names())
        assert names[:5] == list(ds.ra["Gene"][:5]) and names[5:7] == ["DUP", "DUP-1"]  # made unique
        assert list(src.obs_names(np.arange(3))) == list(ds.ca["CellID"][:3])
        row = int(np.flatnonzero(ds.ra["Gene"] == "CD3E")[0])
        np.testing.assert_array_equal(src.gene("CD3E"), ds[row, :].astype(np.float32))
        np.testing.assert_array_equal(src.gene("ENSG00000000003"), ds[row, :].astype(np.float32))  # Accession
        assert isinstance(src._reader.dense, RowsAsColumns)  # read from the file, gene by gene
        embeds = {e.key: e.dimensions for e in src.embeddings()}
        assert embeds == {"X_umap": (1, 2, 3), "X_tsne": (1, 2), "X_xy": (1, 2)}
        np.testing.assert_allclose(src.embedding("X_xy", 2), np.stack([ds.ca["_X"], ds.ca["_Y"]], 1).astype(np.float32))
        np.testing.assert_allclose(src.embedding("X_umap", 3), ds.ca["X_umap"].astype(np.float32))
        fields = {f.name: f.kind for f in src.fields()}
        assert fields == {"ClusterName": "categorical", "n_counts": "continuous"}
        cluster = src.obs_field("ClusterName")
        assert [cluster.categories[c] for c in cluster.codes[:5]] == list(ds.ca["ClusterName"][:5])
        spliced = ds.layers["spliced"][row, :]
    with open_source(loom, expression="layer:spliced") as src:
        np.testing.assert_array_equal(src.gene("CD3E"), spliced.astype(np.float32))


def test_loom_is_served(loom):
    from cellucid.anndata_server import AnnDataServer

    with loompy.connect(str(loom), "r") as ds:
        row = int(np.flatnonzero(ds.ra["Gene"] == "GENE7")[0])
        expected = ds[row, :].astype(np.float32)
        shape = ds.shape
    with AnnDataServer(loom, port=0, quiet=True) as server:
        server.start_background()
        c = Client(server.base_url)
        health = c.get("/_cellucid/health").json()
        assert (health["n_cells"], health["n_genes"], health["source_kind"]) == (shape[1], shape[0], "loom")
        np.testing.assert_array_equal(c.get("/_cellucid/api/gene", {"name": "GENE7"}).array(), expected)
        assert c.get("/_cellucid/api/embedding", {"key": "X_umap", "dim": 3}).status == 200
        assert c.get("/_cellucid/api/obs", {"field": "ClusterName"}).status == 200


def test_anndata_write_loom_files_work(tmp_path, make_adata):
    adata = make_adata(vectors=False)
    path = tmp_path / "ad.loom"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        adata.write_loom(path, write_obsm_varm=True)
    with open_source(path) as src:
        assert src.summary().n_cells == adata.n_obs
        assert "X_umap" in {e.key for e in src.embeddings()}
        np.testing.assert_array_equal(src.gene("CD3E"), adata[:, "CD3E"].X.toarray().ravel())


def test_reading_never_changes_the_file(loom):
    before = fingerprint(loom)
    with open_source(loom) as src:
        for e in src.embeddings():
            for d in e.dimensions:
                src.embedding(e.key, d)
        for f in src.fields():
            src.obs_field(f.name)
        src.gene("CD3E")
        src.search_genes("GENE1")
        src.dataset_id()
    assert fingerprint(loom) == before


def test_loom_without_column_attributes(tmp_path):
    err = refused(write_loom(tmp_path / "bare.loom", col_attrs=False))
    assert "no column attributes" in err.message and "col_attrs" in err.hint


def test_loom_without_an_embedding_gives_the_embed_command(tmp_path):
    path = tmp_path / "noemb.loom"
    loompy.create(str(path), np.ones((5, 30), dtype=np.float32), row_attrs={"Gene": np.array(list("ABCDE"))},
                  col_attrs={"CellID": np.array([f"c{i}" for i in range(30)]), "n": np.arange(30)})
    err = refused(path, NoEmbedding)
    assert f"cellucid prepare {path} " in err.hint and "--embed" in err.hint


def test_not_a_loom_file(tmp_path):
    path = tmp_path / "fake.loom"
    path.write_text("not hdf5")
    with pytest.raises(InputError, match="not an HDF5 file"):
        open_source(path)


def test_prepare_exports_a_loom_file(loom, tmp_path):
    from cellucid.export import prepare

    before = fingerprint(loom)
    out = prepare(loom, tmp_path / "export", progress=False)
    assert fingerprint(loom) == before
    with open_source(loom) as src, open_source(out) as exported:
        assert exported.summary().n_genes == src.summary().n_genes
        for gene in ("CD3E", "GENE50"):
            np.testing.assert_array_equal(exported.gene(gene), src.gene(gene))
        np.testing.assert_allclose(exported.embedding("X_xy", 2), src.embedding("X_xy", 2))


def test_show_anndata_on_loom_gives_selected_obs(loom):
    from cellucid.widget import show_anndata

    viewer = show_anndata(loom, display=False, quiet=True)
    try:
        viewer.widget.selection = np.array([1, 2], dtype=np.uint32)  # as a lasso in the viewer sets it
        obs = viewer.selected_obs()
        with loompy.connect(str(loom), "r") as ds:
            assert list(obs.index) == list(ds.ca["CellID"][[1, 2]])
            assert list(obs["ClusterName"]) == list(ds.ca["ClusterName"][[1, 2]])
    finally:
        viewer.stop()
