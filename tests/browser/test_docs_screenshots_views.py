"""Screenshots of the live + snapshot views and of cross-highlighting for docs/viewer.md
(docs/images/viewer-views-*.png). Each step also checks the state it claims to show."""

from __future__ import annotations

import pytest
from browser_page import open_viewer

pytestmark = pytest.mark.browser


def test_views_screenshots_for_the_docs(browser, server):
    v = open_viewer(browser, server.url, viewport={"width": 1280, "height": 720})
    try:
        page = v.page
        page.click("[data-testid=snapshot]")  # the live view (cell_type) frozen
        v.js("window.cellucid.setColorBy('pseudotime')")
        page.wait_for_function("window.cellucid.state().colored_by === 'pseudotime'")
        v.js("window.cellucid.snapshot({colorBy: 'batch', embedding: 'X_tsne'})")
        v.js("window.cellucid.snapshot({colorBy: 'cell_type', embedding: 'X_umap', dimension: 3})")
        page.wait_for_function("window.cellucid.views().length === 4")
        assert [x["color_by"] for x in v.js("window.cellucid.views()")] == ["pseudotime", "cell_type", "batch", "cell_type"]
        page.wait_for_timeout(500)
        v.save("viewer-views-grid.png")

        # cross-highlight: live colored by cell_type, a selection, a pinned legend entry
        v.js("window.cellucid.setColorBy('cell_type')")
        page.wait_for_function("window.cellucid.state().colored_by === 'cell_type'")
        v.js("window.cellucid.selectCategory('B cell')")
        page.wait_for_function("window.cellucid.state().selection_count > 0")
        page.locator("[data-testid=legend] .item[data-category='Monocyte'] .pin").click()
        page.mouse.move(5, 700)
        page.wait_for_function("window.cellucid.state().cross_highlight?.pinned === true")
        page.wait_for_timeout(300)
        v.save("viewer-views-cross.png")
    finally:
        v.page.close()

    # a 700 px notebook-wide output: the same four views, nothing overlapping
    v = open_viewer(browser, server.url, viewport={"width": 700, "height": 560})
    try:
        for opts in ({}, {"colorBy": "n_counts"}, {"colorBy": "batch", "embedding": "X_tsne"}):
            v.js(f"window.cellucid.snapshot({opts!r})".replace("'", '"'))
        v.page.wait_for_function("window.cellucid.views().length === 4")
        v.page.click("[data-testid=toggle-sidebar]")  # as a notebook output starts: side panel folded
        v.page.wait_for_timeout(500)
        v.save("viewer-views-700.png")
    finally:
        v.page.close()
