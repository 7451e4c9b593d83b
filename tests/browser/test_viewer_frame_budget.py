"""How the viewer spends its frames and uploads (issue #6): one draw of the points per change,
points before slow colors, colored first frame when colors come first, the early requests of
the boot script not repeated, a recolor that re-uploads no positions. Behaviour, not timing.

Each test runs with both point renderers (``?renderer=webgl`` and ``?renderer=cpu``).
Frames are counted by the "cellucid:draw" performance mark each renderer makes per frame
(what the benchmark counts); for WebGL the real draw calls are counted too, through a
wrapper like the benchmark's, and must agree with the marks."""

from __future__ import annotations

import numpy as np
import pytest

from browser_helpers import N_CELLS
from browser_page import VIEWPORT, Viewer

pytestmark = pytest.mark.browser

# Points per drawn frame ("cellucid:draw" marks) and every WebGL draw call's vertex count.
DRAW_COUNTER = """(() => {
  const D = (window.__draws = []), G = (window.__glDraws = []);
  const mark = performance.mark.bind(performance);
  performance.mark = function (name, opts) {
    if (name === "cellucid:draw") D.push(opts.detail.points);
    return mark(name, opts);
  };
  const P = WebGL2RenderingContext.prototype;
  const da = P.drawArrays, de = P.drawElements;
  P.drawArrays = function (m, f, c) { G.push(c); return da.apply(this, arguments); };
  P.drawElements = function (m, c) { G.push(c); return de.apply(this, arguments); };
})();"""

RENDERERS = ["webgl", "cpu"]

NEUTRAL_LIGHT = np.array([90, 90, 100])


def new_page(browser, route=None):
    """A page with the draw counter installed and every request URL recorded."""
    page = browser.new_page(viewport=VIEWPORT)
    errors, requests = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.add_init_script(DRAW_COUNTER)
    if route:
        page.route(*route)
    return page, errors, requests


def point_draws(viewer):
    """Frames that drew every cell. With WebGL, checked against the real draw calls (the
    emphasis pass and the warm-up draw draw fewer points)."""
    frames = [c for c in viewer.js("window.__draws") if c >= N_CELLS]
    if viewer.renderer == "webgl":
        assert [c for c in viewer.js("window.__glDraws") if c >= N_CELLS] == frames
    else:
        assert viewer.js("window.__glDraws") == []  # the CPU renderer makes no WebGL draw
    return frames


def reset_counts(viewer):
    viewer.js("window.__draws.length = 0; window.__glDraws.length = 0")


def url_for(server, renderer):
    return f"{server.url}?renderer={renderer}"


def as_viewer(page, errors, renderer) -> Viewer:
    v = Viewer(page, errors)
    v.renderer = renderer
    return v


def settle(viewer, frames=6):
    """Let a few animation frames pass (any stray redraw would happen in them)."""
    viewer.js(f"new Promise((r) => {{ let k = {frames}; const f = () => (--k ? requestAnimationFrame(f) : r()); requestAnimationFrame(f); }})")


def open_counted(browser, server, renderer, route=None) -> Viewer:
    page, errors, requests = new_page(browser, route)
    page.goto(url_for(server, renderer))
    page.wait_for_selector("body[data-ready='1']", timeout=30000)
    v = as_viewer(page, errors, renderer)
    assert v.state()["renderer"] == renderer
    v.requests = requests
    settle(v)
    return v


@pytest.mark.parametrize("renderer", RENDERERS)
def test_points_are_drawn_before_slow_colors_arrive(browser, server, renderer):
    held = []
    page, errors, _ = new_page(browser, ("**/_cellucid/api/obs?*", lambda route: held.append(route)))
    page.goto(url_for(server, renderer))
    v = as_viewer(page, errors, renderer)
    try:
        # the default field's codes are held back; every point is drawn anyway, once, neutral
        page.wait_for_function(f"window.__draws.some((c) => c >= {N_CELLS})", timeout=30000)
        assert held, "the default field was never requested"
        state = v.state()
        assert state["colored_by"] is None and not state["ready"]
        assert len(point_draws(v)) == 1
        px = v.pixels().reshape(-1, 3).astype(int)  # (draws once more, to read them back)
        ink = px[np.abs(px - 255).max(axis=1) > 40]  # pixels clearly off the white background
        assert len(ink) > 500
        # the points' cores are the neutral color (edges blend toward white)
        assert (np.abs(ink - NEUTRAL_LIGHT).max(axis=1) <= 3).mean() > 0.3
        for route in held:
            route.continue_()
        page.wait_for_selector("body[data-ready='1']", timeout=30000)
        v.frame()
        assert v.state()["colored_by"] == "cell_type"
        px = v.pixels().reshape(-1, 3).astype(int)
        ink = px[np.abs(px - 255).max(axis=1) > 40]
        assert (np.abs(ink - NEUTRAL_LIGHT).max(axis=1) <= 3).mean() < 0.05
        assert v.errors == []
    finally:
        page.close()


@pytest.mark.parametrize("renderer", RENDERERS)
def test_first_frame_is_colored_when_colors_come_first(browser, server, renderer):
    # the embedding answers late, so the default colors are certainly there before the points
    def late(route):
        page.wait_for_timeout(400)
        route.continue_()

    page, errors, _ = new_page(browser)
    page.route("**/_cellucid/api/embedding?*", late)
    page.goto(url_for(server, renderer))
    page.wait_for_selector("body[data-ready='1']", timeout=30000)
    v = as_viewer(page, errors, renderer)
    try:
        settle(v)
        # one draw of the points made the ready (colored) picture: no neutral frame before it
        assert len(point_draws(v)) == 1
        assert v.state()["colored_by"] == "cell_type"
        assert v.errors == []
    finally:
        page.close()


@pytest.mark.parametrize("renderer", RENDERERS)
def test_early_requests_are_made_once(browser, server, renderer):
    v = open_counted(browser, server, renderer)
    try:
        def count(part):
            return sum(1 for u in v.requests if part in u)

        # the identity is written into the page: not requested at all
        assert count("dataset_identity.json") == 0
        assert count("_cellucid/api/embedding?") == 1
        assert count("_cellucid/api/obs?field=cell_type") == 1
        assert count("_cellucid/api/obs/meta?field=cell_type") == 1
        # the boot script's responses were taken by the viewer, none is left over
        assert v.js("window.__cellucidBoot.responses.size") == 0
        assert v.errors == []
    finally:
        v.page.close()


@pytest.mark.parametrize("renderer", RENDERERS)
def test_gene_recolor_is_one_draw_without_position_upload(browser, server, renderer):
    v = open_counted(browser, server, renderer)
    try:
        reset_counts(v)
        before = v.js("window.cellucid.app.renderer.uploads")
        events = v.js("""async () => {
          const app = window.cellucid.app, seen = [];
          const off = app.on("colors", () => seen.push(app.colorColumn && app.colorColumn.name));
          window.cellucid.setColorBy("CD3E", "gene");
          await new Promise((r) => { const f = () => (app.colorColumn.name === "CD3E" ? r() : setTimeout(f, 5)); f(); });
          off();
          return seen;
        }""")
        settle(v)  # (no forced frame: only the viewer's own redraws are counted)
        # "colors" means the new column is applied and drawn next: never announced early
        assert events and all(name == "CD3E" for name in events)
        assert len(point_draws(v)) == 1
        uploaded = v.js("window.cellucid.app.renderer.uploads") - before
        if renderer == "webgl":
            # palette indices (u16) + draw order (u32) + a palette; positions (u16 x 2) stay
            assert uploaded <= N_CELLS * 6 + 8192
            assert uploaded >= N_CELLS * 2
        else:
            assert uploaded == 0  # the CPU renderer reads the arrays where they are
        assert v.errors == []
    finally:
        v.page.close()


@pytest.mark.parametrize("renderer", RENDERERS)
def test_colormap_change_uploads_only_the_palette(browser, server, renderer):
    v = open_counted(browser, server, renderer)
    try:
        v.js("window.cellucid.setColorBy('CD3E', 'gene')")
        v.page.wait_for_function("window.cellucid.state().colored_by === 'CD3E'")
        v.frame()
        settle(v)
        viridis = v.pixels()
        reset_counts(v)
        before = v.js("window.cellucid.app.renderer.uploads")
        v.js("window.cellucid.app.store.set({ colormap: 'magma' })")
        settle(v)
        assert v.js("window.cellucid.app.renderer.uploads") - before <= 8192
        assert len(point_draws(v)) == 1
        assert not np.array_equal(v.pixels(), viridis)
        # the colors the export and the tests read follow the palette
        rgba = np.array(v.js("Array.from(window.cellucid.app.colors.subarray(0, 400))")).reshape(-1, 4)
        assert rgba[:, 3].min() == 255 and len({tuple(c) for c in rgba[:, :3]}) > 3
        assert v.errors == []
    finally:
        v.page.close()


@pytest.mark.parametrize("renderer", RENDERERS)
def test_nothing_is_redrawn_while_nothing_changes(browser, server, renderer):
    v = open_counted(browser, server, renderer)
    try:
        reset_counts(v)
        settle(v, frames=20)
        assert point_draws(v) == []
        # a pure camera change is exactly one draw
        v.js("window.cellucid.app.camera.pan(5, 5); window.cellucid.app.requestRender()")
        settle(v)
        assert len(point_draws(v)) == 1
    finally:
        v.page.close()
