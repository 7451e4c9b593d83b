"""Write every file of an export folder (except ``dataset_identity.json``) and return the
manifest that describes them (the ``export`` block of the identity)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from cellucid.data.base import InputError
from cellucid.data import export_layout as layout
from cellucid.export._genes import write_gene_major


def write_all(tmp, source, emb_plan, vec_plan, latent, matrix, quantize, obs_quantize, compression, id_column, bar):
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
    for i, (fid, label, basis, _emb_key, dims) in enumerate(plans):
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
