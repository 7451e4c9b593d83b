"""The browser tests' page helpers: Chromium launch settings and a loaded-viewer wrapper.

Kept out of conftest.py so test modules can import them by a unique module name (several test
folders have a conftest.py, and ``from conftest import`` would pick whichever loaded first)."""

from __future__ import annotations

import base64
import io
import os

import numpy as np

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
VIEWPORT = {"width": 1100, "height": 640}
DOCS_IMAGES = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "images")


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

    def save(self, name, tolerance: float = 1.0):
        self.frame()
        save_doc_image(self.page.screenshot(), name, tolerance)


def save_doc_image(image, name: str, tolerance: float = 1.0) -> bool:
    """Write ``image`` (PNG bytes or a PIL image) to docs/images/``name`` unless the file
    there already shows the same picture (mean absolute difference ≤ ``tolerance`` of 255):
    docs stay current when the viewer changes, and a rerun does not rewrite tracked files
    over invisible rendering noise. Returns whether it wrote."""
    from PIL import Image

    img = Image.open(io.BytesIO(image)) if isinstance(image, (bytes, bytearray)) else image
    path = os.path.join(DOCS_IMAGES, name)
    if os.path.exists(path):
        with Image.open(path) as old:
            if old.size == img.size:
                a = np.asarray(old.convert("RGB"), dtype=np.int16)
                b = np.asarray(img.convert("RGB"), dtype=np.int16)
                if np.abs(a - b).mean() <= tolerance:
                    return False
    os.makedirs(DOCS_IMAGES, exist_ok=True)
    img.save(path)
    return True


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
