"""``s3://`` and ``https://`` zarr stores served by the real server: the same values as the
local file, fetched lazily (only what is asked for)."""

from __future__ import annotations

import numpy as np
import pytest

from server_http import Client

API = "/_cellucid/api"


def _serve(url, **kw):
    from cellucid.anndata_server import AnnDataServer

    return AnnDataServer(url, port=0, quiet=True, open_browser=False, **kw)


def _check_against(client: Client, adata) -> None:
    emb = client.get(f"{API}/embedding", {"key": "X_umap", "dim": 2, "format": "f32"})
    assert emb.status == 200
    np.testing.assert_allclose(emb.array(), adata.obsm["X_umap"][:, :2], rtol=1e-6)
    codes = client.get(f"{API}/obs", {"field": "cell_type"}).array()
    cats = list(adata.obs["cell_type"].cat.categories)
    legend = client.get(f"{API}/obs/meta", {"field": "cell_type"}).json()
    names = [c if isinstance(c, str) else c["name"] for c in legend["categories"]]
    assert [names[c] for c in codes[:50]] == [cats[c] for c in adata.obs["cell_type"].cat.codes[:50]]
    gene = adata.var_names[17]
    got = client.get(f"{API}/gene", {"name": gene, "format": "f32"}).array()
    want = np.asarray(adata[:, gene].X.toarray() if hasattr(adata.X, "toarray") else adata[:, gene].X).ravel()
    np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.parametrize("version", [2, 3])
def test_s3_zarr_served_equals_local(s3_zarr, small_adata, version):
    with _serve(s3_zarr[version]) as server:
        client = Client(server.url)
        assert client.get("/_cellucid/health").json()["n_cells"] == small_adata.n_obs
        _check_against(client, small_adata)


def test_storage_options_alone_carry_endpoint_and_credentials(s3_zarr, small_adata, monkeypatch, moto_endpoint):
    for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(k)
    opts = {"endpoint_url": moto_endpoint, "key": "testing", "secret": "testing"}
    with _serve(s3_zarr[3], storage_options=opts) as server:
        _check_against(Client(server.url), small_adata)


def test_http_zarr_served_equals_local(http_store, small_adata):
    with _serve(f"{http_store.url}/small_v2.zarr") as server:
        _check_against(Client(server.url), small_adata)


def test_only_the_bytes_shown_are_fetched(http_store, small_adata):
    """Opening and showing one gene reads metadata, the shown elements and that gene's
    chunk(s) — never the other layers, raw, obsp or other obsm entries."""
    with _serve(f"{http_store.url}/small_v3.zarr") as server:
        client = Client(server.url)
        client.get(f"{API}/gene", {"name": small_adata.var_names[3]})
        paths = [p for _, p, _ in http_store.requests()]
    assert paths, "the store was never asked"
    for untouched in ("/obsp/", "/layers/", "/raw/", "/varm/"):
        assert not any(untouched in p for p in paths), untouched
    assert any("/X/" in p for p in paths)  # the gene was read from the store


def test_repeated_reads_come_from_the_memory_cache(http_store, small_adata):
    from cellucid.data import open_source

    source = open_source(f"{http_store.url}/small_v3.zarr")
    try:
        source.embedding("X_umap", 2)
        n = len(http_store.requests())
        source._backend.obsm_array("X_umap", 2)  # the same bytes again, past the source's own caches
        assert len(http_store.requests()) == n
        assert source.remote_store.cache.size > 0
    finally:
        source.close()


def test_show_anndata_and_serve_anndata_take_a_url(s3_zarr, small_adata):
    from cellucid.widget import show_anndata

    viewer = show_anndata(s3_zarr[3], display=False, quiet=True, storage_options={"anon": False})
    try:
        url = viewer.server.url if hasattr(viewer, "server") else None
        assert url is not None
        _check_against(Client(url), small_adata)
    finally:
        viewer.close() if hasattr(viewer, "close") else None


def test_the_memory_cache_keeps_to_its_byte_bound():
    from cellucid.data.remote_store import _ByteCache

    cache = _ByteCache(100)
    cache.put(("a", "None"), b"x" * 60)
    cache.put(("b", "None"), b"y" * 30)
    assert cache.get(("a", "None")) == (True, b"x" * 60)  # a is now the most recently used
    cache.put(("c", "None"), b"z" * 30)  # 120 > 100: the least recently used (b) goes
    assert cache.size == 90 and cache.get(("b", "None"))[0] is False and cache.get(("a", "None"))[0]
    cache.put(("d", "None"), b"w" * 101)  # larger than the bound: never kept
    assert cache.get(("d", "None"))[0] is False and cache.size <= 100


def test_a_zero_cache_fetches_again(http_store, monkeypatch):
    from cellucid.data import open_source

    monkeypatch.setenv("CELLUCID_REMOTE_CACHE", "0")
    source = open_source(f"{http_store.url}/small_v3.zarr")
    try:
        source._backend.obsm_array("X_umap", 2)
        n = len(http_store.requests())
        source._backend.obsm_array("X_umap", 2)
        assert len(http_store.requests()) > n and source.remote_store.cache.size == 0
    finally:
        source.close()


def test_two_readers_of_the_same_bytes_share_one_request(http_store):
    import threading

    from cellucid.data import open_source

    source = open_source(f"{http_store.url}/small_v3.zarr")
    try:
        http_store.set_faults(delay=0.5)  # both readers ask while the first request is out
        readers = [threading.Thread(target=source._backend.obsm_array, args=("X_tsne", 2)) for _ in range(2)]
        for t in readers:
            t.start()
        for t in readers:
            t.join(30)
        assert len(http_store.requests("/obsm/X_tsne/c")) == 1
    finally:
        source.close()
