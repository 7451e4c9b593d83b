"""Live + snapshot views (small multiples) and cross-highlighting, in Chromium.

Positions are computed in Python from the raw embedding (the documented default 2D view,
browser_helpers.default_projection_2d, for each view's own canvas size); colors from the
dataset's ``uns["cell_type_colors"]``; legend shares from pandas' ``value_counts``."""

from __future__ import annotations

import base64
import io
import json
import urllib.request

import numpy as np
import pytest
from browser_helpers import default_projection_2d, hex_rgb, isolated
from browser_page import open_viewer

pytestmark = pytest.mark.browser

SEL = {"live": "[data-testid=canvas]"}


def raw_embedding(server, key="X_umap", dim=2):
    with urllib.request.urlopen(f"{server.url}_cellucid/api/embedding?key={key}&dim={dim}&format=f32") as r:
        return np.frombuffer(r.read(), dtype=np.float32).reshape(-1, dim).astype(np.float64)


def canvas_of(view_id):
    return SEL.get(view_id, f"[data-testid=canvas-{view_id}]")


def view_pixels(viewer, view_id) -> np.ndarray:
    """One view's canvas alone (no overlays), (h, w, 3) uint8 in device px."""
    from PIL import Image

    viewer.frame()
    viewer.page.wait_for_timeout(100)  # the snapshot renderers draw in the same animation frame
    url = viewer.js("(s) => document.querySelector(s).toDataURL('image/png')", canvas_of(view_id))
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB")).astype(int)


def positions(viewer, server, view_id):
    """Python's screen positions of every cell in a view at its default camera."""
    box = viewer.page.locator(canvas_of(view_id)).bounding_box()
    return default_projection_2d(raw_embedding(server), box["width"], box["height"]), box


def at(img, xy):
    return img[int(round(xy[1])), int(round(xy[0]))]


def snapshot_with_live_recolored(viewer):
    """Snapshot the live view (colored by cell_type), then color the live view by n_counts."""
    vid = viewer.js("window.cellucid.snapshot()")
    viewer.js("window.cellucid.setColorBy('n_counts')")
    viewer.page.wait_for_function("window.cellucid.state().colored_by === 'n_counts'")
    viewer.page.wait_for_function("(id) => window.cellucid.views().length === 2", arg=vid)
    viewer.frame()
    return vid


def clear_cells(xy_a, xy_b, labels, radius=9.0):
    """Cells whose pixel is unambiguous in both views (no cell of another label nearby), well inside."""
    ok = isolated(xy_a, labels, radius) & isolated(xy_b, labels, radius)
    return np.flatnonzero(ok)


def test_snapshot_keeps_its_colors_while_the_live_view_changes_and_hover_marks_agree(viewer, server, demo):
    vid = snapshot_with_live_recolored(viewer)
    views = viewer.js("window.cellucid.views()")
    assert [v["color_by"] for v in views] == ["n_counts", "cell_type"]
    assert viewer.state()["layout"] == "grid"
    xy_live, _ = positions(viewer, server, "live")
    xy_snap, box_snap = positions(viewer, server, vid)
    codes = demo.adata.obs["cell_type"].cat.codes.to_numpy()
    # every cell is its own label here: a pixel must belong to one cell only (colors differ per cell live)
    cells = clear_cells(xy_live, xy_snap, np.arange(len(codes)), radius=4.5)[:60]
    assert len(cells) >= 15
    live, snap = view_pixels(viewer, "live"), view_pixels(viewer, vid)
    palette = [hex_rgb(c) for c in demo.adata.uns["cell_type_colors"]]
    snap_ok = [np.abs(at(snap, xy_snap[i]) - palette[codes[i]]).max() <= 12 for i in cells]
    assert np.mean(snap_ok) > 0.9, "the snapshot still shows the cell_type colors"
    differ = [np.abs(at(live, xy_live[i]) - at(snap, xy_snap[i])).max() > 30 for i in cells]
    assert np.mean(differ) > 0.8, "the live view (n_counts) differs from the snapshot (cell_type)"

    # hover a cell in the snapshot: it is ringed in both views, each at its own position
    i = int(cells[0])
    viewer.page.mouse.move(box_snap["x"] + xy_snap[i][0], box_snap["y"] + xy_snap[i][1])
    viewer.page.wait_for_function(f"window.cellucid.app.store.get().hover === {i}")
    for view_id, xy in (("live", xy_live), (vid, xy_snap)):
        ring = viewer.js(
            "(id) => { const c = document.querySelector(`.view[data-view='${id}'] .hover-mark`);"
            " return {cell: c.dataset.cell, shown: c.style.display !== 'none', x: +c.getAttribute('cx'), y: +c.getAttribute('cy')}; }",
            view_id,
        )
        assert ring["shown"] and ring["cell"] == str(i)
        assert abs(ring["x"] - xy[i][0]) < 1.5 and abs(ring["y"] - xy[i][1]) < 1.5


@pytest.fixture(params=["cpu", "webgl"])
def any_renderer_viewer(request, browser, server):
    """The viewer drawing with each renderer (every snapshot uses the live view's kind)."""
    v = open_viewer(browser, f"{server.url}?renderer={request.param}")
    assert v.state()["renderer"] == request.param
    yield v
    v.page.close()


def test_a_cell_selected_in_one_view_is_drawn_selected_in_all(any_renderer_viewer, server, demo):
    viewer = any_renderer_viewer
    vid = snapshot_with_live_recolored(viewer)
    xy_live, _ = positions(viewer, server, "live")
    xy_snap, box_snap = positions(viewer, server, vid)
    cells = clear_cells(xy_live, xy_snap, np.arange(demo.adata.n_obs), radius=4.5)
    chosen, others = int(cells[0]), cells[1:40]
    before = {v: view_pixels(viewer, v) for v in ("live", vid)}
    # click the cell in the snapshot view
    viewer.page.mouse.click(box_snap["x"] + xy_snap[chosen][0], box_snap["y"] + xy_snap[chosen][1])
    viewer.page.wait_for_function("window.cellucid.state().selection_count === 1")
    assert viewer.state()["selected"] == [chosen]
    for v, xy in (("live", xy_live), (vid, xy_snap)):
        after = view_pixels(viewer, v)
        # the selected cell keeps its color; the others fade toward the background (white)
        assert np.abs(at(after, xy[chosen]) - at(before[v], xy[chosen])).max() <= 12, v
        faded = [at(after, xy[j]).sum() > at(before[v], xy[j]).sum() + 60 for j in others]
        assert np.mean(faded) > 0.9, v


def test_hovering_and_pinning_a_legend_entry_cross_highlights_in_every_view(viewer, server, demo):
    vid = viewer.js("window.cellucid.snapshot({colorBy: 'batch'})")
    viewer.page.wait_for_function("window.cellucid.views().length === 2")
    xy_live, _ = positions(viewer, server, "live")
    xy_snap, _ = positions(viewer, server, vid)
    cat = demo.adata.obs["cell_type"].to_numpy()
    cells = clear_cells(xy_live, xy_snap, np.arange(demo.adata.n_obs), radius=4.5)
    inside = [int(i) for i in cells if cat[i] == "Monocyte"][:20]
    outside = [int(i) for i in cells if cat[i] != "Monocyte"][:40]
    assert len(inside) >= 5 and len(outside) >= 20
    before = {v: view_pixels(viewer, v) for v in ("live", vid)}
    item = viewer.page.locator("[data-testid=legend] .item[data-category='Monocyte']")
    item.hover()
    viewer.page.wait_for_function("window.cellucid.state().cross_highlight?.label === 'cell_type: Monocyte'")
    assert viewer.state()["cross_highlight"]["count"] == int((cat == "Monocyte").sum())

    def check_highlighted():
        for v, xy in (("live", xy_live), (vid, xy_snap)):
            now = view_pixels(viewer, v)
            assert (np.abs(now - before[v]).max(axis=2) > 30).sum() > 200, f"{v}: pixels changed"
            kept = [np.abs(at(now, xy[i]) - at(before[v], xy[i])).max() <= 12 for i in inside]
            faded = [at(now, xy[i]).sum() > at(before[v], xy[i]).sum() + 60 for i in outside]
            assert np.mean(kept) > 0.9 and np.mean(faded) > 0.9, v

    check_highlighted()
    # leaving the entry ends a hover's highlight; a pinned one stays
    viewer.page.mouse.move(5, 600)
    viewer.page.wait_for_function("window.cellucid.state().cross_highlight === null")
    item.locator(".pin").click()
    viewer.page.mouse.move(5, 600)
    viewer.page.wait_for_function("window.cellucid.state().cross_highlight?.pinned === true")
    check_highlighted()
    item.locator(".pin").click()
    viewer.page.wait_for_function("window.cellucid.state().cross_highlight === null")
    assert np.abs(view_pixels(viewer, vid) - before[vid]).max(axis=2).mean() < 2


def test_legend_shows_each_categorys_share_of_the_selection(viewer, demo):
    rng = np.random.default_rng(7)
    cells = np.sort(rng.choice(demo.adata.n_obs, 700, replace=False))
    viewer.js(f"window.cellucid.select({json.dumps(cells.tolist())})")
    viewer.page.wait_for_function("window.cellucid.state().selection_count === 700")
    got = viewer.js(
        "() => Object.fromEntries([...document.querySelectorAll('[data-testid=legend] .item')].map((e) => [e.dataset.category, e.querySelector('.count').textContent]))"
    )
    obs = demo.adata.obs["cell_type"]
    sel = obs.iloc[cells].value_counts()
    total = obs.value_counts()
    for name in obs.cat.categories:
        assert got[name] == f"{sel.get(name, 0):,} of {total[name]:,}"


def control_overlaps(page):
    """Pairs of visible controls whose boxes (clipped by their scrolling / clipping ancestors)
    intersect, excluding an element and its own ancestors."""
    return page.evaluate(
        """() => {
      const sel = 'button, select, input, [role=button], .legend, .status, .view-head > *';
      const els = [...document.querySelectorAll(sel)].filter((e) => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden');
      const clip = (e) => {
        let r = e.getBoundingClientRect();
        let box = { l: r.left, t: r.top, r: r.right, b: r.bottom };
        for (let a = e.parentElement; a; a = a.parentElement) {
          const o = getComputedStyle(a).overflow;
          if (o === 'visible') continue;
          const q = a.getBoundingClientRect();
          box = { l: Math.max(box.l, q.left), t: Math.max(box.t, q.top), r: Math.min(box.r, q.right), b: Math.min(box.b, q.bottom) };
        }
        box.l = Math.max(box.l, 0); box.t = Math.max(box.t, 0);
        box.r = Math.min(box.r, innerWidth); box.b = Math.min(box.b, innerHeight);
        return box;
      };
      const boxes = els.map((e) => [e, clip(e)]).filter(([, b]) => b.r - b.l > 1 && b.b - b.t > 1);
      const out = [];
      for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
        const [a, A] = boxes[i], [b, B] = boxes[j];
        if (a.contains(b) || b.contains(a)) continue;
        const w = Math.min(A.r, B.r) - Math.max(A.l, B.l), h = Math.min(A.b, B.b) - Math.max(A.t, B.t);
        if (w > 1.5 && h > 1.5) out.push([a.outerHTML.slice(0, 80), b.outerHTML.slice(0, 80)]);
      }
      return {count: boxes.length, overlaps: out};
    }"""
    )


@pytest.mark.parametrize("width, folded", [(700, False), (700, True), (1400, False)])
def test_four_views_and_their_controls_do_not_overlap(browser, server, width, folded):
    v = open_viewer(browser, server.url, viewport={"width": width, "height": 640})
    try:
        if folded:  # as a notebook output starts below 760 px: the side panel folded away
            v.page.click("[data-testid=toggle-sidebar]")
        for opts in ({}, {"colorBy": "n_counts"}, {"colorBy": "batch", "embedding": "X_tsne"}):
            v.js(f"window.cellucid.snapshot({json.dumps(opts)})")
        v.page.wait_for_function("window.cellucid.views().length === 4")
        v.js("window.cellucid.select([1, 2, 3])")  # the legend's longest form ("1 of 1,234")
        v.frame()
        v.page.wait_for_timeout(300)
        got = control_overlaps(v.page)
        assert got["count"] > 20
        assert got["overlaps"] == [], "\n".join(" X ".join(p) for p in got["overlaps"])
        heads = v.js("() => [...document.querySelectorAll('.view-head')].map((e) => e.getBoundingClientRect().width)")
        assert len(heads) == 4 and min(heads) > 60
        assert v.errors == []
    finally:
        v.page.close()


def test_session_round_trip_restores_the_snapshots(viewer):
    vid = viewer.js("window.cellucid.snapshot({colorBy: 'n_counts', name: 'counts'})")
    viewer.page.wait_for_function("window.cellucid.views().length === 2")
    # move the snapshot's camera: the session keeps it
    viewer.js(f"(() => {{ const e = window.cellucid.app.viewManager.entry('{vid}'); e.camera.zoomAt(1.8, 100, 100); e.view.requestRender(); }})()")
    before_px = view_pixels(viewer, vid)
    session = viewer.js("window.cellucid.session()")
    before = viewer.js("window.cellucid.views()")
    assert session["views"][0]["name"] == "counts" and session["layout"] == "grid"
    viewer.js(f"window.cellucid.removeView('{vid}')")
    viewer.js("window.cellucid.setLayout('single')")
    viewer.page.wait_for_function("window.cellucid.views().length === 1")
    viewer.js("(o) => window.cellucid.restoreSession(o)", session)
    viewer.page.wait_for_function("window.cellucid.views().length === 2 && window.cellucid.state().layout === 'grid'")
    viewer.page.wait_for_timeout(300)
    after = viewer.js("window.cellucid.views()")
    assert after == before
    assert np.abs(view_pixels(viewer, vid) - before_px).mean() < 1.0


def test_figure_export_has_one_panel_per_view(viewer):
    from PIL import Image

    vid = viewer.js("window.cellucid.snapshot({colorBy: 'n_counts'})")
    viewer.page.wait_for_function("window.cellucid.views().length === 2")
    viewer.frame()
    svg = viewer.js("window.cellucid.svg()")
    assert svg.count('<g id="panel-') == 2
    assert f'id="cells-{vid}" data-cells="3000"' in svg and 'id="cells-live" data-cells="3000"' in svg
    w = viewer.js(f"Math.max(window.cellucid.app.camera.width, window.cellucid.app.viewManager.entry('{vid}').camera.width)")
    img = Image.open(io.BytesIO(base64.b64decode(viewer.js("window.cellucid.png(1)"))))
    assert img.size[0] == round(2 * w)
    assert "snapshot 1: demo" in img.text["cellucid:views"]
    # back to one view: the single-panel figure as before
    viewer.js("window.cellucid.setLayout('single')")
    assert '<g id="cells" data-cells="3000"' in viewer.js("window.cellucid.svg()")


def test_hovering_a_category_in_the_annotation_panel_cross_highlights_it(browser, demo, tmp_path):
    from cellucid.anndata_server import AnnDataServer
    from cellucid.annotation import AnnotationFolder

    folder = AnnotationFolder(tmp_path / "labels", create=True, author="Ana")
    with AnnDataServer(demo.path, port=0, quiet=True, annotations=folder.path) as srv:
        v = open_viewer(browser, srv.url, viewport={"width": 1200, "height": 760})
        try:
            v.page.fill("[data-testid=annotation-name]", "Ana")
            v.page.click("[data-testid=annotation-name-set]")
            v.page.select_option("[data-testid=annotation-field]", "leiden")
            # a proposal gives category 3 its row in the panel
            v.page.select_option("[data-testid=annotation-category]", "3")
            v.page.fill("[data-testid=annotation-label]", "T cell")
            v.page.click("[data-testid=annotation-propose]")
            row = v.page.locator("[data-testid=annotation-row][data-category='3']")
            row.wait_for()
            row.hover()
            v.page.wait_for_function("window.cellucid.state().cross_highlight?.label === 'leiden: 3'")
            expected = int((demo.adata.obs["leiden"].astype(str) == "3").sum())
            assert v.state()["cross_highlight"]["count"] == expected > 0
            v.page.mouse.move(700, 5)
            v.page.wait_for_function("window.cellucid.state().cross_highlight === null")
        finally:
            v.page.close()


def test_linked_cameras_move_together_and_the_close_button_removes_a_view(viewer):
    vid = viewer.js("window.cellucid.snapshot({colorBy: 'n_counts'})")
    viewer.page.wait_for_function("window.cellucid.views().length === 2")
    box = viewer.canvas_box()
    cam = lambda i: viewer.js("window.cellucid.views()")[i]["camera"]  # noqa: E731

    def wheel():
        viewer.page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.4)
        viewer.page.mouse.wheel(0, -300)
        viewer.frame()
        viewer.page.wait_for_timeout(200)

    wheel()  # not linked: only the live view zooms
    assert cam(0)["zoom"] > 1.0 and cam(1)["zoom"] == pytest.approx(0.9)
    viewer.page.click("[data-testid=link-cameras]")
    assert viewer.state()["link_cameras"] is True
    wheel()
    assert cam(1)["zoom"] == pytest.approx(cam(0)["zoom"]) and cam(1)["center"] == pytest.approx(cam(0)["center"])
    viewer.page.click(f"[data-testid=remove-{vid}]")
    viewer.page.wait_for_function("window.cellucid.views().length === 1")
    assert viewer.page.locator(f"[data-testid=canvas-{vid}]").count() == 0


def test_highlight_groups_and_hidden_categories_apply_to_every_view(viewer, server, demo):
    vid = snapshot_with_live_recolored(viewer)
    xy_live, _ = positions(viewer, server, "live")
    xy_snap, _ = positions(viewer, server, vid)
    cat = demo.adata.obs["cell_type"].to_numpy()
    cells = clear_cells(xy_live, xy_snap, np.arange(demo.adata.n_obs), radius=4.5)
    group = [int(i) for i in cells[:15]]
    viewer.js(f"window.cellucid.highlight({json.dumps(group)}, '#ff00ff', 'g')")
    viewer.page.wait_for_function("window.cellucid.state().highlight_groups.length === 1")
    for v, xy in (("live", xy_live), (vid, xy_snap)):
        px = view_pixels(viewer, v)
        magenta = [np.abs(at(px, xy[i]) - [255, 0, 255]).max() <= 12 for i in group]
        assert np.mean(magenta) > 0.9, v
    # hiding a category of the live coloring hides its cells in the snapshot too
    viewer.js("window.cellucid.app.store.set({highlightGroups: []})")
    viewer.js("window.cellucid.setColorBy('cell_type')")
    viewer.page.wait_for_function("window.cellucid.state().colored_by === 'cell_type'")
    viewer.js("window.cellucid.hideCategory('Monocyte')")
    viewer.page.wait_for_function("window.cellucid.state().visible_count < 3000")
    px = view_pixels(viewer, vid)
    mono = [int(i) for i in cells if cat[i] == "Monocyte"][:20]
    white = [at(px, xy_snap[i]).min() >= 250 for i in mono]
    assert len(mono) >= 5 and np.mean(white) > 0.9


def test_snapshots_hidden_by_the_single_layout_do_not_redraw_until_shown(viewer, server):
    vid = viewer.js("window.cellucid.snapshot()")
    viewer.page.wait_for_function("window.cellucid.views().length === 2")
    viewer.frame()
    frames = f"window.cellucid.app.viewManager.entry('{vid}').view.renderer.frames"
    viewer.js("window.cellucid.setLayout('single')")
    before = viewer.js(frames)
    viewer.js("window.cellucid.select([5, 6, 7])")
    viewer.frame()
    viewer.page.wait_for_timeout(200)
    assert viewer.js(frames) == before
    viewer.js("window.cellucid.setLayout('grid')")
    viewer.page.wait_for_function(f"{frames} > {before}")
    # and what it draws then has the selection: the other cells faded
    xy, _ = positions(viewer, server, vid)
    px = view_pixels(viewer, vid)
    assert np.abs(at(px, xy[5]).astype(int) - px[0, 0]).max() > 30  # a selected cell is drawn, not background


def test_each_snapshot_shows_its_own_color_key(viewer, demo):
    """The live view has the legend panel; a snapshot colored by another field carries its
    own key: the categories it shows (from pandas), or the color bar's limits (min / max)."""
    obs = demo.adata.obs
    by_batch = viewer.js("window.cellucid.snapshot({colorBy: 'batch'})")
    by_counts = viewer.js("window.cellucid.snapshot({colorBy: 'n_counts'})")
    key = viewer.page.locator(f"[data-testid=view-legend-{by_batch}]")
    key.locator(".item").first.wait_for()
    names = [key.locator(".item").nth(i).get_attribute("data-name") for i in range(key.locator(".item").count())]
    assert names == [c for c in obs["batch"].cat.categories if (obs["batch"] == c).any()]
    assert key.locator(".title").inner_text() == "batch" and key.is_visible()
    bar = viewer.page.locator(f"[data-testid=view-legend-{by_counts}]")
    bar.locator(".bar").wait_for()
    # the whole range (the default clips to the 1st-99th percentile)
    viewer.js(f"window.cellucid.app.viewManager.update('{by_counts}', {{clip: [0, 100]}})")
    viewer.page.wait_for_function(
        "([id, hi]) => Math.abs(+document.querySelector(`[data-testid=view-legend-${id}] [data-testid=view-legend-hi]`)"
        ".textContent - hi) < 1e-3 * hi", arg=[by_counts, float(obs["n_counts"].max())])
    lo, hi = (float(bar.locator(f"[data-testid=view-legend-{k}]").inner_text()) for k in ("lo", "hi"))
    assert lo == pytest.approx(float(obs["n_counts"].min()), rel=1e-3)
    assert hi == pytest.approx(float(obs["n_counts"].max()), rel=1e-3)
    # the snapshot recolored from Python: its key follows
    viewer.js(f"window.cellucid.app.viewManager.update('{by_batch}', {{colorBy: {{kind: 'field', name: 'leiden'}}}})")
    viewer.page.wait_for_function(
        "(id) => document.querySelector(`[data-testid=view-legend-${id}] .title`).textContent === 'leiden'", arg=by_batch)
    assert key.locator(".item").count() == min(12, obs["leiden"].nunique())
    # the single layout hides the snapshots, and their keys with them
    viewer.js("window.cellucid.app.viewManager.setLayout('single')")
    assert not key.is_visible() and not bar.is_visible()
