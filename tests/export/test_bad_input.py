"""Bad inputs give clear errors (message + hint) or the handling docs/export.md states."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import cellucid
from cellucid.data import InputError, open_source


def test_no_embedding(tmp_path, demo_adata):
    a = demo_adata.copy()
    a.obsm.clear()
    with pytest.raises(InputError) as err:
        cellucid.prepare(a, tmp_path / "exp", progress=False)
    assert "embedding" in err.value.message and err.value.hint


def test_unknown_embedding_lists_the_available_ones(tmp_path, demo_adata):
    with pytest.raises(InputError) as err:
        cellucid.prepare(demo_adata, tmp_path / "exp", embeddings=["X_foo"], progress=False)
    assert "X_foo" in err.value.message and "X_umap" in err.value.hint


def test_keyword_form_without_embedding(tmp_path):
    with pytest.raises(InputError) as err:
        cellucid.prepare(obs=pd.DataFrame({"a": [1.0, 2.0]}), out_dir=tmp_path / "exp")
    assert "X_umap_2d" in err.value.hint


def test_duplicate_gene_names(tmp_path, demo_adata):
    a = demo_adata.copy()
    names = list(a.var_names)
    names[7] = names[3]
    a.var_names = names
    with pytest.raises(InputError) as err:
        cellucid.prepare(a, tmp_path / "exp", progress=False)
    assert names[3] in err.value.message and "var_names_make_unique" in err.value.hint


def test_duplicate_ids_in_the_gene_id_column(tmp_path, demo_adata):
    a = demo_adata.copy()
    a.var["symbol"] = ["S%d" % (j % 50) for j in range(a.n_vars)]
    with pytest.raises(InputError) as err:
        cellucid.prepare(a, tmp_path / "exp", var_gene_id_column="symbol", progress=False)
    assert "symbol" in err.value.message and "S0" in err.value.message


def test_field_names_equal_after_making_them_file_safe_are_both_kept(tmp_path, demo_adata):
    a = demo_adata.copy()
    a.obs["a/b"] = np.arange(a.n_obs, dtype=np.float32)
    a.obs["a_b"] = -np.arange(a.n_obs, dtype=np.float32)
    a.obs["a b"] = pd.Categorical(np.where(np.arange(a.n_obs) % 2, "x", "y"))
    out = cellucid.prepare(a, tmp_path / "exp", progress=False)
    with open_source(out) as src:
        np.testing.assert_array_equal(src.obs_field("a/b").values, np.arange(a.n_obs))
        np.testing.assert_array_equal(src.obs_field("a_b").values, -np.arange(a.n_obs))
        assert src.obs_field("a b").categories == ["x", "y"]


def test_non_finite_values_kept_unquantized_refused_quantized(tmp_path, demo_adata):
    a = demo_adata.copy()
    X = a.X.toarray()
    X[5, 2] = np.nan
    X[9, 2] = np.inf
    a.X = X
    a.obs["weird"] = np.where(np.arange(a.n_obs) % 3 == 0, np.inf, 1.5).astype(np.float32)
    emb = np.asarray(a.obsm["X_tsne"]).copy()
    emb[4] = np.nan
    a.obsm["X_tsne"] = emb
    out = cellucid.prepare(a, tmp_path / "exp", progress=False)
    with open_source(out) as src:
        g = src.gene_by_index(2)
        assert np.isnan(g[5]) and np.isinf(g[9])
        np.testing.assert_array_equal(src.obs_field("weird").values, a.obs["weird"].to_numpy())
        assert np.isnan(src.embedding("X_tsne", 2)[4]).all()
    with pytest.raises(InputError) as err:
        cellucid.prepare(a, tmp_path / "q", quantize=8, progress=False)
    assert "non-finite" in err.value.message and "quantize=None" in err.value.hint
    assert not (tmp_path / "q").exists()


@pytest.mark.parametrize("kwargs", [{"quantize": 12}, {"compression": 11}, {"obs_quantize": 4},
                                    {"layer": "counts", "expression": "raw"}])
def test_bad_settings(tmp_path, demo_adata, kwargs):
    with pytest.raises(InputError) as err:
        cellucid.prepare(demo_adata, tmp_path / "exp", progress=False, **kwargs)
    assert err.value.hint


def test_unknown_layer(tmp_path, demo_adata):
    with pytest.raises(InputError) as err:
        cellucid.prepare(demo_adata, tmp_path / "exp", layer="nope", progress=False)
    assert "nope" in err.value.message


def test_export_source_refuses_options_it_cannot_honour(tmp_path, demo_adata):
    out = cellucid.prepare(demo_adata, tmp_path / "exp", progress=False)
    with pytest.raises(InputError):
        open_source(out, expression="raw")
    with pytest.raises(InputError):
        open_source(out, gene_id_column="nope")
    with pytest.raises(InputError):
        open_source(out, obs_keys=["nope"])


def test_original_positional_form_gets_a_clear_error(tmp_path, demo_adata):
    with pytest.raises(InputError) as err:
        cellucid.prepare(np.asarray(demo_adata.obsm["X_pca"]), demo_adata.obs)
    assert "out_dir" in err.value.message and "keywords" in err.value.hint
