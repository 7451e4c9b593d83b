"""GET /_cellucid/api/graph/edges (docs/http-api.md): the neighbour graph's undirected edges
as uint32 pairs, sampled above ``max``; a clear 404 without a graph."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp
import tornado.httpclient

from cellucid.data.graph_edges import graph_edges


def _graph(n=50, seed=0):
    rng = np.random.default_rng(seed)
    i, j = rng.integers(0, n, 400), rng.integers(0, n, 400)
    m = sp.csr_matrix((np.ones(400, np.float32), (i, j)), shape=(n, n))
    return m


def test_graph_edges_are_the_upper_triangle_of_the_symmetrised_graph():
    m = _graph()
    pairs, total = graph_edges(m, 10_000)
    want = sp.triu(m + m.T, k=1).tocoo()
    assert total == want.nnz == len(pairs)
    assert set(map(tuple, pairs.tolist())) == set(zip(want.row.tolist(), want.col.tolist()))
    assert (pairs[:, 0] < pairs[:, 1]).all() and pairs.dtype == np.uint32


def test_graph_edges_are_a_fixed_sample_above_the_cap():
    m = _graph()
    full, total = graph_edges(m, 10_000)
    a, t1 = graph_edges(m, 30)
    b, _ = graph_edges(m, 30)
    assert t1 == total and len(a) == 30 and np.array_equal(a, b)
    assert set(map(tuple, a.tolist())) <= set(map(tuple, full.tolist()))


def _fetch(url):
    client = tornado.httpclient.HTTPClient()
    try:
        return client.fetch(url, raise_error=False)
    finally:
        client.close()


@pytest.fixture
def graph_server(make_adata, write_h5ad):
    from cellucid.anndata_server import AnnDataServer

    adata = make_adata()
    n = adata.n_obs
    adata.obsp["connectivities"] = _graph(n, 1)
    srv = AnnDataServer(str(write_h5ad(adata)), port=0, quiet=True).start_background()
    yield srv, adata
    srv.stop()


def test_the_route_sends_uint32_pairs_with_the_total(graph_server):
    srv, adata = graph_server
    r = _fetch(f"{srv.url}_cellucid/api/graph/edges")
    assert r.code == 200
    pairs = np.frombuffer(r.body, dtype="<u4").reshape(-1, 2)
    want, total = graph_edges(adata.obsp["connectivities"])
    assert np.array_equal(pairs, want)
    assert r.headers["X-Cellucid-Edges-Total"] == str(total)
    assert r.headers["X-Cellucid-Edges-Sampled"] == "0"
    r = _fetch(f"{srv.url}_cellucid/api/graph/edges?max=25")
    assert len(r.body) == 25 * 8 and r.headers["X-Cellucid-Edges-Sampled"] == "1"
    r = _fetch(f"{srv.url}_cellucid/api/graph/edges?max=0")
    assert r.code == 400 and b"between" in r.body


def test_no_graph_is_a_clear_404(make_adata, write_h5ad):
    from cellucid.anndata_server import AnnDataServer

    srv = AnnDataServer(str(write_h5ad(make_adata())), port=0, quiet=True).start_background()
    try:
        r = _fetch(f"{srv.url}_cellucid/api/graph/edges")
        assert r.code == 404 and b"scanpy.pp.neighbors" in r.body
        ident = _fetch(f"{srv.url}dataset_identity.json")
        assert json.loads(ident.body)["neighbor_graph"] is False
    finally:
        srv.stop()
