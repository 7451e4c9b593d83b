"""``dataset_identity.json`` of an export: the served identity schema (docs/http-api.md)
plus ``export_settings`` and ``export`` (the layout manifest)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from cellucid._version import __version__


def build_export_identity(source, manifest, settings, name, description, dataset_id, src) -> dict[str, Any]:
    """The served identity schema (docs/http-api.md) + ``export`` (the layout manifest)."""
    s = source.summary()
    fields = manifest["fields"]
    n_cat = sum(1 for f in fields if f["kind"] in ("categorical", "boolean"))
    embs = manifest["embeddings"]
    first = embs[0]
    dflt_dim = 2 if 2 in first["dimensions"] else max(first["dimensions"])
    g = manifest["genes"]
    genes_ok = bool(g["n_genes"]) and g.get("reason") is None
    payload = json.dumps([source.dataset_id(), settings["quantize"], settings["obs_quantize"], settings["expression"]])
    vecs = manifest["vectors"]
    emb_keys = {e["name"]: e["key"] for e in embs}
    identity = {
        "version": 2,
        "id": dataset_id or "ds-" + hashlib.sha256(payload.encode()).hexdigest()[:16],
        "name": name or s.name,
        "description": description,
        "source_kind": "export",
        "cellucid_version": __version__,
        "stats": {"n_cells": int(s.n_cells), "n_genes": int(g["n_genes"]), "n_obs_fields": len(fields),
                  "n_categorical_fields": n_cat, "n_continuous_fields": len(fields) - n_cat},
        "embeddings": [{"key": e["key"], "name": e["name"], "dimensions": e["dimensions"], "n_columns": e["n_columns"]} for e in embs],
        "default_embedding": first["key"],
        "default_dimension": dflt_dim,
        "fields": [{"name": f["name"], "kind": f["kind"], **({"n_categories": f["n_categories"]} if "n_categories" in f else {})}
                   for f in fields],
        "default_field": next((f["name"] for f in fields if f["kind"] == "categorical"), None),
        "genes": {"available": genes_ok, "n_genes": int(g["n_genes"]), "expression": g["expression"],
                  "id_columns": g.get("id_columns", []),
                  "reason": None if genes_ok else (g.get("reason") or "the dataset has no genes (empty var)")},
        "latent_key": manifest["latent"]["key"] if manifest["latent"] else None,
        # an export folder's k-NN space is its latent.f32 (it stores no neighbour graph)
        "neighbors": ({"kind": "latent", "key": manifest["latent"]["key"], "n_dims": int(manifest["latent"]["n_columns"])}
                      if manifest["latent"] else None),
        "neighbor_graph": False,  # (graph edges are not exported; the route answers 404 here)
        "vector_fields": {
            "default_field": vecs[0]["field_id"] if vecs else None,
            "fields": {v["field_id"]: {"label": v["label"], "basis": v["basis"],
                                       "embedding": emb_keys.get(v["basis"]) or next((e["key"] for e in embs if e["key"] == f"X_{v['basis']}"), None),
                                       "available_dimensions": v["dimensions"],
                                       "default_dimension": 2 if 2 in v["dimensions"] else max(v["dimensions"])}
                       for v in vecs},
            "problems": manifest["vector_problems"],
        },
        **source.extra_identity(),
        "export_settings": settings,
        "export": manifest,
    }
    if any(src.values()):
        identity["source"] = src
    return identity
