"""Bad and awkward input, each served for real: the CLI exits 2 with a message and a hint
(never a traceback); awkward-but-valid data is served on every route with valid arrays or
clean JSON errors."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from route_check import check_all_routes, decode, strict_json
from netprobe import request


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cellucid.cli", "serve", *args, "--no-browser", "--port", "0"],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _bad_file(tmp_path, kind, make_adata):
    import anndata as ad
    import h5py

    if kind == "not-hdf5":
        p = tmp_path / "text.h5ad"
        p.write_text("cell,gene\n1,2\n")
    elif kind == "empty-file":
        p = tmp_path / "empty.h5ad"
        p.write_bytes(b"")
    elif kind == "truncated":
        p = tmp_path / "truncated.h5ad"
        make_adata(n_cells=300, n_genes=40).write_h5ad(p)
        p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    elif kind == "hdf5-not-anndata":
        p = tmp_path / "plain.h5ad"
        with h5py.File(p, "w") as f:
            f["x"] = np.arange(3)
    elif kind == "broken-zarr":
        p = tmp_path / "broken.zarr"
        p.mkdir()
        (p / "zarr.json").write_text("{not json")
    elif kind == "broken-zarr-v2":
        p = tmp_path / "broken_v2.zarr"
        p.mkdir()
        (p / ".zgroup").write_text("{not json")
    elif kind == "zarr-not-anndata":
        import zarr

        p = tmp_path / "plain.zarr"
        zarr.open_group(str(p), mode="w").create_array("x", shape=(3,), dtype="i4")
    elif kind == "no-2d-embedding":  # obsm with 1 column only
        a = make_adata(n_cells=50, n_genes=10, vectors=False)
        for key in ("X_umap", "X_umap_3d", "X_tsne", "X_pca"):
            del a.obsm[key]
        p = tmp_path / "one_column.h5ad"
        a.write_h5ad(p)
    elif kind == "empty-anndata":  # 0 cells x 0 genes, nothing to show
        p = tmp_path / "empty_anndata.h5ad"
        ad.AnnData(np.zeros((0, 0), dtype=np.float32)).write_h5ad(p)
    elif kind == "wrong-suffix":
        p = tmp_path / "data.csv"
        p.write_text("a,b\n")
    else:
        raise ValueError(kind)
    return p


BAD = {
    "not-hdf5": "not an HDF5 file",
    "empty-file": "not an HDF5 file",
    "truncated": "damaged or incomplete",
    "hdf5-not-anndata": "not an AnnData file",
    "broken-zarr": "as a zarr store",
    "broken-zarr-v2": "as a zarr store",
    "zarr-not-anndata": "not an AnnData file",
    "no-2d-embedding": "no 2D or 3D embedding",
    "empty-anndata": "no 2D or 3D embedding",
    "wrong-suffix": "not a supported input",
}


@pytest.mark.parametrize("kind", list(BAD))
def test_cli_bad_input_exits_2_with_message_and_hint(tmp_path, make_adata, kind):
    path = _bad_file(tmp_path, kind, make_adata)
    before = path.stat().st_mtime_ns if path.is_file() else None
    r = run_cli(str(path))
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("Error: ") and BAD[kind] in r.stderr, r.stderr
    assert "\n  hint: " in r.stderr
    assert "Traceback" not in r.stderr and "File \"" not in r.stderr
    if before is not None:
        assert path.stat().st_mtime_ns == before


def _awkward(kind, make_adata):
    """Valid-but-awkward AnnData objects the server must serve."""

    a = make_adata(n_cells=60, n_genes=12)
    if kind == "zero-cells":
        return a[:0].copy()
    if kind == "zero-genes":
        return a[:, :0].copy()
    if kind == "one-cell":
        return a[:1].copy()
    if kind == "x-none":
        return make_adata(n_cells=60, n_genes=12, matrix=None)
    if kind == "dense-int":
        return make_adata(n_cells=60, n_genes=12, matrix="dense", dtype="int64")
    if kind == "nan-inf-embedding":
        a.obsm["X_umap"][:5] = np.nan
        a.obsm["X_umap"][5:8] = np.inf
        a.obsm["X_umap"][8] = -np.inf
        a.obsm["X_tsne"][:] = np.nan  # all missing
        return a
    if kind == "nan-inf-obs":
        s = a.obs["score"].to_numpy().copy()
        s[:4], s[4:6] = np.inf, -np.inf
        a.obs["score"] = s
        a.obs["all_nan"] = np.full(a.n_obs, np.nan)
        a.obs["all_inf"] = np.full(a.n_obs, np.inf)
        return a
    if kind == "numeric-var-names":
        a.var_names = [str(i) for i in range(a.n_vars)]
        return a
    if kind == "duplicated-names":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a.var_names = ["CD3E"] * 6 + ["LYZ"] * 6
            a.obs_names = ["same"] * a.n_obs
        return a
    if kind == "100k-categories":
        b = make_adata(n_cells=100_000, n_genes=4, vectors=False)
        b.obs["unique_id"] = pd.Categorical([f"id{i}" for i in range(b.n_obs)])
        return b
    if kind == "unicode-and-slash-names":
        a.obs["größe / Zelle ✓"] = a.obs["score"]
        a.obs["../../etc/passwd"] = a.obs["batch"]
        a.obs["a&b=c?d#e"] = a.obs["batch"]
        a.obs["日本語"] = a.obs["cell_type"]
        a.obsm["X_umap✓"] = a.obsm["X_umap"]
        return a
    if kind == "one-column-obsm-too":
        a.obsm["X_single"] = np.arange(a.n_obs, dtype=np.float32)[:, None]
        return a
    raise ValueError(kind)


AWKWARD = ["zero-cells", "zero-genes", "one-cell", "x-none", "dense-int", "nan-inf-embedding", "nan-inf-obs",
           "numeric-var-names", "duplicated-names", "100k-categories", "unicode-and-slash-names",
           "one-column-obsm-too"]


def _write(adata, tmp_path, store):
    import anndata as ad

    if store == "h5ad":
        path = tmp_path / "data.h5ad"
        adata.write_h5ad(path)
        return path
    path = tmp_path / f"data_{store}.zarr"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with ad.settings.override(zarr_write_format=int(store[-1])):
            adata.write_zarr(path)
    return path


# Every store for every case, except the 100k-category file (h5ad only: it is the slow one).
CASES = [(k, s) for k in AWKWARD for s in ("h5ad", "zarr2", "zarr3") if k != "100k-categories" or s == "h5ad"]


@pytest.mark.parametrize("kind,store", CASES)
def test_awkward_data_is_served_on_every_route(tmp_path, make_adata, kind, store):
    from cellucid.anndata_server import AnnDataServer

    adata = _awkward(kind, make_adata)
    if kind == "unicode-and-slash-names" and store != "h5ad":
        # zarr refuses '/' in keys when anndata writes them: the in-memory path serves it instead.
        path = adata
    else:
        path = _write(adata, tmp_path, store)
    before = (path.stat().st_mtime_ns, path.stat().st_size) if hasattr(path, "stat") and path.is_file() else None
    with AnnDataServer(path, port=0, quiet=True) as srv:
        ident = check_all_routes(srv.port)
        _specific_checks(kind, srv.port, ident, adata)
    if before is not None:
        assert (path.stat().st_mtime_ns, path.stat().st_size) == before


def _specific_checks(kind, port, ident, adata):
    if kind == "zero-cells":
        assert ident["stats"]["n_cells"] == 0
        assert request(port, "/_cellucid/api/cells?index=0").status == 400
    elif kind in ("zero-genes", "x-none"):
        genes = request(port, "/_cellucid/api/gene?index=0")
        assert genes.status == 404 and genes.json()["hint"]
        assert ident["genes"]["available"] is False and ident["genes"]["reason"]
    elif kind == "dense-int":
        g = decode(request(port, "/_cellucid/api/gene?index=3"))
        np.testing.assert_array_equal(g, np.asarray(adata.X[:, 3]).ravel().astype(np.float32))
    elif kind == "nan-inf-embedding":
        q = request(port, "/_cellucid/api/embedding?key=X_umap&dim=2&format=u16")
        arr = decode(q)
        assert (arr[:9] == 65535).all() and (arr[9:] < 65535).all()
        allnan = request(port, "/_cellucid/api/embedding?key=X_tsne&dim=2&format=u16")
        assert allnan.status in (200, 404)
    elif kind == "nan-inf-obs":
        obs = request(port, "/_cellucid/api/obs?field=score")
        assert np.isfinite(float(obs.headers["x-cellucid-min"])) and np.isfinite(float(obs.headers["x-cellucid-max"]))
    elif kind == "numeric-var-names":
        g = request(port, "/_cellucid/api/gene?name=5")
        assert g.status == 200 and g.headers["x-cellucid-gene-index"] == "5"
    elif kind == "duplicated-names":
        g = request(port, "/_cellucid/api/gene?name=LYZ")
        assert g.status == 200 and 6 <= int(g.headers["x-cellucid-gene-index"]) < 12
        cells = request(port, "/_cellucid/api/cells?index=0,1").json()["cells"]
        assert [c["name"] for c in cells] == ["same", "same"]
    elif kind == "100k-categories":
        meta = request(port, "/_cellucid/api/obs/meta?field=unique_id")
        if meta.status == 200:
            assert len(strict_json(meta.body)["categories"]) == 100_000
            obs = request(port, "/_cellucid/api/obs?field=unique_id")
            assert obs.headers["x-cellucid-dtype"] == "uint32"
            assert len(np.unique(decode(obs))) == 100_000
        else:
            assert meta.status == 404 and meta.json()["hint"]
    elif kind == "unicode-and-slash-names":
        names = [f["name"] for f in ident["fields"]]
        for name in ("größe / Zelle ✓", "../../etc/passwd", "a&b=c?d#e", "日本語"):
            assert name in names
        from urllib.parse import quote
        r = request(port, "/_cellucid/api/obs?field=" + quote("../../etc/passwd", safe=""))
        assert r.status == 200 and decode(r).shape == (adata.n_obs,)
    elif kind == "one-column-obsm-too":
        keys = {e["key"]: e["dimensions"] for e in ident["embeddings"]}
        assert "X_umap" in keys
        assert "X_single" not in keys or keys["X_single"] == [1]
