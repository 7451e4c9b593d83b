"""Bad input to rank_genes / markers: a clear error (what is wrong, what to do), never a deep
traceback, and the user's file is left untouched."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import cellucid
from cellucid.data.base import BadParameter, CellucidError, InputError, NotFound
from cellucid.data.demo import demo_anndata


@pytest.fixture(scope="module")
def demo():
    return demo_anndata(600)


def test_empty_group(demo):
    with pytest.raises(BadParameter, match="group has no cells") as e:
        cellucid.rank_genes(demo, np.zeros(demo.n_obs, dtype=bool))
    assert e.value.hint


def test_one_cell_group_and_reference(demo):
    with pytest.raises(BadParameter, match="only one cell"):
        cellucid.rank_genes(demo, [5])
    with pytest.raises(BadParameter, match="reference has only one cell"):
        cellucid.rank_genes(demo, [1, 2, 3], reference=[7])


def test_group_equal_to_reference(demo):
    with pytest.raises(BadParameter, match="same cells"):
        cellucid.rank_genes(demo, "T cell", reference="T cell", groupby="cell_type")


def test_overlapping_groups(demo):
    with pytest.raises(BadParameter, match="share 2 cells"):
        cellucid.rank_genes(demo, [1, 2, 3, 4], reference=[3, 4, 5, 6])


def test_group_of_every_cell_leaves_no_rest(demo):
    with pytest.raises(BadParameter, match="'rest' has 0"):
        cellucid.rank_genes(demo, np.ones(demo.n_obs, dtype=bool))


def test_unknown_category_lists_the_valid_ones(demo):
    with pytest.raises(NotFound, match="'Neuron' is not a category of 'cell_type'") as e:
        cellucid.rank_genes(demo, ["T cell", "Neuron"], groupby="cell_type")
    assert "B cell" in e.value.hint and "Plasma" in e.value.hint


def test_unknown_groupby_field(demo):
    with pytest.raises(NotFound, match="unknown obs field 'celltype'"):
        cellucid.rank_genes(demo, "T cell", groupby="celltype")


def test_continuous_groupby_field(demo):
    with pytest.raises(BadParameter, match="continuous") as e:
        cellucid.markers(demo, "n_counts")
    assert "cell_type" in e.value.hint


def test_category_name_without_groupby(demo):
    with pytest.raises(BadParameter, match="groupby= must name") as e:
        cellucid.rank_genes(demo, "T cell")
    assert "cell_type" in e.value.hint


def test_mask_of_wrong_length_and_positions_out_of_range(demo):
    with pytest.raises(BadParameter, match="mask has 10 values but the dataset has 600 cells"):
        cellucid.rank_genes(demo, np.ones(10, dtype=bool))
    with pytest.raises(BadParameter, match="outside 0..599"):
        cellucid.rank_genes(demo, [1, 2, 600])


def test_unknown_method(demo):
    with pytest.raises(BadParameter, match="unknown method 'wilcox'") as e:
        cellucid.rank_genes(demo, [1, 2, 3], method="wilcox")
    assert "wilcoxon" in e.value.hint


@pytest.mark.parametrize("method", ["t-test", "wilcoxon"])
def test_genes_constant_everywhere_give_nan_listed_last(method):
    X = np.zeros((40, 4), dtype=np.float32)
    X[:, 1] = 1.0  # constant non-zero
    X[:20, 2] = 2.0  # differs
    X[::3, 3] = np.arange(14)  # varies in both groups
    a = ad.AnnData(sp.csr_matrix(X), var=pd.DataFrame(index=["zero", "one", "diff", "vary"]))
    a.obsm["X_umap"] = np.zeros((40, 2), dtype=np.float32)
    df = cellucid.rank_genes(a, np.arange(20), method=method, tie_correct=True)
    assert df["names"].tolist()[-2:] in (["zero", "one"], ["one", "zero"])
    tail = df.iloc[-2:]
    assert tail["scores"].isna().all() and tail["pvals"].isna().all() and tail["pvals_adj"].isna().all()
    assert df.iloc[:2]["scores"].notna().all()


def test_nan_in_x_is_an_input_error():
    X = np.ones((30, 3), dtype=np.float32)
    X[4, 1] = np.nan
    a = ad.AnnData(X, var=pd.DataFrame(index=["a", "b", "c"]))
    a.obsm["X_umap"] = np.zeros((30, 2), dtype=np.float32)
    with pytest.raises(InputError, match="NaN values \\(genes b\\)") as e:
        cellucid.rank_genes(a, np.arange(10))
    assert "replace NaN" in e.value.hint
    with pytest.raises(InputError, match="NaN values"):  # also against a reference group
        cellucid.rank_genes(a, np.arange(10), reference=np.arange(10, 20), method="wilcoxon")


def test_dataset_without_genes():
    a = ad.AnnData(obs=pd.DataFrame({"c": pd.Categorical(["x", "y"] * 10)}, index=[f"c{i}" for i in range(20)]))
    a.obsm["X_umap"] = np.zeros((20, 2), dtype=np.float32)
    with pytest.raises(InputError, match="no genes"):
        cellucid.rank_genes(a, "x", groupby="c")


def test_markers_with_a_one_cell_category_names_it():
    a = demo_anndata(300)
    a.obs["one"] = pd.Categorical(["big"] * 290 + ["small"] * 9 + ["alone"])
    with pytest.raises(BadParameter, match=r"cannot be tested: alone \(1\)\n") as e:
        cellucid.markers(a, "one")
    assert "groups=" in e.value.hint
    out = cellucid.markers(a, "one", groups=["big", "small"], n_genes=3)  # the hint works
    assert out["group"].unique().tolist() == ["big", "small"]


def test_markers_bad_groups_and_to_uns_on_a_path(demo, tmp_path):
    with pytest.raises(BadParameter, match="'Neuron' not categories"):
        cellucid.markers(demo, "cell_type", groups=["Neuron"])
    path = tmp_path / "d.h5ad"
    demo.write_h5ad(path)
    with pytest.raises(BadParameter, match="to_uns=True needs an in-memory AnnData"):
        cellucid.markers(path, "cell_type", to_uns=True)


def test_errors_leave_the_file_untouched(demo, tmp_path):
    path = tmp_path / "d.h5ad"
    demo.write_h5ad(path)
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    for call in (lambda: cellucid.rank_genes(path, "Neuron", groupby="cell_type"),
                 lambda: cellucid.rank_genes(path, [1]),
                 lambda: cellucid.rank_genes(path, [1, 2], reference=[2, 3]),
                 lambda: cellucid.markers(path, "n_counts")):
        with pytest.raises(CellucidError):
            call()
    cellucid.rank_genes(path, [1, 2, 3, 4])  # a good call does not write either
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before

