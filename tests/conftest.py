"""Shared fixtures for every test folder: small AnnData objects and files written by anndata.

Stable names (other folders use them; do not rename):

``make_adata(**kw) -> AnnData``
    A small, deterministic AnnData built from scratch (no demo generator involved):
    ``n_cells=300``, ``n_genes=40``, ``matrix="csr" | "csc" | "dense" | None`` (``None`` →
    ``X=None``), ``dtype="float32" | "float64" | "int32" | "int64"``, ``gene_ids=True``
    (``var["gene_ids"]`` = ``ENSG…``), ``vectors=True`` (``velocity_umap_2d`` and
    ``velocity_umap_3d`` + scVelo-style ``velocity_tsne``), ``raw=False`` (``raw`` with 5
    extra genes and different values), ``layers=()`` (names of layers, each X × (i + 2)),
    ``missing=True`` (NaN / missing values in obs), ``seed=0``.
    Contents: obs ``cell_type`` (categorical, 4 categories + colors, a few missing),
    ``batch`` (categorical, no colors), ``score`` (float with NaN), ``count`` (int),
    ``flag`` (bool), ``maybe`` (nullable boolean with NA), ``label`` (strings with few
    distinct values → categorical), ``barcode`` (unique strings → skipped); obsm
    ``X_umap`` (2), ``X_umap_3d`` (3), ``X_tsne`` (2), ``X_pca`` (10), ``X_diffmap_1d`` (1);
    genes ``G0…`` with ``CD3E`` at position 3 and ``LYZ`` at 7; every gene is non-zero in
    about a third of the cells.
``write_h5ad(adata, name="data.h5ad") -> Path``
    Writes with ``adata.write_h5ad`` into the test's ``tmp_path``.
``write_zarr(adata, name="data.zarr", zarr_format=2) -> Path``
    Writes with ``adata.write_zarr`` (zarr v2 or v3 layout) into ``tmp_path``.
``pbmc68k`` (session)
    ``scanpy.datasets.pbmc68k_reduced()``: 700 cells × 765 genes, dense X, with ``raw``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

CELL_TYPES = ["T cell", "B cell", "Monocyte", "NK"]
CELL_TYPE_COLORS = ["#e41a1c", "#377eb8", "#4daf4a", "#984ea3"]


def build_adata(
    n_cells: int = 300,
    n_genes: int = 40,
    matrix: str | None = "csr",
    dtype: str = "float32",
    gene_ids: bool = True,
    vectors: bool = True,
    raw: bool = False,
    layers: tuple[str, ...] = (),
    missing: bool = True,
    seed: int = 0,
):
    """See the module docstring (``make_adata``)."""
    import anndata as ad
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    ct = rng.integers(0, len(CELL_TYPES), n_cells)
    cell_type = pd.Categorical.from_codes(ct, categories=CELL_TYPES)
    score = rng.normal(size=n_cells)
    maybe = pd.array(rng.random(n_cells) < 0.5, dtype="boolean")
    if missing:
        cell_type = cell_type.copy()
        cell_type[[0, 7]] = np.nan
        score[[1, 2, 3]] = np.nan
        maybe[[4]] = pd.NA
    obs = pd.DataFrame(
        {
            "cell_type": cell_type,
            "batch": pd.Categorical(np.where(rng.random(n_cells) < 0.5, "b1", "b2")),
            "score": score,
            "count": rng.integers(0, 1000, n_cells),
            "flag": rng.random(n_cells) < 0.3,
            "maybe": maybe,
            "label": np.array(["alpha", "beta", "gamma"], dtype=object)[rng.integers(0, 3, n_cells)],
            "barcode": np.array([f"AAAC{i:06d}" for i in range(n_cells)], dtype=object),
        },
        index=[f"cell_{i}" for i in range(n_cells)],
    )
    names = [f"G{i}" for i in range(n_genes)]
    for pos, sym in ((3, "CD3E"), (7, "LYZ")):
        if pos < n_genes:
            names[pos] = sym
    var = pd.DataFrame(index=names)
    if gene_ids:
        var["gene_ids"] = [f"ENSG{i:011d}" for i in range(n_genes)]
    dense = (rng.random((n_cells, n_genes)) < 0.33) * rng.integers(1, 50, (n_cells, n_genes))
    dense = dense.astype(dtype)
    if np.dtype(dtype).kind == "f":
        dense = dense + (dense > 0) * np.asarray(0.25, dtype=dtype)
    X = None
    if matrix == "dense":
        X = dense
    elif matrix == "csr":
        X = sp.csr_matrix(dense)
    elif matrix == "csc":
        X = sp.csc_matrix(dense)
    elif matrix is not None:
        raise ValueError(f"matrix must be csr, csc, dense or None, not {matrix!r}")

    t = np.linspace(0, 1, n_cells)
    umap3 = np.stack([np.cos(3 * t), np.sin(3 * t), t], axis=1) * 10 + rng.normal(size=(n_cells, 3))
    obsm = {
        "X_umap": umap3[:, :2].astype(np.float32),
        "X_umap_3d": umap3.astype(np.float64),
        "X_tsne": rng.normal(size=(n_cells, 2)).astype(np.float32),
        "X_pca": rng.normal(size=(n_cells, 10)).astype(np.float32),
        "X_diffmap_1d": rng.normal(size=(n_cells, 1)).astype(np.float32),
    }
    if vectors:
        obsm["velocity_umap_2d"] = rng.normal(size=(n_cells, 2)).astype(np.float32)
        obsm["velocity_umap_3d"] = rng.normal(size=(n_cells, 3)).astype(np.float32)
        obsm["velocity_tsne"] = rng.normal(size=(n_cells, 2)).astype(np.float32)

    if X is None:
        # AnnData needs the shape from somewhere when X is None.
        adata = ad.AnnData(obs=obs, var=var, obsm=obsm)
    else:
        adata = ad.AnnData(X=X, obs=obs, var=var, obsm=obsm)
    adata.uns["cell_type_colors"] = np.array(CELL_TYPE_COLORS, dtype=object)
    for i, name in enumerate(layers):
        adata.layers[name] = sp.csr_matrix(dense * (i + 2)) if matrix != "dense" else dense * (i + 2)
    if raw:
        raw_names = names + [f"RAWONLY{i}" for i in range(5)]
        raw_X = (rng.random((n_cells, n_genes + 5)) < 0.5) * rng.integers(1, 9, (n_cells, n_genes + 5))
        raw_var = pd.DataFrame(index=raw_names)
        if gene_ids:
            raw_var["gene_ids"] = [f"ENSR{i:011d}" for i in range(n_genes + 5)]
        adata.raw = ad.AnnData(X=sp.csr_matrix(raw_X.astype(np.float32)), var=raw_var, obs=obs[[]])
    return adata


@pytest.fixture
def make_adata():
    """Factory for small AnnData objects: ``make_adata(matrix="csc", raw=True, ...)``."""
    return build_adata


@pytest.fixture
def write_h5ad(tmp_path):
    """``write_h5ad(adata, name="data.h5ad") -> Path`` in the test's tmp_path."""

    def write(adata, name: str = "data.h5ad") -> Path:
        path = tmp_path / name
        adata.write_h5ad(path)
        return path

    return write


@pytest.fixture
def write_zarr(tmp_path):
    """``write_zarr(adata, name="data.zarr", zarr_format=2) -> Path`` in the test's tmp_path."""

    def write(adata, name: str = "data.zarr", zarr_format: int = 2) -> Path:
        import anndata as ad

        path = tmp_path / name
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "v2 will no longer be the default"
            with ad.settings.override(zarr_write_format=zarr_format):
                adata.write_zarr(path)
        return path

    return write


@pytest.fixture(scope="session")
def pbmc68k():
    """scanpy's bundled ``pbmc68k_reduced`` (ships inside the scanpy wheel; no download)."""
    import scanpy as sc

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sc.datasets.pbmc68k_reduced()


def pytest_configure(config):
    """Keep gene indexes the suite builds out of the user's ~/.cache (subprocesses inherit it)."""
    import os
    import tempfile

    os.environ.setdefault("CELLUCID_CACHE_DIR", tempfile.mkdtemp(prefix="cellucid-test-cache-"))
