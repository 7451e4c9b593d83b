"""Widgets in a real JupyterLab (headless Chromium): run the cell → first frame, and a
lasso of about half the cells → the Python selection callback. cellucid
(``cellucid.show_anndata``) against jupyter-scatter (``jscatter.Scatter``, the notebook peer
of ../shared/PEERS.md, installed into its own venv by peers.py and run as that venv's kernel).

Both notebooks read the benchmark's ``.h5ad`` into memory (``anndata.read_h5ad``); cellucid
shows the AnnData, jupyter-scatter a DataFrame of ``X_umap`` colored by ``cell_type`` (what
cellucid shows by default). Both are measured the same way:

- run cell → first frame: from the cell's first line (``time.time()`` in the kernel) to the
  first frame with all points, found as in the browser benchmark (browser_bench.INIT_JS,
  injected into every frame of the Lab page: the animation frame after the first draw of
  ≥ ¼ of the cells — a WebGL draw call, or cellucid's ``cellucid:draw`` mark), as wall-clock
  time (``performance.timeOrigin`` + its time in the page);
- lasso → Python: a rectangle over about half the cells dragged with the mouse, from just
  before the release (``time.time()`` here) to the callback's ``time.time()`` in the kernel.
  A selection equal to the previous one changes no synced trait, so cellucid's selection is
  cleared between lassos and jupyter-scatter's alternates between the left and right half.

The JupyterLab harness is the one the Jupyter tests use (tests/jupyter/jupyter_harness.py).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "jupyter"))

from browser_bench import drag_half_lasso, init_script  # noqa: E402

DUMP = "json.dump({'t_cell': t_cell, 'events': events, 't_hl': globals().get('t_hl')}, open('events.json', 'w'))"


@dataclass
class NotebookTool:
    """How one widget is shown and driven. ``cells``: read the data (``{path}``), then show
    it (sets ``t_cell`` first, records ``events`` of ``(time.time(), n_selected)``)."""

    label: str
    cells: tuple[str, str]
    kernel_python: str | None  # None: this interpreter (Lab's own python3 kernel)
    drawn_in: Callable  # (page) -> the Frame the points are drawn in
    lasso: Callable  # (page, k, n_cells) -> wall-clock time just before the release
    lassos_between: Callable  # (page) -> None, run after each lasso has settled
    after_lassos: Callable | None = None  # (page, run_cell, server, ds) -> dict of more figures


def _cellucid_frame(page):
    from jupyter_harness import viewer_frame

    return viewer_frame(page, timeout=300)


def _cellucid_lasso(page, _k: int, n_cells: int) -> float:
    box = page.locator("iframe[title='cellucid viewer']").bounding_box()
    return drag_half_lasso(page, _cellucid_frame(page), n_cells, offset=(box["x"], box["y"]))


def cellucid_tool(transport: str) -> NotebookTool:
    """cellucid with ``show_anndata(..., transport=transport)`` ("http" or "comm")."""
    way = {"http": "over HTTP", "comm": "over the comm"}[transport]
    return NotebookTool(
        label=f"cellucid {way} (in-memory AnnData, JupyterLab)",
        cells=("import json, time\nimport numpy as np\nimport anndata, cellucid\nadata = anndata.read_h5ad({path!r})",
               "t_cell = time.time()\n"
               f"viewer = cellucid.show_anndata(adata, height=600, quiet=True, transport={transport!r})\nevents = []\n"
               "viewer.on_selection(lambda e: events.append((time.time(), int(len(e['cells'])))))"),
        kernel_python=None,
        drawn_in=_cellucid_frame,
        lasso=_cellucid_lasso,
        lassos_between=lambda page: _cellucid_frame(page).evaluate("window.cellucid.select([])"),
        after_lassos=_cellucid_recolour_and_highlight,
    )


# A cell that highlights every other cell from Python; its time.time() is the start.
HIGHLIGHT_CELL = "t_hl = time.time()\nviewer.highlight_cells(np.arange(0, adata.n_obs, 2), color='#00ff00')"
# The first frame drawn with a highlight group of at least `n` cells, as wall-clock ms.
WATCH_HIGHLIGHT_JS = """(n) => { const app = window.cellucid.app; window.__hl = null;
  const off = app.on("frame", () => {
    if (app.store.get().highlightGroups.some((g) => g.cells.length >= n)) {
      window.__hl = performance.timeOrigin + performance.now(); off(); } }); }"""
# Colour by one gene; resolves with the ms until the first frame drawn in its colours.
RECOLOUR_JS = """async (gene) => { const app = window.cellucid.app; const t0 = performance.now();
  const drawn = new Promise((res) => { const off = app.on("frame", () => {
    if (app.colorColumn && app.colorColumn.name === gene) { off(); res(); } }); });
  app.setColorBy(gene, "gene"); await drawn; return performance.now() - t0; }"""


def _cellucid_recolour_and_highlight(page, run_cell, server, ds) -> dict:
    """Gene recolours in the page (genes not shown before), then ``highlight_cells`` of half
    the cells from Python → the first frame that shows them."""
    frame = _cellucid_frame(page)
    genes = [f"GENE{i:04d}" for i in (101, 503, 907)]
    recolour = [frame.evaluate(RECOLOUR_JS, g) / 1e3 for g in genes]
    frame.evaluate(WATCH_HIGHLIGHT_JS, ds.n_cells // 2)
    run_cell(page, 3)
    frame.wait_for_function("window.__hl !== null", timeout=120_000)
    drawn_at = frame.evaluate("window.__hl") / 1e3
    server.wait_kernels_idle()
    return {"gene_recolour_s": recolour, "highlight_drawn_at": drawn_at}


CELLUCID_HTTP, CELLUCID_COMM = cellucid_tool("http"), cellucid_tool("comm")


def _jscatter_lasso(page, k: int, _n_cells: int) -> float:
    """A rectangle over the left (k even) or right (k odd) half of the plot."""
    box = page.locator(".jp-OutputArea-output canvas").first.bounding_box()
    left = k % 2 == 0
    xa = box["x"] + box["width"] * (0.02 if left else 0.5)
    xb = box["x"] + box["width"] * (0.5 if left else 0.98)
    ya, yb = box["y"] + box["height"] * 0.02, box["y"] + box["height"] * 0.98
    m = page.mouse
    m.move(xa, ya)
    m.down()
    for p in [(xb, ya), (xb, yb), (xa, yb), (xa, ya + 5)]:
        m.move(*p, steps=12)
    released = time.time()
    m.up()
    return released


def jscatter_tool(python: str) -> NotebookTool:
    return NotebookTool(
        label="jupyter-scatter (JupyterLab)",
        cells=("import json, time\nimport anndata, pandas as pd\nimport jscatter\nadata = anndata.read_h5ad({path!r})\n"
               "df = pd.DataFrame(adata.obsm['X_umap'][:, :2], columns=['x', 'y'])\n"
               "df['cell_type'] = adata.obs['cell_type'].values",
               "t_cell = time.time()\n"
               "scatter = jscatter.Scatter(data=df, x='x', y='y', color_by='cell_type', height=600)\n"
               "scatter.mouse('lasso')\nevents = []\n"
               "scatter.widget.observe(lambda c: events.append((time.time(), 0 if c['new'] is None else len(c['new']))),"
               " names=['selection'])\nscatter.show()"),
        kernel_python=python,
        drawn_in=lambda page: page.main_frame,
        lasso=_jscatter_lasso,
        lassos_between=lambda page: None,
    )


def _write_notebook(path: Path, cells: list[str], kernel: str) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": kernel, "display_name": kernel, "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    nbformat.write(nb, str(path))


def _first_frame(frame, timeout: float = 300) -> float:
    """Wall-clock time of the first frame with all points in ``frame`` (INIT_JS's record)."""
    frame.wait_for_function("window.__bench && window.__bench.first !== null", timeout=timeout * 1000)
    return frame.evaluate("(performance.timeOrigin + window.__bench.first) / 1e3")


def measure(tool: NotebookTool, ds, lassos: int = 3, log=print) -> dict:
    """One notebook on ``ds.h5ad``: run the show cell → first frame, then ``lassos``
    lassos of about half the cells → the Python callback."""
    from jupyter_harness import JupyterServer, chromium, open_notebook, run_cell

    root = Path(tempfile.mkdtemp(prefix="cellucid-nb-bench-"))
    env = dict(os.environ)
    kernel = "python3"
    if tool.kernel_python:
        kernel = "bench-peer"
        spec = root / "jupyter-path" / "kernels" / kernel
        spec.mkdir(parents=True)
        (spec / "kernel.json").write_text(json.dumps({
            "argv": [tool.kernel_python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": tool.label, "language": "python"}))
        env["JUPYTER_PATH"] = str(root / "jupyter-path")
    more = [HIGHLIGHT_CELL] if tool.after_lassos else []
    _write_notebook(root / "bench.ipynb", [tool.cells[0].format(path=str(ds.h5ad)), tool.cells[1], DUMP, *more], kernel)
    settle_s = 1.0 + ds.n_cells / 500_000  # for a selection to reach the kernel before the next lasso
    out: dict = {}
    with JupyterServer(root, env=env) as server, chromium() as new_page:
        page = new_page()
        page.context.add_init_script(init_script(ds.n_cells))
        open_notebook(page, server, "bench.ipynb", timeout=600)  # a new venv's kernel may start slowly
        server.wait_kernels_idle(timeout=600)  # and the server agrees before the first cell runs
        run_cell(page, 0)
        server.wait_kernels_idle(timeout=900)  # reading the file into memory
        run_cell(page, 1)
        first = _first_frame(tool.drawn_in(page))
        server.wait_kernels_idle()
        releases = []
        for k in range(lassos):
            releases.append(tool.lasso(page, k, ds.n_cells))
            time.sleep(settle_s)
            tool.lassos_between(page)
            time.sleep(settle_s / 2)
        server.wait_kernels_idle()
        if tool.after_lassos:
            out.update(tool.after_lassos(page, run_cell, server, ds))
        run_cell(page, 2)
        server.wait_kernels_idle()
        deadline = time.monotonic() + 30
        while not (root / "events.json").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        got = json.loads((root / "events.json").read_text())
    events = [e for e in got["events"] if e[1] > 0]  # the lassos (not cellucid's clearing in between)
    if len(events) != lassos:
        raise RuntimeError(f"{len(events)} selection callbacks for {lassos} lassos: {events}, released at {releases}")
    latencies = [t_cb - t_rel for t_rel, (t_cb, _count) in zip(releases, events)]
    counts = [count for _t, count in events]
    out.update(run_cell_to_first_frame_s=first - got["t_cell"], lasso_to_python_s=latencies, lasso_counts=counts)
    log(f"    notebook {tool.label}: run cell → first frame {out['run_cell_to_first_frame_s']:.2f} s, lasso → Python "
        + ", ".join(f"{t * 1e3:.0f} ms ({c:,} cells)" for t, c in zip(latencies, counts)))
    out["summary"] = {"run_cell_to_first_frame_s": out["run_cell_to_first_frame_s"],
                      "lasso_to_python_s": statistics.median(latencies),
                      "lasso_count": statistics.median(counts), "lasso_fraction": statistics.median(counts) / ds.n_cells}
    if "gene_recolour_s" in out:
        out["highlight_half_s"] = out.pop("highlight_drawn_at") - got["t_hl"]
        out["summary"].update(gene_recolour_s=statistics.median(out["gene_recolour_s"]),
                              highlight_half_s=out["highlight_half_s"])
        log(f"    notebook {tool.label}: gene recolour " + ", ".join(f"{t * 1e3:.0f} ms" for t in out["gene_recolour_s"])
            + f"; highlight_cells of {ds.n_cells // 2:,} cells → drawn {out['highlight_half_s'] * 1e3:.0f} ms")
    return out
