"""Discovery rules for embeddings, vector fields, fields and colors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cellucid.data import open_source
from cellucid.data.base import BadParameter, NotFound


def base(make_adata, **kw):
    adata = make_adata(vectors=False, **kw)
    for key in list(adata.obsm):
        del adata.obsm[key]
    return adata


def test_embedding_order_and_names(make_adata):
    adata = base(make_adata)
    n = adata.n_obs
    for key, width in [("X_pca", 30), ("X_phate", 2), ("X_draw_graph_fa", 2), ("X_tsne", 2),
                       ("X_umap", 3), ("spatial", 2), ("counts_per_thing", 2)]:
        adata.obsm[key] = np.ones((n, width), dtype=np.float32)
    with open_source(adata) as src:
        assert [(e.key, e.name) for e in src.embeddings()] == [
            ("X_umap", "umap"), ("X_tsne", "tsne"), ("X_draw_graph_fa", "draw_graph_fa"),
            ("X_phate", "phate"), ("spatial", "spatial"), ("X_pca", "pca")]


def test_lone_3d_key_is_its_basis(make_adata):
    adata = base(make_adata)
    adata.obsm["X_umap_3d"] = np.ones((adata.n_obs, 3))
    adata.obsm["velocity_umap_3d"] = np.ones((adata.n_obs, 3))
    with open_source(adata) as src:
        (emb,) = src.embeddings()
        assert (emb.key, emb.name, emb.dimensions) == ("X_umap_3d", "umap", (1, 2, 3))
        assert src.vector_fields()[0].dimensions == {3: "velocity_umap_3d"}


def test_2d_suffix_pairs_with_3_column_base(make_adata):
    adata = base(make_adata)
    adata.obsm["X_umap"] = np.arange(adata.n_obs * 3, dtype=np.float32).reshape(-1, 3)
    adata.obsm["X_umap_2d"] = -np.ones((adata.n_obs, 2), dtype=np.float32)
    with open_source(adata) as src:
        (emb,) = src.embeddings()
        assert emb.key == "X_umap" and emb.dimensions == (1, 2, 3)
        assert (src.embedding("X_umap", 2) == -1).all()  # the 2-column member is used for 2D
        assert np.array_equal(src.embedding("X_umap", 3), adata.obsm["X_umap"])


def test_non_embedding_obsm_entries_are_ignored(make_adata):
    adata = make_adata()
    adata.obsm["X_meta"] = pd.DataFrame({"a": np.ones(adata.n_obs)}, index=adata.obs_names)
    with open_source(adata) as src:
        assert "X_meta" not in [e.key for e in src.embeddings()]


def test_vector_dimension_mismatch_is_reported_not_dropped_silently(make_adata):
    adata = make_adata()
    n = adata.n_obs
    adata.obsm["velocity_tsne_3d"] = np.ones((n, 3))  # X_tsne has only 2 columns
    adata.obsm["drift_umap_2d"] = np.ones((n, 3))      # says 2d, has 3 columns
    adata.obsm["velocity_pca"] = np.ones((n, 10))      # scVelo style, but 10 columns
    adata.obsm["flow_phate_2d"] = np.ones((n, 2))      # no X_phate embedding
    with open_source(adata) as src:
        problems = src.vector_field_problems()
        assert "velocity_tsne_3d: embedding X_tsne has only 2 columns" in problems
        assert "drift_umap_2d: has 3 columns, expected 2" in problems
        assert "velocity_pca: has 10 columns, expected 2 or 3" in problems
        assert "flow_phate_2d: no embedding for basis 'phate'" in problems
        ids = [v.field_id for v in src.vector_fields()]
        assert ids == ["velocity_umap", "velocity_tsne"]  # the usable ones stay


def test_other_vector_names_and_multiword_bases(make_adata):
    adata = make_adata()
    n = adata.n_obs
    adata.obsm["X_draw_graph_fa"] = np.ones((n, 2))
    adata.obsm["T_fwd_draw_graph_fa_2d"] = np.full((n, 2), 2.0)
    with open_source(adata) as src:
        v = {f.field_id: f for f in src.vector_fields()}["T_fwd_draw_graph_fa"]
        assert (v.basis, v.label, v.dimensions) == (
            "draw_graph_fa", "T_fwd (draw_graph_fa)", {2: "T_fwd_draw_graph_fa_2d"})
        assert (src.vectors("T_fwd_draw_graph_fa", 2) == 2).all()


def test_bad_dimension_and_unknown_names(make_adata):
    with open_source(make_adata()) as src:
        with pytest.raises(BadParameter):
            src.embedding("X_tsne", 3)
        with pytest.raises(BadParameter):
            src.embedding("X_tsne", "two")
        with pytest.raises(NotFound) as err:
            src.embedding("X_unknown", 2)
        assert "'X_umap'" in err.value.hint
        with pytest.raises(NotFound):
            src.obs_field("nope")
        with pytest.raises(NotFound) as err:
            src.obs_field("barcode")
        assert "identifier" in err.value.hint
        with pytest.raises(NotFound):
            src.vectors("velocity_phate", 2)
        with pytest.raises(BadParameter):
            src.vectors("velocity_tsne", 3)
        with pytest.raises(BadParameter):
            src.gene_by_index(40)
        with pytest.raises(BadParameter):
            src.obs_names(np.array([300]))


@pytest.mark.parametrize("colors, expected", [
    (["#E41A1C", "#377eb8", "#4daf4a", "#984ea3ff"], ["#e41a1c", "#377eb8", "#4daf4a", "#984ea3"]),
    (["#f00", "#0f0", "#00f", "#fff"], ["#ff0000", "#00ff00", "#0000ff", "#ffffff"]),
    (["#e41a1c", "#377eb8"], None),  # wrong length
    (["#e41a1c", "#377eb8", "#4daf4a", "not-a-color"], None),
])
def test_colors_used_only_when_valid(make_adata, write_h5ad, colors, expected):
    adata = make_adata()
    adata.uns["cell_type_colors"] = np.array(colors, dtype=object)
    for data in (adata, write_h5ad(adata)):
        with open_source(data) as src:
            assert src.obs_field("cell_type").colors == expected


def test_string_columns_categorical_only_when_few_values(make_adata, write_h5ad):
    adata = make_adata()
    n = adata.n_obs
    adata.obs["half_unique"] = [f"v{i // 2}" for i in range(n)]   # n/2 distinct: still a category
    adata.obs["too_many"] = [f"v{i}" if i else "v1" for i in range(n)]
    with_missing = np.array(["a", "b", None] * (n // 3), dtype=object)
    adata.obs["with_missing"] = with_missing
    # In memory first: anndata's write turns string columns into categoricals in place.
    with open_source(adata) as src:
        kinds = {f.name: f.kind for f in src.fields()}
        assert kinds["half_unique"] == "categorical"
        assert "too_many" not in kinds and "too_many" in src.skipped_fields()
        wm = src.obs_field("with_missing")
        assert wm.categories == ["a", "b"] and wm.n_missing == n // 3 and wm.codes[2] == -1
    with open_source(write_h5ad(adata)) as src:
        wm = src.obs_field("with_missing")
        assert wm.categories == ["a", "b"] and wm.n_missing == n // 3 and wm.codes[2] == -1
        assert "barcode" in src.skipped_fields()  # all-unique strings stay strings on disk


def test_all_nan_and_categorical_numbers(make_adata, write_h5ad):
    adata = make_adata()
    adata.obs["empty"] = np.full(adata.n_obs, np.nan)
    adata.obs["cluster"] = pd.Categorical(np.arange(adata.n_obs) % 3)  # integer categories
    for data in (adata, write_h5ad(adata)):
        with open_source(data) as src:
            empty = src.obs_field("empty")
            assert empty.kind == "continuous" and empty.n_missing == adata.n_obs
            cl = src.obs_field("cluster")
            assert cl.categories == ["0", "1", "2"] and cl.counts() == [100, 100, 100]


def test_nullable_integers_and_unsupported_types(make_adata, write_h5ad):
    adata = make_adata()
    n = adata.n_obs
    nint = pd.array(np.arange(n), dtype="Int64")
    nint[[0, 9]] = pd.NA
    adata.obs["nint"] = nint
    adata.obs["when"] = pd.date_range("2024-01-01", periods=n, freq="h")
    with open_source(adata) as src:
        v = src.obs_field("nint")
        assert v.kind == "continuous" and v.n_missing == 2
        assert np.isnan(v.values[0]) and v.values[5] == 5.0
        assert "datetime" in src.skipped_fields()["when"]
    del adata.obs["when"]  # anndata cannot write datetimes
    with open_source(write_h5ad(adata)) as src:
        v = src.obs_field("nint")
        assert v.kind == "continuous" and v.n_missing == 2 and v.values[5] == 5.0
