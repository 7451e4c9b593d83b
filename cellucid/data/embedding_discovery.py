"""Which obsm arrays are embeddings and vector fields (pure functions of the obsm shapes).

The rules are listed in :mod:`cellucid.data.anndata_like` and ``docs/data-sources.md``.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from cellucid.data.base import (
    EmbeddingInfo,
    VectorFieldInfo,
)

_EMBED_ORDER = (("umap", 0), ("tsne", 1), ("draw_graph", 2), ("pca", 4))
_PAIR_SUFFIX = re.compile(r"^(?P<base>.+)_(?P<dim>[23])d$")
_VECTOR_ND = re.compile(r"^(?P<name>.+)_(?P<basis>[A-Za-z0-9]+(?:_[A-Za-z0-9]+)*)_(?P<dim>[23])d$")


# ---------------------------------------------------------------------------------------
# Embedding and vector discovery (pure functions of the obsm shapes)
# ---------------------------------------------------------------------------------------


class _Embedding:
    """One displayed embedding: its display key/name and the arrays it is read from."""

    def __init__(self, key: str, name: str, members: dict[str, int]):
        self.key, self.name, self.members = key, name, members  # obsm key -> width

    @property
    def n_columns(self) -> int:
        return max(self.members.values())

    @property
    def dimensions(self) -> tuple[int, ...]:
        return tuple(d for d in (1, 2, 3) if d <= self.n_columns)

    def member_for(self, dim: int) -> str:
        exact = [k for k, w in self.members.items() if w == dim]
        if exact:
            return exact[0]
        wide = sorted((w, k) for k, w in self.members.items() if w >= dim)
        return wide[0][1]

    def info(self) -> EmbeddingInfo:
        return EmbeddingInfo(key=self.key, name=self.name, dimensions=self.dimensions, n_columns=self.n_columns)


def is_numeric(dtype: Any) -> bool:
    try:
        return np.dtype(dtype).kind in "iuf"
    except TypeError:
        return False


def discover_embeddings(
    shapes: dict[str, tuple[tuple[int, ...], Any]], n_obs: int
) -> tuple[list[_Embedding], list[str]]:
    """Embeddings (display order) and notes on obsm entries that were not usable."""
    notes: list[str] = []
    usable: dict[str, int] = {}
    for key, (shape, dtype) in shapes.items():
        if not (key.startswith("X_") or key == "spatial"):
            continue
        if len(shape) != 2 or not is_numeric(dtype):
            notes.append(f"obsm[{key!r}] is not a numeric 2D array")
        elif shape[0] != n_obs:
            notes.append(f"obsm[{key!r}] has {shape[0]} rows for {n_obs} cells")
        elif shape[1] < 1:
            notes.append(f"obsm[{key!r}] has no columns")
        else:
            usable[key] = int(shape[1])

    groups: dict[str, dict[str, int]] = {}
    for key, width in usable.items():
        m = _PAIR_SUFFIX.match(key)
        base = m.group("base") if m and m.group("base") in usable else key
        groups.setdefault(base, {})[key] = width
    # A lone X_umap_3d is still the "umap" embedding (its vectors use basis "umap").
    embeds = []
    for order, (key, members) in enumerate(groups.items()):
        stem = key[2:] if key.startswith("X_") else key
        m = _PAIR_SUFFIX.match(stem)
        name = m.group("base") if m else stem
        embeds.append((order, _Embedding(key, name, members)))

    def rank(item):
        order, e = item
        # A MuData modality's embedding ("rna:umap") comes after the global ones.
        modality = ":" in e.name
        for prefix, r in _EMBED_ORDER:
            if e.name.rsplit(":", 1)[-1].startswith(prefix):
                return (modality, r, order)
        return (modality, 3, order)

    return [e for _, e in sorted(embeds, key=rank)], notes


class _Vector:
    def __init__(self, field_id: str, name: str, basis: str):
        self.field_id, self.name, self.basis = field_id, name, basis
        self.members: dict[int, str] = {}
        self.problems: list[str] = []

    def info(self) -> VectorFieldInfo:
        return VectorFieldInfo(
            field_id=self.field_id,
            label=f"{self.name} ({self.basis})",
            basis=self.basis,
            dimensions=dict(sorted(self.members.items())),
            problems=tuple(self.problems),
        )


def discover_vectors(
    shapes: dict[str, tuple[tuple[int, ...], Any]],
    n_obs: int,
    embeddings: list[_Embedding],
) -> tuple[list[_Vector], list[str]]:
    """Usable vector fields and the problems of rejected candidates."""
    by_basis = {e.name: e for e in embeddings}
    embed_keys = {k for e in embeddings for k in e.members}
    fields: dict[str, _Vector] = {}
    problems: list[str] = []
    # Longest basis names first, so "draw_graph_fa" wins over a shorter suffix.
    bases = sorted(by_basis, key=len, reverse=True)

    def candidate(key: str) -> tuple[str, str, int | None] | None:
        for basis in bases:
            for dim in (2, 3):
                suffix = f"_{basis}_{dim}d"
                if key.endswith(suffix) and len(key) > len(suffix):
                    return key[: -len(suffix)], basis, dim
            if key == f"velocity_{basis}":
                return "velocity", basis, None
        return None

    # Explicit _2d/_3d keys first so they take precedence over scVelo-style keys.
    keys = sorted((k for k in shapes if k not in embed_keys), key=lambda k: (_PAIR_SUFFIX.match(k) is None, k))
    for key in keys:
        shape, dtype = shapes[key]
        found = candidate(key)
        if found is None:
            m = _VECTOR_ND.match(key)
            if m and not key.startswith("X_"):
                problems.append(f"{key}: no embedding for basis {m.group('basis')!r}")
            continue
        name, basis, dim = found
        if len(shape) != 2 or not is_numeric(dtype):
            problems.append(f"{key}: not a numeric 2D array")
            continue
        if shape[0] != n_obs:
            problems.append(f"{key}: has {shape[0]} rows for {n_obs} cells")
            continue
        width = int(shape[1])
        if dim is None:
            if width not in (2, 3):
                problems.append(f"{key}: has {width} columns, expected 2 or 3")
                continue
            dim = width
        elif width != dim:
            problems.append(f"{key}: has {width} columns, expected {dim}")
            continue
        emb = by_basis[basis]
        if dim not in emb.dimensions:
            problems.append(f"{key}: embedding {emb.key} has only {emb.n_columns} columns")
            continue
        field_id = f"{name}_{basis}"
        vec = fields.setdefault(field_id, _Vector(field_id, name, basis))
        vec.members.setdefault(dim, key)

    default_basis = embeddings[0].name if embeddings else None
    ordered = sorted(
        fields.values(), key=lambda v: (v.basis != default_basis, v.name != "velocity", v.field_id)
    )
    return ordered, problems
