"""Vector field overlay: animated particles along the velocity field served by the server."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from browser_helpers import default_projection_2d

pytestmark = pytest.mark.browser


def overlay_alpha(viewer):
    url = viewer.js("document.querySelector('[data-testid=vector-overlay]').toDataURL('image/png')")
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGBA"))[:, :, 3]


def test_vector_overlay_draws_trails_over_the_cells_and_turns_off(viewer, demo):
    assert viewer.state()["vector_field"] == "velocity_umap"
    assert overlay_alpha(viewer).max() == 0
    viewer.page.click("[data-testid=vectors]")
    viewer.page.wait_for_function("window.cellucid.state().vectors")
    for _ in range(20):  # let the particles leave trails
        viewer.frame()
    alpha = overlay_alpha(viewer)
    ys, xs = np.nonzero(alpha > 20)
    assert len(xs) > 500
    # trails lie over the data: within the cells' screen bounding box (computed in Python)
    box = viewer.canvas_box()
    xy = default_projection_2d(np.asarray(demo.adata.obsm["X_umap"], dtype=np.float64), box["width"], box["height"])
    lo, hi = xy.min(axis=0) - 10, xy.max(axis=0) + 10
    inside = (xs >= lo[0]) & (xs <= hi[0]) & (ys >= lo[1]) & (ys <= hi[1])
    assert inside.mean() > 0.99
    viewer.page.keyboard.press("g")
    viewer.page.wait_for_function("!window.cellucid.state().vectors")
    assert overlay_alpha(viewer).max() == 0
    assert viewer.errors == []
