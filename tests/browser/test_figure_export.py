"""Figure export: PNG at a chosen scale with provenance tEXt chunks, SVG with one element per
visible cell (or the documented density reduction), legend, title and <metadata>; WYSIWYG."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timezone

import numpy as np
import pytest
from PIL import Image

import cellucid
from browser_helpers import N_CELLS, hex_rgb

pytestmark = pytest.mark.browser
SVG = "{http://www.w3.org/2000/svg}"
CU = "{https://cellucid.org/ns/figure}"


def test_png_at_2x_has_the_size_the_category_colors_and_provenance(viewer, demo, tmp_path):
    page = viewer.page
    box = viewer.canvas_box()
    page.select_option("[data-testid=png-scale]", "2")
    with page.expect_download() as d:
        page.click("[data-testid=export-png]")
    path = tmp_path / "fig.png"
    d.value.save_as(path)
    img = Image.open(path)
    assert img.size == (round(box["width"] * 2), round(box["height"] * 2))
    # every category's color is drawn in the cell area (left of the legend, below the title)
    rgb = np.asarray(img.convert("RGB"))[60:, : -340].reshape(-1, 3).astype(int)
    for color in demo.adata.uns["cell_type_colors"]:
        near = np.abs(rgb - hex_rgb(color)).max(axis=1) <= 3
        assert near.sum() > 50, color
    meta = img.text
    assert meta["cellucid:dataset_id"] == viewer.js("window.cellucid.app.identity.id")
    assert meta["cellucid:field"] == "cell_type"
    assert meta["cellucid:cellucid_version"] == cellucid.__version__
    assert meta["Software"] == f"cellucid {cellucid.__version__}"
    when = datetime.fromisoformat(meta["cellucid:date"].replace("Z", "+00:00"))
    assert abs((datetime.now(timezone.utc) - when).total_seconds()) < 600
    assert "cell_type" in meta["Title"]


def test_svg_is_wysiwyg_with_legend_title_and_metadata(viewer, demo, tmp_path):
    page = viewer.page
    obs = demo.adata.obs
    page.locator("[data-testid=legend] .item[data-category='Stem']").click()
    page.wait_for_function("(window.cellucid.state().hidden_categories.cell_type || []).length === 1")
    group = np.flatnonzero(obs["cell_type"].to_numpy() == "Plasma")[:40].tolist()
    viewer.js("(g) => window.cellucid.highlight(g, '#00ff00', 'my group')", group)
    viewer.frame()
    with page.expect_download() as d:
        page.click("[data-testid=export-svg]")
    path = tmp_path / "fig.svg"
    d.value.save_as(path)
    root = ET.parse(path).getroot()
    cells = root.find(f"{SVG}g[@id='cells']")
    circles = cells.findall(f"{SVG}circle")
    visible = N_CELLS - int((obs["cell_type"] == "Stem").sum())
    assert len(circles) == visible == int(cells.get("data-cells"))
    assert cells.get("data-reduced") == "0"
    fills = [c.get("fill") for c in circles]
    assert "#1f77b4" not in fills  # Stem is hidden: not exported
    assert fills.count("#00ff00") == len(group)  # the highlighted cells are, in their color
    legend = [t.text for t in root.find(f"{SVG}g[@id='legend']").iter(f"{SVG}text")]
    shown = [c for c in obs["cell_type"].cat.categories if c != "Stem"]
    assert legend == ["cell_type", *shown, "my group"]
    assert "cell_type" in root.find(f"{SVG}title").text
    assert root.find(f"{SVG}text[@id='title']").text == root.find(f"{SVG}title").text
    prov = root.find(f"{SVG}metadata/{CU}provenance")
    assert prov.get(f"{CU}dataset_id") == viewer.js("window.cellucid.app.identity.id")
    assert prov.get(f"{CU}field") == "cell_type"
    assert prov.get(f"{CU}cellucid_version") == cellucid.__version__
    assert prov.get(f"{CU}visible_cells") == str(visible)
    assert prov.get(f"{CU}date")


def test_svg_density_reduction_keeps_one_circle_per_square_and_color(viewer):
    svg = viewer.js("window.cellucid.svg({maxCells: 1000})")
    cells = ET.fromstring(svg).find(f"{SVG}g[@id='cells']")
    n = len(cells.findall(f"{SVG}circle"))
    assert cells.get("data-reduced") == "1" and int(cells.get("data-cells")) == n
    # recompute the documented rule from the viewer's positions and colors
    xy = np.array([[p["x"], p["y"]] for p in viewer.js("window.cellucid.projectMany([...Array(%d).keys()])" % N_CELLS)])
    rgba = np.array(viewer.js("Array.from(window.cellucid.app.colors)")).reshape(-1, 4)
    d = viewer.state()["point_size"]
    keys = {(int(np.floor(x / d)), int(np.floor(y / d)), *map(int, rgba[i, :3])) for i, (x, y) in enumerate(xy)}
    assert n == len(keys) < N_CELLS
