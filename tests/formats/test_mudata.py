"""MuData files written by mudata (and MuData objects): global and per-modality fields and
embeddings, genes from a chosen modality, values equal to mudata's own reading."""

from __future__ import annotations

import subprocess
import sys

import mudata
import numpy as np
import pytest
import scipy.sparse as sp

from cellucid.data import InputError, open_source
from cellucid.data.base import NoEmbedding
from cellucid.data.store_source import StoreBackend
from server_http import Client

from format_files import fingerprint, make_mudata, refused, write_h5mu


@pytest.fixture
def h5mu(tmp_path):
    return write_h5mu(tmp_path / "multi.h5mu")


def _column(adata, gene):
    x = adata[:, gene].X
    return (x.toarray() if sp.issparse(x) else np.asarray(x)).ravel().astype(np.float32)


def test_h5mu_reads_like_mudata(h5mu):
    mdata = mudata.read_h5mu(h5mu)
    with open_source(h5mu) as src:
        s = src.summary()
        assert (s.kind, s.n_cells, s.n_genes) == ("mudata", mdata.n_obs, mdata["rna"].n_vars)
        assert all(isinstance(b, StoreBackend) for b in src._backend.mods.values())  # the h5ad reader, reused
        assert list(src.obs_names()) == list(mdata.obs_names)
        rna = mdata["rna"][mdata.obs_names]
        np.testing.assert_array_equal(src.gene("CD3E"), _column(rna, "CD3E"))
        np.testing.assert_array_equal(src.gene("ENSG00000000003"), _column(rna, "CD3E"))
        assert [e.key for e in src.embeddings()] == ["X_wnn_umap", "X_rna:umap"]
        assert src.embeddings()[1].name == "rna:umap"
        np.testing.assert_allclose(src.embedding("X_rna:umap", 2), rna.obsm["X_umap"])
        fields = {f.name: f.kind for f in src.fields()}
        assert fields == {"sample": "categorical", "rna:leiden": "categorical", "rna:n_counts": "continuous",
                          "prot:quality": "boolean"}
        leiden = src.obs_field("rna:leiden")
        assert [leiden.categories[c] for c in leiden.codes[:6]] == list(rna.obs["leiden"][:6])


def test_a_modality_over_some_cells(h5mu):
    mdata = mudata.read_h5mu(h5mu)
    prot = mdata["prot"]
    with open_source(h5mu, modality="prot") as src:
        assert src.summary().n_genes == prot.n_vars
        values = src.gene("CD2-prot")
        present = np.isin(mdata.obs_names, prot.obs_names)
        assert 0 < present.sum() < mdata.n_obs
        np.testing.assert_array_equal(values[present], _column(prot[mdata.obs_names[present]], "CD2-prot"))
        assert not values[~present].any()  # absent cells read as 0
        quality = src.obs_field("prot:quality")
        assert (quality.codes[~present] == -1).all()
        expected = prot.obs["quality"][mdata.obs_names[present]].to_numpy().astype(int)
        np.testing.assert_array_equal(quality.codes[present], expected)


def test_h5mu_is_served_with_its_modalities(h5mu):
    from cellucid.anndata_server import AnnDataServer

    mdata = mudata.read_h5mu(h5mu)
    before = fingerprint(h5mu)
    with AnnDataServer(h5mu, port=0, quiet=True) as server:
        server.start_background()
        c = Client(server.base_url)
        health = c.get("/_cellucid/health").json()
        assert (health["n_cells"], health["n_genes"], health["source_kind"]) == (mdata.n_obs, 50, "mudata")
        ident = c.get("/dataset_identity.json").json()
        assert ident["modalities"]["names"] == ["rna", "prot"] and ident["modalities"]["genes_from"] == "rna"
        got = c.get("/_cellucid/api/gene", {"name": "GENE7"}).array()
        np.testing.assert_array_equal(got, _column(mdata["rna"][mdata.obs_names], "GENE7"))
        assert c.get("/_cellucid/api/obs", {"field": "rna:leiden"}).status == 200
        assert c.get("/_cellucid/api/embedding", {"key": "X_rna:umap", "dim": 2}).status == 200
    assert fingerprint(h5mu) == before


def test_unknown_modality_lists_them(h5mu):
    before = fingerprint(h5mu)
    err = refused(h5mu, modality="atac")
    assert "unknown modality 'atac'" in err.message and "'rna', 'prot'" in err.hint
    r = subprocess.run([sys.executable, "-m", "cellucid.cli", "serve", str(h5mu), "--modality", "atac",
                        "--no-browser", "--port", "0"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "unknown modality 'atac'" in r.stderr and "'rna', 'prot'" in r.stderr
    assert fingerprint(h5mu) == before


def test_no_embedding_anywhere_lists_obsm_keys_per_modality(tmp_path):
    path = write_h5mu(tmp_path / "noemb.h5mu", embed=False)
    err = refused(path, NoEmbedding)
    assert "global obsm or in any modality" in err.message
    assert "global: (none); rna: 'pca_like'; prot: (none)" in err.hint
    assert f"cellucid prepare {path} " in err.hint and "--embed" in err.hint


def test_mudata_object_is_served_and_left_alone():
    mdata = make_mudata()
    obs_before = mdata.obs.copy()
    with open_source(mdata, modality="rna") as src:
        assert src.summary().n_cells == mdata.n_obs
        np.testing.assert_array_equal(src.gene("CD3E"), _column(mdata["rna"][mdata.obs_names], "CD3E"))
        assert "rna:leiden" in {f.name for f in src.fields()}
    assert mdata.obs.equals(obs_before) and set(mdata.mod) == {"rna", "prot"}


def test_not_a_mudata_file(tmp_path, make_adata):
    path = tmp_path / "really_anndata.h5mu"
    make_adata().write_h5ad(path)
    with pytest.raises(InputError, match="no /mod group"):
        open_source(path)


@pytest.mark.parametrize("modality", ["rna", "prot"])
def test_prepare_exports_a_modality(h5mu, tmp_path, modality):
    from cellucid.export import prepare

    before = fingerprint(h5mu)
    out = prepare(h5mu, tmp_path / "export", modality=modality, progress=False)
    assert fingerprint(h5mu) == before
    with open_source(h5mu, modality=modality) as src, open_source(out) as exported:
        names = list(src.gene_names())
        assert list(exported.gene_names()) == names
        for j in (0, len(names) - 1):
            np.testing.assert_array_equal(exported.gene_by_index(j), src.gene_by_index(j))
        assert {f.name for f in exported.fields()} == {f.name for f in src.fields()}
        assert exported.extra_identity()["modalities"]["genes_from"] == modality


@pytest.mark.parametrize("kind", ["object", "file"])
def test_show_anndata_on_mudata_gives_selected_obs(h5mu, kind):
    from cellucid.widget import show_anndata

    data = mudata.read_h5mu(h5mu) if kind == "object" else h5mu
    viewer = show_anndata(data, display=False, quiet=True, modality="prot")
    try:
        assert viewer.n_cells == 300
        viewer.widget.selection = np.array([0, 5, 9], dtype=np.uint32)  # as a lasso in the viewer sets it
        obs = viewer.selected_obs()
        names = mudata.read_h5mu(h5mu).obs_names
        assert list(obs.index) == [names[i] for i in (0, 5, 9)]
        assert {"sample", "rna:leiden", "prot:quality"} <= set(obs.columns)
    finally:
        viewer.stop()


def test_modality_on_a_file_that_is_not_mudata(tmp_path, make_adata):
    path = tmp_path / "plain.h5ad"
    make_adata().write_h5ad(path)
    err = refused(path, modality="rna")
    assert "not a MuData (.h5mu) file" in err.message


def test_default_modality_is_the_first_with_a_matrix(tmp_path):
    import anndata as ad
    import pandas as pd

    full = make_mudata()
    meta = ad.AnnData(obs=pd.DataFrame({"qc": np.arange(full.n_obs, dtype=float)}, index=full.obs_names))
    mdata = mudata.MuData({"meta": meta, "rna": full["rna"]})
    mdata.obsm["X_wnn_umap"] = np.zeros((mdata.n_obs, 2), dtype=np.float32)
    path = tmp_path / "meta_first.h5mu"
    mdata.write_h5mu(path)
    with open_source(path) as src:
        assert src.extra_identity()["modalities"]["names"] == ["meta", "rna"]
        assert src.extra_identity()["modalities"]["genes_from"] == "rna"
        assert src.summary().n_genes == full["rna"].n_vars
