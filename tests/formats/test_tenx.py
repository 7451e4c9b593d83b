"""Cell Ranger matrices: files in 10x's layout, proven valid by scanpy, read the same by cellucid,
refused by serve with the exact --embed command, and served after `prepare --embed`."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import h5py
import numpy as np
import pytest
import scipy.sparse as sp

from cellucid.data import InputError, open_source
from cellucid.data.base import NoEmbedding
from cellucid.data.tenx import read_tenx
from server_http import Client

from format_files import counts_data, fingerprint, write_10x_h5, write_10x_mtx


def _scanpy():
    import scanpy as sc

    return sc


def _dense(m):
    return m.toarray() if sp.issparse(m) else np.asarray(m)


def test_files_are_valid_for_scanpy(tenx):
    h5, gz, _, (X, barcodes, ids, names, types) = tenx
    sc = _scanpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Variable names are not unique"
        a = sc.read_10x_h5(h5, gex_only=False)
        b = sc.read_10x_mtx(gz, gex_only=False)
    for ref in (a, b):
        assert ref.shape == X.shape
        np.testing.assert_array_equal(_dense(ref.X), X.toarray())
        assert list(ref.obs_names) == list(barcodes)
        assert list(ref.var["gene_ids"]) == list(ids)
        assert list(ref.var["feature_types"]) == list(types)


@pytest.mark.parametrize("which", ["h5", "gz", "plain"])
def test_read_tenx_equals_scanpys_reading(tenx, which):
    h5, gz, plain, (X, barcodes, ids, names, types) = tenx
    sc = _scanpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = sc.read_10x_h5(h5, gex_only=False)
    adata = read_tenx({"h5": h5, "gz": gz, "plain": plain}[which])
    assert adata.shape == ref.shape
    np.testing.assert_array_equal(_dense(adata.X), _dense(ref.X))
    assert list(adata.obs_names) == list(ref.obs_names)
    assert list(adata.var["gene_ids"]) == list(ref.var["gene_ids"])
    assert list(adata.var["feature_types"]) == list(types)
    assert adata.var_names.is_unique and "DUP" in adata.var_names and "CD3E" in adata.var_names


@pytest.mark.parametrize("which", ["h5", "gz", "plain"])
def test_serve_says_an_embedding_is_needed_with_the_command(tenx, which):
    path = {"h5": tenx[0], "gz": tenx[1], "plain": tenx[2]}[which]
    before = fingerprint(path)
    with pytest.raises(NoEmbedding) as err:
        open_source(path)
    text = str(err.value)
    assert "Cell Ranger v3" in text and "600 cells" in text and "125 features" in text
    assert "Gene Expression: 120, Antibody Capture: 5" in text
    assert f"cellucid prepare {path} " in text and "--embed" in text
    assert "pip install 'cellucid[embed]'" in text
    assert fingerprint(path) == before


def test_cli_serve_prints_the_command_without_traceback(tenx):
    h5 = tenx[0]
    r = subprocess.run([sys.executable, "-m", "cellucid.cli", "serve", str(h5), "--no-browser", "--port", "0"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    out_dir = h5.parent / "filtered_feature_bc_matrix_cellucid"
    assert f"cellucid prepare {h5} {out_dir} --embed" in r.stderr
    assert f"cellucid serve {out_dir}" in r.stderr


def test_prepare_embed_serves_counts_and_clusters(tenx, tmp_path):
    """The whole path a wet-lab user takes: Cell Ranger .h5 → prepare --embed → serve."""
    from cellucid.anndata_server import AnnDataServer

    h5 = tenx[0]
    before = fingerprint(h5)
    out = tmp_path / "export"
    r = subprocess.run([sys.executable, "-m", "cellucid.cli", "prepare", str(h5), str(out), "--embed", "-q"],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert fingerprint(h5) == before
    sc = _scanpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = sc.read_10x_h5(h5, gex_only=False)
    with AnnDataServer(out, port=0, quiet=True) as server:
        server.start_background()
        c = Client(server.base_url)
        health = c.get("/_cellucid/health").json()
        assert (health["n_cells"], health["n_genes"]) == ref.shape
        ident = c.get("/dataset_identity.json").json()
        settings = json.loads((out / "dataset_identity.json").read_text())["export_settings"]
        assert settings["input_kind"] == "10x"
        assert settings["embed"]["seed"] == 0 and settings["embed"]["genes_used"] == "Gene Expression features"
        assert ident["embed"] == settings["embed"]  # served too
        assert {e["key"] for e in ident["embeddings"]} >= {"X_umap"}
        assert 3 in ident["embeddings"][0]["dimensions"] and 2 in ident["embeddings"][0]["dimensions"]
        leiden = c.get("/_cellucid/api/obs", {"field": "leiden"})
        assert leiden.status == 200
        pos = int(np.flatnonzero(ref.var["gene_ids"] == "ENSG00000000003")[0])
        for query in ({"name": "CD3E"}, {"name": "ENSG00000000003"}):
            values = c.get("/_cellucid/api/gene", query).array()
            np.testing.assert_array_equal(values, _dense(ref.X[:, pos]).ravel().astype(np.float32))
        hits = c.get("/_cellucid/api/genes", {"q": "ENSG0000000000"}).json()
        assert hits["total"] >= 10
    with open_source(out) as src:
        f = src.obs_field("leiden")
        assert len(f.categories) >= 2  # the three populations are found apart
        assert not (f.codes < 0).any()


def test_embed_without_scanpy_names_the_install_command(tenx, tmp_path, monkeypatch):
    from cellucid.export import prepare

    monkeypatch.setitem(sys.modules, "scanpy", None)  # import scanpy → ImportError, as when absent
    out = tmp_path / "export"
    with pytest.raises(InputError) as err:
        prepare(tenx[0], out, embed=True, progress=False)
    assert "scanpy" in err.value.message and "pip install 'cellucid[embed]'" in err.value.hint
    assert not out.exists()


def test_truncated_mtx_gz_is_a_clear_error(tenx, tmp_path):
    folder = tenx[1]
    data = (folder / "matrix.mtx.gz").read_bytes()
    (folder / "matrix.mtx.gz").write_bytes(data[: len(data) // 2])
    before = fingerprint(folder)
    with pytest.raises(InputError) as err:
        read_tenx(folder)
    assert "truncated" in str(err.value) and "matrix.mtx.gz" in str(err.value)
    r = subprocess.run([sys.executable, "-m", "cellucid.cli", "prepare", str(folder), str(tmp_path / "o"), "--embed",
                        "-q"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "truncated" in r.stderr
    assert fingerprint(folder) == before


@pytest.mark.parametrize("which", ["h5", "gz"])
def test_barcodes_and_matrix_of_different_lengths(tmp_path, which):
    X, barcodes, ids, names, types = counts_data()
    if which == "h5":
        path = write_10x_h5(tmp_path / "m.h5", X, barcodes[:-3], ids, names, types)
    else:
        path = write_10x_mtx(tmp_path / "m", X, barcodes[:-3], ids, names, types)
    before = fingerprint(path)
    for call in (open_source, read_tenx):
        with pytest.raises(InputError) as err:
            call(path)
        assert not isinstance(err.value, NoEmbedding)
        assert "600 barcode columns but there are 597 barcodes" in str(err.value)
    assert fingerprint(path) == before


def test_v2_hdf5_is_read(tmp_path):
    """Cell Ranger 2's layout: one group per genome with genes / gene_names."""
    X, barcodes, ids, names, _ = counts_data(n_adt=0)
    path = tmp_path / "v2.h5"
    with h5py.File(path, "w") as f:
        g = f.create_group("hg19")
        g["barcodes"] = np.array([b.encode() for b in barcodes])
        g["data"], g["indices"], g["indptr"] = X.data, X.indices.astype(np.int64), X.indptr.astype(np.int64)
        g["shape"] = np.array([X.shape[1], X.shape[0]], dtype=np.int32)
        g["genes"] = np.array([i.encode() for i in ids])
        g["gene_names"] = np.array([n.encode() for n in names])
    ref = _scanpy().read_10x_h5(path)  # scanpy's legacy reader accepts it
    with pytest.raises(NoEmbedding, match="v2 HDF5"):
        open_source(path)
    adata = read_tenx(path)
    np.testing.assert_array_equal(_dense(adata.X), _dense(ref.X))
    assert list(adata.var["gene_ids"]) == list(ref.var["gene_ids"])


def test_v2_matrix_market_folder_is_read(tmp_path):
    X, barcodes, ids, names, _ = counts_data(n_adt=0)
    folder = tmp_path / "filtered_gene_bc_matrices" / "hg19"
    folder.mkdir(parents=True)
    import scipy.io

    scipy.io.mmwrite(folder / "matrix.mtx", sp.coo_matrix(X.T), field="integer")
    (folder / "genes.tsv").write_text("".join(f"{i}\t{n}\n" for i, n in zip(ids, names)))
    (folder / "barcodes.tsv").write_text("".join(f"{b}\n" for b in barcodes))
    ref = _scanpy().read_10x_mtx(folder)
    with pytest.raises(NoEmbedding, match="v2 MatrixMarket"):
        open_source(folder)
    adata = read_tenx(folder)
    np.testing.assert_array_equal(_dense(adata.X), _dense(ref.X))


def test_an_h5_that_is_not_cell_ranger(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f["something"] = np.arange(3)
    with pytest.raises(InputError, match="not a Cell Ranger matrix") as err:
        open_source(path)
    assert "something" in str(err.value)
    path2 = tmp_path / "text.h5"
    path2.write_text("hello")
    with pytest.raises(InputError, match="not an HDF5 file"):
        open_source(path2)
