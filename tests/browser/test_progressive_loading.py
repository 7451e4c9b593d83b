"""Progressive loading (js/src/data/progressive.js): past `first_cells` cells the viewer draws
a strided sample of the file first, then streams the rest in contiguous ranges.

Against a real server on a 100k-cell demo file, with `?first_cells=10000&chunk_cells=30000`:
the first frame is drawn while only the sample's cells are in, from only the sample's bytes;
then every cell is drawn — the picture equals, pixel for pixel, the one a viewer loading
everything at once (`?first_cells=0`) shows; and a lasso selects the same cells in both,
which are the cells Python finds inside the polygon."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.path import Path as MplPath

from browser_helpers import default_projection_2d

pytestmark = pytest.mark.browser

N = 100_000
FIRST, CHUNK = 10_000, 30_000

# Runs before the page's scripts: note, at each drawn frame (the renderer's "cellucid:draw"
# mark), how many cells had coordinates, synchronously, when the mark is made.
RECORD_DRAWS = """
(() => {
  const mark = performance.mark.bind(performance);
  window.__draws = [];
  performance.mark = (name, opts) => {
    const entry = mark(name, opts);
    if (name === "cellucid:draw") {
      const app = window.cellucid && window.cellucid.app;
      const geom = app && app.geom;
      window.__draws.push({ t: entry.startTime, loaded: geom ? app.n - geom.nInvalid : -1 });
    }
    return entry;
  };
})();
"""


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    import anndata as ad

    from cellucid.anndata_server import AnnDataServer
    from cellucid.data.demo import write_demo_h5ad

    path = str(tmp_path_factory.mktemp("progressive") / "demo100k.h5ad")
    write_demo_h5ad(path, n_cells=N, n_genes=40)
    srv = AnnDataServer(path, port=0, quiet=True).start_background()
    yield srv, ad.read_h5ad(path)
    srv.stop()


def _open(browser, srv, query):
    page_url = srv.url + ("&" if "?" in srv.url else "?") + query
    page = browser.new_page(viewport={"width": 1100, "height": 640})
    page.add_init_script(RECORD_DRAWS)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(page_url)
    page.wait_for_selector("body[data-ready='1']", timeout=60000)
    from browser_page import Viewer

    return Viewer(page, errors)


def _wait_all_loaded(v):
    v.page.wait_for_function("window.cellucid.state().all_cells_loaded && "
                             "window.cellucid.state().colored_by === 'cell_type'", timeout=60000)
    v.page.wait_for_function(f"window.__draws.some((d) => d.loaded === {N})", timeout=60000)
    v.frame()


def _lasso(v, poly):
    box = v.canvas_box()
    v.page.click("[data-testid=tool-lasso]")
    v.page.mouse.move(box["x"] + poly[0][0], box["y"] + poly[0][1])
    v.page.mouse.down()
    for x, y in poly[1:] + poly[:1]:
        v.page.mouse.move(box["x"] + x, box["y"] + y, steps=6)
    v.page.mouse.up()
    v.page.wait_for_function("window.cellucid.state().selection_source === 'lasso'")
    return np.array(sorted(v.state()["selected"]))


def test_sample_first_then_every_cell_and_the_same_lasso(browser, big):
    srv, adata = big
    prog = _open(browser, srv, f"first_cells={FIRST}&chunk_cells={CHUNK}")
    whole = None
    try:
        draws = prog.js("window.__draws")
        # the first frame: drawn from the sample alone (every 10th cell), not from every cell
        assert draws and draws[0]["loaded"] == N // 10, draws[:3]
        # what was fetched before it: the sample's coordinates and colors, never the whole
        fetched = prog.js("""(t) => performance.getEntriesByType('resource')
            .filter((e) => e.responseEnd <= t && e.name.includes('/_cellucid/api/'))
            .map((e) => ({ url: e.name, bytes: e.decodedBodySize }))""", draws[0]["t"])
        emb = [f for f in fetched if "/api/embedding" in f["url"]]
        assert emb and all("step=10" in f["url"] for f in emb), fetched
        assert sum(f["bytes"] for f in fetched) < 4 * N // 5, fetched  # < half the 2D coordinates
        _wait_all_loaded(prog)

        whole = _open(browser, srv, "first_cells=0")
        _wait_all_loaded(whole)
        assert whole.js("window.__draws")[0]["loaded"] == N  # loaded at once: the reference
        # every cell drawn, with its own colors: the same picture as loading all at once
        a, b = prog.pixels(), whole.pixels()
        assert (a != a[0, 0]).any(axis=2).sum() > 10_000  # (a picture with many points in it)
        assert np.array_equal(a, b), f"{(a != b).any(axis=2).sum()} pixels differ"

        box = prog.canvas_box()
        w, h = box["width"], box["height"]
        # a non-convex polygon over the middle of the view (clear of the panels at the edges)
        poly = [(0.30 * w, 0.25 * h), (0.55 * w, 0.40 * h), (0.75 * w, 0.20 * h), (0.70 * w, 0.75 * h),
                (0.45 * w, 0.55 * h), (0.25 * w, 0.80 * h)]
        poly = [(round(x), round(y)) for x, y in poly]
        got_prog, got_whole = _lasso(prog, poly), _lasso(whole, poly)
        assert np.array_equal(got_prog, got_whole)
        # and they are the cells inside, as Python computes them from the file
        xy = default_projection_2d(np.asarray(adata.obsm["X_umap"], dtype=np.float64), w, h)
        path = MplPath(np.array(poly + poly[:1], dtype=float))
        inside = path.contains_points(xy)
        edge = path.contains_points(xy, radius=2.0) != path.contains_points(xy, radius=-2.0)
        sel = np.zeros(N, bool)
        sel[got_prog] = True
        assert inside.sum() > 5_000
        assert not ((sel != inside) & ~edge).any()
        assert not prog.errors and not whole.errors
    finally:
        prog.page.close()
        if whole is not None:
            whole.page.close()
