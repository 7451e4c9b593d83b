"""How the cells are drawn (issue 19, items 2, 4 and 5): expressing cells on top (scanpy's
sort_order), the neutral zero colour, robust colour limits, the 1D density strips, centroid
labels, neighbour-graph edges and the volumetric smoke mode, on a dataset written here
(tests/browser/looks_data.py): four clusters of cell pairs sharing exact coordinates."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from contextlib import contextmanager

import numpy as np
import pytest
from browser_helpers import default_projection_2d
from browser_page import open_viewer
from looks_data import CATEGORIES, looks_adata

pytestmark = pytest.mark.browser
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def looks(tmp_path_factory):
    from cellucid.anndata_server import AnnDataServer

    adata = looks_adata()
    path = tmp_path_factory.mktemp("looks") / "looks.h5ad"
    adata.write_h5ad(path)
    srv = AnnDataServer(str(path), port=0, quiet=True).start_background()
    yield srv, adata
    srv.stop()


@contextmanager
def looks_page(browser, looks, renderer="cpu"):
    """The viewer on the looks dataset with ``renderer``, closed afterwards."""
    srv, _ = looks
    v = open_viewer(browser, f"{srv.url}?renderer={renderer}")
    try:
        yield v
    finally:
        v.page.close()


def color_by_gene(v, name):
    v.js(f"window.cellucid.setColorBy('{name}', 'gene')")
    v.page.wait_for_function(f"window.cellucid.state().colored_by === '{name}'")
    v.frame()


def isolated_pairs(v, adata, radius=8.0):
    """Pairs (2k, 2k + 1) whose shared position has no other pair within ``radius`` CSS px,
    with their pixel (row, col) from Python's own projection of the raw embedding."""
    from scipy.spatial import cKDTree

    box = v.canvas_box()
    xy = default_projection_2d(np.asarray(adata.obsm["X_umap"], np.float64), box["width"], box["height"])[0::2]
    tree = cKDTree(xy)
    ok = np.array([len(n) == 1 for n in tree.query_ball_point(xy, radius)])
    ok &= (xy[:, 0] > 5) & (xy[:, 1] > 5) & (xy[:, 0] < box["width"] - 5) & (xy[:, 1] < box["height"] - 5)
    pairs = np.flatnonzero(ok)
    rc = np.round(xy[pairs, ::-1] - 0.5).astype(int)
    return pairs, rc


def drawn_colors(v, cells):
    return np.array(v.js("(c) => c.map((i) => Array.from(window.cellucid.app.colors.slice(4 * i, 4 * i + 3)))", [int(i) for i in cells]))


# ------------------------------------------------------------------ item 4: expression colours


def test_expressing_cells_are_drawn_over_non_expressing_ones_only_with_sort_order(browser, looks):
    _, adata = looks
    g1 = np.asarray(adata[:, "G1"].X.todense()).ravel()
    with looks_page(browser, looks) as v:
        v.js("window.cellucid.setPointSize(6)")
        color_by_gene(v, "G1")
        pairs, rc = isolated_pairs(v, adata)
        assert len(pairs) > 60
        first, second = 2 * pairs, 2 * pairs + 1
        assert (g1[first] > 0).all() and (g1[second] == 0).all()
        c_first, c_second = drawn_colors(v, first), drawn_colors(v, second)
        assert (np.abs(c_first - c_second).max(axis=1) > 30).mean() > 0.95  # the two colours differ
        for sort_order in (True, False):
            v.js(f"window.cellucid.setViewOptions({{sortOrder: {str(sort_order).lower()}}})")
            px = v.pixels()[rc[:, 0], rc[:, 1]].astype(int)
            # the winner, from the data: the higher value with sort_order, else the later index
            want = np.where((g1[first] > g1[second])[:, None] if sort_order else np.zeros((len(pairs), 1), bool), c_first, c_second)
            match = np.abs(px - want).max(axis=1) <= 6
            assert match.mean() > 0.95, (sort_order, match.mean())
        assert v.state()["sort_order"] is False
        assert v.errors == []


def test_zero_cells_take_the_neutral_colour_when_asked(browser, looks):
    _, adata = looks
    with looks_page(browser, looks) as v:
        v.js("window.cellucid.setPointSize(6); window.cellucid.setViewOptions({sortOrder: false})")
        color_by_gene(v, "G1")
        pairs, rc = isolated_pairs(v, adata)
        grey = np.array([211, 211, 211])
        before = v.pixels()[rc[:, 0], rc[:, 1]].astype(int)
        assert (np.abs(before - grey).max(axis=1) <= 3).mean() < 0.05  # zero cells are not grey yet
        v.page.check("[data-testid=zero-neutral]")
        v.page.wait_for_function("window.cellucid.state().zero_neutral")
        after = v.pixels()[rc[:, 0], rc[:, 1]].astype(int)  # zero cells are on top (index order)
        assert (np.abs(after - grey).max(axis=1) <= 3).mean() > 0.95
        # expressing cells keep their colormap colour
        exp = drawn_colors(v, 2 * pairs)
        assert (np.abs(exp - grey).max(axis=1) > 30).all()
        assert v.errors == []


def test_colour_limits_are_robust_numpy_percentiles_and_editable(browser, looks):
    _, adata = looks
    with looks_page(browser, looks) as v:
        for gene in ("G1", "G2"):
            values = np.asarray(adata[:, gene].X.todense()).ravel()
            color_by_gene(v, gene)
            lo, hi = v.state()["color_range"]
            assert (lo, hi) == pytest.approx(tuple(np.percentile(values, [1, 99])), rel=1e-5)
            assert hi < values.max()  # robust: the outliers are above the limit
            shown = v.page.input_value("[data-testid=range-max]")
            assert float(shown) == pytest.approx(hi, rel=1e-2)
        v.page.fill("[data-testid=range-max]", "4.5")
        v.page.dispatch_event("[data-testid=range-max]", "change")
        v.page.wait_for_function("window.cellucid.state().color_range[1] === 4.5")
        assert v.errors == []


def test_1d_shows_one_density_strip_per_category(browser, looks):
    _, adata = looks
    groups = adata.obs["group"].to_numpy()
    x = np.asarray(adata.obsm["X_umap"])[:, 0]
    with looks_page(browser, looks) as v:
        v.js("window.cellucid.setDimension(1)")
        v.page.wait_for_function("window.cellucid.state().dimension === 1")
        v.frame()
        n = adata.n_obs
        p = np.array([[q["x"], q["y"]] for q in v.js(f"window.cellucid.projectMany([...Array({n}).keys()])")])
        spans = []
        for name in CATEGORIES:
            y = p[groups == name, 1]
            spans.append((y.min(), y.max()))
            # a density strip, not a flat line: cells in the densest middle spread wider than the tails
            xs = x[groups == name]
            mid = np.abs(xs - np.median(xs)) < 0.3 * xs.std()
            tail = np.abs(xs - np.median(xs)) > 2.0 * xs.std()
            assert y.max() - y.min() > 20
            assert np.std(y[mid]) > 2 * np.std(y[tail]), name
        spans.sort()
        assert all(a[1] < b[0] for a, b in zip(spans, spans[1:]))  # four strips, disjoint
        # in the pixels: each category's colour fills one band of rows, the bands disjoint
        px = v.pixels().astype(int)
        colors = v.js("window.cellucid.app.colorColumn.categories.map((_, k) => Array.from(window.cellucid.app.palette.slice(4 * k, 4 * k + 3)))")
        bands = []
        for c in colors:
            rows = np.flatnonzero((np.abs(px - np.array(c)).max(axis=2) <= 3).sum(axis=1) > 0)
            assert len(rows) > 10
            assert rows.max() - rows.min() < 1.2 * len(rows)  # one contiguous band
            bands.append((rows.min(), rows.max()))
        bands.sort()
        assert len(bands) == 4 and all(a[1] < b[0] for a, b in zip(bands, bands[1:]))
        assert v.errors == []


# ------------------------------------------------------------------ item 5: labels and edges


def test_centroid_labels_sit_at_the_projected_centroids_and_go_into_exports(browser, looks, tmp_path):
    _, adata = looks
    with looks_page(browser, looks) as v:
        assert v.page.locator(".centroid-label").count() == 0  # off by default
        v.page.check("[data-testid=labels-toggle]")
        v.page.wait_for_function("document.querySelectorAll('.centroid-label').length === 4")
        v.frame()
        box = v.canvas_box()
        coords = np.asarray(adata.obsm["X_umap"], np.float64)
        groups = adata.obs["group"].to_numpy()
        cents = np.array([coords[groups == g].mean(axis=0) for g in CATEGORIES])
        # the same documented 2D projection, its bounds taken from all the cells
        want = default_projection_2d(np.vstack([coords, cents]), box["width"], box["height"])[-4:]
        for g, (wx, wy) in zip(CATEGORIES, want):
            b = v.page.locator(f".centroid-label[data-name='{g}']").bounding_box()
            cx, cy = b["x"] + b["width"] / 2 - box["x"], b["y"] + b["height"] / 2 - box["y"]
            assert abs(cx - wx) < 1.5 and abs(cy - wy) < 1.5, (g, cx, cy, wx, wy)
        svg = ET.fromstring(v.js("window.cellucid.svg()"))
        texts = {t.text: (float(t.get("x")), float(t.get("y"))) for t in svg.find(f"{SVG}g[@id='labels']")}
        assert set(texts) == set(CATEGORIES)
        for g, (wx, wy) in zip(CATEGORIES, want):
            assert abs(texts[g][0] - wx) < 1.5 and abs(texts[g][1] - wy) < 1.5
        with_labels = png_pixels(v)
        v.page.uncheck("[data-testid=labels-toggle]")
        v.page.wait_for_function("document.querySelectorAll('.centroid-label').length === 0")
        without = png_pixels(v)
        wx, wy = np.round(want[0]).astype(int)
        diff = np.abs(with_labels - without).max(axis=2)
        assert diff[wy - 5 : wy + 5, wx - 15 : wx + 15].max() > 100  # the PNG has the label text
        # collision-aware: zoomed far out the centroids crowd together, and no labels overlap
        v.page.check("[data-testid=labels-toggle]")
        v.js("() => { const c = window.cellucid.app.camera; c.zoom = 0.04; c.changed(); }")
        v.frame()
        placed = v.js("window.cellucid.labels()")
        assert len(placed) < 4 or any(p["shifted"] for p in placed)
        for i, a in enumerate(placed):
            for b in placed[i + 1 :]:
                assert abs(a["x"] - b["x"]) * 2 >= a["w"] + b["w"] or abs(a["y"] - b["y"]) * 2 >= a["h"] + b["h"]
        assert v.errors == []


def png_pixels(v):
    import base64
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(base64.b64decode(v.js("window.cellucid.png(1)")))).convert("RGB")).astype(int)


def middle_ink(v):
    """Non-background pixels of the composited page in the plot's empty middle (between the
    four clusters), where only edges can draw."""
    box = v.canvas_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    import io

    from PIL import Image

    img = np.asarray(Image.open(io.BytesIO(v.page.screenshot(clip={"x": cx - 60, "y": cy - 60, "width": 120, "height": 120}))).convert("RGB")).astype(int)
    return (np.abs(img - 255).max(axis=2) > 12).sum()


def test_graph_edges_are_drawn_only_when_toggled(browser, looks):
    with looks_page(browser, looks) as v:
        assert v.js("window.cellucid.app.identity.neighbor_graph") is True
        v.frame()
        assert middle_ink(v) == 0
        v.page.check("[data-testid=edges-toggle]")
        v.page.wait_for_function("document.querySelector('[data-testid=edges-note]').textContent.includes('300 edges')")
        v.frame()
        assert middle_ink(v) > 200
        svg = ET.fromstring(v.js("window.cellucid.svg()"))
        assert svg.find(f"{SVG}path[@id='edges']").get("d").count("M") == 300
        v.page.uncheck("[data-testid=edges-toggle]")
        v.frame()
        assert middle_ink(v) == 0
        assert v.errors == []


# ------------------------------------------------------------------ item 2: smoke


@pytest.mark.parametrize("renderer", ["webgl", "cpu"])
def test_smoke_is_a_cloud_that_differs_from_the_points(browser, looks, renderer):
    with looks_page(browser, looks, renderer) as v:
        assert v.state()["renderer"] == renderer
        v.js("window.cellucid.setDimension(3)")
        v.page.wait_for_function("window.cellucid.state().dimension === 3")
        points = v.pixels().astype(int)
        v.page.select_option("[data-testid=render-mode]", "smoke")
        v.page.wait_for_function("window.cellucid.state().render_mode === 'smoke'")
        smoke = v.pixels().astype(int)
        bg = np.array([255, 255, 255])
        ink_p = np.abs(points - bg).max(axis=2) > 20
        ink_s = np.abs(smoke - bg).max(axis=2) > 20
        assert ink_s.mean() > 0.05  # not blank
        assert np.abs(points - smoke).max(axis=2).mean() > 5  # not the points picture
        # a cloud: inside the drawn area neighbouring pixels change gently, unlike discs of points
        def roughness(img, ink):
            d = np.abs(np.diff(img, axis=1)).max(axis=2)
            return d[ink[:, 1:]].mean()

        assert roughness(smoke, ink_s) < 0.5 * roughness(points, ink_p)
        # coloured by the field: at each cluster's centroid the cloud has that category's hue
        v.js("window.cellucid.setViewOptions({labels: true})")
        v.frame()
        placed = {p["name"]: p for p in v.js("window.cellucid.labels()")}
        palette = np.array(v.js("[0, 1, 2, 3].map((k) => Array.from(window.cellucid.app.palette.slice(4 * k, 4 * k + 3)))"))
        for k, name in enumerate(CATEGORIES):
            p = placed[name]
            c = smoke[int(p["ay"]), int(p["ax"])]
            assert np.argmin(np.abs(palette - c).sum(axis=1)) == k, (name, c)
        # the controls act: less density → fainter cloud; a higher threshold clears thin parts
        v.js("window.cellucid.setViewOptions({labels: false, smoke: {density: 0.2, threshold: 0.05, grid: 64, color: 'field'}})")
        faint = v.pixels().astype(int)
        assert np.abs(faint - bg).max(axis=2).mean() < 0.7 * np.abs(smoke - bg).max(axis=2).mean()
        v.js("window.cellucid.setViewOptions({smoke: {density: 1, threshold: 0.6, grid: 64, color: 'field'}})")
        thin = v.pixels().astype(int)
        assert (np.abs(thin - bg).max(axis=2) > 20).mean() < 0.8 * ink_s.mean()
        # colour by a gene: the cloud takes the gene's colours
        v.js("window.cellucid.setViewOptions({smoke: {density: 1, threshold: 0.05, grid: 64, color: 'field'}})")
        color_by_gene(v, "G2")
        by_gene = v.pixels().astype(int)
        assert np.abs(by_gene - smoke).max(axis=2).mean() > 5
        v.js("window.cellucid.setColorBy('group', 'field')")
        v.page.wait_for_function("window.cellucid.state().colored_by === 'group'")
        # figure export includes the smoke
        png = png_pixels(v)
        assert np.abs(png[60:-60, 20:-200] - 255).max(axis=2).mean() > 5
        svg = ET.fromstring(v.js("window.cellucid.svg()"))
        assert svg.find(f"{SVG}g[@id='cells']").get("data-smoke") == "1"
        assert svg.find(f".//{SVG}image[@id='smoke']").get("href").startswith("data:image/png;base64,")
        assert v.errors == []


def test_the_plot_options_are_saved_in_sessions(browser, looks):
    with looks_page(browser, looks) as v:
        v.js("window.cellucid.setViewOptions({labels: true, edges: true, sortOrder: false, zeroNeutral: true, renderMode: 'smoke', smoke: {density: 2, threshold: 0.2, grid: 96, color: '#4a6fd0'}})")
        saved = v.js("window.cellucid.session()")
    assert saved["view_options"]["smoke"]["density"] == 2
    with looks_page(browser, looks) as v:
        assert v.state()["labels"] is False
        v.js("(o) => window.cellucid.restoreSession(o)", saved)
        s = v.state()
        assert (s["labels"], s["edges"], s["sort_order"], s["zero_neutral"], s["render_mode"]) == (True, True, False, True, "smoke")
        assert v.js("window.cellucid.app.store.get().smoke") == saved["view_options"]["smoke"]
        v.page.wait_for_function("document.querySelectorAll('.centroid-label').length === 4")
        assert v.errors == []


def test_a_graph_above_the_cap_is_sampled_and_the_page_says_so(browser, tmp_path):
    import scipy.sparse as sp

    from cellucid.anndata_server import AnnDataServer

    adata = looks_adata(n_pairs=400)  # 800 cells
    n = adata.n_obs
    rng = np.random.default_rng(3)
    i, j = rng.integers(0, n, 200_000), rng.integers(0, n, 200_000)
    conn = sp.triu(sp.csr_matrix((np.ones(i.size, np.float32), (i, j)), shape=(n, n)) + sp.csr_matrix((np.ones(i.size, np.float32), (j, i)), shape=(n, n)), k=1)
    total = conn.nnz
    assert total > 100_000
    adata.obsp["connectivities"] = conn.tocsr()
    path = tmp_path / "big_graph.h5ad"
    adata.write_h5ad(path)
    srv = AnnDataServer(str(path), port=0, quiet=True).start_background()
    try:
        v = open_viewer(browser, srv.url)
        v.page.check("[data-testid=edges-toggle]")
        v.page.wait_for_function("document.querySelector('[data-testid=edges-note]').textContent.includes('sample')")
        note = v.page.inner_text("[data-testid=edges-note]")
        assert f"100,000 of {total:,} edges drawn" in note
        assert v.js("window.cellucid.app.edges.drawnEdges") == 100_000
        assert v.errors == []
        v.page.close()
    finally:
        srv.stop()
