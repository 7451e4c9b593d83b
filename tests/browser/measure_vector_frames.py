"""Measure the vector-particle overlay's frame time in headless Chromium (not a test).

    python tests/browser/measure_vector_frames.py [n_cells] [particles]

Writes a demo .h5ad with n_cells (default 100,000), serves it, turns the overlay on and
reads the overlay's requestAnimationFrame timestamps (interval between animated frames) and
the JS work per frame (performance.now() around the particle step + draw) from the page.
"""

from __future__ import annotations

import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from browser_page import CHROMIUM, CHROMIUM_ARGS, VIEWPORT  # noqa: E402


def main(n_cells=100_000, particles=None):
    from playwright.sync_api import sync_playwright

    from cellucid.anndata_server import AnnDataServer
    from cellucid.data.demo import write_demo_h5ad

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "demo.h5ad")
        write_demo_h5ad(path, n_cells=n_cells, n_genes=50)
        srv = AnnDataServer(path, port=0, quiet=True).start_background()
        try:
            with sync_playwright() as p:
                b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = b.new_page(viewport=VIEWPORT)
                page.goto(srv.url)
                page.wait_for_selector("body[data-ready='1']", timeout=120000)
                if particles:
                    page.evaluate(f"window.cellucid.app.store.set({{vectorParams: {{...window.cellucid.app.store.get().vectorParams, count: {particles}}}}})")
                page.evaluate("window.cellucid.setVectors(true)")
                page.wait_for_function("window.cellucid.state().vectors_animating", timeout=60000)
                f0 = page.evaluate("window.cellucid.state().frames")
                page.wait_for_function("window.cellucid.vectorFrameTimes().length >= 45", timeout=180000, polling=500)
                webgl_frames = page.evaluate("window.cellucid.state().frames") - f0
                t = np.diff(np.array(page.evaluate("window.cellucid.vectorFrameTimes()"))[5:])
                w = np.array(page.evaluate("window.cellucid.vectorWorkTimes()"))[5:]
                count = page.evaluate("window.cellucid.state().vector_params.count")
                print(f"{n_cells:,} cells, {count:,} particles, {len(t)} frames")
                print(f"  rAF interval  median {np.median(t):.1f} ms  p95 {np.percentile(t, 95):.1f} ms  ({1000 / np.median(t):.0f} fps)")
                print(f"  WebGL point redraws meanwhile: {webgl_frames} (the cells are not redrawn per particle frame)")
                print(f"  overlay work  median {np.median(w):.2f} ms  p95 {np.percentile(w, 95):.2f} ms")
                b.close()
        finally:
            srv.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000, int(sys.argv[2]) if len(sys.argv) > 2 else None)
