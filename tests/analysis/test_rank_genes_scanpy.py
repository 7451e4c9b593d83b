"""cellucid.rank_genes / markers agree with scanpy.tl.rank_genes_groups on the same cells,
for every kind of source (files written by anndata / cellucid.prepare in tmp_path).

Tolerances (scanpy stores scores and fold changes as float32 in ``uns``): scores and
log fold changes within 1e-4 absolute + 1e-5 relative; p-values within 1e-5 relative
(+1e-12 absolute); fractions exact to 1e-12.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import cellucid
from cellucid.data.demo import demo_anndata

warnings.filterwarnings("ignore", message=".*raw count data.*")


@pytest.fixture(scope="module")
def demo():
    ad = demo_anndata(1500)
    ad.X = sp.csr_matrix(np.log1p(ad.X.toarray()), dtype=np.float32)
    return ad


def scanpy_df(adata, mask, ref_mask=None, method="t-test", tie_correct=False, use_raw=False):
    import scanpy as sc

    a = adata.copy()
    labels = np.where(mask, "g", "x") if ref_mask is None else np.where(mask, "g", np.where(ref_mask, "r", "x"))
    a.obs["_g"] = pd.Categorical(labels)
    if ref_mask is None:
        sc.tl.rank_genes_groups(a, "_g", groups=["g"], reference="rest", method=method, pts=True,
                                use_raw=use_raw, tie_correct=tie_correct)
    else:
        sc.tl.rank_genes_groups(a, "_g", groups=["g", "r"], reference="r", method=method, pts=True,
                                use_raw=use_raw, tie_correct=tie_correct)
    return sc.get.rank_genes_groups_df(a, "g")


def assert_agree(ours: pd.DataFrame, ref: pd.DataFrame, adjusted: bool = True) -> None:
    assert len(ours) == len(ref)
    m = ours.merge(ref, on="names", suffixes=("", "_sc"))
    assert len(m) == len(ref)
    np.testing.assert_allclose(m["scores"], m["scores_sc"], rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(m["logfoldchanges"], m["logfoldchanges_sc"], rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(m["pvals"], m["pvals_sc"], rtol=1e-5, atol=1e-12)
    if adjusted:
        np.testing.assert_allclose(m["pvals_adj"], m["pvals_adj_sc"], rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(m["pct_nz_group"], m["pct_nz_group_sc"], atol=1e-12)
    if "pct_nz_reference_sc" in m:
        np.testing.assert_allclose(m["pct_nz_reference"], m["pct_nz_reference_sc"], atol=1e-12)
    # sorted by score, highest first, like scanpy
    assert np.all(np.diff(ours["scores"].to_numpy()) <= 1e-12)


def _source(kind: str, demo, tmp_path, monkeypatch):
    """The demo as ``kind``: what rank_genes receives."""
    if kind == "memory-csr":
        return demo
    if kind == "memory-dense":
        a = demo.copy()
        a.X = demo.X.toarray()
        return a
    if kind == "h5ad-csr":
        path = tmp_path / "d.h5ad"
        demo.write_h5ad(path)
        return path
    if kind == "h5ad-csr-gzip":
        path = tmp_path / "dz.h5ad"
        demo.write_h5ad(path, compression="gzip")
        return path
    if kind == "h5ad-csc":
        a = demo.copy()
        a.X = sp.csc_matrix(demo.X)
        path = tmp_path / "dc.h5ad"
        a.write_h5ad(path)
        return path
    if kind == "h5ad-dense":
        a = demo.copy()
        a.X = demo.X.toarray()
        path = tmp_path / "dd.h5ad"
        a.write_h5ad(path)
        return path
    if kind == "h5ad-gene-index":
        import cellucid.data.store_source as ss

        monkeypatch.setattr(ss, "GENE_INDEX_MIN_NNZ", 1)  # index even this small file
        monkeypatch.setenv("CELLUCID_GENE_INDEX_DELAY", "0")
        path = tmp_path / "di.h5ad"
        demo.write_h5ad(path)
        return path
    if kind == "zarr":
        path = tmp_path / "d.zarr"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            demo.write_zarr(path)
        return path
    if kind == "export":
        out = tmp_path / "export"
        cellucid.prepare(demo, out)
        return out
    raise AssertionError(kind)


KINDS = ["memory-csr", "memory-dense", "h5ad-csr", "h5ad-csr-gzip", "h5ad-csc", "h5ad-dense", "h5ad-gene-index",
         "zarr", "export"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("method", ["t-test", "wilcoxon"])
def test_group_vs_rest_agrees_with_scanpy(kind, method, demo, tmp_path, monkeypatch):
    data = _source(kind, demo, tmp_path, monkeypatch)
    mask = (demo.obs["cell_type"] == "T cell").to_numpy()
    ours = cellucid.rank_genes(data, "T cell", groupby="cell_type", method=method, tie_correct=True)
    assert_agree(ours, scanpy_df(demo, mask, method=method, tie_correct=True))


@pytest.mark.parametrize("kind", ["memory-csr", "h5ad-csr", "h5ad-gene-index", "memory-dense"])
@pytest.mark.parametrize("method", ["t-test", "wilcoxon"])
def test_group_vs_reference_agrees_with_scanpy(kind, method, demo, tmp_path, monkeypatch):
    data = _source(kind, demo, tmp_path, monkeypatch)
    ct = demo.obs["cell_type"].to_numpy()
    ours = cellucid.rank_genes(data, ["B cell", "Plasma"], reference="Monocyte", groupby="cell_type", method=method)
    ref = scanpy_df(demo, np.isin(ct, ["B cell", "Plasma"]), ct == "Monocyte", method=method)
    assert_agree(ours, ref)


@pytest.mark.parametrize("method", ["t-test", "wilcoxon"])
def test_large_group_reads_the_other_side_and_agrees(method, demo):
    # 80 % of the cells: the sums are read for the 20 % and taken from the totals
    rng = np.random.default_rng(1)
    mask = rng.random(demo.n_obs) < 0.8
    ours = cellucid.rank_genes(demo, mask, method=method)
    assert_agree(ours, scanpy_df(demo, mask, method=method))
    # positions give the same answer as the mask
    pos = cellucid.rank_genes(demo, np.flatnonzero(mask), method=method)
    pd.testing.assert_frame_equal(ours, pos)


def test_wilcoxon_without_tie_correction_agrees(demo):
    mask = (demo.obs["cell_type"] == "NK cell").to_numpy()
    ours = cellucid.rank_genes(demo, mask, method="wilcoxon")
    assert_agree(ours, scanpy_df(demo, mask, method="wilcoxon", tie_correct=False))


@pytest.mark.parametrize("method", ["t-test", "wilcoxon"])
def test_pbmc68k_raw_and_scaled_negative_values(pbmc68k, method):
    """pbmc68k_reduced: ``raw`` is log data, ``X`` is scaled (dense, negative values)."""
    mask = (pbmc68k.obs["louvain"] == "1").to_numpy()
    ours = cellucid.rank_genes(pbmc68k, "1", groupby="louvain", method=method, tie_correct=True, expression="raw")
    assert_agree(ours, scanpy_df(pbmc68k, mask, method=method, tie_correct=True, use_raw=True))
    ours_x = cellucid.rank_genes(pbmc68k, "1", groupby="louvain", method=method, tie_correct=True)
    ref_x = scanpy_df(pbmc68k, mask, method=method, tie_correct=True, use_raw=False)
    if method == "t-test":
        # Genes constant within the group (all clipped to one scaled value): scanpy's float32
        # variance comes out as about -1e-10, its sqrt NaN, and it writes score 0 / p 1;
        # cellucid's variance is 0 and Welch's test is defined. Everything else agrees.
        X = pbmc68k.X
        const = [g for g in ref_x["names"] if np.ptp(X[mask, pbmc68k.var_names.get_loc(g)]) == 0]
        assert 0 < len(const) < 100
        # (their p-values differ, so the BH adjustment of the others does too)
        assert_agree(ours_x[~ours_x["names"].isin(const)], ref_x[~ref_x["names"].isin(const)], adjusted=False)
    else:
        assert_agree(ours_x, ref_x)


def test_log_base_from_uns_like_scanpy(demo):
    import scanpy as sc

    a = demo_anndata(800)
    sc.pp.log1p(a, base=2)
    assert a.uns["log1p"]["base"] == 2
    mask = (a.obs["cell_type"] == "B cell").to_numpy()
    ours = cellucid.rank_genes(a, mask)
    assert_agree(ours, scanpy_df(a, mask))
    natural = cellucid.rank_genes(a, mask, log_base=np.e)  # overriding the base changes the fold changes
    m = ours.merge(natural, on="names")
    assert not np.allclose(m["logfoldchanges_x"], m["logfoldchanges_y"])


@pytest.mark.parametrize("kind", ["memory-csr", "h5ad-csr", "memory-dense", "export"])
@pytest.mark.parametrize("method", ["t-test", "wilcoxon"])
def test_markers_agree_with_scanpy_one_vs_rest(kind, method, demo, tmp_path, monkeypatch):
    import scanpy as sc

    data = _source(kind, demo, tmp_path, monkeypatch)
    ours = cellucid.markers(data, "cell_type", method=method, tie_correct=True)
    a = demo.copy()
    sc.tl.rank_genes_groups(a, "cell_type", method=method, pts=True, use_raw=False, tie_correct=True)
    cats = list(demo.obs["cell_type"].cat.categories)
    assert list(ours["group"].unique()) == cats
    for c in cats:
        assert_agree(ours[ours["group"] == c].drop(columns="group"), sc.get.rank_genes_groups_df(a, c))


def test_markers_to_uns_is_read_back_by_scanpy(demo):
    import scanpy as sc

    a = demo.copy()
    top = cellucid.markers(a, "cell_type", n_genes=7, to_uns=True, key_added="cl_markers")
    assert len(top) == 7 * 8
    for c in a.obs["cell_type"].cat.categories:
        back = sc.get.rank_genes_groups_df(a, c, key="cl_markers")
        mine = top[top["group"] == c].reset_index(drop=True)
        assert back["names"].tolist() == mine["names"].tolist()
        np.testing.assert_allclose(back["scores"], mine["scores"], rtol=1e-6)
        np.testing.assert_allclose(back["pvals_adj"], mine["pvals_adj"])
        np.testing.assert_allclose(back["pct_nz_reference"], mine["pct_nz_reference"])
    # and scanpy's own plots accept the layout
    import matplotlib

    matplotlib.use("Agg")
    sc.pl.rank_genes_groups_dotplot(a, key="cl_markers", n_genes=2, show=False)


@pytest.mark.parametrize("table_max", [None, 10])
def test_value_table_and_sort_paths_agree_with_scanpy(demo, monkeypatch, table_max):
    """CSR vs rest uses the table of distinct values (one sort per source, then lookups);
    with more distinct values than TABLE_MAX it falls back to sorting every time."""
    import cellucid.analysis._ranksum as rs
    from cellucid.analysis._matrix import expression_of
    from cellucid.data import open_source

    if table_max is not None:
        monkeypatch.setattr(rs, "TABLE_MAX", table_max)
    mask = (demo.obs["cell_type"] == "Dendritic").to_numpy()
    with open_source(demo) as source:
        for method in ["wilcoxon"]:
            ours = cellucid.rank_genes(source, mask, method=method, tie_correct=True)
            assert_agree(ours, scanpy_df(demo, mask, method=method, tie_correct=True))
            markers = cellucid.markers(source, "cell_type", method=method)
            a = demo.copy()
            import scanpy as sc

            sc.tl.rank_genes_groups(a, "cell_type", method=method, pts=True, use_raw=False)
            assert_agree(markers[markers["group"] == "Dendritic"].drop(columns="group"),
                         sc.get.rank_genes_groups_df(a, "Dendritic"))
        table = expression_of(source)._value_table
        assert (table is None) == (table_max is not None)


@pytest.mark.parametrize("counts", [True, False])
def test_count_data_dense_lookup_and_float_search_agree_with_scanpy(counts):
    """Raw counts (whole numbers) use the dense (gene, value) rank array; log1p values the
    binary search. Both give scanpy's Wilcoxon."""
    from cellucid.analysis._matrix import expression_of
    from cellucid.analysis._ranksum import value_table
    from cellucid.data import open_source

    a = demo_anndata(1200)
    if not counts:
        a.X = sp.csr_matrix(np.log1p(a.X.toarray()), dtype=np.float32)
    mask = (a.obs["cell_type"] == "Monocyte").to_numpy()
    with open_source(a) as source:
        ours = cellucid.rank_genes(source, mask, method="wilcoxon", tie_correct=True)
        assert (value_table(expression_of(source)).dense is not None) == counts
    assert_agree(ours, scanpy_df(a, mask, method="wilcoxon", tie_correct=True))


def test_negative_values_in_csr_use_the_table_and_agree(pbmc68k):
    """Scaled values as a sparse matrix: negative values rank below the zero block."""
    from cellucid.analysis._matrix import expression_of
    from cellucid.analysis._ranksum import value_table
    from cellucid.data import open_source

    a = pbmc68k.copy()
    X = a.X.copy()
    X[np.abs(X) < 0.3] = 0  # real zeros, so there is a zero block between the signs
    a.X = sp.csr_matrix(X)
    del a.raw
    mask = (a.obs["louvain"] == "3").to_numpy()
    with open_source(a) as source:
        ours = cellucid.rank_genes(source, mask, method="wilcoxon", tie_correct=True)
        table = value_table(expression_of(source))
        assert table is not None and table.dense is None and (table.zero_rank > 1).any()
    assert_agree(ours, scanpy_df(a, mask, method="wilcoxon", tie_correct=True))


def test_many_labels_look_ranks_up_instead_of_counting(demo, monkeypatch):
    """Markers over count data with more (label, gene, value) bins than allowed: same answer."""
    import cellucid.analysis._ranksum as rs

    a = demo_anndata(900)
    want = cellucid.markers(a, "cell_type", method="wilcoxon")
    monkeypatch.setattr(rs, "DENSE_MAX_CELLS", 2000 * 60)  # the table fits, 8 labels x it do not
    got = cellucid.markers(a, "cell_type", method="wilcoxon")
    pd.testing.assert_frame_equal(got, want)
