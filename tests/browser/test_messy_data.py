"""Messy data still gives a useful picture: NaN coordinates, missing categories, NaN values,
no expression matrix, no categorical field."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from browser_page import open_viewer

pytestmark = pytest.mark.browser


@pytest.fixture
def messy_server():
    from cellucid.anndata_server import AnnDataServer

    rng = np.random.default_rng(1)
    n = 800
    xy = rng.normal(size=(n, 2)).astype(np.float32)
    xy[:25] = np.nan  # cells without coordinates
    kind = pd.Categorical(rng.choice(["a", "b", "c"], n), categories=["a", "b", "c"])
    kind[100:140] = np.nan  # missing category
    score = rng.normal(size=n).astype(np.float32)
    score[::10] = np.nan
    adata = ad.AnnData(X=None, obs=pd.DataFrame({"kind": kind, "score": score}, index=[f"c{i}" for i in range(n)]),
                       obsm={"X_umap": xy})
    srv = AnnDataServer(adata, port=0, quiet=True).start_background()
    yield srv, adata
    srv.stop()


def test_nan_coordinates_missing_values_and_no_genes(browser, messy_server):
    srv, adata = messy_server
    v = open_viewer(browser, srv.url)
    try:
        assert v.errors == []
        s = v.state()
        assert s["colored_by"] == "kind"
        assert s["visible_count"] == adata.n_obs - 25  # NaN coordinates are not drawn
        missing = v.page.locator("[data-testid=legend] .item[data-category='(missing)']")
        assert missing.inner_text().split()[-1] == str(int(adata.obs["kind"].isna().sum()))
        missing.click()  # missing cells can be hidden like a category
        v.page.wait_for_function("(window.cellucid.state().hidden_categories.kind || []).includes(-1)")
        shown = (~np.isnan(adata.obsm["X_umap"][:, 0])) & adata.obs["kind"].notna().to_numpy()
        assert v.state()["visible_count"] == shown.sum()
        assert v.page.locator("[data-testid=gene-search]").count() == 0
        assert "No genes" in v.page.inner_text(".sidebar")
        # a continuous field with NaN colors without errors; its range ignores NaN
        v.page.select_option("[data-testid=color-by]", "score")
        v.page.wait_for_function("window.cellucid.state().colored_by === 'score'")
        lo, hi = v.state()["color_range"]
        assert (lo, hi) == pytest.approx(tuple(np.nanpercentile(adata.obs["score"], [1, 99])), rel=1e-5)
        assert v.errors == []
    finally:
        v.page.close()
