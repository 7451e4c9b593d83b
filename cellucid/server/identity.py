"""Build ``dataset_identity.json`` (docs/http-api.md) from a DataSource."""

from __future__ import annotations

from cellucid._version import __version__
from cellucid.data.base import DataSource, EmbeddingInfo, VectorFieldInfo

IDENTITY_VERSION = 2


def _default_dimension(dims) -> int | None:
    dims = list(dims)
    if not dims:
        return None
    return 2 if 2 in dims else max(dims)


def _embedding_key_for_basis(basis: str, embeddings: list[EmbeddingInfo]) -> str | None:
    for e in embeddings:
        if e.name == basis or e.key == basis or e.key == f"X_{basis}":
            return e.key
    return None


def _vector_block(source: DataSource, embeddings: list[EmbeddingInfo]) -> dict:
    infos: list[VectorFieldInfo] = source.vector_fields()
    problems = list(source.vector_field_problems())
    fields = {}
    for v in infos:
        dims = sorted(int(d) for d in v.dimensions)
        fields[v.field_id] = {
            "label": v.label,
            "basis": v.basis,
            "embedding": _embedding_key_for_basis(v.basis, embeddings),
            "available_dimensions": dims,
            "default_dimension": _default_dimension(dims),
        }
        problems.extend(p for p in v.problems if p not in problems)
    return {
        "default_field": infos[0].field_id if infos else None,
        "fields": fields,
        "problems": problems,
    }


def _neighbors_block(source: DataSource) -> dict | None:
    from cellucid.data.neighbors import neighbor_space

    space = neighbor_space(source)
    return space.describe() if space is not None else None


def build_identity(source: DataSource) -> dict:
    """The dataset description the viewer reads first."""
    s = source.summary()
    embeddings = source.embeddings()
    fields = source.fields()
    default_emb = embeddings[0] if embeddings else None
    n_cat = sum(1 for f in fields if f.kind in ("categorical", "boolean"))
    field_list = []
    for f in fields:
        entry = {"name": f.name, "kind": f.kind}
        if f.n_categories is not None:
            entry["n_categories"] = int(f.n_categories)
        field_list.append(entry)
    default_field = next((f.name for f in fields if f.kind == "categorical"), None)
    genes_available = s.n_genes > 0 and s.no_genes_reason is None
    return {
        "version": IDENTITY_VERSION,
        "id": source.dataset_id(),
        "name": s.name,
        "source_kind": s.kind,
        "cellucid_version": __version__,
        "stats": {
            "n_cells": int(s.n_cells),
            "n_genes": int(s.n_genes),
            "n_obs_fields": len(fields),
            "n_categorical_fields": n_cat,
            "n_continuous_fields": len(fields) - n_cat,
        },
        "embeddings": [
            {"key": e.key, "name": e.name, "dimensions": [int(d) for d in e.dimensions],
             "n_columns": int(e.n_columns)}
            for e in embeddings
        ],
        "default_embedding": default_emb.key if default_emb else None,
        "default_dimension": _default_dimension(default_emb.dimensions) if default_emb else None,
        "fields": field_list,
        "default_field": default_field,
        "genes": {
            "available": genes_available,
            "n_genes": int(s.n_genes),
            "expression": s.expression,
            "id_columns": list(s.gene_id_columns),
            "reason": None if genes_available else (s.no_genes_reason or "the dataset has no genes (empty var)"),
        },
        "latent_key": s.latent_key,
        # where the viewer's k-NN grow measures (cellucid/data/neighbors.py); null: the shown embedding
        "neighbors": _neighbors_block(source),
        # obsp["connectivities"] exists: the viewer can draw it (/_cellucid/api/graph/edges)
        "neighbor_graph": bool(source.has_neighbor_graph()),
        "vector_fields": _vector_block(source, embeddings),
        **source.extra_identity(),
    }
