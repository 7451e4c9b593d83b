"""Walk through the main states of the viewer and save the screenshots used by docs/viewer.md
(docs/images/viewer-*.png). Each step also checks the state it claims to show."""

from __future__ import annotations

import pytest

from browser_page import open_viewer

pytestmark = pytest.mark.browser


def test_main_states_for_the_docs(browser, server):
    v = open_viewer(browser, server.url, viewport={"width": 1200, "height": 700})
    try:
        page = v.page
        v.save("viewer-default.png")
        assert v.state()["color_by"] == "cell_type"

        page.fill("[data-testid=gene-search]", "MS4A1")
        page.wait_for_selector("[data-testid=gene-suggestions] li")
        page.press("[data-testid=gene-search]", "Enter")
        page.wait_for_function("window.cellucid.state().colored_by === 'MS4A1'")
        page.select_option("[data-testid=legend] select[title='percentile clip']", "1,99")
        page.wait_for_function("window.cellucid.state().color_range[1] < 31")
        page.mouse.move(10, 10)
        v.save("viewer-gene.png")

        page.select_option("[data-testid=color-by]", "cell_type")
        page.wait_for_function("window.cellucid.state().colored_by === 'cell_type'")
        page.click("[data-testid=tool-lasso]")
        box = v.canvas_box()
        pts = [(0.25, 0.55), (0.45, 0.5), (0.5, 0.75), (0.45, 0.95), (0.2, 0.9)]
        page.mouse.move(box["x"] + pts[0][0] * box["width"], box["y"] + pts[0][1] * box["height"])
        page.mouse.down()
        for x, y in pts[1:]:
            page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=6)
        # screenshot while the lasso is still drawn, then release
        v.frame()
        page.mouse.up()
        page.fill("[data-testid=group-name]", "lower arc")
        page.click("[data-testid=save-group]")
        assert v.state()["selection_count"] > 0
        assert v.state()["highlight_groups"][0]["name"] == "lower arc"
        v.save("viewer-lasso.png")

        page.click("[data-testid=clear-selection]")
        page.click("[data-testid=dim-3]")
        page.wait_for_function("window.cellucid.state().camera.dim === 3")
        page.click("[data-testid=tool-pan]")
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(cx, cy)
        page.mouse.down()
        page.mouse.move(cx + 160, cy + 70, steps=8)
        page.mouse.up()
        v.save("viewer-3d.png")
        assert v.state()["dimension"] == 3

        page.keyboard.press("t")
        page.wait_for_function("window.cellucid.state().theme === 'dark'")
        page.click("[data-testid=dim-2]")
        page.wait_for_function("window.cellucid.state().camera.dim === 2")
        v.save("viewer-dark.png")

        page.keyboard.press("g")
        page.wait_for_function("window.cellucid.state().vectors")
        for _ in range(25):
            v.frame()
        v.save("viewer-vectors.png", tolerance=4.0)  # particles move between runs
        assert v.errors == []
    finally:
        v.page.close()
