"""Cell ranges on the per-cell routes (progressive loading: a strided sample first, then
contiguous ranges; docs/http-api.md): every range equals the same cells of the whole answer,
the quantization bounds are those of all cells, and bad ranges get a clear 400."""

from __future__ import annotations

import numpy as np
import pytest

from cellucid.server.encode import quantize_u16


def _whole(client, path, params):
    r = client.get(path, params)
    assert r.status == 200
    return r


@pytest.mark.parametrize("cells", [
    {"step": 7},
    {"start": 5, "stop": 905, "step": 3},
    {"start": 300, "stop": 700},
    {"start": 1199},
    {"start": 400, "stop": 400},
])
def test_embedding_range_equals_those_cells_of_the_whole(h5ad, cells):
    params = {"key": "X_umap", "dim": 2, "format": "u16"}
    whole = _whole(h5ad, "/_cellucid/api/embedding", params)
    part = h5ad.get("/_cellucid/api/embedding", {**params, **cells})
    assert part.status == 200
    sel = slice(cells.get("start", 0), cells.get("stop", 1200), cells.get("step", 1))
    np.testing.assert_array_equal(part.array(), whole.array()[sel])
    # same bounds: a range decodes exactly like the same cells of the whole embedding
    assert part.headers["X-Cellucid-Bounds"] == whole.headers["X-Cellucid-Bounds"]
    assert part.headers["X-Cellucid-Cells"] == f"{sel.start}:{sel.stop}:{sel.step}"


@pytest.mark.parametrize("field", ["cell_type", "pseudotime"])
def test_obs_range_equals_those_cells_of_the_whole(h5ad, field):
    whole = _whole(h5ad, "/_cellucid/api/obs", {"field": field}).array()
    part = h5ad.get("/_cellucid/api/obs", {"field": field, "start": 1, "step": 11})
    assert part.status == 200
    np.testing.assert_array_equal(part.array(), whole[1::11])


def test_a_range_before_the_whole_was_asked_for(h5ad_file):
    """A fresh server whose first request is a range (what a progressive viewer sends)."""
    from cellucid.anndata_server import AnnDataServer
    from server_http import Client

    with AnnDataServer(h5ad_file, port=0, quiet=True) as server:
        c = Client(server.base_url)
        params = {"key": "X_tsne", "dim": 2, "format": "f32"}
        part = c.get("/_cellucid/api/embedding", {**params, "step": 5})
        whole = c.get("/_cellucid/api/embedding", params)
    assert part.status == whole.status == 200
    np.testing.assert_array_equal(part.array(), whole.array()[::5])


@pytest.mark.parametrize("cells, word", [
    ({"step": 0}, "step"),
    ({"start": 10, "stop": 5}, "before"),
    ({"stop": 5000}, "stop"),
    ({"start": "x"}, "start"),
])
def test_bad_ranges_are_clear_400s(h5ad, cells, word):
    r = h5ad.get("/_cellucid/api/embedding", {"key": "X_umap", "dim": 2, **cells})
    assert r.status == 400
    body = r.json()
    assert word in body["error"] and body["hint"]


def test_blockwise_quantization_matches_the_whole_column_rule():
    rng = np.random.default_rng(3)
    coords = rng.normal(size=(300_000, 3)).astype(np.float32)  # more rows than one block
    coords[[5, 299_999], 1] = np.nan
    coords[7, 2] = np.inf
    q, bounds = quantize_u16(coords)
    for j in range(3):
        col = coords[:, j].astype(np.float64)
        ok = np.isfinite(col)
        lo, hi = col[ok].min(), col[ok].max()
        assert bounds[j] == [lo, hi]
        want = np.clip(np.rint((col[ok] - lo) * (65534 / (hi - lo))), 0, 65534)
        np.testing.assert_array_equal(q[ok, j], want.astype(np.uint16))
        assert (q[~ok, j] == 65535).all()


def test_demo_density_sets_the_nonzero_fraction(tmp_path):
    import anndata as ad

    from cellucid.data.demo import write_demo_h5ad

    path = write_demo_h5ad(tmp_path / "d.h5ad", 500, 400, density=0.02)
    adata = ad.read_h5ad(path)
    assert adata.X.nnz == 500 * 8  # 2 % of 400 genes in every row
    with pytest.raises(ValueError, match="density"):
        write_demo_h5ad(tmp_path / "bad.h5ad", 10, 10, density=0)
    assert not (tmp_path / "bad.h5ad").exists()
