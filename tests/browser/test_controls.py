"""Legend, filters, tooltip, highlight groups, session files and SVG export, driven through
the page like a user would, checked against the data file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from browser_helpers import N_CELLS

pytestmark = pytest.mark.browser


def legend_item(viewer, name):
    return viewer.page.locator(f"[data-testid=legend] .item[data-category='{name}']")


def test_double_click_isolates_a_category_and_again_shows_all(viewer, demo):
    legend_item(viewer, "Plasma").dblclick()
    viewer.page.wait_for_function("(window.cellucid.state().hidden_categories.cell_type || []).length === 7")
    assert viewer.state()["visible_count"] == int((demo.adata.obs["cell_type"] == "Plasma").sum())
    legend_item(viewer, "Plasma").dblclick()
    viewer.page.wait_for_function("(window.cellucid.state().hidden_categories.cell_type || []).length === 0")
    assert viewer.state()["visible_count"] == N_CELLS


def test_filters_persist_across_coloring_and_can_be_removed(viewer, demo):
    obs = demo.adata.obs
    legend_item(viewer, "Stem").click()
    legend_item(viewer, "Progenitor").click()
    viewer.page.wait_for_function("(window.cellucid.state().hidden_categories.cell_type || []).length === 2")
    viewer.page.click("[data-testid=add-filter]")
    keep_ct = ~obs["cell_type"].isin(["Stem", "Progenitor"]).to_numpy()
    assert viewer.state()["visible_count"] == keep_ct.sum()
    assert viewer.page.locator("[data-testid=filters] .list-item").count() == 1
    # a value-range filter on a continuous field, typed into the legend's min/max inputs
    viewer.page.select_option("[data-testid=color-by]", "pseudotime")
    viewer.page.wait_for_function("window.cellucid.state().colored_by === 'pseudotime'")
    viewer.page.fill("[data-testid=range-min]", "0.25")
    viewer.page.press("[data-testid=range-min]", "Enter")
    viewer.page.fill("[data-testid=range-max]", "0.5")
    viewer.page.press("[data-testid=range-max]", "Enter")
    viewer.page.wait_for_function("window.cellucid.state().color_range[1] === 0.5")
    viewer.page.click("[data-testid=add-filter]")
    pt = obs["pseudotime"].to_numpy()
    expected = keep_ct & (pt >= np.float32(0.25)) & (pt <= np.float32(0.5))
    assert viewer.state()["visible_count"] == expected.sum()
    assert viewer.page.inner_text("[data-testid=visible-count]").startswith(f"{expected.sum():,} of")
    # "select shown" selects exactly the filtered cells
    viewer.page.click("text=select shown")
    assert viewer.state()["selected"] == np.flatnonzero(expected).tolist()
    assert viewer.state()["selection_source"] == "filter"
    # removing the category filter leaves only the range
    viewer.page.locator("[data-testid=filters] .list-item button").first.click()
    assert viewer.state()["visible_count"] == ((pt >= np.float32(0.25)) & (pt <= np.float32(0.5))).sum()


def test_hover_tooltip_shows_the_cell_from_the_server(viewer, demo):
    cell = viewer.js("""() => {
        const c = document.querySelector('canvas').getBoundingClientRect();
        for (let i = 0; i < 3000; i++) { const p = window.cellucid.project(i);
          if (p.x > c.width * 0.3 && p.x < c.width * 0.6 && window.cellucid.pick(p.x, p.y) === i) return i; }
        return null; }""")
    assert cell is not None
    p = viewer.js(f"window.cellucid.project({cell})")
    box = viewer.canvas_box()
    viewer.page.mouse.move(box["x"] + p["x"], box["y"] + p["y"])
    tip = viewer.page.locator(".tooltip")
    tip.wait_for(state="visible")
    text = tip.inner_text()
    assert demo.adata.obs_names[cell] in text
    assert str(demo.adata.obs["cell_type"].iloc[cell]) in text


def test_session_round_trip_restores_view_colors_filters_and_groups(browser, server, viewer):
    page = viewer.page
    viewer.js("window.cellucid.select([1, 2, 3, 500])")
    page.click("[data-testid=save-group]")
    legend_item(viewer, "NK cell").click()
    page.wait_for_function("(window.cellucid.state().hidden_categories.cell_type || []).length === 1")
    page.click("[data-testid=add-filter]")
    viewer.js("window.cellucid.setColorBy('LYZ')")
    page.wait_for_function("window.cellucid.state().colored_by === 'LYZ'")
    box = viewer.canvas_box()
    page.mouse.move(box["x"] + 300, box["y"] + 300)
    page.mouse.wheel(0, -300)
    viewer.frame()
    session = viewer.js("window.cellucid.session()")
    before = viewer.state()
    json.dumps(session)  # a session is plain JSON

    from browser_page import open_viewer

    fresh = open_viewer(browser, server.url)
    try:
        fresh.js("(s) => window.cellucid.restoreSession(s)", session)
        fresh.page.wait_for_function("window.cellucid.state().colored_by === 'LYZ'")
        fresh.frame()
        after = fresh.state()
        for key in ["embedding", "dimension", "color_by", "selected", "visible_count", "highlight_groups", "camera", "color_range"]:
            assert after[key] == before[key], key
        assert np.array_equal(fresh.pixels(), viewer.pixels())
    finally:
        fresh.page.close()


def test_svg_export_draws_every_visible_cell(viewer, demo):
    legend_item(viewer, "Stem").click()
    viewer.page.wait_for_function("(window.cellucid.state().hidden_categories.cell_type || []).length === 1")
    svg = viewer.js("window.cellucid.svg()")
    cells_part = svg.split('<g id="cells"', 1)[1].split("</g>", 1)[0]
    n_circles = cells_part.count("<circle ")
    box = viewer.canvas_box()
    on_screen = viewer.js(f"""() => {{ let k = 0; const s = window.cellucid.state();
        for (let i = 0; i < s.n_cells; i++) {{ const p = window.cellucid.project(i);
          if (p.x >= -3 && p.y >= -3 && p.x <= {box['width']} + 3 && p.y <= {box['height']} + 3) k++; }} return k; }}""")
    assert on_screen == N_CELLS  # the default view shows every cell
    assert n_circles == N_CELLS - int((demo.adata.obs["cell_type"] == "Stem").sum())
    assert 'fill="#1f77b4"' not in cells_part  # no Stem cell is drawn
    assert 'fill="#1f77b4"' not in svg  # and the legend lists only the categories shown


def test_unknown_gene_shows_the_server_error_and_keeps_the_view(viewer):
    viewer.page.fill("[data-testid=gene-search]", "NOT_A_GENE_XYZ")
    viewer.page.press("[data-testid=gene-search]", "Enter")
    label = viewer.page.locator("[data-testid=progress]")
    label.locator(".error").wait_for()
    assert "NOT_A_GENE_XYZ" in label.inner_text()
    assert viewer.state()["colored_by"] == "cell_type"  # the picture stays as it was
    label.click()
    assert label.inner_text() == ""


def test_png_svg_and_session_buttons_download_files(viewer, tmp_path):
    from PIL import Image

    page = viewer.page
    with page.expect_download() as d:
        page.click("[data-testid=export-png]")
    png = tmp_path / "view.png"
    d.value.save_as(png)
    img = np.asarray(Image.open(png).convert("RGB"))
    assert img.shape[:2] == viewer.pixels().shape[:2]
    # the file is the canvas as drawn, plus a title (top 30 px) and the legend (right 170 px)
    assert np.array_equal(img[30:, :-170], viewer.pixels()[30:, :-170])
    with page.expect_download() as d:
        page.click("[data-testid=export-svg]")
    svg = tmp_path / "view.svg"
    d.value.save_as(svg)
    assert svg.read_text().count("<circle ") >= N_CELLS
    with page.expect_download() as d:
        page.click("[data-testid=session-save]")
    session = tmp_path / "session.json"
    d.value.save_as(session)
    assert json.loads(session.read_text())["color_by"] == {"kind": "field", "name": "cell_type"}
    # loading the file back through the button restores it
    viewer.js("window.cellucid.setColorBy('pseudotime')")
    page.wait_for_function("window.cellucid.state().colored_by === 'pseudotime'")
    page.set_input_files("input[type=file]", str(session))
    page.wait_for_function("window.cellucid.state().colored_by === 'cell_type'")
