"""The original cellucid-python ``prepare()`` keyword form (``obs=``, ``var=``,
``gene_expression=``, ``X_umap_2d=``, ``vector_fields=``, ``latent_space=``), so existing
scripts keep working."""

from __future__ import annotations

import re

import numpy as np

from cellucid.data.base import InputError

_VEC_EXPLICIT = re.compile(r"^(?P<field>.+)_umap_(?P<dim>[1-4])d$")
_VEC_IMPLICIT = re.compile(r"^(?P<field>.+)_umap$")


def from_keywords(obs, var, X, latent_space, umaps: dict, vector_fields):
    """The original keyword form → an AnnData (for obs / var / X discovery) plus explicit
    per-dimension embeddings, vectors and latent space (they do not fit obsm conventions)."""
    import anndata as ad
    import pandas as pd

    arrays = {d: np.asarray(a, dtype=np.float32) for d, a in umaps.items() if a is not None}
    if not arrays:
        raise InputError(
            "prepare() needs at least one embedding.",
            "Pass adata, or X_umap_2d= / X_umap_3d= (shape (n_cells, 2) / (n_cells, 3)).",
        )
    n = next(iter(arrays.values())).shape[0]
    for d, a in arrays.items():
        a = a.reshape(-1, 1) if a.ndim == 1 else a
        if a.shape != (n, d):
            raise InputError(f"X_umap_{d}d has shape {a.shape}, expected ({n}, {d}).", "Each X_umap_<d>d must be (n_cells, d).")
        arrays[d] = a
    arrays.pop(4, None)  # the viewer has no 4D; the original wrote it but never showed it
    if obs is None:
        obs = pd.DataFrame(index=[str(i) for i in range(n)])
    else:
        obs = obs.copy()
        obs.index = obs.index.astype(str)
    if len(obs) != n:
        raise InputError(f"obs has {len(obs)} rows but the embeddings have {n}.", "obs rows must be the cells, in embedding order.")
    if X is not None and var is None:
        var = pd.DataFrame(index=[f"gene_{j}" for j in range(X.shape[1])])
    if var is not None:
        var = var.copy()
        var.index = var.index.astype(str)
    top = max(arrays)
    adata = ad.AnnData(X=X, obs=obs, var=var if var is not None else None, obsm={"X_umap": arrays[top]})
    emb = [("X_umap", "umap", {d: (lambda a=a: a) for d, a in sorted(arrays.items())})]
    # 1D is always available: the first coordinate of the lowest embedding (viewer adds jitter)
    if 1 not in emb[0][2]:
        low = arrays[min(arrays)]
        emb[0][2][1] = lambda low=low: low[:, :1]
    vecs: dict[str, dict[int, np.ndarray]] = {}
    problems: list[str] = []
    explicit: set[tuple[str, int]] = set()
    for key, _val in (vector_fields or {}).items():
        m = _VEC_EXPLICIT.match(key)
        if m:
            explicit.add((m["field"], int(m["dim"])))
    for key, val in (vector_fields or {}).items():
        a = np.asarray(val.toarray() if hasattr(val, "toarray") else val, dtype=np.float32)
        a = a.reshape(-1, 1) if a.ndim == 1 else a
        m = _VEC_EXPLICIT.match(key)
        if m:
            field, dim = m["field"], int(m["dim"])
        elif (m := _VEC_IMPLICIT.match(key)):
            field, dim = m["field"], a.shape[1]
            if (field, dim) in explicit:
                continue  # explicit <field>_umap_<d>d wins
        else:
            problems.append(f"{key}: name is not <field>_umap_<d>d or <field>_umap")
            continue
        if a.shape != (n, dim):
            problems.append(f"{key}: shape {a.shape} does not match ({n}, {dim})")
            continue
        if dim not in arrays:
            problems.append(f"{key}: there is no {dim}D embedding (X_umap_{dim}d) to draw it on")
            continue
        vecs.setdefault(f"{field}_umap", {})[dim] = a
    vec_plan = (
        [(fid, f"{fid[: -len('_umap')]} (umap)", "umap", "X_umap", {d: (lambda a=a: a) for d, a in sorted(ds.items())})
         for fid, ds in vecs.items()],
        problems,
    )
    latent = None
    if latent_space is not None:
        latent = np.asarray(latent_space.toarray() if hasattr(latent_space, "toarray") else latent_space, dtype=np.float32)
        if latent.shape[0] != n:
            raise InputError(f"latent_space has {latent.shape[0]} rows, expected {n}.", "latent_space must be (n_cells, n_dims).")
    return adata, emb, vec_plan, latent
