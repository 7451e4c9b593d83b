"""signature_score and correlation against direct numpy / scipy computations."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as st

import cellucid
from cellucid.data.base import BadParameter, NotFound
from cellucid.data.demo import demo_anndata

GENES = ["MS4A1", "CD3E", "GENE0012"]


@pytest.fixture(scope="module")
def demo():
    return demo_anndata(900)


@pytest.fixture(scope="module")
def demo_path(demo, tmp_path_factory):
    path = tmp_path_factory.mktemp("scores") / "d.h5ad"
    demo.write_h5ad(path)
    return path


def dense(a, genes):
    return np.asarray(a[:, genes].X.toarray(), dtype=np.float64)


def test_mean_score_is_the_mean_of_the_genes(demo, demo_path):
    want = dense(demo, GENES).mean(axis=1)
    s = cellucid.signature_score(demo, GENES)
    assert s.name == "signature" and s.index.tolist() == demo.obs_names.tolist()
    np.testing.assert_allclose(s.to_numpy(), want, rtol=1e-6)
    np.testing.assert_allclose(cellucid.signature_score(demo_path, GENES).to_numpy(), want, rtol=1e-6)


def test_zscore_score(demo):
    X = dense(demo, GENES)
    want = ((X - X.mean(0)) / X.std(0)).mean(axis=1)
    np.testing.assert_allclose(cellucid.signature_score(demo, GENES, method="zscore").to_numpy(), want,
                               rtol=1e-5, atol=1e-6)


def test_unknown_genes_are_warned_and_the_others_used(demo):
    with pytest.warns(UserWarning, match="2 of 4 genes not found and left out: NOPE1, NOPE2"):
        s = cellucid.signature_score(demo, ["MS4A1", "NOPE1", "CD3E", "NOPE2"])
    np.testing.assert_allclose(s.to_numpy(), dense(demo, ["MS4A1", "CD3E"]).mean(1), rtol=1e-6)
    with pytest.raises(NotFound, match="none of the 2 genes"):
        cellucid.signature_score(demo, ["NOPE1", "NOPE2"])
    with pytest.raises(BadParameter, match="unknown method"):
        cellucid.signature_score(demo, GENES, method="median")


@pytest.mark.parametrize("method", ["pearson", "spearman"])
def test_two_genes_and_a_field(demo, method):
    x, y = dense(demo, ["MS4A1"])[:, 0], demo.obs["n_counts"].to_numpy(dtype=np.float64)
    want = (st.pearsonr if method == "pearson" else st.spearmanr)(x, y)
    got = cellucid.correlation(demo, "MS4A1", "n_counts", method=method)
    assert got["n"] == demo.n_obs and (got["x"], got["y"]) == ("MS4A1", "n_counts")
    assert got["r"] == pytest.approx(float(want[0]), rel=1e-6)
    assert got["p"] == pytest.approx(float(want[1]), rel=1e-5)


def test_nan_cells_are_left_out(demo):
    y = demo.obs["n_counts"].to_numpy(dtype=np.float64).copy()
    y[:100] = np.nan
    x = dense(demo, ["CD3E"])[:, 0]
    got = cellucid.correlation(demo, "CD3E", y)
    assert got["n"] == demo.n_obs - 100
    assert got["r"] == pytest.approx(st.pearsonr(x[100:], y[100:])[0], rel=1e-6)


def test_bad_inputs(demo):
    with pytest.raises(BadParameter, match="categorical field"):
        cellucid.correlation(demo, "cell_type", "n_counts")
    with pytest.raises(NotFound, match="neither a gene nor an obs field") as e:
        cellucid.correlation(demo, "nope", "n_counts")
    assert "n_counts" in e.value.hint
    with pytest.raises(BadParameter, match="pearson' only"):
        cellucid.correlation(demo, "CD3E", method="spearman")


@pytest.mark.parametrize("kind", ["memory", "h5ad", "dense"])
def test_top_correlated_genes_match_numpy_for_every_gene(demo, demo_path, kind):
    data = {"memory": demo, "h5ad": demo_path}.get(kind)
    if data is None:
        data = demo.copy()
        data.X = demo.X.toarray()
    X = demo.X.toarray().astype(np.float64)
    x = X[:, demo.var_names.get_loc("CD3E")]
    Xc = X - X.mean(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (Xc * (x - x.mean())[:, None]).sum(0) / np.sqrt((Xc ** 2).sum(0) * ((x - x.mean()) ** 2).sum())
    top = cellucid.correlation(data, "CD3E", n_top=None)
    assert top["names"].iloc[0] == "CD3E" and top["r"].iloc[0] == pytest.approx(1.0)
    got = top.set_index("names")["r"].reindex(demo.var_names).to_numpy()
    np.testing.assert_allclose(got, r, atol=1e-9)
    j = int(np.nanargmin(np.abs(r - 0.1)))
    want_p = st.pearsonr(x, X[:, j])[1]
    assert top.set_index("names").loc[demo.var_names[j], "p"] == pytest.approx(want_p, rel=1e-6)
    assert len(cellucid.correlation(data, "CD3E", n_top=5)) == 5
