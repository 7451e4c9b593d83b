"""Options: obs_keys, latent_key, gene_id_column, expression — honoured, or a clear error."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cellucid.data import open_source
from cellucid.data.base import InputError


@pytest.fixture(params=["anndata", "h5ad"])
def data(request, make_adata, write_h5ad):
    adata = make_adata(raw=False, layers=("counts",))
    return adata if request.param == "anndata" else write_h5ad(adata)


def test_obs_keys_restrict_and_order(data):
    with open_source(data, obs_keys=["score", "cell_type"]) as src:
        assert [f.name for f in src.fields()] == ["score", "cell_type"]
    with open_source(data, obs_keys="batch") as src:
        assert [f.name for f in src.fields()] == ["batch"]


def test_unknown_obs_key_lists_valid_ones(data):
    with pytest.raises(InputError) as err:
        open_source(data, obs_keys=["cell_type", "celltype"])
    assert "'celltype'" in err.value.message
    assert "'cell_type'" in err.value.hint and "'score'" in err.value.hint


def test_obs_key_that_cannot_be_shown_says_why(data):
    with pytest.raises(InputError) as err:
        open_source(data, obs_keys=["barcode"])
    assert "identifier" in err.value.message


def test_latent_key(data):
    with open_source(data, latent_key="X_tsne") as src:
        assert src.summary().latent_key == "X_tsne"
        assert src.latent().shape == (300, 2)
    with pytest.raises(InputError) as err:
        open_source(data, latent_key="X_scvi")
    assert "'X_scvi'" in err.value.message and "'X_pca'" in err.value.hint


def test_no_latent_without_pca(make_adata):
    adata = make_adata()
    del adata.obsm["X_pca"]
    with open_source(adata) as src:
        assert src.summary().latent_key is None and src.latent() is None


def test_gene_id_column(data):
    with open_source(data, gene_id_column="gene_ids") as src:
        assert src.summary().gene_id_columns == ["gene_ids"]
        assert src.resolve_gene("ensg00000000003") == 3
    with pytest.raises(InputError) as err:
        open_source(data, gene_id_column="symbol")
    assert "'symbol'" in err.value.message and "'gene_ids'" in err.value.hint


def test_gene_id_column_can_be_any_var_column(make_adata):
    adata = make_adata()
    adata.var["symbol"] = [f"sym-{i}" for i in range(adata.n_vars)]
    with open_source(adata, gene_id_column="symbol") as src:
        assert src.summary().gene_id_columns == ["symbol", "gene_ids"]
        assert src.resolve_gene("SYM-5") == 5
        assert src.search_genes("sym-1")[0].gene_id == "sym-1"


def test_unknown_layer_lists_layers(data):
    with pytest.raises(InputError) as err:
        open_source(data, expression="layer:spliced")
    assert "'spliced'" in err.value.message and "'counts'" in err.value.hint


def test_raw_without_raw(data):
    with pytest.raises(InputError) as err:
        open_source(data, expression="raw")
    assert "no .raw" in err.value.message and "layer:NAME" in err.value.hint


def test_malformed_expression(data):
    with pytest.raises(InputError) as err:
        open_source(data, expression="counts")
    assert "'X', 'raw' or 'layer:NAME'" in err.value.hint


def test_dataset_name(data):
    with open_source(data, dataset_name="my study") as src:
        assert src.summary().name == "my study"


def test_demo_size_and_kind():
    with open_source(None, demo_cells=700) as src:
        s = src.summary()
        assert (s.kind, s.n_cells, s.name) == ("demo", 700, "demo")
        assert src.embeddings()[0].dimensions == (1, 2, 3)
        assert [v.field_id for v in src.vector_fields()] == ["velocity_umap"]
        assert np.isfinite(src.gene("CD3E")).all()


def test_cellxgene_style_var_symbols_in_a_categorical_column(make_adata, write_h5ad, write_zarr):
    # CELLxGENE files: var index = Ensembl ids, symbols in a categorical 'feature_name'.
    adata = make_adata(gene_ids=False)
    symbols = list(adata.var_names)
    adata.var["feature_name"] = pd.Categorical(symbols)
    adata.var_names = [f"ENSG{i:011d}" for i in range(adata.n_vars)]
    for data in (adata, write_h5ad(adata), write_zarr(adata, zarr_format=3)):
        with open_source(data) as src:
            assert src.summary().gene_id_columns == ["feature_name"]
            assert list(src.gene_ids("feature_name")) == symbols
            assert src.resolve_gene("cd3e") == 3
            assert src.search_genes("LYZ")[0].gene_id == "LYZ"
