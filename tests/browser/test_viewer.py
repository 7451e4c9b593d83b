"""The viewer in real Chromium against a real cellucid server on a demo .h5ad file.

Pixel tests read the WebGL canvas itself and compare it with what Python computes from the
same file, so a wrong projection, color or visibility shows up as a wrong pixel."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib import colormaps
from matplotlib.path import Path as MplPath

from browser_helpers import N_CELLS, default_projection_2d, hex_rgb, isolated

pytestmark = pytest.mark.browser


def projections(viewer, demo):
    """(python-computed, viewer-reported) screen positions of every cell in the 2D view."""
    box = viewer.canvas_box()
    py = default_projection_2d(np.asarray(demo.adata.obsm["X_umap"], dtype=np.float64), box["width"], box["height"])
    js = viewer.js("window.cellucid.projectMany([...Array(window.cellucid.state().n_cells).keys()])")
    return py, np.array([[p["x"], p["y"]] for p in js])


def category_colors(demo):
    obs = demo.adata.obs["cell_type"]
    return obs.cat.codes.to_numpy(), [hex_rgb(c) for c in demo.adata.uns["cell_type_colors"]]


def test_loads_default_view_without_console_errors(viewer, demo):
    s = viewer.state()
    assert viewer.errors == []
    assert s["n_cells"] == N_CELLS
    assert s["embedding"] == "X_umap" and s["dimension"] == 2
    assert s["color_by"] == "cell_type"  # the first categorical obs field
    legend = viewer.page.locator("[data-testid=legend] .item")
    assert legend.count() == len(demo.adata.obs["cell_type"].cat.categories)
    first = demo.adata.obs["cell_type"].cat.categories[0]
    count = int((demo.adata.obs["cell_type"] == first).sum())
    assert legend.first.inner_text().split() == [*first.split(), f"{count:,}"]


def test_category_colors_at_projected_cell_positions(viewer, demo):
    py, js = projections(viewer, demo)
    # the viewer's own projection agrees with the one computed in Python from the file
    assert np.abs(py - js).max() < 0.5
    codes, colors = category_colors(demo)
    size = viewer.state()["point_size"]
    px = viewer.pixels()
    ok = isolated(py, codes, size / 2 + 2)
    inside = (py[:, 0] > 2) & (py[:, 1] > 2) & (py[:, 0] < px.shape[1] - 2) & (py[:, 1] < px.shape[0] - 2)
    cells = np.flatnonzero(ok & inside)
    assert len(cells) > 500
    got = px[np.round(py[cells, 1] - 0.5).astype(int), np.round(py[cells, 0] - 0.5).astype(int)].astype(int)
    want = np.array([colors[c] for c in codes[cells]])
    match = np.abs(got - want).max(axis=1) <= 3
    assert match.mean() > 0.98, f"{(~match).sum()} of {len(cells)} cells show the wrong color"


def test_coloring_by_a_marker_gene_changes_pixels(viewer, demo):
    py, _ = projections(viewer, demo)
    codes, _ = category_colors(demo)
    viewer.js("window.cellucid.setColorBy('CD3E')")  # marker of cluster 5 ("T cell")
    viewer.page.wait_for_function("window.cellucid.state().colored_by === 'CD3E'")
    viewer.frame()
    gene = demo.adata.var_names.get_loc("CD3E")
    expr = np.asarray(demo.adata.X[:, gene].todense()).ravel()
    lo, hi = viewer.state()["color_range"]
    # robust limits by default: numpy's 1st and 99th percentiles (docs/viewer.md)
    assert (lo, hi) == pytest.approx(tuple(np.percentile(expr, [1, 99])), rel=1e-5)
    px = viewer.pixels()
    size = viewer.state()["point_size"]
    # cells whose neighbors within a point radius share their (quantized) color
    t = np.clip(np.round((expr - lo) / (hi - lo) * 255), 0, 255).astype(int)
    ok = isolated(py, t // 8, size / 2 + 2)
    cells = np.flatnonzero(ok & (py[:, 0] > 2) & (py[:, 1] > 2) & (py[:, 0] < px.shape[1] - 2) & (py[:, 1] < px.shape[0] - 2))
    assert len(cells) > 300
    got = px[np.round(py[cells, 1] - 0.5).astype(int), np.round(py[cells, 0] - 0.5).astype(int)].astype(int)
    want = (np.asarray(colormaps["viridis"](t[cells] / 255))[:, :3] * 255).round().astype(int)
    match = np.abs(got - want).max(axis=1) <= 6
    assert match.mean() > 0.97
    # the marked cluster is lit: far more of its cells leave the bottom of the color map
    bottom = np.abs(got - (np.asarray(colormaps["viridis"](0.0))[:3] * 255).round()).max(axis=1) <= 3
    lit_t = (~bottom[codes[cells] == 5]).mean()
    lit_other = (~bottom[codes[cells] != 5]).mean()
    assert lit_t > 5 * lit_other and lit_t > 0.03
    # and the picture differs from the category coloring it replaced
    viewer.js("window.cellucid.setColorBy('cell_type')")
    viewer.page.wait_for_function("window.cellucid.state().colored_by === 'cell_type'")
    assert (np.abs(viewer.pixels().astype(int) - px.astype(int)).max(axis=2) > 30).sum() > 2000


def test_hiding_a_category_removes_its_color(viewer, demo):
    codes, colors = category_colors(demo)
    color = colors[5]
    near = lambda px: int((np.abs(px.astype(int) - color).max(axis=2) <= 2).sum())  # noqa: E731
    before = near(viewer.pixels())
    assert before > 200
    viewer.page.locator("[data-testid=legend] .item[data-category='T cell']").click()
    viewer.page.wait_for_function("(window.cellucid.state().hidden_categories['cell_type'] || []).length === 1")
    viewer.page.mouse.move(5, 5)  # off the legend: hovering a row cross-highlights its cells
    viewer.page.wait_for_function("window.cellucid.state().cross_highlight === null")
    after = near(viewer.pixels())
    assert after <= 2, f"{after} pixels still show the hidden category's color"
    assert viewer.state()["visible_count"] == N_CELLS - int((codes == 5).sum())
    # clicking again shows it again
    viewer.page.locator("[data-testid=legend] .item[data-category='T cell']").click()
    viewer.page.wait_for_function("(window.cellucid.state().hidden_categories['cell_type'] || []).length === 0")
    viewer.page.mouse.move(5, 5)
    viewer.page.wait_for_function("window.cellucid.state().cross_highlight === null")
    assert near(viewer.pixels()) == before


def draw_lasso(viewer, polygon, modifier=None):
    box = viewer.canvas_box()
    page = viewer.page
    if modifier:
        page.keyboard.down(modifier)
    page.mouse.move(box["x"] + polygon[0][0], box["y"] + polygon[0][1])
    page.mouse.down()
    for x, y in polygon[1:] + polygon[:1]:
        page.mouse.move(box["x"] + x, box["y"] + y, steps=8)
    page.mouse.up()
    if modifier:
        page.keyboard.up(modifier)


def expected_inside(py, polygon):
    """(surely inside, ambiguous) masks: cells within 1 px of an edge may fall either way."""
    path = MplPath(np.array(polygon + polygon[:1], dtype=float))
    inside = path.contains_points(py)
    grown = path.contains_points(py, radius=2.0) | path.contains_points(py, radius=-2.0)
    shrunk = path.contains_points(py, radius=-2.0) & path.contains_points(py, radius=2.0)
    return inside, grown & ~shrunk


def test_lasso_selects_exactly_the_cells_inside_the_polygon(viewer, demo):
    py, _ = projections(viewer, demo)
    box = viewer.canvas_box()
    w, h = box["width"], box["height"]
    # a non-convex polygon over the middle of the view
    poly = [(0.30 * w, 0.25 * h), (0.55 * w, 0.40 * h), (0.75 * w, 0.20 * h), (0.70 * w, 0.75 * h), (0.45 * w, 0.55 * h), (0.25 * w, 0.80 * h)]
    poly = [(round(x), round(y)) for x, y in poly]
    viewer.page.click("[data-testid=tool-lasso]")
    draw_lasso(viewer, poly)
    viewer.page.wait_for_function("window.cellucid.state().selection_source === 'lasso'")
    s = viewer.state()
    inside, ambiguous = expected_inside(py, poly)
    selected = np.zeros(N_CELLS, bool)
    selected[s["selected"]] = True
    assert inside.sum() > 100
    assert ambiguous.sum() < 0.05 * inside.sum()
    wrong = (selected != inside) & ~ambiguous
    assert not wrong.any(), f"{wrong.sum()} cells wrongly (de)selected"
    assert viewer.page.inner_text("[data-testid=selection-count]").replace(",", "") == str(s["selection_count"])

    # Shift adds a second region; Alt removes the first polygon again
    # the lower arc (the press must land on the canvas, not on the toolbar/legend/status box)
    poly2 = [(0.22 * w, 0.85 * h), (0.5 * w, 0.65 * h), (0.8 * w, 0.78 * h), (0.75 * w, 0.98 * h), (0.4 * w, 0.98 * h)]
    poly2 = [(round(x), round(y)) for x, y in poly2]
    draw_lasso(viewer, poly2, "Shift")
    viewer.frame()
    inside2, amb2 = expected_inside(py, poly2)
    assert (inside2 & ~inside).sum() > 50
    sel = np.zeros(N_CELLS, bool)
    sel[viewer.state()["selected"]] = True
    assert not ((sel != (inside | inside2)) & ~(ambiguous | amb2)).any()
    draw_lasso(viewer, poly, "Alt")
    viewer.frame()
    sel = np.zeros(N_CELLS, bool)
    sel[viewer.state()["selected"]] = True
    assert not ((sel != (inside2 & ~inside)) & ~(ambiguous | amb2)).any()


def test_3d_orbit_changes_the_image_and_reset_restores_it(viewer):
    viewer.page.click("[data-testid=dim-3]")
    viewer.page.wait_for_function("window.cellucid.state().camera.dim === 3")
    start = viewer.pixels()
    cam0 = viewer.state()["camera"]
    box = viewer.canvas_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    viewer.page.mouse.move(cx, cy)
    viewer.page.mouse.down()
    viewer.page.mouse.move(cx + 150, cy + 40, steps=10)
    viewer.page.mouse.up()
    orbited = viewer.pixels()
    changed = np.abs(orbited.astype(int) - start.astype(int)).max(axis=2) > 30
    assert changed.mean() > 0.01
    assert viewer.state()["camera"]["yaw"] != cam0["yaw"]
    viewer.page.click("[data-testid=reset-view]")
    restored = viewer.pixels()
    assert np.array_equal(restored, start)
    assert viewer.state()["camera"] == cam0


def test_3d_planar_and_free_fly_navigation_move_the_camera(viewer):
    viewer.page.click("[data-testid=dim-3]")
    viewer.page.wait_for_function("window.cellucid.state().camera.dim === 3")
    box = viewer.canvas_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    cam0 = viewer.state()["camera"]
    # planar: a drag pans (moves the target), it does not rotate
    viewer.page.click("[data-testid=nav-planar]")
    viewer.page.mouse.move(cx, cy)
    viewer.page.mouse.down()
    viewer.page.mouse.move(cx + 100, cy, steps=5)
    viewer.page.mouse.up()
    cam1 = viewer.state()["camera"]
    assert cam1["yaw"] == cam0["yaw"] and cam1["target"] != cam0["target"]
    # free-fly: W moves the eye forward; the picture changes
    viewer.page.keyboard.press("f")
    before = viewer.pixels()
    viewer.page.mouse.move(cx, cy)
    viewer.page.keyboard.down("w")
    viewer.page.wait_for_function("(() => { const c = window.cellucid.state().camera; return c.eye !== null; })()")
    viewer.page.wait_for_timeout(300)
    viewer.page.keyboard.up("w")
    cam2 = viewer.state()["camera"]
    assert cam2["eye"] is not None
    after = viewer.pixels()
    assert (np.abs(after.astype(int) - before.astype(int)).max(axis=2) > 30).mean() > 0.005
    # R resets to the fitted orbit view
    viewer.page.keyboard.press("r")
    assert viewer.state()["camera"] == cam0
