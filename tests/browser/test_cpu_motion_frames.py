"""Motion frames of the CPU renderer (issue #6): while the camera moves, a large dataset is
drawn from a fixed sample of cells so panning keeps up with the pointer, and the full frame
follows once the camera rests (js/src/render/cpuRenderer.js). The budget is set small here
(``?motion_points=500`` for the 3,000 test cells) so the test data are large enough."""

from __future__ import annotations

import numpy as np
import pytest

from browser_helpers import N_CELLS
from browser_page import open_viewer

pytestmark = pytest.mark.browser

BUDGET = 500

# Every frame's point count, from the "cellucid:draw" marks (the page keeps only the latest).
WATCH_DRAWS = """() => {
  window.__draws = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.name === "cellucid:draw") window.__draws.push(e.detail.points);
  }).observe({ type: "mark" });
}"""
NEXT_FRAME = "new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))"


def drag(v, steps: int = 6, dx: float = 12.0) -> list[int]:
    """Press the left button on the canvas and move it ``steps`` times, waiting for a frame
    after each move; returns the point counts of the frames drawn while the button was down."""
    box = v.canvas_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    v.js(WATCH_DRAWS)
    v.page.mouse.move(x, y)
    v.page.mouse.down()
    for k in range(1, steps + 1):
        v.page.mouse.move(x + k * dx, y + k * dx / 2)
        v.js(NEXT_FRAME)
    during = v.js("window.__draws.slice()")
    v.page.mouse.up()
    return during


def test_a_drag_draws_a_sample_then_the_full_frame(browser, server):
    v = open_viewer(browser, f"{server.url}?renderer=cpu&motion_points={BUDGET}")
    try:
        assert v.state()["renderer"] == "cpu"
        before = v.js("window.cellucid.state().camera")
        during = drag(v)
        assert v.js("window.cellucid.state().camera") != before  # the drag moved the view
        assert during, "no frame was drawn during the drag"
        # every frame drawn while the camera moved had about the budget's cells, not all of them
        assert all(0.6 * BUDGET < p < 1.4 * BUDGET for p in during), during
        # once the camera rests, the full frame follows by itself
        v.page.wait_for_function(f"window.__draws.length && window.__draws[window.__draws.length - 1] === {N_CELLS}",
                                 timeout=5000)
        settled = v.pixels().astype(np.int16)
        v.js("window.cellucid.app.renderer.drawNow()")
        full = v.pixels().astype(np.int16)
        assert np.array_equal(settled, full)
        assert v.errors == []
    finally:
        v.page.close()


def test_the_sample_is_drawn_with_fewer_points_than_the_full_frame(browser, server):
    # the motion frame's picture itself: less ink than the full frame of the same view
    v = open_viewer(browser, f"{server.url}?renderer=cpu&motion_points={BUDGET}")
    try:
        background = np.median(v.pixels().reshape(-1, 3), axis=0)
        ink = lambda img: int((np.abs(img.astype(np.int16) - background).max(axis=2) > 40).sum())  # noqa: E731
        full = ink(v.pixels())
        # the page's own canvas right after a motion frame, read before the full one is due
        url = v.js("""() => { const r = window.cellucid.app.renderer; r.draw({ motion: true });
                              const u = document.querySelector('canvas').toDataURL('image/png');
                              clearTimeout(r.settle); return u; }""")
        import base64
        import io

        from PIL import Image

        coarse = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB"))
        assert 0 < ink(coarse) < 0.5 * full, (ink(coarse), full)
    finally:
        v.page.close()


def test_motion_points_zero_draws_every_frame_in_full(browser, server):
    v = open_viewer(browser, f"{server.url}?renderer=cpu&motion_points=0")
    try:
        during = drag(v)
        assert during and all(p == N_CELLS for p in during), during
    finally:
        v.page.close()
