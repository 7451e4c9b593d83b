"""The comm transport in a real JupyterLab / Notebook 7 whose browser cannot reach the
kernel's data server: every browser request to any loopback port other than Jupyter's is
refused (Playwright routing). This is the closest real stand-in for VS Code over Remote-SSH,
Codespaces and Colab, where the browser cannot reach the kernel's machine either.

The widget must fall back to the comm on its own, draw the data in its category colours,
carry a lasso of a 100k-cell dataset back to ``viewer.selection``, and draw
``highlight_cells`` from Python.
"""

from __future__ import annotations

import io
import json
import re
import time
import urllib.request

import numpy as np
import pytest
from jupyter_harness import JupyterServer, chromium, open_notebook, output_matching, run_cell, viewer_frame, write_notebook
from test_lab_e2e import draw_lasso

pytestmark = [pytest.mark.jupyter, pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]

N_BIG = 100_000

SETUP = """\
import asyncio, json, time
import numpy as np
import cellucid
from cellucid.data.demo import demo_anndata
{extra}
adata = demo_anndata({n})
"""
SHOW = "viewer = cellucid.show_anndata(adata, height=520, quiet=True{kwargs})"
WAIT = "await asyncio.sleep(1.0)\n"
INFO = WAIT + "print('INFO', json.dumps({'transport': viewer.transport, 'status': viewer.status, 'port': viewer.server.port}))"
SELECTION = WAIT + "json.dump(viewer.selection.tolist(), open('{out}', 'w'))\nprint('SEL', len(viewer.selection), viewer.selected_obs().shape[0])"
HIGHLIGHT = "viewer.highlight_cells(np.arange(0, {n}, 2), color='#00ff00')\nprint('HIGHLIGHTED')"


def refuse_data_servers(page, jupyter_port: int) -> list[str]:
    """Refuse every request from this page (and its frames) to a loopback port other than
    Jupyter's; returns the list the refused URLs are appended to."""
    refused: list[str] = []

    def refuse(route):
        refused.append(route.request.url)
        route.abort("connectionrefused")

    page.route(re.compile(rf"^http://(127\.0\.0\.1|localhost):(?!{jupyter_port}/)\d+/"), refuse)
    return refused


def watch_data_servers(page, jupyter_port: int) -> list[str]:
    """The list every request from this page to a loopback port other than Jupyter's is
    appended to (nothing is refused): with transport='comm' it must stay empty."""
    seen: list[str] = []
    other_port = re.compile(rf"^http://(127\.0\.0\.1|localhost):(?!{jupyter_port}/)\d+/")
    page.on("request", lambda r: seen.append(r.url) if other_port.match(r.url) else None)
    return seen


def info(page) -> dict:
    return json.loads(output_matching(page, r"INFO (\{.*\})").group(1))


def canvas_rgb(frame) -> np.ndarray:
    from PIL import Image

    png = frame.locator('[data-testid="canvas"]').screenshot()
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def colour_pixels(img: np.ndarray, hex_colour: str, tol: int = 40) -> int:
    rgb = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(img - rgb).max(axis=-1) < tol).sum())


def lasso_cells(frame, page, n: int):
    """Draw a lasso over the middle of the canvas; returns (cells surely inside, cells
    inside or within 2 px of the outline), computed from the viewer's own projection."""
    from matplotlib.path import Path as MplPath

    box = frame.evaluate("""() => { const r = document.querySelector('[data-testid="canvas"]').getBoundingClientRect();
                                   return {x: r.left, y: r.top, w: r.width, h: r.height}; }""")
    outer = page.locator("iframe[title='cellucid viewer']").first.bounding_box()
    cx, cy, rx, ry = box["w"] * 0.5, box["h"] * 0.5, box["w"] * 0.3, box["h"] * 0.35
    angles = np.linspace(0, 2 * np.pi, 9)[:-1] + 0.2
    local = [(cx + rx * np.cos(a), cy + ry * np.sin(a)) for a in angles]
    xy = np.array(frame.evaluate(
        f"() => {{ const out = new Float64Array({n} * 2); for (let i = 0; i < {n}; i++) {{"
        " const p = window.cellucid.project(i); out[2*i] = p ? p.x : NaN; out[2*i+1] = p ? p.y : NaN; }"
        " return Array.from(out); }")).reshape(-1, 2)
    inside = MplPath(np.array(local)).contains_points(xy)
    a = np.array(local)
    ab = np.roll(a, -1, axis=0) - a  # distance from every cell to the nearest edge
    t = np.clip(((xy[:, None, :] - a) * ab).sum(-1) / (ab * ab).sum(-1), 0, 1)
    near = np.linalg.norm(xy[:, None, :] - (a + t[..., None] * ab), axis=-1).min(axis=1) < 2.0
    frame.click('[data-testid="tool-lasso"]')
    draw_lasso(page, local, (outer["x"] + box["x"], outer["y"] + box["y"]))
    return set(np.flatnonzero(inside & ~near).tolist()), set(np.flatnonzero(inside | near).tolist())


@pytest.fixture(scope="module")
def new_page():
    with chromium() as opener:
        yield opener


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    root = tmp_path_factory.mktemp("comm-root")
    started = {}

    def get(app):
        if app not in started:
            started[app] = JupyterServer(root, app=app).__enter__()
        return started[app]

    get.root = root
    yield get
    for s in started.values():
        s.__exit__(None, None, None)


@pytest.mark.parametrize("app", ["lab", "notebook"])
def test_port_refused_falls_back_to_the_comm(servers, new_page, app):
    """The whole round: fallback, colours, lasso of a 100k-cell dataset → Python, highlight →
    pixels, an unknown gene → the same error as over HTTP."""
    server = servers(app)
    out = server.root / f"sel-{app}.json"
    write_notebook(server.root / f"comm-{app}.ipynb", [
        SETUP.format(extra="", n=N_BIG), SHOW.format(kwargs=""), INFO, SELECTION.format(out=out.name),
        HIGHLIGHT.format(n=N_BIG)])
    page = new_page()
    try:
        refused = refuse_data_servers(page, server.port)
        open_notebook(page, server, f"comm-{app}.ipynb")
        run_cell(page, 0)
        run_cell(page, 1)
        frame = viewer_frame(page)
        assert page.locator("iframe[title='cellucid viewer']").first.get_attribute("srcdoc") is not None
        assert refused, "the widget should have tried the server's port first"
        note = page.locator(".cellucid-transport-note")
        assert "cannot reach the data server" in note.inner_text()
        server.wait_kernels_idle()
        run_cell(page, 2)
        got = info(page)
        assert got["transport"] == "comm" and got["status"] == "ok", got
        # nothing but the first probe went to the port: the data came over the comm
        assert all(f":{got['port']}/_cellucid/health" in u for u in refused), refused

        # the default field's category colours (uns["cell_type_colors"]) are on the canvas
        frame.evaluate("() => window.cellucid.frame()")
        img = canvas_rgb(frame)
        colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
        drawn = [c for c in colours if colour_pixels(img, c) > 100]
        assert len(drawn) >= 7, drawn

        # lasso → viewer.selection in Python
        sure, maybe = lasso_cells(frame, page, N_BIG)
        assert len(sure) > 10_000
        frame.wait_for_function("() => window.cellucid.state().selection_count > 0", timeout=30_000)
        time.sleep(1.0)
        server.wait_kernels_idle()
        run_cell(page, 3)
        m = output_matching(page, r"SEL (\d+) (\d+)")
        cells = set(json.loads(out.read_text()))
        assert int(m.group(1)) == int(m.group(2)) == len(cells)
        assert sure <= cells <= maybe, (len(sure), len(cells), len(maybe))

        # highlight from Python → green pixels
        frame.evaluate("() => window.cellucid.clearSelection()")
        frame.evaluate("() => window.cellucid.frame()")
        before = colour_pixels(canvas_rgb(frame), "#00ff00")
        run_cell(page, 4)
        output_matching(page, r"HIGHLIGHTED")
        deadline, after = time.monotonic() + 30, before
        while time.monotonic() < deadline and after <= before + 500:
            frame.evaluate("() => window.cellucid.frame()")
            after = colour_pixels(canvas_rgb(frame), "#00ff00")
        assert after > before + 500, (before, after)

        # an unknown gene: the same error and hint as the HTTP route gives
        with pytest.raises(urllib.error.HTTPError) as http:
            urllib.request.urlopen(f"http://127.0.0.1:{got['port']}/_cellucid/api/gene?name=NO_SUCH_GENE&encoding=sparse")
        expected = json.loads(http.value.read())
        frame.evaluate("() => window.cellucid.setColorBy('NO_SUCH_GENE', 'gene')")
        progress = frame.locator('[data-testid="progress"]')
        progress.locator(".error").wait_for(timeout=30_000)
        assert expected["error"] in progress.inner_text() and expected["hint"] in progress.inner_text()
    finally:
        page.close()
        server.shutdown_kernels()
