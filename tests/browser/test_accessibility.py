"""Accessibility: a keyboard-only walk reaches every control, each has an accessible name and
a visible focus ring, themes keep text contrast, the default categorical palette is
color-blind safe, and the color-vision preview filters the view."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.browser

INTERACTIVE = "button, select, input, textarea, a[href], [tabindex='0']"

# Tag every visible, enabled control of the panels with an id we can read back from activeElement.
TAG = """(sel) => {
  const els = [...document.querySelectorAll(sel)].filter((e) =>
    !e.disabled && e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden');
  els.forEach((e, k) => (e.dataset.walk = String(k)));
  return els.map((e) => ({ k: e.dataset.walk, tag: e.tagName.toLowerCase(), testid: e.dataset.testid || null,
    name: (e.getAttribute('aria-label') || (e.labels && e.labels.length ? e.labels[0].textContent : '')
           || (e.tagName === 'BUTTON' || e.getAttribute('role') === 'button' ? e.textContent : '') || '').trim() }));
}"""


def test_keyboard_walk_reaches_every_control_with_a_name_and_focus_ring(viewer):
    page = viewer.page
    controls = viewer.js(TAG, INTERACTIVE)
    assert len(controls) > 40
    unnamed = [c for c in controls if not c["name"]]
    assert unnamed == []
    page.mouse.click(5, 5)  # start from the document (keyboard focus comes from Tab below)
    seen, rings = [], set()
    for _ in range(len(controls) + 15):
        page.keyboard.press("Tab")
        info = viewer.js("""() => { const e = document.activeElement; if (!e || !e.dataset.walk) return null;
            const cs = getComputedStyle(e); return { k: e.dataset.walk, outline: cs.outlineStyle, width: cs.outlineWidth,
            fv: e.matches(':focus-visible') }; }""")
        if info:
            seen.append(info["k"])
            if info["fv"] and info["outline"] != "none" and info["width"] != "0px":
                rings.add(info["k"])
    missing = [c for c in controls if c["k"] not in seen]
    assert missing == []
    assert rings == {c["k"] for c in controls}  # every control shows a focus ring


def _lum(rgb):
    c = np.asarray(rgb, float) / 255
    c = np.where(c <= 0.03928, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]


def contrast(a, b):
    la, lb = sorted([_lum(a), _lum(b)], reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_text_contrast_in_both_themes(viewer):
    for theme in ["light", "dark"]:
        viewer.js(f"window.cellucid.setTheme('{theme}')")
        colors = viewer.js("""() => { const cs = getComputedStyle(document.documentElement);
            const hex = (v) => { v = cs.getPropertyValue(v).trim(); const m = v.match(/rgba?\\(([^)]+)\\)/);
              if (m) return m[1].split(',').slice(0, 3).map(Number);
              if (v.length === 4) v = '#' + v[1] + v[1] + v[2] + v[2] + v[3] + v[3];
              return [1, 3, 5].map((i) => parseInt(v.slice(i, i + 2), 16)); };
            return Object.fromEntries(['--bg', '--fg', '--muted', '--panel', '--accent', '--accent-fg', '--focus'].map((k) => [k, hex(k)])); }""")
        assert contrast(colors["--fg"], colors["--bg"]) >= 7, theme
        assert contrast(colors["--muted"], colors["--panel"]) >= 4.5, theme
        assert contrast(colors["--accent-fg"], colors["--accent"]) >= 4.5, theme
        assert contrast(colors["--focus"], colors["--panel"]) >= 3, theme  # focus ring vs background


def test_default_categorical_palette_is_okabe_ito(viewer):
    # leiden has no stored colors: the viewer's own palette is used
    viewer.js("window.cellucid.setColorBy('batch')")  # has stored colors: kept as given
    viewer.page.wait_for_function("window.cellucid.state().colored_by === 'batch'")
    viewer.js("window.cellucid.setColorBy('leiden')")
    viewer.page.wait_for_function("window.cellucid.state().colored_by === 'leiden'")
    colors = viewer.js("window.cellucid.app.colorColumn._colors")
    okabe = ["#e69f00", "#56b4e9", "#009e73", "#f0e442", "#0072b2", "#d55e00", "#cc79a7"]
    n = len(colors)
    if n <= 7:
        assert colors == okabe[:n]
    else:  # more categories than any color-blind-safe palette has: Tableau 10 first
        assert colors[0] == "#4e79a7"


def test_color_vision_preview_filters_the_view(viewer):
    page = viewer.page
    def shot():
        return np.asarray(Image.open(io.BytesIO(page.locator("[data-testid=canvas]").screenshot())).convert("RGB")).astype(int)
    viewer.frame()
    normal = shot()
    page.select_option("[data-testid=cvd]", "deuteranopia")
    page.wait_for_function("document.querySelector('main.stage').dataset.cvd === 'deuteranopia'")
    viewer.frame()
    sim = shot()
    assert viewer.state()["cvd"] == "deuteranopia"
    changed = np.abs(sim - normal).max(axis=2) > 30
    assert changed.mean() > 0.002  # colored cells change ...
    # ... and red/green differences shrink: in deuteranopia R and G move toward each other
    cells = np.abs(normal - 255).max(axis=2) > 60
    assert np.abs(sim[cells, 0] - sim[cells, 1]).mean() < np.abs(normal[cells, 0] - normal[cells, 1]).mean()
    page.select_option("[data-testid=cvd]", "none")
    viewer.frame()
    assert np.abs(shot() - normal).max() <= 2
