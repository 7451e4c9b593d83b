"""Fixtures for the Dask tests: one real ``LocalCluster`` of two worker processes for the
session, and small datasets written by anndata (backed CSR ``.h5ad``, ``.zarr``, dense)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest


@pytest.fixture(scope="session")
def cluster():
    """Two worker processes, one thread each (the workers import cellucid from PYTHONPATH)."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as c:
        yield c


@pytest.fixture(scope="session")
def client(cluster):
    from distributed import Client

    with Client(cluster, set_as_default=False) as c:
        yield c


@pytest.fixture(scope="session")
def adata():
    """4,000 cells × 200 genes of the demo (log1p values), with a few missing categories."""
    from cellucid.data.demo import demo_anndata

    ad = demo_anndata(4000, 200)
    ct = ad.obs["cell_type"].copy()
    ct.iloc[[0, 5, 9]] = np.nan
    ad.obs["cell_type"] = ct
    return ad


@pytest.fixture(scope="session")
def files(adata, tmp_path_factory):
    """``{"h5ad": backed CSR, "zarr": CSR (zarr v3), "dense": dense X .h5ad}`` paths."""
    import anndata

    d = tmp_path_factory.mktemp("dask-data")
    out = {"h5ad": d / "csr.h5ad", "zarr": d / "csr.zarr", "dense": d / "dense.h5ad"}
    adata.write_h5ad(out["h5ad"])
    with warnings.catch_warnings(), anndata.settings.override(zarr_write_format=3):
        warnings.simplefilter("ignore", UserWarning)
        adata.write_zarr(out["zarr"])
    dense = adata.copy()
    dense.X = dense.X.toarray()
    dense.write_h5ad(out["dense"])
    return out
