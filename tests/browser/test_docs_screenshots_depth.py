"""Screenshots for the newer sections of docs/viewer.md (vector panel, exported figure,
session round trip). Each step also checks the state it claims to show."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pytest
from PIL import Image, ImageDraw

from browser_page import open_viewer, save_doc_image

pytestmark = pytest.mark.browser


def test_depth_screenshots_for_the_docs(browser, server, tmp_path):
    v = open_viewer(browser, server.url, viewport={"width": 1200, "height": 760})
    try:
        page = v.page
        # vector overlay with its panel in view
        page.locator("[data-testid=vector-panel]").scroll_into_view_if_needed()
        page.fill("[data-testid=vector-trail]", "0.8")
        page.locator("[data-testid=vector-trail]").dispatch_event("input")
        page.check("[data-testid=vector-toggle]")
        page.wait_for_function("window.cellucid.state().vectors_animating")
        for _ in range(25):
            v.frame()
        v.save("viewer-vector-panel.png", tolerance=4.0)  # particles move between runs
        assert v.state()["vector_params"]["trail"] == 0.8
        page.uncheck("[data-testid=vector-toggle]")

        # an exported figure (what the PNG button writes), with a highlight group in the legend
        v.js("window.cellucid.highlight([...Array(3000).keys()].filter(i => i % 37 === 0), '#ff1f5b', 'every 37th')")
        v.frame()
        png = base64.b64decode(v.js("window.cellucid.png(1)"))
        img = Image.open(io.BytesIO(png))
        assert img.text["cellucid:field"] == "cell_type"
        save_doc_image(img, "figure-export.png")

        # session round trip: state A -> saved; changed to B; restored -> A again
        v.js("window.cellucid.setColorBy('pseudotime')")
        page.wait_for_function("window.cellucid.state().colored_by === 'pseudotime'")
        v.js("window.cellucid.select([...Array(3000).keys()].filter(i => i % 5 === 0))")
        v.frame()
        session = v.js("window.cellucid.session()")
        a = page.screenshot()
        v.js("window.cellucid.clearSelection()")
        v.js("window.cellucid.setColorBy('batch')")
        page.click("[data-testid=dim-3]")
        page.wait_for_function("window.cellucid.state().colored_by === 'batch' && window.cellucid.state().camera.dim === 3")
        v.frame()
        b = page.screenshot()
        v.js("(o) => window.cellucid.restoreSession(o)", session)
        page.wait_for_function("window.cellucid.state().colored_by === 'pseudotime' && window.cellucid.state().camera.dim === 2")
        page.mouse.move(1190, 750)  # no hover highlight on the toolbar button clicked above
        v.frame()
        c = page.screenshot()
        shots = [Image.open(io.BytesIO(x)).convert("RGB") for x in (a, b, c)]
        assert np.array_equal(np.asarray(shots[0])[:, 270:], np.asarray(shots[2])[:, 270:])  # stage identical
        w, h = shots[0].size
        k = 0.5
        out = Image.new("RGB", (int(3 * w * k) + 20, int(h * k) + 28), "white")
        d = ImageDraw.Draw(out)
        for j, (im, label) in enumerate(zip(shots, ["1. saved", "2. changed", "3. restored"])):
            out.paste(im.resize((int(w * k), int(h * k))), (j * (int(w * k) + 10), 28))
            d.text((j * (int(w * k) + 10) + 6, 8), label, fill="black")
        save_doc_image(out, "viewer-session-roundtrip.png")
        (tmp_path / "s.json").write_text(json.dumps(session))
        assert v.errors == []
    finally:
        v.page.close()
