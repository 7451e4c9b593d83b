"""``prepare()``: write an export folder that ``cellucid serve`` reads fastest.

The input is read through :func:`cellucid.data.open_source` (same discovery of embeddings,
fields, vectors and gene id columns as ``serve``), except the expression matrix, which is
streamed in row chunks straight from the AnnData / h5py / zarr object into a gene-major
store (see :mod:`cellucid.export._genes`). The layout is in :mod:`cellucid.export.layout`
and ``docs/export.md``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from cellucid._version import __version__
from cellucid.data.base import DataSource, InputError
from cellucid.export import layout
from cellucid.export._folder import check_target, staged_folder
from cellucid.export._genes import write_gene_major

# (key, name, {dim: callable -> float32 (n, dim)})
_EmbeddingPlan = tuple[str, str, dict[int, Callable[[], np.ndarray]]]


def prepare(
    adata_or_path: Any = None,
    out_dir: str | os.PathLike | None = None,
    var_gene_id_column: str | None = None,
    obs_keys: Sequence[str] | None = None,
    embeddings: Sequence[str] | None = None,
    layer: str | None = None,
    quantize: int | None = None,
    compression: int | None = 6,
    force: bool = False,
    *,
    expression: str | None = None,
    latent_key: str | None = None,
    obs_quantize: int | None = None,
    dataset_name: str | None = None,
    dataset_description: str | None = None,
    backed: bool = True,
    progress: bool = True,
    # --- the original cellucid-python keyword form (kept so existing scripts work) ---
    latent_space: Any = None,
    obs: Any = None,
    var: Any = None,
    gene_expression: Any = None,
    X_umap_1d: Any = None,
    X_umap_2d: Any = None,
    X_umap_3d: Any = None,
    X_umap_4d: Any = None,
    vector_fields: Mapping[str, Any] | None = None,
    var_quantization: int | None = None,
    obs_continuous_quantization: int | None = None,
    dataset_id: str | None = None,
    source_name: str | None = None,
    source_url: str | None = None,
    source_citation: str | None = None,
    **ignored: Any,
) -> Path:
    """Write an export folder for ``adata_or_path`` into ``out_dir``; returns its path.

    Parameters
    ----------
    adata_or_path
        An ``AnnData``, or a path to ``.h5ad`` / ``.zarr`` (or another export folder).
        Omit it and pass the original cellucid keywords instead (``obs=``, ``var=``,
        ``gene_expression=``, ``X_umap_2d=`` / ``X_umap_3d=``, ``latent_space=``,
        ``vector_fields=``): existing ``prepare`` scripts keep working.
    out_dir
        The folder to create. An existing folder is refused unless ``force=True``; then it
        is replaced whole (never mixed with stale files).
    var_gene_id_column
        A ``var`` column searchable as an alternative gene id (``"index"`` = var names).
    obs_keys
        Only these obs columns, in this order (default: all).
    embeddings
        Only these ``obsm`` embedding keys, in this order (default: all found).
    layer, expression
        Which matrix genes come from: ``layer="counts"`` or ``expression="X" | "raw" |
        "layer:NAME"`` (default ``X``).
    quantize
        ``None`` (float32, exact), ``16`` or ``8``: per-gene min/max quantization of the
        stored (non-zero) values; zeros stay exact. Error bound
        ``(max - min) / (2 * 65534)`` (16) or ``/ (2 * 254)`` (8) per gene.
    obs_quantize
        The same for continuous obs fields (default exact float32).
    compression
        gzip level (1-9) for per-cell files (embeddings, obs, vectors, latent); ``None`` or
        ``0`` for plain files. The gene store is never gzipped: it is read gene by gene.
    force
        Replace an existing ``out_dir``.
    progress
        Show tqdm progress bars on long steps.

    Other original keywords (``connectivities``, ``centroid_outlier_quantile``, …) are
    accepted and ignored.
    """
    from tqdm.auto import tqdm

    if out_dir is None:
        raise InputError("prepare() needs an output folder.", "Call prepare(adata, 'path/to/export_dir').")
    target = Path(out_dir).expanduser().absolute()
    if var_gene_id_column == "index":
        var_gene_id_column = None
    quantize = _bits(quantize if quantize is not None else var_quantization, "quantize")
    obs_quantize = _bits(obs_quantize if obs_quantize is not None else obs_continuous_quantization, "obs_quantize")
    compression = int(compression or 0)
    if not 0 <= compression <= 9:
        raise InputError(f"compression must be 0-9 or None, got {compression}.", "Use 6 (default) or None.")
    if layer is not None and expression is not None:
        raise InputError("Pass either layer= or expression=, not both.", "layer='counts' is expression='layer:counts'.")
    expression = f"layer:{layer}" if layer is not None else (expression or "X")

    # An array as first argument is the original signature's positional latent_space.
    if adata_or_path is not None and _is_array(adata_or_path):
        latent_space, adata_or_path = adata_or_path, None
    keyword_form = adata_or_path is None
    inputs = [] if keyword_form or not isinstance(adata_or_path, (str, os.PathLike)) else [Path(adata_or_path)]
    check_target(target, force, inputs)

    def bar(**kw):
        return tqdm(disable=not progress, leave=False, **kw)

    t0 = time.perf_counter()
    options = dict(
        backed=backed,
        gene_id_column=var_gene_id_column,
        expression=expression,
        obs_keys=list(obs_keys) if obs_keys is not None else None,
        latent_key=latent_key,
        dataset_name=dataset_name or (target.name if keyword_form else None),
    )
    if keyword_form:
        adata, emb_plan, vec_plan, latent = _from_keywords(
            obs, var, gene_expression, latent_space, {1: X_umap_1d, 2: X_umap_2d, 3: X_umap_3d, 4: X_umap_4d}, vector_fields
        )
        data_in: Any = adata
    else:
        data_in = adata_or_path
    from cellucid.data import open_source

    source = open_source(data_in, **{k: v for k, v in options.items() if v is not None or k == "obs_keys"})
    try:
        if not keyword_form:
            emb_plan = _embeddings_from_source(source, embeddings)
            vec_plan = None
            latent = None
        matrix, matrix_owner = _source_matrix(source)
        if matrix is None and source.kind != "export":
            matrix, matrix_owner = _locate_matrix(data_in, expression)
        try:
            with staged_folder(target) as tmp:
                manifest = _write_all(
                    tmp, source, emb_plan, vec_plan, latent, matrix, quantize, obs_quantize,
                    compression, var_gene_id_column, bar,
                )
                settings = {
                    "format": layout.FORMAT,
                    "cellucid_version": __version__,
                    "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "input": str(adata_or_path) if inputs else type(data_in).__name__,
                    "input_kind": source.summary().kind,
                    "expression": expression,
                    "quantize": quantize,
                    "obs_quantize": obs_quantize,
                    "compression": compression or None,
                    "var_gene_id_column": var_gene_id_column,
                    "seconds": None,
                }
                identity = _identity(source, manifest, settings, dataset_name, dataset_description, dataset_id,
                                     {"name": source_name, "url": source_url, "citation": source_citation})
                settings["seconds"] = round(time.perf_counter() - t0, 3)
                # Written last: its presence marks a complete export.
                with open(tmp / layout.IDENTITY_FILE, "w", encoding="utf-8") as fh:
                    json.dump(identity, fh, indent=1, allow_nan=False)
                    fh.flush()
                    os.fsync(fh.fileno())
        finally:
            if matrix_owner is not None:
                matrix_owner.close()
    finally:
        source.close()
    return target


# -- inputs ------------------------------------------------------------------------------


def _bits(v: int | None, name: str) -> int | None:
    if v in (None, 0, 32):
        return None
    if v not in (8, 16):
        raise InputError(f"{name} must be None, 8 or 16, got {v!r}.", "Use 16 for near-exact values, 8 for the smallest files.")
    return int(v)


def _is_array(x: Any) -> bool:
    import scipy.sparse as sp

    return isinstance(x, np.ndarray) or sp.issparse(x)


def _source_matrix(source: DataSource) -> tuple[Any, Any]:
    """The matrix object the data layer itself reads genes from (h5py / zarr group or the
    in-memory X), so prepare() and serve use the very same matrix."""
    backend = getattr(source, "_backend", None)
    s = source.summary()
    if backend is None or not s.n_genes or s.no_genes_reason:
        return None, None
    try:
        return backend.matrix(s.expression), None
    except Exception:  # noqa: BLE001 - any failure: fall back to the path-based locator
        return None, None


def _locate_matrix(data: Any, expression: str) -> tuple[Any, Any]:
    """The expression matrix as an object the chunked gene writer reads, plus the open file
    that owns it (closed by the caller), or ``(None, None)`` to fall back to the source."""
    if expression == "X":
        loc = "X"
    elif expression == "raw":
        loc = "raw/X"
    elif expression.startswith("layer:"):
        loc = "layers/" + expression[len("layer:"):]
    else:
        return None, None
    try:
        import anndata as ad

        if isinstance(data, ad.AnnData):
            if loc == "X":
                return data.X, None
            if loc == "raw/X":
                return (data.raw.X if data.raw is not None else None), None
            return data.layers.get(loc[len("layers/"):]), None
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


def _embeddings_from_source(source: DataSource, keys: Sequence[str] | None) -> list[_EmbeddingPlan]:
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


_VEC_EXPLICIT = re.compile(r"^(?P<field>.+)_umap_(?P<dim>[1-4])d$")
_VEC_IMPLICIT = re.compile(r"^(?P<field>.+)_umap$")


def _from_keywords(obs, var, X, latent_space, umaps: dict, vector_fields):
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
    for key, val in (vector_fields or {}).items():
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


# -- writing -----------------------------------------------------------------------------


def _write_all(tmp, source, emb_plan, vec_plan, latent, matrix, quantize, obs_quantize, compression, id_column, bar):
    s = source.summary()
    n = s.n_cells
    manifest: dict[str, Any] = {"format": layout.FORMAT}

    # embeddings: one file per distinct array; lower dimensions that are the first columns
    # of a higher one reuse its file
    (tmp / "embeddings").mkdir()
    embs = []
    for i, (key, name, dims) in enumerate(emb_plan):
        dims = dict(dims)
        n_columns = dims.pop("n_columns", None)
        files: dict[str, dict[str, Any]] = {}
        stored: list[tuple[np.ndarray, str]] = []
        for d in sorted(dims, reverse=True):
            arr = _per_cell(dims[d](), n, d, f"embedding {key} ({d}D)")
            ref = next((f for a, f in stored if np.array_equal(a[:, :d], arr, equal_nan=True)), None)
            if ref is None:
                ref = "embeddings/" + layout.write_array(
                    tmp / "embeddings" / f"{i:03d}_{layout.slug(key)}_{d}d.f32", arr, "float32", compression)
                stored.append((arr, ref))
            width = next(a.shape[1] for a, f in stored if f == ref)
            files[str(d)] = {"file": ref, "n_columns": width}
        embs.append({"key": key, "name": name, "dimensions": sorted(dims), "n_columns": int(n_columns or max(dims)), "files": files})
    manifest["embeddings"] = embs

    # obs fields
    (tmp / "obs").mkdir()
    fields = []
    infos = source.fields()
    for i, info in enumerate(bar(iterable=infos, desc="obs fields", unit="field")):
        fd = source.obs_field(info.name)
        stem = tmp / "obs" / f"{i:04d}_{layout.slug(info.name)}"
        entry: dict[str, Any] = {"name": info.name, "kind": fd.kind, "n_missing": int(fd.n_missing)}
        if fd.codes is not None:
            cats = [str(c) for c in fd.categories or []]
            dtype, missing = layout.codes_dtype(len(cats))
            codes = np.asarray(fd.codes, dtype=np.int64)
            _check_len(codes, n, f"obs field {info.name!r}")
            codes = np.where(codes < 0, missing, codes)
            ext = layout.DTYPES[dtype][1]
            entry.update(file="obs/" + layout.write_array(stem.with_name(stem.name + f".codes.{ext}"), codes, dtype, compression),
                         dtype=dtype, missing_code=missing, categories=cats, n_categories=len(cats),
                         colors=list(fd.colors) if fd.colors is not None else None)
        else:
            vals = np.asarray(fd.values, dtype=np.float32)
            _check_len(vals, n, f"obs field {info.name!r}")
            lo, hi = layout.finite_range(vals)
            entry.update(min=lo, max=hi)
            if obs_quantize:
                dtype = "uint8" if obs_quantize == 8 else "uint16"
                q = layout.quantize(vals, lo, hi, obs_quantize)
                ext = layout.DTYPES[dtype][1]
                entry.update(file="obs/" + layout.write_array(stem.with_name(stem.name + f".values.{ext}"), q, dtype, compression),
                             dtype=dtype, quantized=True, quantization_bits=obs_quantize,
                             max_abs_error=layout.quant_error_bound(lo, hi, obs_quantize))
                # non-finite values all decode to NaN (missing), including +-inf
            else:
                entry.update(file="obs/" + layout.write_array(stem.with_name(stem.name + ".values.f32"), vals, "float32", compression),
                             dtype="float32", quantized=False)
        fields.append(entry)
    manifest["fields"] = fields

    try:
        names = source.obs_names()
        (tmp / layout.OBS_NAMES).write_text(json.dumps([str(x) for x in names]), encoding="utf-8")
        manifest["obs_names"] = layout.OBS_NAMES
    except NotImplementedError:
        manifest["obs_names"] = None

    # genes
    genes = source.gene_names()
    n_genes = len(genes)
    gene_block: dict[str, Any] = {"n_genes": n_genes, "expression": s.expression, "reason": s.no_genes_reason}
    if n_genes and s.no_genes_reason is None:
        names = [str(g) for g in genes]
        _check_unique(names, "var names", "Make them unique first: adata.var_names_make_unique().")
        id_cols = {}
        for col in s.gene_id_columns:
            ids = [str(x) for x in source.gene_ids(col)]
            if col == id_column:
                _check_unique(ids, f"gene ids in var[{col!r}]",
                              "Choose a column with one id per gene, or leave var_gene_id_column unset.")
            id_cols[col] = ids
        (tmp / layout.GENES_DIR).mkdir()
        (tmp / layout.GENE_NAMES).write_text(json.dumps({"names": names, "id_columns": id_cols}), encoding="utf-8")
        gene_block.update(write_gene_major(matrix, tmp, n, n_genes, quantize, bar, source=source))
        gene_block["names"] = layout.GENE_NAMES
        gene_block["id_columns"] = list(id_cols)
    manifest["genes"] = gene_block

    # vector fields
    if vec_plan is None:
        vec_plan = (
            [(v.field_id, v.label, v.basis, None, {d: (lambda f=v.field_id, d=d: source.vectors(f, d)) for d in v.dimensions})
             for v in source.vector_fields()],
            list(source.vector_field_problems()) + [p for v in source.vector_fields() for p in v.problems],
        )
    plans, problems = vec_plan
    problems = list(problems)
    exported = {e["name"] for e in embs} | {e["key"] for e in embs}
    kept = []
    for plan in plans:
        basis = plan[2]
        if basis in exported or f"X_{basis}" in exported:
            kept.append(plan)
        else:
            problems.append(f"{plan[0]}: its embedding ({basis}) is not exported")
    plans = kept
    vectors = []
    if plans:
        (tmp / "vectors").mkdir()
    for i, (fid, label, basis, emb_key, dims) in enumerate(plans):
        files = {}
        for d in sorted(dims):
            arr = _per_cell(dims[d](), n, d, f"vector field {fid} ({d}D)")
            files[str(d)] = "vectors/" + layout.write_array(
                tmp / "vectors" / f"{i:02d}_{layout.slug(fid)}_{d}d.f32", arr, "float32", compression)
        vectors.append({"field_id": fid, "label": label, "basis": basis, "dimensions": sorted(int(d) for d in dims), "files": files})
    manifest["vectors"] = vectors
    manifest["vector_problems"] = list(dict.fromkeys(problems))

    # latent space (for derived values such as KNN selection)
    lat = latent if latent is not None else source.latent()
    if lat is not None:
        lat = np.asarray(lat, dtype=np.float32)
        lat = lat.reshape(-1, 1) if lat.ndim == 1 else lat
        manifest["latent"] = {"key": s.latent_key or "latent_space", "n_columns": int(lat.shape[1]),
                              "file": layout.write_array(tmp / layout.LATENT_FILE, lat, "float32", compression)}
    else:
        manifest["latent"] = None
    return manifest


def _per_cell(arr: np.ndarray, n: int, d: int, what: str) -> np.ndarray:
    a = np.asarray(arr, dtype=np.float32)
    a = a.reshape(-1, 1) if a.ndim == 1 else a
    if a.shape[0] != n:
        raise InputError(f"The {what} has {a.shape[0]} rows, expected {n} cells.", "Per-cell arrays must have one row per cell.")
    return a[:, :d]


def _check_len(a: np.ndarray, n: int, what: str) -> None:
    if len(a) != n:
        raise InputError(f"The {what} has {len(a)} values, expected {n}.", "obs columns must have one value per cell.")


def _check_unique(values: list[str], what: str, hint: str) -> None:
    seen: set[str] = set()
    dups = []
    for v in values:
        if v in seen and v not in dups:
            dups.append(v)
        seen.add(v)
    if dups:
        raise InputError(f"Duplicate {what}: {dups[:5]}{' …' if len(dups) > 5 else ''} ({len(dups)} in all).", hint)


def _identity(source, manifest, settings, name, description, dataset_id, src) -> dict[str, Any]:
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
        "vector_fields": {
            "default_field": vecs[0]["field_id"] if vecs else None,
            "fields": {v["field_id"]: {"label": v["label"], "basis": v["basis"],
                                       "embedding": emb_keys.get(v["basis"]) or next((e["key"] for e in embs if e["key"] == f"X_{v['basis']}"), None),
                                       "available_dimensions": v["dimensions"],
                                       "default_dimension": 2 if 2 in v["dimensions"] else max(v["dimensions"])}
                       for v in vecs},
            "problems": manifest["vector_problems"],
        },
        "export_settings": settings,
        "export": manifest,
    }
    if any(src.values()):
        identity["source"] = src
    return identity
