"""prepare() → open_source(export) gives the same data as the AnnData source."""

from __future__ import annotations

import json

import numpy as np
import pytest

import cellucid
from cellucid.data import open_source


def test_demo_in_memory_round_trip_is_exact(tmp_path, demo_adata, assert_same):
    out = cellucid.prepare(demo_adata, tmp_path / "exp", var_gene_id_column="gene_ids", progress=False)
    with open_source(out) as src, open_source(demo_adata, gene_id_column="gene_ids") as ref:
        assert src.kind == "export"
        assert_same(src, ref, gene_sample=range(120))
        np.testing.assert_array_equal(src.latent(), ref.latent())
        np.testing.assert_array_equal(src.obs_names(np.array([0, 2999])), ref.obs_names(np.array([0, 2999])))
        # gene search and lookup by id work on the export as on the AnnData
        assert [h.name for h in src.search_genes("cd")] == [h.name for h in ref.search_genes("cd")]
        assert src.resolve_gene("ensg00000100005") == ref.resolve_gene("ENSG00000100005") == 5


@pytest.mark.parametrize("fmt", ["h5ad", "zarr"])
def test_demo_from_disk_round_trip_is_exact(tmp_path, demo_adata, assert_same, fmt):
    path = tmp_path / f"demo.{fmt}"
    demo_adata.write_h5ad(path) if fmt == "h5ad" else demo_adata.write_zarr(path)
    before = path.stat().st_mtime_ns
    out = cellucid.prepare(str(path), tmp_path / "exp", compression=None, progress=False)
    assert path.stat().st_mtime_ns == before  # the input is only read
    assert not any(p.name.endswith(".gz") for p in out.rglob("*"))
    with open_source(out) as src, open_source(path) as ref:
        assert_same(src, ref, gene_sample=range(120))


def test_pbmc68k_reduced_round_trip(tmp_path, pbmc, assert_same):
    # dense, scaled X with negative values; categorical fields with colors
    out = cellucid.prepare(pbmc, tmp_path / "pbmc", progress=False)
    with open_source(out) as src, open_source(pbmc) as ref:
        assert_same(src, ref)
        assert src.obs_field("bulk_labels").colors == list(pbmc.uns["bulk_labels_colors"])
        j = list(pbmc.var_names).index("CD3E") if "CD3E" in pbmc.var_names else 0
        np.testing.assert_array_equal(src.gene_by_index(j), np.asarray(pbmc.X[:, j], dtype=np.float32))


def test_pbmc68k_raw_expression(tmp_path, pbmc, assert_same):
    out = cellucid.prepare(pbmc, tmp_path / "pbmc", expression="raw", progress=False)
    with open_source(out) as src, open_source(pbmc, expression="raw") as ref:
        assert src.summary().expression == "raw"
        assert_same(src, ref)


@pytest.mark.parametrize("bits", [16, 8])
def test_quantized_genes_and_obs_stay_within_stated_bound(tmp_path, demo_adata, assert_same, bits):
    top = 65534 if bits == 16 else 254

    def bound(v):  # docs/export.md: (max - min) / (2 L) over the stored (non-zero) values
        nz = v[v != 0]
        return (nz.max() - nz.min()) / (2 * top) if nz.size else 0.0

    def obs_bound(v):
        return (v.max() - v.min()) / (2 * top)

    out = cellucid.prepare(demo_adata, tmp_path / "q", quantize=bits, obs_quantize=bits, progress=False)
    with open_source(out) as src, open_source(demo_adata) as ref:
        assert_same(src, ref, gene_step=bound, obs_step=obs_bound, gene_sample=range(120))
    identity = json.loads((out / "dataset_identity.json").read_text())
    genes = identity["export"]["genes"]
    assert genes["dtype"] == f"uint{bits}" and genes["quantized"]
    assert (out / f"genes/data.u{bits}").stat().st_size == genes["nnz"] * bits // 8
    assert not (out / "genes/data.f32").exists()


def test_quantization_changes_the_dataset_id(tmp_path, demo_adata):
    a = cellucid.prepare(demo_adata, tmp_path / "a", progress=False)
    b = cellucid.prepare(demo_adata, tmp_path / "b", progress=False)
    c = cellucid.prepare(demo_adata, tmp_path / "c", quantize=8, progress=False)
    ids = [open_source(p).dataset_id() for p in (a, b, c)]
    assert ids[0] == ids[1] != ids[2]


def test_identity_has_the_served_schema(tmp_path, demo_adata):
    from cellucid.server.identity import build_identity

    out = cellucid.prepare(demo_adata, tmp_path / "exp", progress=False)
    written = json.loads((out / "dataset_identity.json").read_text())
    with open_source(out) as src:
        served = build_identity(src)
    assert set(served) <= set(written)
    for key in ("id", "stats", "embeddings", "default_embedding", "default_dimension", "fields",
                "default_field", "genes", "latent_key", "neighbors", "neighbor_graph", "source_kind"):
        assert written[key] == served[key], key
    assert written["vector_fields"]["fields"] == served["vector_fields"]["fields"]
    assert written["export_settings"]["format"] == "cellucid_export_v1"


def test_options_select_fields_embeddings_and_order(tmp_path, demo_adata):
    out = cellucid.prepare(demo_adata, tmp_path / "exp", obs_keys=["pseudotime", "cell_type"],
                           embeddings=["X_tsne"], progress=False)
    with open_source(out) as src:
        assert [f.name for f in src.fields()] == ["pseudotime", "cell_type"]
        assert [e.key for e in src.embeddings()] == ["X_tsne"]
        assert src.vector_fields() == []  # velocity_umap has no embedding in this export
    with open_source(out, obs_keys=["cell_type"]) as src:  # serve-time obs_keys on an export
        assert [f.name for f in src.fields()] == ["cell_type"]


def test_original_keyword_form(tmp_path, demo_adata):
    a = demo_adata
    u2 = np.asarray(a.obsm["X_umap"])
    u3 = np.asarray(a.obsm["X_umap_3d"]) * 2  # a different array, not the first columns
    out = cellucid.prepare(
        latent_space=a.obsm["X_pca"], obs=a.obs, var=a.var, gene_expression=a.X,
        X_umap_2d=u2, X_umap_3d=u3,
        vector_fields={"velocity_umap_2d": a.obsm["velocity_umap_2d"], "velocity_umap": a.obsm["velocity_umap_3d"],
                       "drift_umap": np.ones((a.n_obs, 4))},
        var_gene_id_column="gene_ids", out_dir=tmp_path / "old", var_quantization=None, compression=6,
        centroid_outlier_quantile=0.9, progress=False,
    )
    with open_source(out) as src, open_source(a, gene_id_column="gene_ids") as ref:
        np.testing.assert_array_equal(src.embedding("X_umap", 2), u2)
        np.testing.assert_array_equal(src.embedding("X_umap", 3), u3)
        np.testing.assert_array_equal(src.embedding("X_umap", 1), u2[:, :1])
        np.testing.assert_array_equal(src.vectors("velocity_umap", 3), a.obsm["velocity_umap_3d"])
        np.testing.assert_array_equal(src.vectors("velocity_umap", 2), a.obsm["velocity_umap_2d"])
        assert any("drift_umap" in p for p in src.vector_field_problems())
        np.testing.assert_array_equal(src.latent(), np.asarray(a.obsm["X_pca"], dtype=np.float32))
        assert src.summary().gene_id_columns[0] == "gene_ids"
        for j in (0, 5, 77):
            np.testing.assert_array_equal(src.gene_by_index(j), ref.gene_by_index(j))
        for f in ("cell_type", "pseudotime"):
            assert src.obs_field(f).kind == ref.obs_field(f).kind


def test_reexport_of_an_original_folder(tmp_path, upstream_inputs, compact_v1, assert_same):
    i = upstream_inputs
    compact_v1(tmp_path / "up", i["points"], i["obs"], i["genes"], vectors=i["vectors"], compression=6)
    out = cellucid.prepare(tmp_path / "up", tmp_path / "new", progress=False)
    with open_source(out) as src, open_source(tmp_path / "up") as ref:
        assert_same(src, ref, gene_sample=range(12))
        assert src.summary().name == "upstream"


def test_dataset_without_x_exports_without_genes(tmp_path, demo_adata):
    a = demo_adata.copy()
    a.X = None
    out = cellucid.prepare(a, tmp_path / "nox", progress=False)
    with open_source(out) as src:
        s = src.summary()
        assert s.n_genes == len(a.var_names) or s.no_genes_reason
        assert s.no_genes_reason and "X" in s.no_genes_reason
    assert not (out / "genes" / "indptr.u64").exists()


def test_root_of_our_exports_opens_the_listed_default(tmp_path, demo_adata):
    root = tmp_path / "root"
    cellucid.prepare(demo_adata, root / "a", obs_keys=["batch"], dataset_name="A", progress=False)
    cellucid.prepare(demo_adata, root / "b", obs_keys=["cell_type"], dataset_name="B", progress=False)
    (root / "datasets.json").write_text(json.dumps(
        {"version": 1, "default": "b", "datasets": [{"id": "a", "path": "a/"}, {"id": "b", "path": "b/"}]}))
    with open_source(root) as src:
        assert src.summary().name == "B" and [f.name for f in src.fields()] == ["cell_type"]
    with open_source(root / "a") as src:
        assert src.summary().name == "A"
