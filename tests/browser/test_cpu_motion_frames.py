"""Motion frames of the CPU renderer (issue #6): while the camera moves, a large dataset is
drawn from a fixed sample of cells so panning keeps up with the pointer, and the full frame
follows once the camera rests (js/src/render/cpuRenderer.js). The sample size is set small
here (``?motion_points=500`` for the 3,000 test cells) so the test data are large enough."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from browser_helpers import N_CELLS, hex_rgb
from browser_page import open_viewer

pytestmark = pytest.mark.browser

BUDGET = 500
MOTION_SETTLE_MS = 120  # cpuRenderer.js: the full frame this long after the last motion frame
DEFAULT_BUDGET = 250_000  # MOTION_POINTS in cpuRenderer.js

# Every frame's point count and whether it was sampled, from the "cellucid:draw" marks (the
# page keeps only the latest mark), and when it was drawn.
WATCH_DRAWS = """() => {
  window.__draws = [];
  window.__drawTimes = [];
  if (window.__drawObserver) return;
  window.__drawObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.name === "cellucid:draw") {
      window.__draws.push([e.detail.points, e.detail.sampled]);
      window.__drawTimes.push(e.startTime);
    }
  });
  window.__drawObserver.observe({ type: "mark" });
}"""
NEXT_FRAME = "new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))"
LAST_DRAW_IS_FULL = f"window.__draws.length && window.__draws[window.__draws.length - 1][0] === {N_CELLS}"


def canvas_now(v) -> np.ndarray:
    """The canvas as it is now (no frame() first, which would draw a fresh full frame)."""
    url = v.js("document.querySelector('canvas').toDataURL('image/png')")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB")).astype(np.int16)


# one motion frame, drawn now (the full frame it schedules is cancelled)
DRAW_MOTION_FRAME = "() => { const r = window.cellucid.app.renderer; r.draw({ motion: true }); clearTimeout(r.settleTimer); }"


def motion_frame(v) -> np.ndarray:
    """The canvas right after one motion frame."""
    v.js(DRAW_MOTION_FRAME)
    return canvas_now(v)


def center(v) -> tuple[float, float]:
    box = v.canvas_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def drag(v, steps: int = 6, dx: float = 12.0) -> list:
    """Press the left button on the canvas and move it ``steps`` times, waiting for a frame
    after each move; returns the frames (points, sampled, ms since the frame before) drawn
    while the button was down."""
    x, y = center(v)
    v.js(WATCH_DRAWS)
    v.page.mouse.move(x, y)
    v.page.mouse.down()
    for k in range(1, steps + 1):
        v.page.mouse.move(x + k * dx, y + k * dx / 2)
        v.js(NEXT_FRAME)
    during = v.js("window.__draws.map((d, i) => [...d, i ? window.__drawTimes[i] - window.__drawTimes[i - 1] : 0])")
    v.page.mouse.up()
    return during


@pytest.fixture
def sampled_viewer(browser, server):
    v = open_viewer(browser, f"{server.url}?renderer=cpu&motion_points={BUDGET}")
    assert v.state()["renderer"] == "cpu"
    yield v
    v.page.close()


def test_a_drag_draws_a_sample_then_the_full_frame(sampled_viewer):
    v = sampled_viewer
    before = v.js("window.cellucid.state().camera")
    during = drag(v)
    assert v.js("window.cellucid.state().camera") != before  # the drag moved the view
    assert during, "no frame was drawn during the drag"
    # every frame drawn while the camera moved had about the sample's cells, and said so; a full
    # frame while the button is down only follows a rest of the camera (its settle timer: a
    # loaded machine can take longer than that between two of the test's moves)
    assert during[0][1], during
    for k, (p, sampled, gap) in enumerate(during):
        if sampled:
            assert 0.6 * BUDGET < p < 1.4 * BUDGET, during
        else:
            assert k and during[k - 1][1] and gap >= 0.9 * MOTION_SETTLE_MS, during
    # once the camera rests, the full frame follows by itself ...
    v.page.wait_for_function(LAST_DRAW_IS_FULL, timeout=5000)
    assert v.js("window.__draws[window.__draws.length - 1][1]") is False
    # ... and it is the full picture of the view
    settled = canvas_now(v)
    v.js("window.cellucid.app.renderer.drawNow()")
    assert np.array_equal(settled, canvas_now(v))
    assert v.errors == []


def test_the_wheel_draws_a_sample_then_the_full_frame(sampled_viewer):
    v = sampled_viewer
    v.js(WATCH_DRAWS)
    v.page.mouse.move(*center(v))
    v.page.mouse.wheel(0, -120)
    v.page.wait_for_function(LAST_DRAW_IS_FULL, timeout=5000)
    draws = v.js("window.__draws.slice()")
    assert draws[0][1] is True and draws[0][0] < N_CELLS, draws


def test_a_frame_asked_for_by_anything_else_is_full(sampled_viewer):
    # a motion request and another one in the same animation frame: the frame is full
    v = sampled_viewer
    v.js(WATCH_DRAWS)
    for script in ("r.requestRender(true); r.requestRender();", "r.requestRender(); r.requestRender(true);"):
        v.js(f"() => {{ const r = window.cellucid.app.renderer; {script} }}")
        v.js(NEXT_FRAME)
    assert v.js("window.__draws.slice()") == [[N_CELLS, False]] * 2


def test_the_sample_is_drawn_with_fewer_points_than_the_full_frame(sampled_viewer):
    v = sampled_viewer
    full = canvas_now(v)
    background = np.median(full.reshape(-1, 3), axis=0)

    def ink(img):
        return int((np.abs(img - background).max(axis=2) > 40).sum())

    coarse = motion_frame(v)
    assert 0 < ink(coarse) < 0.5 * ink(full), (ink(coarse), ink(full))


def test_a_few_highlighted_cells_stay_whole_while_moving(sampled_viewer):
    v = sampled_viewer
    color = "#ff00aa"
    v.js(f"window.cellucid.highlight(Array.from({{length: 40}}, (_, i) => i * 61), '{color}')")
    v.frame()
    target = hex_rgb(color).astype(np.int16)

    def highlighted(img):
        return int((np.abs(img - target).max(axis=2) < 30).sum())

    full = highlighted(canvas_now(v))
    assert full > 200  # the 40 cells are on screen
    # (if they were sampled like the rest, about 1 in 6 would be left)
    assert highlighted(motion_frame(v)) >= 0.95 * full


@pytest.mark.parametrize("asked, expected", [("0", 0), ("1000", 1000), ("", DEFAULT_BUDGET),
                                             ("abc", DEFAULT_BUDGET), ("-1", DEFAULT_BUDGET), ("1.5", DEFAULT_BUDGET)])
def test_motion_points_in_the_url(browser, server, asked, expected):
    v = open_viewer(browser, f"{server.url}?renderer=cpu&motion_points={asked}")
    try:
        assert v.js("window.cellucid.app.renderer.motionPoints") == expected
    finally:
        v.page.close()


def test_motion_points_zero_draws_every_frame_in_full(browser, server):
    v = open_viewer(browser, f"{server.url}?renderer=cpu&motion_points=0")
    try:
        during = drag(v)
        assert during and all(p == N_CELLS and not sampled for p, sampled, _ in during), during
        assert v.js("window.cellucid.app.renderer.motionPoints") == 0
    finally:
        v.page.close()


def test_with_the_default_sample_size_only_slow_full_frames_lead_to_sampling(sampled_viewer):
    # without ?motion_points the renderer samples only where a full frame took > 30 ms
    # (SLOW_FRAME_MS); the 3,000 cells draw in a few ms, so the slow case is simulated
    v = sampled_viewer
    v.js(WATCH_DRAWS)
    v.js("() => { window.cellucid.app.renderer.motionPointsAsked = false; }")
    v.js(DRAW_MOTION_FRAME)
    v.js("() => { window.cellucid.app.renderer.fullFrameMs = 100; }")
    v.js(DRAW_MOTION_FRAME)
    draws = v.js("window.__draws.slice()")
    assert draws[0] == [N_CELLS, False], draws  # fast full frames: drawn in full
    assert draws[1][1] is True and draws[1][0] < N_CELLS, draws  # slow ones: sampled


@pytest.mark.parametrize("color_by", ["cell_type", "CD34"])  # index order; a gene's value order
def test_a_motion_frame_from_the_gathered_sample_equals_one_read_in_place(sampled_viewer, color_by):
    """Motion frames read the sample's coordinates and colors from copies made in draw order
    (cpuRenderer.js `gathered`); the picture must be the one read from the per-cell arrays,
    also after the colors change (the copies follow them)."""
    v = sampled_viewer
    for name in (color_by, "batch"):
        v.js(f"window.cellucid.setColorBy({name!r})")
        v.page.wait_for_function(f"window.cellucid.state().colored_by === {name!r}")
        v.frame()
        gathered = motion_frame(v)
        v.js("() => { const r = window.cellucid.app.renderer; r.__g = r.gathered; r.gathered = () => null; }")
        try:
            in_place = motion_frame(v)
        finally:
            v.js("() => { const r = window.cellucid.app.renderer; r.gathered = r.__g; }")
        assert (np.abs(gathered - in_place).max(axis=2) > 0).sum() == 0
        assert (np.abs(gathered - gathered[0, 0]).max(axis=2) > 40).sum() > 500  # points drawn
