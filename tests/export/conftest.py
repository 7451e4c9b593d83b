"""Fixtures for export tests, including a writer of original cellucid-python folders.

``write_compact_v1`` follows /work/shared/UPSTREAM_EXPORT_FORMAT.md independently of the
reader under test (its own safe-name, normalization and truncating quantization code), so
a reader bug cannot hide behind a shared helper.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "field"


def _write(path: Path, arr: np.ndarray, compression: int | None) -> str:
    data = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes()
    if compression:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data, compresslevel=compression))
    else:
        path.write_bytes(data)
    return path.name


def _quant(v: np.ndarray, bits: int):
    finite = v[np.isfinite(v)]
    lo = float(finite.min()) if finite.size else 0.0
    hi = float(finite.max()) if finite.size else 0.0
    if hi == lo:
        hi = lo + 1.0
    top = 254 if bits == 8 else 65534
    with np.errstate(invalid="ignore"):
        q = np.clip((v.astype(np.float64) - lo) * top / (hi - lo), 0, top)
    q = np.nan_to_num(q, nan=0).astype(np.uint8 if bits == 8 else np.uint16)  # truncation
    q[~np.isfinite(v)] = top + 1
    return q, lo, hi


def upstream_decode(q: np.ndarray, lo: float, hi: float, bits: int) -> np.ndarray:
    top = 254 if bits == 8 else 65534
    out = (lo + q.astype(np.float64) * (hi - lo) / top).astype(np.float32)
    out[q == top + 1] = np.nan
    return out


def normalize_points(x: np.ndarray) -> tuple[np.ndarray, float]:
    lo, hi = x.min(axis=0), x.max(axis=0)
    center = (lo + hi) / 2
    scale = 2.0 / float((hi - lo).max())
    return ((x - center) * scale).astype(np.float32), scale


def write_compact_v1(
    out: Path,
    points: dict[int, np.ndarray],
    obs: pd.DataFrame,
    genes: dict[str, np.ndarray],
    *,
    quant_bits: int | None = None,
    compression: int | None = None,
    vectors: dict[str, dict[int, np.ndarray]] | None = None,
    var_gene_id_column: str = "index",
    force_uint16: tuple[str, ...] = (),
    name: str = "upstream",
) -> dict:
    """Write an original-format export; returns what a reader must find (normalized points,
    decoded values)."""
    out.mkdir(parents=True)
    (out / "obs").mkdir()
    (out / "var").mkdir()
    n = len(obs)
    expect: dict = {"points": {}, "fields": {}, "genes": {}, "vectors": {}}
    files = {}
    scales = {}
    for d, x in points.items():
        p, scales[d] = normalize_points(x)
        files[f"{d}d"] = _write(out / f"points_{d}d.bin", p, compression)
        expect["points"][d] = p
    gz = ".gz" if compression else ""
    cont, cats = [], []
    for col in obs.columns:
        s = obs[col]
        safe = _safe(col)
        if isinstance(s.dtype, pd.CategoricalDtype):
            categories = [str(c) for c in s.cat.categories]
            dtype = "uint16" if (len(categories) > 254 or col in force_uint16) else "uint8"
            missing = 65535 if dtype == "uint16" else 255
            codes = s.cat.codes.to_numpy().astype(np.int64)
            raw = np.where(codes < 0, missing, codes).astype(dtype)
            ext = "u16" if dtype == "uint16" else "u8"
            _write(out / "obs" / f"{safe}.codes.{ext}", raw, compression)
            cats.append([col, categories, dtype, missing, {"2": []}])
            expect["fields"][col] = ("categorical", categories, np.where(codes < 0, -1, codes))
        else:
            v = s.to_numpy(dtype=np.float32)
            if quant_bits:
                q, lo, hi = _quant(v, quant_bits)
                _write(out / "obs" / f"{safe}.values.u{quant_bits}", q, compression)
                cont.append([col, lo, hi])
                expect["fields"][col] = ("continuous", upstream_decode(q, lo, hi, quant_bits))
            else:
                _write(out / "obs" / f"{safe}.values.f32", v, compression)
                cont.append([col])
                expect["fields"][col] = ("continuous", v)
    ext = f"u{quant_bits}" if quant_bits else "f32"
    obs_manifest = {
        "_format": "compact_v1", "n_points": n, "centroid_outlier_quantile": 0.95, "latent_key": None,
        "compression": compression,
        "_obsSchemas": {
            "continuous": {"pathPattern": f"obs/{{key}}.values.f32{gz}", "ext": ext,
                           "dtype": "uint8" if quant_bits == 8 else "uint16" if quant_bits else "float32",
                           "quantized": bool(quant_bits), **({"quantizationBits": quant_bits} if quant_bits else {})},
            "categorical": {"codesPathPattern": f"obs/{{key}}.codes.{{ext}}{gz}",
                            "outlierPathPattern": f"obs/{{key}}.outliers.f32{gz}", "outlierExt": "f32",
                            "outlierDtype": "float32", "outlierQuantized": False},
        },
        "_continuousFields": cont, "_categoricalFields": cats,
    }
    (out / "obs_manifest.json").write_text(json.dumps(obs_manifest))
    gfields = []
    for g, v in genes.items():
        v = np.asarray(v, dtype=np.float32)
        if quant_bits:
            q, lo, hi = _quant(v, quant_bits)
            _write(out / "var" / f"{_safe(g)}.values.u{quant_bits}", q, compression)
            gfields.append([g, lo, hi])
            expect["genes"][g] = upstream_decode(q, lo, hi, quant_bits)
        else:
            _write(out / "var" / f"{_safe(g)}.values.f32", v, compression)
            gfields.append([g])
            expect["genes"][g] = v
    var_manifest = {
        "_format": "compact_v1", "n_points": n, "var_gene_id_column": var_gene_id_column,
        "compression": compression, "quantization": quant_bits,
        "_varSchema": {"kind": "continuous", "pathPattern": f"var/{{key}}.values.f32{gz}", "ext": ext,
                       "dtype": "float32" if not quant_bits else f"uint{quant_bits}", "quantized": bool(quant_bits),
                       **({"quantizationBits": quant_bits} if quant_bits else {})},
        "fields": gfields,
    }
    (out / "var_manifest.json").write_text(json.dumps(var_manifest))
    vf = {}
    if vectors:
        (out / "vectors").mkdir()
        for fid, dims in vectors.items():
            vfiles = {}
            for d, arr in dims.items():
                scaled = (arr * scales[d]).astype(np.float32)
                vfiles[f"{d}d"] = "vectors/" + _write(out / "vectors" / f"{fid}_{d}d.bin", scaled, compression)
                expect["vectors"][(fid, d)] = scaled
            vf[fid] = {"label": fid, "basis": "umap", "available_dimensions": sorted(dims),
                       "default_dimension": min(dims), "files": vfiles}
    identity = {
        "version": 2, "id": f"{name}-id", "name": name, "description": "", "created_at": "2025-01-01T00:00:00Z",
        "cellucid_data_version": "0.9",
        "stats": {"n_cells": n, "n_genes": len(genes), "n_obs_fields": len(obs.columns),
                  "n_categorical_fields": len(cats), "n_continuous_fields": len(cont),
                  "has_connectivity": False, "n_edges": 0},
        "embeddings": {"available_dimensions": sorted(points), "default_dimension": max(points), "files": files},
        "obs_fields": [{"key": c[0], "kind": "category", "n_categories": len(c[1])} if c in cats
                       else {"key": c[0], "kind": "continuous"} for c in sorted(cats + cont, key=lambda c: list(obs.columns).index(c[0]))],
        "export_settings": {"compression": compression, "var_quantization": quant_bits},
    }
    if vf:
        identity["vector_fields"] = {"default_field": next(iter(vf)), "fields": vf}
    (out / "dataset_identity.json").write_text(json.dumps(identity))
    return expect


@pytest.fixture
def compact_v1():
    """The original-format writer (tests import no helper modules; fixtures carry them)."""
    return write_compact_v1


@pytest.fixture
def upstream_inputs():
    """Small raw inputs for an original-format export: embeddings, obs (with missing
    categories, a 300-category field, NaN and odd names), genes."""
    rng = np.random.default_rng(7)
    n = 400
    x3 = rng.normal(size=(n, 3)).astype(np.float32) * [3, 1, 2] + 5
    x2 = rng.normal(size=(n, 2)).astype(np.float32) * [10, 4]
    ct = pd.Categorical(rng.choice(["T cell", "B cell", "NK"], n), categories=["T cell", "B cell", "NK"])
    ct[::17] = np.nan
    many = pd.Categorical([f"c{i % 300}" for i in range(n)], categories=[f"c{i}" for i in range(300)])
    many[::23] = np.nan
    score = rng.normal(size=n).astype(np.float32)
    score[::31] = np.nan
    obs = pd.DataFrame({"cell type": ct, "many": many, "score/1": score,
                        "n_counts": rng.integers(100, 5000, n).astype(np.float32)})
    genes = {}
    for j in range(12):
        v = np.where(rng.random(n) < 0.3, rng.gamma(2, 2, n), 0).astype(np.float32)
        genes[f"GENE{j}" if j != 3 else "HLA-A/B"] = v
    vel2 = rng.normal(size=(n, 2)).astype(np.float32)
    vel3 = rng.normal(size=(n, 3)).astype(np.float32)
    return {"points": {2: x2, 3: x3}, "obs": obs, "genes": genes,
            "vectors": {"velocity_umap": {2: vel2, 3: vel3}}}


def _assert_same(src, ref, *, gene_step=None, gene_sample=None, obs_step=None):
    """Every embedding, every field and a sample of genes of ``src`` equal those of ``ref``
    (within the quantization bound when ``gene_step`` / ``obs_step`` give the per-item bound)."""
    s, r = src.summary(), ref.summary()
    assert (s.n_cells, s.n_genes) == (r.n_cells, r.n_genes)
    assert s.gene_id_columns == r.gene_id_columns
    assert [(e.key, e.name, e.dimensions) for e in src.embeddings()] == [(e.key, e.name, e.dimensions) for e in ref.embeddings()]
    for e in ref.embeddings():
        for d in e.dimensions:
            np.testing.assert_array_equal(src.embedding(e.key, d), ref.embedding(e.key, d), err_msg=f"{e.key} {d}D")
    assert [(f.name, f.kind, f.n_categories) for f in src.fields()] == [(f.name, f.kind, f.n_categories) for f in ref.fields()]
    for f in ref.fields():
        x, y = src.obs_field(f.name), ref.obs_field(f.name)
        assert (x.kind, x.n_missing) == (y.kind, y.n_missing), f.name
        if y.codes is not None:
            np.testing.assert_array_equal(x.codes, y.codes, err_msg=f.name)
            assert x.categories == y.categories and x.colors == y.colors, f.name
        elif obs_step is None:
            np.testing.assert_array_equal(x.values, y.values, err_msg=f.name)
        else:
            np.testing.assert_array_equal(np.isnan(x.values), ~np.isfinite(y.values))
            ok = np.isfinite(y.values)
            assert np.abs(x.values[ok] - y.values[ok]).max(initial=0) <= obs_step(y.values[ok]), f.name
    assert list(src.gene_names()) == list(ref.gene_names())
    for col in r.gene_id_columns:
        assert list(src.gene_ids(col)) == list(ref.gene_ids(col))
    n_genes = r.n_genes
    sample = gene_sample if gene_sample is not None else sorted({0, 1, n_genes // 2, n_genes - 1, *range(0, n_genes, max(1, n_genes // 25))})
    for j in sample:
        a, b = src.gene_by_index(j), ref.gene_by_index(j)
        assert a.dtype == np.float32 and a.shape == b.shape
        if gene_step is None:
            np.testing.assert_array_equal(a, b, err_msg=f"gene {j}")
        else:
            assert np.abs(a - b).max() <= gene_step(b) * 1.0001 + 1e-7, f"gene {j}"
            np.testing.assert_array_equal(a == 0, b == 0)  # zeros stay exact
    assert [(v.field_id, v.basis, sorted(v.dimensions)) for v in src.vector_fields()] == [
        (v.field_id, v.basis, sorted(v.dimensions)) for v in ref.vector_fields()]
    for v in ref.vector_fields():
        for d in v.dimensions:
            np.testing.assert_array_equal(src.vectors(v.field_id, d), ref.vectors(v.field_id, d))


@pytest.fixture
def assert_same():
    return _assert_same


@pytest.fixture(scope="session")
def demo_adata():
    from cellucid.data.demo import demo_anndata

    return demo_anndata(n_cells=3000, n_genes=120, seed=3)


@pytest.fixture(scope="session")
def pbmc():
    import scanpy as sc

    return sc.datasets.pbmc68k_reduced()
