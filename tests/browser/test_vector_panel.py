"""The vector-field panel: field choice and particle controls, dimension mismatch, datasets
without vectors, and prefers-reduced-motion."""

from __future__ import annotations

import base64
import io

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from browser_page import VIEWPORT, open_viewer

pytestmark = pytest.mark.browser


def overlay_rgba(viewer) -> np.ndarray:
    url = viewer.js("document.querySelector('[data-testid=vector-overlay]').toDataURL('image/png')")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGBA"))


def wait_frames(viewer, k):
    for _ in range(k):
        viewer.frame()


def test_panel_offers_the_field_and_the_overlay_moves(viewer):
    page = viewer.page
    options = page.locator("[data-testid=vector-field] option")
    assert options.count() == 1 and options.first.get_attribute("value") == "velocity_umap"
    assert page.is_enabled("[data-testid=vector-toggle]")
    assert page.locator("[data-testid=vector-note]").is_hidden()
    # controls change the overlay's parameters
    page.fill("[data-testid=vector-count]", "1000")  # range inputs accept fill()
    page.locator("[data-testid=vector-count]").dispatch_event("input")
    page.fill("[data-testid=vector-color]", "#ff0000")
    page.locator("[data-testid=vector-color]").dispatch_event("input")
    page.check("[data-testid=vector-toggle]")
    page.wait_for_function("window.cellucid.state().vectors_animating")
    s = viewer.state()
    assert s["vector_params"]["count"] == 1000 and s["vector_params"]["color"] == "#ff0000"
    wait_frames(viewer, 10)
    a = overlay_rgba(viewer)
    wait_frames(viewer, 10)
    b = overlay_rgba(viewer)
    drawn = a[:, :, 3] > 40
    assert drawn.sum() > 200
    assert not np.array_equal(a, b)  # the picture moves over time
    # trails are in the chosen color (red, unpremultiplied)
    assert np.median(a[drawn][:, 0]) > 200 and np.median(a[drawn][:, 1]) < 60
    page.uncheck("[data-testid=vector-toggle]")
    page.wait_for_function("!window.cellucid.state().vectors")
    assert overlay_rgba(viewer)[:, :, 3].max() == 0
    assert viewer.errors == []


def test_dimension_mismatch_is_explained(viewer):
    page = viewer.page
    page.click("[data-testid=dim-1]")
    page.wait_for_function("window.cellucid.state().dimension === 1")
    viewer.frame()
    note = page.locator("[data-testid=vector-note]")
    assert note.is_visible()
    text = note.inner_text()
    assert "only in 2D / 3D" in text and "not in 1D" in text
    assert page.is_disabled("[data-testid=vector-toggle]")
    assert page.locator("[data-testid=vector-controls]").is_hidden()  # no empty dropdown
    assert viewer.state()["vector_problem"]["kind"] == "dimension"
    page.click("[data-testid=dim-3]")
    page.wait_for_function("window.cellucid.state().camera.dim === 3")
    assert note.is_hidden() and page.is_enabled("[data-testid=vector-toggle]")


@pytest.fixture
def plain_server():
    from cellucid.anndata_server import AnnDataServer

    rng = np.random.default_rng(3)
    n = 600
    adata = ad.AnnData(
        X=None,
        obs=pd.DataFrame({"kind": pd.Categorical(rng.choice(["a", "b"], n))}, index=[f"c{i}" for i in range(n)]),
        obsm={"X_umap": rng.normal(size=(n, 2)).astype(np.float32)},
    )
    srv = AnnDataServer(adata, port=0, quiet=True).start_background()
    yield srv
    srv.stop()


def test_without_vectors_the_toggle_is_disabled_with_the_reason(browser, plain_server):
    v = open_viewer(browser, plain_server.url)
    try:
        page = v.page
        assert page.is_disabled("[data-testid=vector-toggle]")
        text = page.inner_text("[data-testid=vector-note]")
        assert "no vector field" in text and "velocity_umap" in text
        page.keyboard.press("g")  # the shortcut does nothing either
        v.frame()
        assert not v.state()["vectors"] or not v.state()["vectors_animating"]
        assert overlay_rgba(v)[:, :, 3].max() == 0
        assert v.errors == []
    finally:
        v.page.close()


def test_reduced_motion_draws_still_streamlines(browser, server):
    page = browser.new_page(viewport=VIEWPORT)
    page.emulate_media(reduced_motion="reduce")
    page.goto(server.url)
    page.wait_for_selector("body[data-ready='1']", timeout=30000)
    from browser_page import Viewer

    v = Viewer(page, [])
    try:
        page.check("[data-testid=vector-toggle]")
        page.wait_for_function("window.cellucid.state().vectors")
        wait_frames(v, 5)
        a = overlay_rgba(v)
        wait_frames(v, 15)
        b = overlay_rgba(v)
        assert (a[:, :, 3] > 40).sum() > 200  # streamlines are drawn ...
        assert np.array_equal(a, b)  # ... but do not move
        assert not v.state()["vectors_animating"]
        assert "Reduced motion" in page.inner_text("[data-testid=vector-note]")
        # the still picture follows the view
        box = v.canvas_box()
        page.mouse.move(box["x"] + 300, box["y"] + 300)
        page.mouse.down()
        page.mouse.move(box["x"] + 380, box["y"] + 340, steps=4)
        page.mouse.up()
        wait_frames(v, 2)
        assert not np.array_equal(overlay_rgba(v), a)
    finally:
        page.close()
