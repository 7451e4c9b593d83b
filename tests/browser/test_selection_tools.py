"""Selection tools beyond the lasso: proximity (radius in embedding units), Ctrl-click on a
legend entry, k-nearest-neighbour grow, and highlight-group pages. Counts are checked against
the same computation in Python on the raw coordinates served by the HTTP route."""

from __future__ import annotations

import urllib.request

import numpy as np
import pytest
from scipy.spatial import cKDTree

pytestmark = pytest.mark.browser


def raw_embedding(server, key, dim):
    with urllib.request.urlopen(f"{server.url}_cellucid/api/embedding?key={key}&dim={dim}&format=f32") as r:
        return np.frombuffer(r.read(), dtype=np.float32).reshape(-1, dim).astype(np.float64)


def click_cell(viewer, i, modifiers=None):
    p = viewer.js(f"window.cellucid.project({i})")
    box = viewer.canvas_box()
    for m in modifiers or []:
        viewer.page.keyboard.down(m)
    viewer.page.mouse.click(box["x"] + p["x"], box["y"] + p["y"])
    for m in modifiers or []:
        viewer.page.keyboard.up(m)
    return viewer.js(f"window.cellucid.pick({p['x']}, {p['y']})")


def test_proximity_tool_selects_cells_within_the_radius(viewer, server):
    xy = raw_embedding(server, "X_umap", 2)
    page = viewer.page
    page.fill("[data-testid=proximity-radius]", "1.5")
    page.press("[data-testid=proximity-radius]", "Enter")
    page.wait_for_function("window.cellucid.state().proximity_radius === 1.5")
    assert page.inner_text("[data-testid=radius-units]") == "emb. units"
    page.click("[data-testid=tool-proximity]")
    cell = click_cell(viewer, 1234)
    page.wait_for_function("window.cellucid.state().selection_source === 'proximity'")
    d2 = ((xy - xy[cell]) ** 2).sum(axis=1)
    expected = np.flatnonzero(d2 <= 1.5 * 1.5)
    assert 20 < len(expected) < len(xy) / 2
    assert viewer.state()["selected"] == expected.tolist()
    # Alt-click with the pan tool does the same, Shift adds
    page.click("[data-testid=tool-pan]")
    cell2 = click_cell(viewer, 77, ["Alt", "Shift"])
    page.wait_for_function(f"window.cellucid.state().selection_count > {len(expected)}")
    expected2 = np.union1d(expected, np.flatnonzero(((xy - xy[cell2]) ** 2).sum(axis=1) <= 2.25))
    assert viewer.state()["selected"] == expected2.tolist()


def test_ctrl_click_on_a_legend_entry_selects_its_cells(viewer, demo):
    page = viewer.page
    page.locator("[data-testid=legend] .item[data-category='Monocyte']").click(modifiers=["Control"])
    page.wait_for_function("window.cellucid.state().selection_source === 'category'")
    expected = np.flatnonzero(demo.adata.obs["cell_type"].to_numpy() == "Monocyte")
    s = viewer.state()
    assert s["selected"] == expected.tolist()
    assert s["hidden_categories"].get("cell_type", []) == []  # Ctrl-click does not hide it


def _nearest(space: np.ndarray, cell: int, candidates: np.ndarray, k: int) -> np.ndarray:
    """Brute force: the k candidates nearest to ``cell`` (itself excluded), float64."""
    others = candidates[candidates != cell]
    d2 = ((space[others] - space[cell]) ** 2).sum(axis=1)
    return others[np.argsort(d2, kind="stable")[:k]]


def test_knn_grow_measures_in_x_pca_among_visible_cells(viewer, server, demo):
    """The demo has obsm['X_pca'] (50 dims): k-NN grows there, not in the shown 3D embedding,
    and skips hidden cells (the viewer asks the server again for cells left short)."""
    page = viewer.page
    assert page.inner_text("[data-testid=knn-space]") == "neighbours in X_pca (50 dims)"
    page.click("[data-testid=dim-3]")
    page.wait_for_function("window.cellucid.state().camera.dim === 3")
    page.locator("[data-testid=legend] .item[data-category='Stem']").click()
    page.wait_for_function("(window.cellucid.state().hidden_categories.cell_type || []).length === 1")
    pca = np.asarray(demo.adata.obsm["X_pca"], dtype=np.float64)
    visible = np.flatnonzero(demo.adata.obs["cell_type"].to_numpy() != "Stem")
    seed = visible[::150][:20]
    viewer.js("(c) => window.cellucid.select(c)", seed.tolist())
    page.fill("[data-testid=knn-k]", "7")
    page.press("[data-testid=knn-k]", "Enter")
    page.click("[data-testid=knn-grow]")
    page.wait_for_function("window.cellucid.state().selection_source === 'knn'")
    expected = np.union1d(seed, np.concatenate([_nearest(pca, s, visible, 7) for s in seed]))
    assert viewer.state()["selected"] == expected.tolist()
    assert len(expected) > len(seed) * 4
    # the shown embedding's neighbours are another set: the test tells the two apart
    xyz = raw_embedding(server, "X_umap", 3)
    in_embedding = np.union1d(seed, np.concatenate([_nearest(xyz, s, visible, 7) for s in seed]))
    assert in_embedding.tolist() != expected.tolist()


@pytest.fixture
def graph_server():
    """Cells on a line in the embedding whose stored graph links each cell to far-away cells."""
    import anndata as ad
    import pandas as pd
    import scipy.sparse as sp

    from cellucid.anndata_server import AnnDataServer

    rng = np.random.default_rng(3)
    n = 600
    xy = np.stack([np.arange(n, dtype=np.float32), rng.normal(0, 0.1, n).astype(np.float32)], axis=1)
    rows = np.repeat(np.arange(n), 6)
    cols = (rows + rng.integers(100, 500, rows.size)) % n
    g = sp.csr_matrix((rng.random(rows.size) + 0.01, (rows, cols)), shape=(n, n))
    g = (g + g.T).tocsr()
    adata = ad.AnnData(X=None, obs=pd.DataFrame({"k": pd.Categorical(rng.choice(["a", "b"], n))}, index=[f"c{i}" for i in range(n)]),
                       obsm={"X_umap": xy}, obsp={"connectivities": g})
    srv = AnnDataServer(adata, port=0, quiet=True).start_background()
    yield srv, g
    srv.stop()


def test_knn_grow_from_one_cell_follows_the_stored_graph(browser, graph_server):
    from browser_page import open_viewer

    srv, g = graph_server
    v = open_viewer(browser, srv.url)
    try:
        v.page.wait_for_selector("[data-testid=knn-space]")
        assert v.page.inner_text("[data-testid=knn-space]") == "neighbours from obsp['connectivities']"
        v.js("(c) => window.cellucid.select(c)", [42])
        got = v.js("async () => { await window.cellucid.growKnn(5); return window.cellucid.state().selected; }")
        row = g.getrow(42).toarray().ravel()
        strongest = np.argsort(-row, kind="stable")[:5]
        assert got == sorted({42, *strongest.tolist()})
        assert got != list(range(40, 45)) and max(abs(c - 42) for c in got) >= 100  # not the line's neighbours
        assert v.errors == []
    finally:
        v.page.close()


def test_highlight_groups_live_on_named_pages(viewer):
    page = viewer.page
    def green():
        return int((np.abs(viewer.pixels().astype(int) - [0, 255, 0]).max(axis=2) <= 2).sum())
    viewer.js("window.cellucid.select([...Array(200).keys()])")
    page.fill("[data-testid=page-name]", "markers")
    page.click("[data-testid=add-page]")
    page.fill("[data-testid=group-name]", "first200")
    page.click("[data-testid=save-group]")
    viewer.js("window.cellucid.clearSelection()")
    viewer.js("window.cellucid.app.store.set({highlightGroups: window.cellucid.app.store.get().highlightGroups.map(g => ({...g, color: '#00ff00'}))})")
    s = viewer.state()
    assert s["group_pages"] == ["page 1", "markers"] and s["active_page"] == "markers"
    assert s["groups_by_page"] == {"page 1": [], "markers": ["first200"]}
    assert page.locator("[data-testid=groups] .list-item").count() == 1
    assert green() > 100
    page.select_option("[data-testid=group-page]", label="page 1")
    page.wait_for_function("window.cellucid.state().active_page === 'page 1'")
    assert page.locator("[data-testid=groups] .list-item").count() == 0
    assert green() == 0  # only the active page's groups are drawn
    page.select_option("[data-testid=group-page]", label="markers")
    page.wait_for_function("window.cellucid.state().active_page === 'markers'")
    assert green() > 100


@pytest.fixture
def flat_server():
    import anndata as ad
    import pandas as pd

    from cellucid.anndata_server import AnnDataServer

    rng = np.random.default_rng(5)
    n = 2000
    # nearly flat, clustered cloud: one axis 10,000× shorter than the other; duplicates-free
    x = np.concatenate([rng.normal(0, 1, n // 2), rng.normal(8, 0.3, n - n // 2)])
    xy = np.stack([x, rng.normal(0, 1e-4, n)], axis=1).astype(np.float32)
    adata = ad.AnnData(X=None, obs=pd.DataFrame({"k": pd.Categorical(rng.choice(["a", "b"], n))}, index=[f"c{i}" for i in range(n)]),
                       obsm={"X_umap": xy})
    srv = AnnDataServer(adata, port=0, quiet=True).start_background()
    yield srv
    srv.stop()


def test_neighbourhoods_on_flat_uneven_data_match_scipy(browser, flat_server):
    from browser_page import open_viewer

    v = open_viewer(browser, flat_server.url)
    try:
        xy = raw_embedding(flat_server, "X_umap", 2)
        tree = cKDTree(xy)
        for cell, r in [(3, 0.05), (1500, 0.01), (10, 2.0)]:
            v.js("([c, r]) => window.cellucid.setProximityRadius(r)", [cell, r])
            got = v.js("async ([c]) => { await window.cellucid.selectProximity(c); return window.cellucid.state().selected; }", [cell])
            expected = np.flatnonzero(((xy - xy[cell]) ** 2).sum(axis=1) <= r * r)
            assert got == expected.tolist(), (cell, r)
        # no latent space and no graph: k-NN stays in the shown embedding, and says so
        assert v.page.inner_text("[data-testid=knn-space]") == "neighbours in the shown embedding"
        seed = np.arange(0, 2000, 97)
        v.js("(c) => window.cellucid.select(c)", seed.tolist())
        got = v.js("async () => { await window.cellucid.growKnn(12); return window.cellucid.state().selected; }")
        _, nn = tree.query(xy[seed], k=13)
        assert got == np.union1d(seed, nn[:, 1:].ravel()).tolist()
        assert v.errors == []
    finally:
        v.page.close()
