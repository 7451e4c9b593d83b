"""Sessions: a full round trip gives the same picture, a session from another dataset is
refused with a message, and the URL fragment restores the light view state on reload."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytestmark = pytest.mark.browser


def set_up_a_rich_state(viewer, demo):
    page = viewer.page
    page.click("[data-testid=dim-3]")
    page.wait_for_function("window.cellucid.state().camera.dim === 3")
    box = viewer.canvas_box()
    page.mouse.move(box["x"] + 400, box["y"] + 300)
    page.mouse.down()
    page.mouse.move(box["x"] + 470, box["y"] + 260, steps=5)
    page.mouse.up()
    page.locator("[data-testid=legend] .item[data-category='Stem']").click()
    page.wait_for_function("(window.cellucid.state().hidden_categories.cell_type || []).length === 1")
    page.click("[data-testid=add-filter]")
    viewer.js("window.cellucid.select([...Array(300).keys()].map(i => i * 7))")
    viewer.js("window.cellucid.newPage('markers')")
    viewer.js("window.cellucid.highlight([5, 6, 7, 8, 9, 10, 11, 12], '#00ff00', 'few')")
    viewer.js("window.cellucid.setColorBy('pseudotime')")
    page.wait_for_function("window.cellucid.state().colored_by === 'pseudotime'")
    page.select_option("[data-testid=colormap]", "magma")
    page.fill("[data-testid=range-min]", "0.2")
    page.press("[data-testid=range-min]", "Enter")
    page.wait_for_function("window.cellucid.state().color_range[0] === 0.2")
    viewer.frame()


def test_round_trip_restores_the_same_picture(viewer, demo):
    set_up_a_rich_state(viewer, demo)
    before_state = viewer.state()
    before = viewer.pixels()
    session = viewer.js("window.cellucid.session()")
    for key in ["dataset_id", "embedding", "dimension", "camera", "color_by", "colormap", "range", "filters",
                "selection", "highlight_groups", "group_pages", "active_page"]:
        assert key in session, key
    assert session["dimension"] == 3 and session["colormap"] == "magma" and session["range"][0] == 0.2
    assert len(session["selection"]) == 300 and session["filters"][0]["field"] == "cell_type"
    assert [p["name"] for p in session["group_pages"]] == ["page 1", "markers"]
    # change everything
    page = viewer.page
    viewer.js("window.cellucid.setPage('page 1')")
    viewer.js("window.cellucid.clearSelection()")
    page.locator("[data-testid=filters] .list-item button").first.click()
    viewer.js("window.cellucid.setColorBy('batch')")
    page.click("[data-testid=dim-2]")
    page.wait_for_function("window.cellucid.state().camera.dim === 2 && window.cellucid.state().colored_by === 'batch'")
    viewer.frame()
    assert not np.array_equal(viewer.pixels(), before)
    viewer.js("(o) => window.cellucid.restoreSession(o)", session)
    page.wait_for_function("window.cellucid.state().colored_by === 'pseudotime' && window.cellucid.state().camera.dim === 3")
    viewer.frame()
    after_state = viewer.state()
    for key in ["embedding", "dimension", "color_range", "colormap", "visible_count", "selected", "camera",
                "highlight_groups", "active_page", "groups_by_page"]:
        assert after_state[key] == before_state[key], key
    assert np.array_equal(viewer.pixels(), before)
    assert viewer.errors == []


def test_a_session_from_another_dataset_is_refused(viewer, tmp_path):
    page = viewer.page
    session = viewer.js("window.cellucid.session()")
    session.update(dataset_id="ds-someone-else", dataset_name="other data", color_by={"kind": "field", "name": "batch"},
                   selection=[1, 2, 3])
    path = tmp_path / "other.json"
    path.write_text(json.dumps(session))
    page.set_input_files("input[type=file]", str(path))
    label = page.locator("[data-testid=progress]")
    label.locator(".error").wait_for()
    text = label.inner_text()
    assert "Session not restored" in text and "other data" in text and "ds-someone-else" in text
    assert "open the dataset the session was saved from" in text
    s = viewer.state()
    assert s["color_by"] == "cell_type" and s["selection_count"] == 0  # nothing applied


def test_url_fragment_restores_the_view_on_reload(viewer):
    page = viewer.page
    viewer.js("window.cellucid.setColorBy('pseudotime')")
    page.click("[data-testid=dim-3]")
    page.wait_for_function("window.cellucid.state().camera.dim === 3 && window.cellucid.state().colored_by === 'pseudotime'")
    box = viewer.canvas_box()
    page.mouse.move(box["x"] + 400, box["y"] + 300)
    page.mouse.down()
    page.mouse.move(box["x"] + 500, box["y"] + 330, steps=5)
    page.mouse.up()
    cam = viewer.state()["camera"]
    # the fragment follows the view shortly after it changes
    page.wait_for_function("(yaw) => location.hash.includes('color_by=pseudotime') && location.hash.includes('dimension=3')"
                           " && Math.abs(JSON.parse(new URLSearchParams(location.hash.slice(1)).get('camera')).yaw - yaw) < 1e-4",
                           arg=cam["yaw"])
    page.reload()
    page.wait_for_selector("body[data-ready='1']", timeout=30000)
    viewer.frame()
    s = viewer.state()
    assert s["color_by"] == "pseudotime" and s["dimension"] == 3 and s["embedding"] == "X_umap"
    assert s["camera"]["yaw"] == pytest.approx(cam["yaw"], rel=1e-4)
    assert s["camera"]["pitch"] == pytest.approx(cam["pitch"], rel=1e-4)
