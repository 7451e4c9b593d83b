"""``cellucid prepare IN OUT.zarr --format zarr``: a gene-chunked, sharded Zarr v3 AnnData
store. anndata reads it, values equal the source, one gene costs at most two GETs over HTTP,
it serves from a local path and from S3, and the input is never written."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from server_http import Client

API = "/_cellucid/api"


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "cellucid.cli", "prepare", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def _snapshot(path):
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return {str(p): (p.read_bytes(), p.stat().st_mtime_ns) for p in files}


@pytest.fixture(scope="module")
def h5ad_in(small_adata, tmp_path_factory):
    path = tmp_path_factory.mktemp("in") / "small.h5ad"
    small_adata.write_h5ad(path)
    return path


@pytest.fixture(scope="module")
def prepared(h5ad_in, tmp_path_factory):
    before = _snapshot(h5ad_in)
    out = tmp_path_factory.mktemp("out") / "small.zarr"
    proc = _cli(h5ad_in, out, "--format", "zarr", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "Serve it with" in proc.stdout
    assert _snapshot(h5ad_in) == before  # the input is untouched
    return out


def test_anndata_reads_it_and_values_equal_the_source(prepared, small_adata):
    import anndata as ad
    import zarr

    back = ad.read_zarr(prepared)
    np.testing.assert_array_equal(back.X, small_adata.X.toarray().astype(np.float32))
    np.testing.assert_array_equal(back.obsm["X_umap"], small_adata.obsm["X_umap"])
    assert list(back.obs["cell_type"]) == list(small_adata.obs["cell_type"])
    assert list(back.var_names) == list(small_adata.var_names)
    x = zarr.open_group(str(prepared), mode="r")["X"]
    assert x.metadata.zarr_format == 3
    assert x.chunks == (small_adata.n_obs, 1) and x.shards[1] > 1  # a chunk per gene, genes per shard


def test_served_from_a_local_path(prepared, small_adata):
    from cellucid.anndata_server import AnnDataServer

    gene = small_adata.var_names[41]
    with AnnDataServer(prepared, port=0, quiet=True, open_browser=False) as server:
        got = Client(server.url).get(f"{API}/gene", {"name": gene, "format": "f32"}).array()
    np.testing.assert_array_equal(got, small_adata[:, gene].X.toarray().ravel().astype(np.float32))


def test_one_gene_costs_at_most_two_gets_over_http(prepared, small_adata):
    from cellucid.anndata_server import AnnDataServer
    from http_store import StaticStore

    store = StaticStore(prepared.parent)
    try:
        with AnnDataServer(f"{store.url}/{prepared.name}", port=0, quiet=True, open_browser=False) as server:
            client = Client(server.url)
            client.get(f"{API}/embedding", {"key": "X_umap", "dim": 2})
            for j in (5, 6, 200):
                name = small_adata.var_names[j]
                before = len(store.requests("/X/"))
                got = client.get(f"{API}/gene", {"name": name, "format": "f32"}).array()
                gets = store.requests("/X/")[before:]
                assert 1 <= len(gets) <= 2, gets  # the shard's index (once per shard) + the gene's chunk
                assert all(rng for _, _, rng in gets)  # range GETs, never a whole shard
                np.testing.assert_array_equal(got, small_adata[:, name].X.toarray().ravel().astype(np.float32))
    finally:
        store.close()


def test_served_from_s3(prepared, s3, small_adata):
    from cellucid.anndata_server import AnnDataServer

    s3.put(str(prepared), "cellucid-test/prepared.zarr", recursive=True)
    gene = small_adata.var_names[123]
    with AnnDataServer("s3://cellucid-test/prepared.zarr", port=0, quiet=True, open_browser=False) as server:
        store = server.source.remote_store
        client = Client(server.url)
        client.get(f"{API}/embedding", {"key": "X_umap", "dim": 2})  # after the start-up reads
        client.get(f"{API}/genes", {"q": "gene"})
        n0 = len(store.log)
        got = client.get(f"{API}/gene", {"name": gene, "format": "f32"}).array()
        x_gets = [k for k, _ in list(store.log)[n0:] if k.startswith("X/")]
        assert 1 <= len(x_gets) <= 2, x_gets  # the shard's index + the gene's chunk
    np.testing.assert_array_equal(got, small_adata[:, gene].X.toarray().ravel().astype(np.float32))


def test_dense_input_and_a_layer(small_adata, tmp_path):
    from cellucid.export.zarr_store import prepare_zarr
    import anndata as ad

    a = small_adata.copy()
    a.layers["dense"] = a.X.toarray() * 2
    src = tmp_path / "in.h5ad"
    a.write_h5ad(src)
    out = prepare_zarr(src, tmp_path / "out.zarr", expression="layer:dense", shard_genes=7)
    np.testing.assert_array_equal(ad.read_zarr(out).X, a.layers["dense"].astype(np.float32))


def test_refuses_an_existing_output_and_an_output_inside_the_input(prepared, h5ad_in, local_zarr):
    proc = _cli(h5ad_in, prepared, "--format", "zarr")
    assert proc.returncode == 2 and "already exists" in proc.stderr and "--force" in proc.stderr
    before = _snapshot(local_zarr[3])
    proc = _cli(local_zarr[3], local_zarr[3] / "inner.zarr", "--format", "zarr")
    assert proc.returncode == 2 and "inside the input" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert _snapshot(local_zarr[3]) == before
    assert not os.path.exists(local_zarr[3] / "inner.zarr")
