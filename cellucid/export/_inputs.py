"""Turn what the caller passed into what the writer needs: settings, the expression matrix
object to stream, and the embeddings to write (from a :class:`DataSource`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from cellucid.data.base import DataSource, InputError
from cellucid.data.matrix_choice import Expression
from cellucid.data import export_layout as layout

# (key, name, {dim: callable -> float32 (n, dim), "n_columns": int})
EmbeddingPlan = tuple[str, str, dict[Any, Any]]


def bits(v: int | None, name: str) -> int | None:
    if v in (None, 0, 32):
        return None
    if v not in (8, 16):
        raise InputError(f"{name} must be None, 8 or 16, got {v!r}.", "Use 16 for near-exact values, 8 for the smallest files.")
    return int(v)


def is_array(x: Any) -> bool:
    import scipy.sparse as sp

    return isinstance(x, np.ndarray) or sp.issparse(x)


def source_matrix(source: DataSource) -> tuple[Any, Any]:
    """The matrix object the data layer itself reads genes from (h5py / zarr group or the
    in-memory X), so prepare() and serve use the very same matrix."""
    backend = getattr(source, "_backend", None)
    s = source.summary()
    if backend is None or not s.n_genes or s.no_genes_reason:
        return None, None
    try:
        return backend.matrix(Expression.parse(s.expression)), None
    except Exception:  # noqa: BLE001 - any failure: fall back to the path-based locator
        return None, None


def locate_matrix(data: Any, expression: str) -> tuple[Any, Any]:
    """The expression matrix as an object the chunked gene writer reads, plus the open file
    that owns it (closed by the caller), or ``(None, None)`` to fall back to the source."""
    try:
        choice = Expression.parse(expression)
    except InputError:
        return None, None
    loc = choice.store_path
    try:
        import anndata as ad

        if isinstance(data, ad.AnnData):
            if choice.kind == "X":
                return data.X, None
            if choice.kind == "raw":
                return (data.raw.X if data.raw is not None else None), None
            return data.layers.get(choice.layer), None
        p = Path(data)
        if p.is_file() and p.suffix == ".h5ad":
            import h5py

            f = h5py.File(p, "r")
            return (f[loc] if loc in f else None), f
        if p.is_dir() and not (p / layout.IDENTITY_FILE).exists():
            import zarr

            g = zarr.open_group(str(p), mode="r")
            try:
                return g[loc], None
            except KeyError:
                return None, None
    except (TypeError, OSError):
        pass
    return None, None


def embeddings_from_source(source: DataSource, keys: Sequence[str] | None) -> list[EmbeddingPlan]:
    infos = source.embeddings()
    if keys is not None:
        by_key = {e.key: e for e in infos}
        by_key.update({e.name: e for e in infos if e.name not in by_key})
        missing = [k for k in keys if k not in by_key]
        if missing:
            raise InputError(
                f"Embedding(s) {missing} not found.",
                f"Available embeddings: {sorted(e.key for e in infos)}.",
            )
        infos = [by_key[k] for k in keys]
    if not infos:
        raise InputError("The input has no embedding to show.", "Add one, e.g. sc.tl.umap(adata), which writes obsm['X_umap'].")
    plan = []
    for e in infos:
        dims = {d: (lambda k=e.key, d=d: source.embedding(k, d)) for d in e.dimensions}
        dims["n_columns"] = e.n_columns  # the input's stored width, reported as is
        plan.append((e.key, e.name, dims))
    return plan
