"""Fixtures for the browser tests: Debian's Chromium through Playwright, a real cellucid
server on a demo ``.h5ad`` written to a temp dir, and helpers to read the viewer's pixels."""

from __future__ import annotations

import base64
import io
import os
from dataclasses import dataclass

import numpy as np
import pytest

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--use-gl=angle",
    "--use-angle=swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
from browser_helpers import N_CELLS
N_GENES = 200
VIEWPORT = {"width": 1100, "height": 640}
DOCS_IMAGES = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "images")


# Module scope, not session: a live sync Playwright keeps an asyncio loop running in the main
# thread, which would break later suites that use asyncio.run() or start Playwright themselves.
@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@dataclass
class Demo:
    path: str
    adata: object  # the same data, read back with anndata (the test's independent truth)


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> Demo:
    import anndata as ad

    from cellucid.data.demo import write_demo_h5ad

    path = str(tmp_path_factory.mktemp("demo") / "demo.h5ad")
    write_demo_h5ad(path, n_cells=N_CELLS, n_genes=N_GENES)
    return Demo(path=path, adata=ad.read_h5ad(path))


@pytest.fixture(scope="session")
def server(demo):
    from cellucid.anndata_server import AnnDataServer

    srv = AnnDataServer(demo.path, port=0, quiet=True).start_background()
    yield srv
    srv.stop()


class Viewer:
    """A loaded viewer page plus the console errors it produced."""

    def __init__(self, page, errors):
        self.page = page
        self.errors = errors

    def js(self, expr, arg=None):
        return self.page.evaluate(expr, arg)

    def state(self):
        return self.js("window.cellucid.state()")

    def frame(self):
        """Wait until every pending change is drawn."""
        self.js("window.cellucid.frame()")

    def canvas_box(self):
        return self.page.locator("[data-testid=canvas]").bounding_box()

    def pixels(self) -> np.ndarray:
        """The WebGL canvas alone (no overlays) as an (h, w, 3) uint8 array, in device pixels."""
        from PIL import Image

        self.frame()
        url = self.js("document.querySelector('canvas').toDataURL('image/png')")
        img = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB")
        return np.asarray(img)

    def save(self, name):
        os.makedirs(DOCS_IMAGES, exist_ok=True)
        self.frame()
        self.page.screenshot(path=os.path.join(DOCS_IMAGES, name))


def open_viewer(browser, url, viewport=VIEWPORT) -> Viewer:
    page = browser.new_page(viewport=viewport)
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']", timeout=30000)
    v = Viewer(page, errors)
    v.frame()
    return v


@pytest.fixture
def viewer(browser, server):
    v = open_viewer(browser, server.url)
    yield v
    v.page.close()
