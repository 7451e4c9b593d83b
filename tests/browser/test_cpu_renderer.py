"""The CPU point renderer (issue #6): where WebGL runs in software, the viewer splats the
points on the CPU instead (js/src/render/cpuRenderer.js). It must draw what the WebGL
renderer draws, in every state the viewer can be in, and be chosen by itself here (this
Chromium renders WebGL with SwiftShader) — and also when there is no WebGL at all.

Parity is checked by drawing the same view with ``?renderer=webgl`` and ``?renderer=cpu``
in two pages of the same size and comparing the canvases pixel by pixel."""

from __future__ import annotations

import numpy as np
import pytest

from browser_page import VIEWPORT, Viewer, open_viewer

pytestmark = pytest.mark.browser

# Each view: a script run in both pages before the pixels are read.
VIEWS = {
    "categorical-2d": "",
    "gene-value-order": "window.cellucid.setColorBy('CD3E', 'gene')",
    "selection-fades-others": "window.cellucid.select(Array.from({length: 400}, (_, i) => i * 7))",
    "highlight-larger-on-top": "window.cellucid.highlight(Array.from({length: 300}, (_, i) => i * 9), '#ff00aa')",
    "hidden-category": "window.cellucid.hideCategory(window.cellucid.app.colorColumn.categories[0])",
    "large-translucent": "window.cellucid.setPointSize(9); window.cellucid.app.store.set({ opacity: 0.5 })",
    "dark-theme": "window.cellucid.setTheme('dark')",
    "3d": "window.cellucid.setDimension(3)",
    "3d-selection": "window.cellucid.setDimension(3); window.cellucid.select(Array.from({length: 500}, (_, i) => i * 5))",
    "1d": "window.cellucid.setDimension(1)",
}


def drawn(browser, server, renderer: str, script: str) -> tuple[np.ndarray, Viewer]:
    v = open_viewer(browser, f"{server.url}?renderer={renderer}")
    assert v.state()["renderer"] == renderer
    if script:
        v.js(f"() => {{ {script}; }}")
        # whatever the script loads (a gene, another embedding) must be applied before reading
        v.page.wait_for_function("!document.querySelector('[data-testid=progress]').textContent", timeout=30000)
        v.js("new Promise((r) => setTimeout(r, 300))")
    return v.pixels().astype(np.int16), v


@pytest.mark.parametrize("view", list(VIEWS))
def test_cpu_renderer_draws_what_webgl_draws(browser, server, view):
    gl, vg = drawn(browser, server, "webgl", VIEWS[view])
    cpu, vc = drawn(browser, server, "cpu", VIEWS[view])
    try:
        assert vg.state()["camera"] == vc.state()["camera"]
        assert gl.shape == cpu.shape
        # the picture has points in it (not a blank canvas on both sides)
        background = np.median(gl.reshape(-1, 3), axis=0)
        ink = np.abs(gl - background).max(axis=2) > 40
        assert ink.sum() > 500
        diff = np.abs(gl - cpu).max(axis=2)
        # rounding and sub-pixel differences only: no pixel where one drew a point and the
        # other did not, no color or blending rule of its own
        assert diff.mean() < 1.0, f"{view}: mean difference {diff.mean():.2f}"
        # (clean runs: 0–2 such pixels in 2D, up to ~150 in 3D where depth ties at the discs'
        # rims fall either way; a missing emphasis pass alone makes ~2,000)
        assert (diff > 48).mean() < 0.0005, f"{view}: {(diff > 48).sum()} pixels differ by more than 48"
        assert vg.errors == [] and vc.errors == []
    finally:
        vg.page.close()
        vc.page.close()


def test_the_difference_test_sees_a_wrong_picture(browser, server):
    # the comparison above fails when the CPU picture is of another state
    gl, vg = drawn(browser, server, "webgl", "")
    cpu, vc = drawn(browser, server, "cpu", VIEWS["selection-fades-others"])
    try:
        diff = np.abs(gl - cpu).max(axis=2)
        assert diff.mean() >= 1.0 or (diff > 48).mean() >= 0.0005
    finally:
        vg.page.close()
        vc.page.close()


def load_learn_reload(page, url):
    """Load the viewer, wait until the probe after its first frame has remembered an answer,
    reload: (renderer of the first load, the remembered answer, renderer after the reload)."""
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']", timeout=30000)
    first = page.evaluate("window.cellucid.state().renderer")
    page.wait_for_function("localStorage.getItem('cellucid:renderer') !== null", timeout=30000)
    remembered = page.evaluate("localStorage.getItem('cellucid:renderer')")
    page.reload()
    page.wait_for_selector("body[data-ready='1']", timeout=30000)
    return first, remembered, page.evaluate("window.cellucid.state().renderer")


def test_software_webgl_picks_the_cpu_renderer(browser, server):
    # A first load draws on the CPU; once its frame is up, a worker asks what WebGL runs on —
    # SwiftShader in this Chromium — and the answer is remembered for the next load
    page = browser.new_page(viewport=VIEWPORT)
    try:
        assert load_learn_reload(page, server.url) == ("cpu", "cpu", "cpu")
    finally:
        page.close()


def test_without_webgl_the_points_are_still_drawn(browser, server):
    page = browser.new_page(viewport=VIEWPORT)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # a browser without WebGL2 in the page (init scripts do not reach workers; the URL's
    # choice skips the worker's probe anyway)
    page.add_init_script("""(() => {
      const get = HTMLCanvasElement.prototype.getContext;
      HTMLCanvasElement.prototype.getContext = function (type, ...rest) {
        return type === "webgl2" || type === "webgl" ? null : get.call(this, type, ...rest);
      };
    })();""")
    try:
        page.goto(server.url + "?renderer=webgl")  # even when WebGL is asked for
        page.wait_for_selector("body[data-ready='1']", timeout=30000)
        v = Viewer(page, errors)
        assert v.state()["renderer"] == "cpu"
        px = v.pixels().astype(int)
        ink = np.abs(px - 255).max(axis=2) > 40
        assert ink.sum() > 500
        assert errors == []
    finally:
        page.close()


def test_a_gpu_answer_from_the_probe_picks_webgl_for_the_next_load(browser, server):
    # the worker's answer decides the next load: a hardware renderer name means WebGL (here
    # the worker is replaced by one that names a GPU; WebGL itself still runs, on SwiftShader)
    page = browser.new_page(viewport=VIEWPORT)
    page.add_init_script("""(() => {
      window.Worker = class {
        constructor() { setTimeout(() => this.onmessage && this.onmessage({ data: "ANGLE (NVIDIA, NVIDIA GeForce RTX 3060)" }), 0); }
        terminate() {}
      };
    })();""")
    try:
        # nothing known yet: the first frame is drawn on the CPU, without waiting for an answer
        assert load_learn_reload(page, server.url) == ("cpu", "webgl", "webgl")
        assert page.evaluate("performance.getEntriesByName('cellucid:renderer-webgl').length") == 1
    finally:
        page.close()
