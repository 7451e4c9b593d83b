"""``/_cellucid/api/gene?...&encoding=sparse`` against the dense route, over real HTTP.

Every source kind and matrix layout is served by a real server; for every gene the sparse
body, decoded, must equal the dense route bit for bit (NaN, -0.0, inf, empty and full genes
included), with or without gzip, and its headers must describe it.
"""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import scipy.sparse as sp

from cellucid.server.encode import decode_sparse_gene, sparse_body_bytes
from server_http import Client

API = "/_cellucid/api"


def tricky_columns(n_cells: int, finite: bool = True) -> np.ndarray:
    """(n_cells, 6) float32: all zero; every cell non-zero; a few NaN (or 7) cells; cells
    hundreds of rows apart (skips past one byte); ~7 % log-normalized-like floats; counts
    with -0.0 and inf (or 9) cells."""
    rng = np.random.default_rng(n_cells)
    x = np.zeros((n_cells, 6), dtype=np.float32)
    x[:, 1] = rng.normal(size=n_cells) + np.where(rng.random(n_cells) < 0.5, -3.0, 3.0)
    some = rng.random(n_cells) < 0.1
    x[some, 2] = rng.random(int(some.sum())) + 0.25
    x[rng.integers(0, n_cells, 3), 2] = np.nan if not finite else 7.0
    x[:: 700, 3] = np.arange(len(x[:: 700, 3])) + 1.5
    x[n_cells - 1, 3] = 2.0  # a last cell right at the end
    dense = rng.random(n_cells) < 0.07
    x[dense, 4] = np.log1p(rng.random(int(dense.sum())) * 1e4 / 621).astype(np.float32)
    x[:, 5] = (rng.random(n_cells) < 0.2) * rng.integers(1, 20, n_cells)
    if n_cells > 10:
        x[3, 5] = -0.0 if not finite else 0.0
        x[4, 5] = np.inf if not finite else 9.0
    return x


def make_adata(n_cells: int = 2500, matrix: str = "csr", finite: bool = False):
    import anndata as ad
    import pandas as pd

    x = tricky_columns(n_cells, finite)
    if matrix == "csr":
        m = sp.csr_matrix(x)
    elif matrix == "csc":
        m = sp.csc_matrix(x)
    else:
        m = x
    t = np.linspace(0, 1, n_cells)
    obs = pd.DataFrame({"cell_type": pd.Categorical(np.where(t < 0.5, "a", "b"))},
                       index=[f"c{i}" for i in range(n_cells)])
    var = pd.DataFrame(index=[f"G{j}" for j in range(x.shape[1])])
    adata = ad.AnnData(X=m, obs=obs, var=var,
                       obsm={"X_umap": np.stack([np.cos(6 * t), np.sin(6 * t)], 1).astype(np.float32)})
    adata.layers["counts"] = sp.csr_matrix(x[:, ::-1].copy())
    adata.raw = ad.AnnData(X=sp.csr_matrix(x * 2), var=var, obs=obs[[]])
    return adata


def fetch_both(client: Client, index: int, gzip_ok: bool = True):
    enc = {"Accept-Encoding": "gzip"} if gzip_ok else {}
    dense = client.request("GET", f"{API}/gene?index={index}", headers=enc)
    sparse = client.request("GET", f"{API}/gene?index={index}&encoding=sparse", headers=enc)
    assert dense.status == 200 and sparse.status == 200, (dense.body[:200], sparse.body[:200])
    return dense, sparse


def decoded(sparse) -> np.ndarray:
    h = sparse.headers
    assert h["X-Cellucid-Encoding"] == "sparse" and h["X-Cellucid-Dtype"] == "float32"
    body = gzip.decompress(sparse.body) if h.get("Content-Encoding") == "gzip" else sparse.body
    return decode_sparse_gene(body, int(h["X-Cellucid-N-Cells"]), int(h["X-Cellucid-Nnz"]),
                              int(h["X-Cellucid-Escapes"]), int(h["X-Cellucid-Dict"]))


def assert_same_gene(dense, sparse) -> np.ndarray:
    want = dense.array()
    got = decoded(sparse)
    # Bit for bit: NaN stays NaN, -0.0 stays -0.0.
    assert got.shape == want.shape
    assert got.view(np.uint32).tolist() == want.view(np.uint32).tolist()
    h = sparse.headers
    assert int(h["X-Cellucid-Nnz"]) == int(np.count_nonzero(want.view(np.uint32)))
    for name in ("X-Cellucid-Gene-Index", "X-Cellucid-Gene-Name"):
        assert h[name] == dense.headers[name]
    for name in ("X-Cellucid-Min", "X-Cellucid-Max"):
        a, b = float(h[name]), float(dense.headers[name])
        assert a == b or (np.isnan(a) and np.isnan(b)), (name, a, b)  # -0.0 == 0.0 here
    return got


def serve_and_compare(data, n_genes: int = 6, **options) -> list[np.ndarray]:
    from cellucid.anndata_server import AnnDataServer

    with AnnDataServer(data, port=0, quiet=True, **options) as server:
        client = Client(server.base_url)
        out = []
        for j in range(n_genes):
            dense, sparse = fetch_both(client, j)
            out.append(assert_same_gene(dense, sparse))
        return out


@pytest.mark.parametrize("matrix", ["csr", "csc", "dense"])
def test_sparse_equals_dense_for_every_layout_on_disk(matrix, tmp_path):
    adata = make_adata(matrix=matrix)
    path = tmp_path / "data.h5ad"
    adata.write_h5ad(path)
    genes = serve_and_compare(path)
    want = tricky_columns(adata.n_obs, finite=False)
    np.testing.assert_array_equal(np.stack(genes, 1), want)  # and both equal the matrix
    assert np.isnan(genes[2]).sum() == 3  # NaN cells are stored values, not zeros
    if matrix == "dense":  # scipy's sparse conversions drop -0.0 like any zero
        assert np.signbit(genes[5][3]) and genes[5][3] == 0


def test_sparse_equals_dense_for_raw_and_a_layer(tmp_path):
    adata = make_adata()
    path = tmp_path / "data.h5ad"
    adata.write_h5ad(path)
    raw = serve_and_compare(path, expression="raw")
    layer = serve_and_compare(path, expression="layer:counts")
    x = tricky_columns(adata.n_obs, finite=False)
    np.testing.assert_array_equal(np.stack(raw, 1), x * 2)
    np.testing.assert_array_equal(np.stack(layer, 1), x[:, ::-1])


def test_sparse_equals_dense_in_memory():
    adata = make_adata()
    genes = serve_and_compare(adata)
    np.testing.assert_array_equal(np.stack(genes, 1), tricky_columns(adata.n_obs, finite=False))


def test_sparse_equals_dense_from_an_export_folder(tmp_path):
    import cellucid

    adata = make_adata(finite=True)  # export folders store finite values only
    cellucid.prepare(adata, tmp_path / "exp", progress=False)
    genes = serve_and_compare(tmp_path / "exp")
    np.testing.assert_allclose(np.stack(genes, 1), tricky_columns(adata.n_obs, finite=True), rtol=1e-6)


def test_one_cell_dataset(tmp_path):
    adata = make_adata(n_cells=1)
    path = tmp_path / "one.h5ad"
    adata.write_h5ad(path)
    genes = serve_and_compare(path)
    assert [g.shape for g in genes] == [(1,)] * 6
    assert genes[0][0] == 0 and genes[1][0] != 0


def test_headers_body_size_and_identity_encoding(tmp_path):
    from cellucid.anndata_server import AnnDataServer

    adata = make_adata(n_cells=5000)
    path = tmp_path / "data.h5ad"
    adata.write_h5ad(path)
    with AnnDataServer(path, port=0, quiet=True) as server:
        client = Client(server.base_url)
        plain_dense, plain = fetch_both(client, 3, gzip_ok=False)
        _, plain4 = fetch_both(client, 4, gzip_ok=False)
        zipped_dense, zipped = fetch_both(client, 4)  # cached raw, compressed on demand
        fresh_dense, fresh = fetch_both(client, 2)
        _, empty = fetch_both(client, 0)
        _, full = fetch_both(client, 1)
    # without Accept-Encoding the body is the raw layout, its size fixed by the headers
    assert "Content-Encoding" not in plain.headers
    h = plain.headers
    nnz, n_esc, n_dict = (int(h[f"X-Cellucid-{k}"]) for k in ("Nnz", "Escapes", "Dict"))
    assert len(plain.body) == sparse_body_bytes(nnz, n_esc, n_dict) == 4 * n_esc + 4 * n_dict + 2 * nnz
    assert nnz == 9 and n_esc == 7  # cells 0, 700, …, 4900 (7 skips of 699: escaped) and 4999
    assert n_dict == 9  # 1.5, 2.5, …, 8.5 and 2.0: a value table, one code byte per cell
    assert int(plain4.headers["X-Cellucid-Dict"]) == 0  # log-normalized floats: byte planes
    assert len(plain4.body) == sparse_body_bytes(int(plain4.headers["X-Cellucid-Nnz"]),
                                                 int(plain4.headers["X-Cellucid-Escapes"]), 0)
    assert int(h["X-Cellucid-N-Cells"]) == 5000 == int(h["X-Cellucid-Shape"])
    assert_same_gene(plain_dense, plain)
    assert zipped.headers["Content-Encoding"] == "gzip" == zipped_dense.headers["Content-Encoding"]
    assert_same_gene(zipped_dense, zipped)
    assert gzip.decompress(zipped.body) == plain4.body
    # gzip on the wire, and much smaller than the (gzipped) dense float32 column
    assert fresh.headers["Content-Encoding"] == "gzip" == fresh_dense.headers["Content-Encoding"]
    assert_same_gene(fresh_dense, fresh)
    assert len(fresh.body) < len(fresh_dense.body)
    assert empty.headers["X-Cellucid-Nnz"] == "0" and empty.body == b""
    assert (empty.headers["X-Cellucid-Min"], empty.headers["X-Cellucid-Max"]) == ("0.0", "0.0")
    assert full.headers["X-Cellucid-Nnz"] == "5000" and full.headers["X-Cellucid-Escapes"] == "0"


def test_bad_encoding_is_a_400_with_a_hint(tmp_path):
    from cellucid.anndata_server import AnnDataServer

    with AnnDataServer(make_adata(n_cells=50), port=0, quiet=True) as server:
        r = Client(server.base_url).get(f"{API}/gene", {"index": 0, "encoding": "zstd"})
    assert r.status == 400
    body = r.json()
    assert "zstd" in body["error"] and "encoding=sparse" in body["hint"]


def test_decoder_refuses_a_body_that_does_not_match_its_headers():
    with pytest.raises(ValueError, match="expected"):
        decode_sparse_gene(b"\x00" * 6, 10, 1, 0)
    with pytest.raises(ValueError, match="past the last cell"):
        decode_sparse_gene(bytes([9]) + b"\x00" * 4, 5, 1, 0)
    with pytest.raises(ValueError, match="past the table"):  # table of 1, skip 0, code 1
        decode_sparse_gene(np.float32(2).tobytes() + bytes([0, 1]), 5, 1, 0, 1)


def test_sparse_from_the_gene_index_equals_dense(tmp_path, monkeypatch):
    """With a ready gene index the sparse body is built from its stored entries (no dense
    column); explicit zeros and -0.0 stored in the CSR matrix must come out as in the dense route."""
    import time

    from cellucid.anndata_server import AnnDataServer
    from cellucid.data import store_source

    monkeypatch.setenv("CELLUCID_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(store_source, "GENE_INDEX_MIN_NNZ", 0)
    adata = make_adata(n_cells=3000)
    m = adata.X.tocsr()
    m.data[:5] = 0.0  # explicitly stored zeros (kept as entries by anndata)
    m.data[5] = -0.0
    adata.X = m
    path = tmp_path / "data.h5ad"
    adata.write_h5ad(path)
    with AnnDataServer(path, port=0, quiet=True) as server:
        client = Client(server.base_url)
        deadline = time.monotonic() + 60
        # (health can show progress 1.0 a moment before the index file is open; before the
        # index is ready the sparse entries come from a scan, so wait on the index itself)
        while not server.source._reader.index.ready:
            assert time.monotonic() < deadline, "gene index never became ready"
            time.sleep(0.05)
        assert client.get("/_cellucid/health").json()["gene_index"] == 1.0
        entries = [server.source.gene_sparse_by_index(j) for j in range(6)]
        assert all(e is not None for e in entries)
        assert any((e[1] == 0).any() for e in entries)  # the explicit zeros are in the index
        genes = [assert_same_gene(*fetch_both(client, j)) for j in range(6)]
    np.testing.assert_array_equal(np.stack(genes, 1), m.toarray())
    row, col = int(np.searchsorted(m.indptr, 5, side="right")) - 1, int(m.indices[5])
    assert genes[col][row] == 0 and np.signbit(genes[col][row])  # the stored -0.0 survives
