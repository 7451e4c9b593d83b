"""Files are only read, handles are released on close, and real scanpy data is served right."""

from __future__ import annotations

import os

import h5py
import numpy as np
import pytest

from cellucid.data import open_source


def fingerprint(path):
    """Bytes and mtime of a file, or of every file under a directory."""
    paths = [path] if os.path.isfile(path) else sorted(
        os.path.join(d, f) for d, _, files in os.walk(path) for f in files)
    return {p: (open(p, "rb").read(), os.stat(p).st_mtime_ns) for p in paths}


def exercise(src):
    """Touch every kind of read a server makes."""
    for e in src.embeddings():
        for d in e.dimensions:
            src.embedding(e.key, d)
    for f in src.fields():
        src.obs_field(f.name)
    for v in src.vector_fields():
        for d in v.dimensions:
            src.vectors(v.field_id, d)
    src.gene("CD3E")
    src.search_genes("G1")
    src.obs_names(np.arange(5))
    src.latent()
    src.dataset_id()


@pytest.mark.parametrize("fmt", ["h5ad", "zarr2", "zarr3"])
def test_reading_never_changes_the_files(fmt, make_adata, write_h5ad, write_zarr):
    adata = make_adata(matrix="csr")
    path = write_h5ad(adata) if fmt == "h5ad" else write_zarr(adata, zarr_format=int(fmt[-1]))
    before = fingerprint(path)
    for backed in (True, False):
        with open_source(path, backed=backed) as src:
            exercise(src)
    assert fingerprint(path) == before


def test_close_releases_the_hdf5_file(make_adata, write_h5ad):
    path = write_h5ad(make_adata())
    src = open_source(path)
    handle = src._backend.root
    assert handle.id.valid
    with pytest.raises(OSError):
        h5py.File(path, "r+")  # still held read-only by the source
    src.close()
    assert not handle.id.valid
    with h5py.File(path, "r+") as f:  # writable again: nothing of ours holds it
        assert "obs" in f
    src.close()  # idempotent


def test_reads_after_close_are_a_clear_error(make_adata, write_h5ad):
    from cellucid.data.base import CellucidError

    src = open_source(write_h5ad(make_adata()))
    src.close()
    with pytest.raises(CellucidError, match="closed"):
        src.gene("CD3E")


def test_opening_a_bad_file_releases_it(make_adata, write_h5ad):
    from cellucid.data.base import InputError

    adata = make_adata(vectors=False)
    for key in ("X_umap", "X_umap_3d", "X_tsne", "X_pca"):
        del adata.obsm[key]
    path = write_h5ad(adata)
    with pytest.raises(InputError):
        open_source(path)
    with h5py.File(path, "r+"):
        pass  # the failed open closed its handle


@pytest.fixture(scope="module")
def pbmc_file(pbmc68k, tmp_path_factory):
    path = tmp_path_factory.mktemp("pbmc") / "pbmc68k_reduced.h5ad"
    pbmc68k.write_h5ad(path)
    return path


def test_pbmc68k_backed_genes_equal_anndata(pbmc68k, pbmc_file):
    with open_source(pbmc_file) as src:
        s = src.summary()
        assert (s.kind, s.n_cells, s.n_genes) == ("h5ad", pbmc68k.n_obs, pbmc68k.n_vars)
        assert [e.key for e in src.embeddings()] == ["X_umap", "X_pca"]
        for gene in ("CD3E", "MS4A1", "LYZ", pbmc68k.var_names[-1]):
            expected = np.asarray(pbmc68k[:, gene].X).ravel().astype(np.float32)
            assert np.array_equal(src.gene(gene), expected)
        bulk = src.obs_field("bulk_labels")
        assert bulk.categories == list(pbmc68k.obs["bulk_labels"].cat.categories)
        assert bulk.colors == list(pbmc68k.uns["bulk_labels_colors"])
        assert np.array_equal(src.obs_field("n_counts").values, pbmc68k.obs["n_counts"].to_numpy(np.float32))
        assert np.array_equal(src.embedding("X_umap", 2), pbmc68k.obsm["X_umap"].astype(np.float32))


def test_pbmc68k_raw_expression(pbmc68k, pbmc_file):
    raw = pbmc68k.raw
    with open_source(pbmc_file, expression="raw") as src:
        assert src.summary().n_genes == raw.n_vars
        assert list(src.gene_names()) == list(raw.var_names)
        for gene in ("CD3E", "HES4", raw.var_names[-1]):
            col = raw[:, gene].X
            expected = (col.toarray() if hasattr(col, "toarray") else np.asarray(col)).ravel()
            assert np.array_equal(src.gene(gene), expected.astype(np.float32))


def test_file_held_for_writing_by_another_process(make_adata, write_h5ad):
    import subprocess
    import sys

    from cellucid.data.base import InputError

    path = write_h5ad(make_adata())
    holder = subprocess.Popen(
        [sys.executable, "-c",
         f"import h5py, sys; f = h5py.File({str(path)!r}, 'a'); print('open', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(InputError) as err:
            open_source(path)
        assert "another program holds it open for writing" in err.value.message
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
