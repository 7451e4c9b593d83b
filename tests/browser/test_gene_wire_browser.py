"""The viewer's gene values equal the server's, bit for bit, through the sparse wire encoding.

A real server on an .h5ad written by anndata with awkward genes (NaN cells, all zero, every
cell non-zero, cells far apart), real Chromium; the values are read from the viewer's own
column cache (``window.cellucid.app.column``), the same object it colors with.
"""

from __future__ import annotations

import gzip
import http.client
from urllib.parse import urlsplit

import numpy as np
import pytest

from browser_page import open_viewer

pytestmark = pytest.mark.browser

N = 4000


def gene_matrix() -> np.ndarray:
    rng = np.random.default_rng(5)
    x = np.zeros((N, 5), dtype=np.float32)
    x[:, 1] = rng.normal(size=N) + 5  # every cell non-zero
    some = rng.random(N) < 0.07
    x[some, 2] = np.log1p(rng.random(int(some.sum())) * 30).astype(np.float32)
    x[[10, 11, 3999], 2] = np.nan  # NaN is a stored value, not a zero
    x[::600, 3] = 3.0  # skips past one byte
    x[:, 4] = (rng.random(N) < 0.3) * rng.integers(1, 50, N)  # counts
    return x


@pytest.fixture(scope="module")
def gene_server(tmp_path_factory):
    import anndata as ad
    import pandas as pd
    import scipy.sparse as sp

    from cellucid.anndata_server import AnnDataServer

    t = np.linspace(0, 1, N)
    adata = ad.AnnData(
        X=sp.csr_matrix(gene_matrix()),
        obs=pd.DataFrame({"cell_type": pd.Categorical(np.where(t < 0.5, "a", "b"))},
                         index=[f"c{i}" for i in range(N)]),
        var=pd.DataFrame(index=["ZERO", "FULL", "NANS", "FAR", "COUNTS"]),
        obsm={"X_umap": np.stack([np.cos(6 * t), np.sin(6 * t)], 1).astype(np.float32)},
    )
    path = tmp_path_factory.mktemp("genewire") / "genes.h5ad"
    adata.write_h5ad(path)
    srv = AnnDataServer(str(path), port=0, quiet=True).start_background()
    yield srv
    srv.stop()


def dense_from_server(url: str, name: str) -> np.ndarray:
    """The default (dense float32) gene route, fetched from Python."""
    u = urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        conn.request("GET", f"/_cellucid/api/gene?name={name}", headers={"Accept-Encoding": "gzip"})
        r = conn.getresponse()
        body = r.read()
        assert r.status == 200
        if r.getheader("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        return np.frombuffer(body, dtype="<f4")
    finally:
        conn.close()


VIEWER_BITS = """async (name) => {
  const c = await window.cellucid.app.column('gene', name);
  return {bits: Array.from(new Uint32Array(c.values.buffer, c.values.byteOffset, c.values.length)),
          n: c.values.length, min: c.min, max: c.max, name: c.name, isF32: c.values instanceof Float32Array};
}"""


def test_viewer_gene_values_equal_the_server(browser, gene_server):
    v = open_viewer(browser, gene_server.url)
    try:
        responses = []
        v.page.on("response", lambda r: responses.append(r) if "/_cellucid/api/gene" in r.url else None)
        x = gene_matrix()
        for j, name in enumerate(["ZERO", "FULL", "NANS", "FAR", "COUNTS"]):
            got = v.js(VIEWER_BITS, name)
            assert got["isF32"] and got["n"] == N and got["name"] == name
            bits = np.asarray(got["bits"], dtype=np.uint32)
            want = dense_from_server(gene_server.url, name)
            assert bits.tolist() == want.view(np.uint32).tolist(), name
            np.testing.assert_array_equal(bits.view(np.float32), x[:, j])
            finite = x[:, j][np.isfinite(x[:, j])]
            assert (got["min"], got["max"]) == pytest.approx((finite.min(), finite.max()), rel=1e-6)
        # the viewer asked for the sparse encoding, and got it (gzip is undone by the browser)
        assert len(responses) == 5
        for r in responses:
            assert "encoding=sparse" in r.url
            assert r.headers["x-cellucid-encoding"] == "sparse"
        # both value layouts were decoded: a table of counts, byte planes of log floats
        dicts = {r.url.split("name=")[1].split("&")[0]: int(r.headers["x-cellucid-dict"]) for r in responses}
        assert dicts["COUNTS"] > 0 and dicts["FAR"] == 1 and dicts["NANS"] == 0
        assert v.errors == []
    finally:
        v.page.close()


def test_gene_progress_reaches_one_from_the_announced_size(browser, gene_server):
    v = open_viewer(browser, gene_server.url)
    try:
        fractions = v.js("""async () => {
          const seen = [];
          const off = window.cellucid.app.on('progress', (label, f) => { if (label.includes('COUNTS')) seen.push(f); });
          await window.cellucid.app.column('gene', 'COUNTS');
          off();
          return seen;
        }""")
        assert fractions, "no progress reported while loading the gene"
        assert fractions == sorted(fractions) and fractions[-1] == 1
    finally:
        v.page.close()


def test_coloring_by_a_gene_with_nan_cells_draws(browser, gene_server):
    v = open_viewer(browser, gene_server.url)
    try:
        v.js("window.cellucid.setColorBy('NANS')")
        v.page.wait_for_function("window.cellucid.state().colored_by === 'NANS'")
        v.frame()
        lo, hi = v.state()["color_range"]
        finite = gene_matrix()[:, 2]
        finite = finite[np.isfinite(finite)]
        # robust limits by default, over the finite values (docs/viewer.md)
        assert (lo, hi) == pytest.approx(tuple(np.percentile(finite, [1, 99])), rel=1e-6)
        assert v.errors == []
    finally:
        v.page.close()
