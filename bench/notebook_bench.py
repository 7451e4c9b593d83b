"""cellucid in a real JupyterLab (headless Chromium): run the cell → points drawn, and lasso
release → the Python ``on_selection`` callback.

The notebook reads the benchmark's ``.h5ad`` into memory (``anndata.read_h5ad``) and shows it
with ``cellucid.show_anndata``; the widget's iframe is driven with a real mouse. Times cross
from the kernel to the page with this machine's wall clock (``time.time()`` in the kernel and
in this script, ``performance.timeOrigin + performance.now()`` in the page). The JupyterLab
harness is the one the Jupyter tests use (tests/jupyter/jupyter_harness.py).
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "jupyter"))

from browser_bench import drag_half_lasso  # noqa: E402

CELLS = [
    "import json, time\nimport anndata, cellucid\nadata = anndata.read_h5ad({path!r})",
    "t_cell = time.time()\nviewer = cellucid.show_anndata(adata, height=600, quiet=True)\nevents = []\n"
    "viewer.on_selection(lambda e: events.append((time.time(), int(len(e['cells'])))))",
    "json.dump({{'t_cell': t_cell, 'events': events}}, open('events.json', 'w'))",
]
# wall-clock seconds of the viewer's first drawn frame (all points), from its performance mark
FIRST_DRAW = "(performance.timeOrigin + performance.getEntriesByName('cellucid:first-draw')[0].startTime) / 1e3"


def measure(ds, lassos: int = 3, log=print) -> dict:
    """One notebook on ``ds.h5ad``: run-cell → first frame, then ``lassos`` lassos of about
    half the cells (as in the browser benchmark)."""
    from jupyter_harness import JupyterServer, chromium, open_notebook, run_cell, viewer_frame, write_notebook

    root = Path(tempfile.mkdtemp(prefix="cellucid-nb-bench-"))
    write_notebook(root / "bench.ipynb", [c.format(path=str(ds.h5ad)) for c in CELLS])
    settle_s = 1.0 + ds.n_cells / 500_000  # time for a selection to reach the kernel before the next lasso
    with JupyterServer(root) as server, chromium() as new_page:
        page = new_page()
        open_notebook(page, server, "bench.ipynb")
        run_cell(page, 0)
        server.wait_kernels_idle(timeout=600)  # reading the file into memory
        run_cell(page, 1)
        frame = viewer_frame(page, timeout=300)
        first_draw = frame.evaluate(FIRST_DRAW)
        server.wait_kernels_idle()
        box = page.locator("iframe[title='cellucid viewer']").bounding_box()
        releases = []
        for _ in range(lassos):
            # the same half each time, cleared in between (a selection equal to the last one
            # would not change the synced trait, so Python would hear of no new selection)
            releases.append(drag_half_lasso(page, frame, ds.n_cells, offset=(box["x"], box["y"])))
            time.sleep(settle_s)
            frame.evaluate("window.cellucid.select([])")
            time.sleep(settle_s / 2)
        server.wait_kernels_idle()
        run_cell(page, 2)
        server.wait_kernels_idle()
        deadline = time.monotonic() + 30
        while not (root / "events.json").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        got = json.loads((root / "events.json").read_text())
    events = [e for e in got["events"] if e[1] > 0]  # the lassos (not the clearing in between)
    if len(events) != lassos:
        raise RuntimeError(f"{len(events)} selection callbacks for {lassos} lassos: {events}, released at {releases}")
    latencies = [t_cb - t_rel for t_rel, (t_cb, _count) in zip(releases, events)]
    counts = [count for _t, count in events]
    out = {"run_cell_to_first_frame_s": first_draw - got["t_cell"], "lasso_to_python_s": latencies,
           "lasso_counts": counts}
    log(f"    notebook: run cell → first frame {out['run_cell_to_first_frame_s']:.2f} s, lasso → Python "
        + ", ".join(f"{t * 1e3:.0f} ms ({c:,} cells)" for t, c in zip(latencies, counts)))
    out["summary"] = {"run_cell_to_first_frame_s": out["run_cell_to_first_frame_s"],
                      "lasso_to_python_s": statistics.median(latencies),
                      "lasso_count": statistics.median(counts), "lasso_fraction": statistics.median(counts) / ds.n_cells}
    return out
