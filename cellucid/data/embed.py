"""Compute a 2D + 3D embedding and a clustering for data that has none (``prepare --embed``).

The standard scanpy recipe, on a working copy, with a fixed seed:
normalize_total (1e4 counts per cell) → log1p → highly variable genes (``seurat`` flavour)
→ PCA → neighbours → UMAP in 3D and in 2D → Leiden. Only ``Gene Expression`` features are
used when the data lists feature types (Cell Ranger), as scanpy's ``gex_only`` does.

The result is a new AnnData that shares the caller's ``X``, ``var`` and ``layers`` (nothing
is copied or modified) with ``obsm["X_pca"]``, ``obsm["X_umap"]`` (2 columns),
``obsm["X_umap_3d"]`` (3) and ``obs["leiden"]`` (categorical) added, so genes are still
served from the original values (raw counts for a Cell Ranger matrix).

scanpy (with igraph and leidenalg) is an optional extra: ``pip install 'cellucid[embed]'``.
"""

from __future__ import annotations

import importlib
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from cellucid.data.base import InputError

INSTALL = "pip install 'cellucid[embed]'"
_NEEDED = (("scanpy", "scanpy"), ("igraph", "igraph"), ("leidenalg", "leidenalg"))

DEFAULTS: dict[str, Any] = {
    "seed": 0,
    "target_sum": 1e4,
    "n_top_genes": 2000,
    "n_pcs": 50,
    "n_neighbors": 15,
    "resolution": 1.0,
}


def require_embed_packages() -> None:
    """Raise :class:`InputError` with the install command when scanpy & co. are missing."""
    missing = []
    for module, package in _NEEDED:
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(package)
    if missing:
        raise InputError(
            f"computing an embedding needs {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} "
            "not installed",
            hint=f"install the embed extra: {INSTALL}",
        )


def load_anndata(path: str | os.PathLike, modality: str | None = None):
    """The input at ``path`` as an in-memory AnnData (to compute an embedding for it)."""
    from cellucid.data._open import detect_kind

    p = Path(path)
    kind = detect_kind(p)
    try:
        if kind == "10x":
            from cellucid.data.tenx import read_tenx

            return read_tenx(p)
        if kind == "mudata":
            from cellucid.data.mudata_source import modality_anndata

            return modality_anndata(p, modality)
        import anndata as ad

        if kind == "h5ad":
            return ad.read_h5ad(p)
        if kind == "zarr":
            return ad.read_zarr(p)
        if kind == "loom":
            return ad.read_loom(p)
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - a library error while reading: say which file
        raise InputError(f"cannot read {p} ({type(exc).__name__}: {str(exc)[:300]})",
                         hint="check that the file is complete and readable") from None
    raise InputError(f"{p} is a cellucid export folder: it already has its embeddings",
                     hint="serve it directly, or run --embed on the original data")


def compute_embedding(adata: Any, progress: bool = True, **params: Any) -> tuple[Any, dict[str, Any]]:
    """``(new AnnData, parameters)``: ``adata``'s data with X_pca, X_umap (2D), X_umap_3d and
    obs ``leiden`` added (see the module docstring). ``params`` override :data:`DEFAULTS`."""
    require_embed_packages()
    import anndata as ad
    import scanpy as sc
    from tqdm.auto import tqdm

    unknown = set(params) - set(DEFAULTS)
    if unknown:
        raise InputError(f"unknown embed parameter(s): {', '.join(sorted(unknown))}",
                         hint=f"valid: {', '.join(DEFAULTS)}")
    p = {**DEFAULTS, **params}
    if adata.X is None:
        raise InputError("the data has no expression matrix (X is None) to compute an embedding from",
                         hint="store counts in X")
    work = ad.AnnData(X=adata.X.copy(), var=adata.var[[]].copy(), obs=adata.obs[[]].copy())
    gex = ("feature_types" in adata.var and (adata.var["feature_types"] == "Gene Expression").any()
           and not (adata.var["feature_types"] == "Gene Expression").all())
    if gex:
        work = work[:, (adata.var["feature_types"] == "Gene Expression").to_numpy()].copy()
    n_cells, n_genes = work.shape
    if n_cells < 10 or n_genes < 3:
        raise InputError(f"too little data to compute an embedding ({n_cells} cells × {n_genes} genes)",
                         hint="an embedding needs at least 10 cells and 3 genes")
    n_top = int(min(p["n_top_genes"], n_genes))
    n_pcs = int(min(p["n_pcs"], n_cells - 1, n_top - 1))
    seed = int(p["seed"])
    steps = ["normalize", "log1p", "highly variable genes", "PCA", "neighbours", "UMAP 3D", "UMAP 2D", "Leiden"]
    timings: dict[str, float] = {}
    knn = _knn_transformer(n_cells, int(p["n_neighbors"]), seed)
    t_all = time.perf_counter()
    with tqdm(total=len(steps), desc="embed", unit="step", disable=not progress, leave=False) as bar:
        def step(name: str, fn) -> None:
            bar.set_postfix_str(name)
            t0 = time.perf_counter()
            try:
                fn()
            except Exception as exc:  # noqa: BLE001 - a library failure: say which step, no traceback
                raise InputError(f"computing the embedding failed at step '{name}' ({type(exc).__name__}: "
                                 f"{str(exc)[:300]})",
                                 hint="check the versions of scanpy, scipy and umap-learn "
                                 f"({INSTALL} installs matching ones)") from None
            timings[name] = round(time.perf_counter() - t0, 3)
            bar.update(1)

        step("normalize", lambda: sc.pp.normalize_total(work, target_sum=p["target_sum"]))
        step("log1p", lambda: sc.pp.log1p(work))
        step("highly variable genes", lambda: sc.pp.highly_variable_genes(work, n_top_genes=n_top, subset=True))
        step("PCA", lambda: sc.pp.pca(work, n_comps=n_pcs, random_state=seed))
        step("neighbours", lambda: sc.pp.neighbors(work, n_neighbors=int(p["n_neighbors"]), n_pcs=n_pcs,
                                                   random_state=seed, transformer=knn))
        umap3: dict[str, np.ndarray] = {}

        def _umap3() -> None:
            sc.tl.umap(work, n_components=3, random_state=seed)
            umap3["v"] = np.asarray(work.obsm["X_umap"], dtype=np.float32)

        step("UMAP 3D", _umap3)
        step("UMAP 2D", lambda: sc.tl.umap(work, n_components=2, random_state=seed))
        step("Leiden", lambda: sc.tl.leiden(work, resolution=float(p["resolution"]), random_state=seed,
                                            flavor="igraph", n_iterations=2, directed=False))
    obs = adata.obs.copy()
    obs["leiden"] = work.obs["leiden"].to_numpy()
    obs["leiden"] = obs["leiden"].astype("category")
    obsm = {k: v for k, v in adata.obsm.items()}
    obsm.update({"X_pca": np.asarray(work.obsm["X_pca"], dtype=np.float32),
                 "X_umap": np.asarray(work.obsm["X_umap"], dtype=np.float32), "X_umap_3d": umap3["v"]})
    out = ad.AnnData(X=adata.X, obs=obs, var=adata.var, obsm=obsm,
                     layers=dict(adata.layers.items()), uns={k: v for k, v in adata.uns.items()})
    if adata.raw is not None:
        out.raw = adata.raw
    record = {
        "recipe": "normalize_total → log1p → highly_variable_genes → pca → neighbors → umap (3D, 2D) → leiden",
        **p, "n_top_genes": n_top, "n_pcs": n_pcs, "genes_used": "Gene Expression features" if gex else "all", "n_cells": int(n_cells), "n_genes_in": int(n_genes),
        "neighbours_method": "pynndescent" if knn is not None else "scanpy default (exact)",
        "scanpy_version": _version("scanpy"), "seconds": round(time.perf_counter() - t_all, 3),
        "step_seconds": timings,
    }
    return out, record


# From 8192 cells on, scanpy switches to approximate neighbours (pynndescent).
_EXACT_KNN_MAX = 8191


def _knn_transformer(n_cells: int, n_neighbors: int, seed: int):
    """For large data, pynndescent as scanpy would use it, but handing scanpy a
    ``csr_matrix``: scanpy 1.11 calls ``getnnz`` on the result, which the ``csr_array`` that
    pynndescent returns lacks with recent scipy (an AttributeError above ~10k cells)."""
    if n_cells <= _EXACT_KNN_MAX:
        return None
    import scipy.sparse as sp
    from pynndescent import PyNNDescentTransformer

    class _CsrMatrixKNN(PyNNDescentTransformer):
        def fit_transform(self, X, y=None, **kw):
            return sp.csr_matrix(super().fit_transform(X, y, **kw))

        def transform(self, X):
            return sp.csr_matrix(super().transform(X))

    return _CsrMatrixKNN(n_neighbors=n_neighbors, metric="euclidean", random_state=seed)


def open_with_embedding(data: Any, opts: Any, embed: Any):
    """A :class:`~cellucid.data.memory_source.MemorySource` over ``data`` (a path, AnnData
    or MuData) with an embedding computed in memory (``open_source(..., embed=...)``). The
    user's file or object is not modified, except an AnnData with ``embed="inplace"``."""
    import dataclasses

    from cellucid.data._open import detect_kind
    from cellucid.data.memory_source import MemorySource

    require_embed_packages()
    inplace = embed == "inplace"
    if inplace and (isinstance(data, (str, os.PathLike)) or type(data).__name__ == "MuData"):
        raise InputError("embed='inplace' writes into an AnnData object, and this input is not one",
                         hint="use embed=True, or pass the AnnData itself")
    kind, name = "anndata", opts.dataset_name or "anndata"
    if isinstance(data, (str, os.PathLike)):
        path = Path(data).expanduser()
        kind = detect_kind(path)
        name = opts.dataset_name or path.name.split(".")[0] or path.name
        adata = load_anndata(path, opts.modality)
    elif type(data).__name__ == "MuData":
        mods = list(data.mod)
        if opts.modality is not None and opts.modality not in mods:
            raise InputError(f"unknown modality {opts.modality!r}", hint=f"modalities: {', '.join(mods)}")
        adata = data.mod[opts.modality or mods[0]]
    else:
        adata = data
    params = dict(embed) if isinstance(embed, dict) else {}
    new, record = compute_embedding(adata, progress=True, **params)
    if inplace:  # asked for: the results go into the caller's AnnData too
        for key in ("X_pca", "X_umap", "X_umap_3d"):
            adata.obsm[key] = new.obsm[key]
        adata.obs["leiden"] = new.obs["leiden"]
        new = adata
    source = MemorySource(new, dataclasses.replace(opts, modality=None), kind=kind, default_name=name)
    source.identity_extra = {"embed": record}
    return source


def _version(name: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:  # noqa: BLE001
        return None
