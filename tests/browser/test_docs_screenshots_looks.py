"""Screenshots for docs/viewer.md's "Plot looks" sections (docs/images/viewer-smoke*.png,
viewer-strips-1d.png, viewer-gene-zero.png, viewer-labels-edges.png), each after checking the
state it shows."""

from __future__ import annotations

import pytest
from browser_page import open_viewer
from looks_data import looks_adata

pytestmark = pytest.mark.browser
VIEW = {"width": 1200, "height": 700}


@pytest.mark.parametrize("renderer", ["webgl", "cpu"])
def test_smoke_screenshots(browser, server, renderer):
    v = open_viewer(browser, f"{server.url}?renderer={renderer}", viewport=VIEW)
    try:
        v.js("window.cellucid.setDimension(3)")
        v.page.wait_for_function("window.cellucid.state().dimension === 3")
        v.page.select_option("[data-testid=render-mode]", "smoke")
        v.page.wait_for_function("window.cellucid.state().render_mode === 'smoke'")
        v.page.mouse.move(5, 5)
        v.save("viewer-smoke.png" if renderer == "webgl" else "viewer-smoke-cpu.png")
        assert v.errors == []
    finally:
        v.page.close()


def test_strips_and_gene_screenshots(browser, server):
    v = open_viewer(browser, server.url, viewport=VIEW)
    try:
        v.js("window.cellucid.setDimension(1); window.cellucid.setViewOptions({labels: true})")
        v.page.wait_for_function("window.cellucid.state().dimension === 1")
        v.frame()
        assert len(v.js("window.cellucid.labels()")) >= 6
        v.save("viewer-strips-1d.png")
        v.js("window.cellucid.setDimension(2); window.cellucid.setViewOptions({labels: false, zeroNeutral: true})")
        v.js("window.cellucid.setColorBy('CD3E', 'gene')")
        v.page.wait_for_function("window.cellucid.state().colored_by === 'CD3E' && window.cellucid.state().dimension === 2")
        v.save("viewer-gene-zero.png")
        assert v.errors == []
    finally:
        v.page.close()


def test_labels_and_edges_screenshot(browser, tmp_path):
    from cellucid.anndata_server import AnnDataServer

    path = tmp_path / "looks.h5ad"
    looks_adata().write_h5ad(path)
    srv = AnnDataServer(str(path), port=0, quiet=True).start_background()
    try:
        v = open_viewer(browser, srv.url, viewport=VIEW)
        v.page.check("[data-testid=labels-toggle]")
        v.page.check("[data-testid=edges-toggle]")
        v.page.wait_for_function("document.querySelector('[data-testid=edges-note]').textContent.includes('edges')")
        v.save("viewer-labels-edges.png")
        assert v.errors == []
        v.page.close()
    finally:
        srv.stop()
