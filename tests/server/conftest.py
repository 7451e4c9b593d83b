"""Fixtures for server tests: small AnnData files on disk and real servers on free loopback
ports. The HTTP client lives in ``server_http.py``."""

from __future__ import annotations

import numpy as np
import pytest

from server_http import Client


def with_missing_values(adata):
    """The demo data plus the awkward cases: missing categories, NaN values, odd names."""
    adata = adata.copy()
    ct = adata.obs["cell_type"].copy()
    ct.iloc[[0, 5, 9]] = np.nan
    adata.obs["cell_type"] = ct
    pt = adata.obs["pseudotime"].to_numpy(dtype=np.float64).copy()
    pt[[1, 2]] = np.nan
    adata.obs["pseudotime"] = pt
    adata.obs["group: with space é &x=1"] = adata.obs["batch"].astype(str).astype("category")
    return adata


@pytest.fixture(scope="session")
def small_adata():
    """1,200 cells × 300 genes of the deterministic demo data, with missing values."""
    from cellucid.data.demo import demo_anndata

    return with_missing_values(demo_anndata(1200, 300))


@pytest.fixture(scope="session")
def h5ad_file(small_adata, tmp_path_factory):
    path = tmp_path_factory.mktemp("h5ad") / "small.h5ad"
    small_adata.write_h5ad(path)
    return path


def _write_zarr(adata, path, version: int):
    import anndata

    with anndata.settings.override(zarr_write_format=version):
        adata.write_zarr(path)
    return path


@pytest.fixture(scope="session")
def zarr2_dir(small_adata, tmp_path_factory):
    return _write_zarr(small_adata, tmp_path_factory.mktemp("zarr") / "small_v2.zarr", 2)


@pytest.fixture(scope="session")
def zarr3_dir(small_adata, tmp_path_factory):
    return _write_zarr(small_adata, tmp_path_factory.mktemp("zarr") / "small_v3.zarr", 3)


@pytest.fixture(scope="module")
def demo_server():
    from cellucid.anndata_server import AnnDataServer

    with AnnDataServer(None, port=0, quiet=True, demo_cells=2000) as server:
        yield server


@pytest.fixture(scope="module")
def h5ad_server(h5ad_file):
    from cellucid.anndata_server import AnnDataServer

    with AnnDataServer(h5ad_file, port=0, quiet=True, gene_id_column="gene_ids") as server:
        yield server


def _serve(path):
    from cellucid.anndata_server import AnnDataServer

    return AnnDataServer(path, port=0, quiet=True, gene_id_column="gene_ids")


@pytest.fixture(scope="module")
def zarr2_server(zarr2_dir):
    with _serve(zarr2_dir) as server:
        yield server


@pytest.fixture(scope="module")
def zarr3_server(zarr3_dir):
    with _serve(zarr3_dir) as server:
        yield server


@pytest.fixture
def demo(demo_server) -> Client:
    return Client(demo_server.base_url)


@pytest.fixture
def h5ad(h5ad_server) -> Client:
    return Client(h5ad_server.base_url)
