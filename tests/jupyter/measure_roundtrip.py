"""Measure lasso release → Python ``on_selection`` callback in a real JupyterLab.

Not a test (no timing assertions in tests): ``python tests/jupyter/measure_roundtrip.py 100000``
prints the time from the mouse-up in Chromium to the kernel-side callback, for each of a few
lassos, plus how many cells each selected. Both clocks are this machine's ``time.time()``.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from jupyter_harness import JupyterServer, chromium, open_notebook, run_cell, viewer_frame, write_notebook  # noqa: E402

CELLS = [
    "import json, time\nimport cellucid\nfrom cellucid.data.demo import demo_anndata\nadata = demo_anndata({n})",
    "viewer = cellucid.show_anndata(adata, height=600, quiet=True)\nevents = []\n"
    "viewer.on_selection(lambda e: events.append((time.time(), int(len(e['cells'])))))",
    "json.dump(events, open('events.json', 'w'))",
]


def main(n: int = 100_000, repeats: int = 5) -> None:
    root = Path(tempfile.mkdtemp(prefix="cellucid-measure-"))
    write_notebook(root / "m.ipynb", [c.format(n=n) for c in CELLS])
    with JupyterServer(root) as server, chromium() as new_page:
        page = new_page()
        open_notebook(page, server, "m.ipynb")
        run_cell(page, 0)
        run_cell(page, 1)
        frame = viewer_frame(page, timeout=180)
        server.wait_kernels_idle()
        frame.click('[data-testid="tool-lasso"]')
        box = page.locator("iframe[title='cellucid viewer']").bounding_box()
        canvas = frame.evaluate("() => { const r = document.querySelector('[data-testid=canvas]').getBoundingClientRect();"
                                " return [r.left, r.top, r.width, r.height]; }")
        x0, y0 = box["x"] + canvas[0], box["y"] + canvas[1]
        releases = []
        for k in range(repeats):
            s = 0.15 + 0.05 * k  # a different square each time
            pts = [(x0 + canvas[2] * a, y0 + canvas[3] * b) for a, b in
                   [(0.5 - s, 0.5 - s), (0.5 + s, 0.5 - s), (0.5 + s, 0.5 + s), (0.5 - s, 0.5 + s), (0.5 - s, 0.5 - s)]]
            page.mouse.move(*pts[0])
            page.mouse.down()
            for p in pts[1:]:
                page.mouse.move(*p, steps=10)
            releases.append(time.time())
            page.mouse.up()
            time.sleep(2.0)
        server.wait_kernels_idle()
        run_cell(page, 2)
        server.wait_kernels_idle()
        time.sleep(1)
        events = json.loads((root / "events.json").read_text())
    for t_rel, (t_cb, count) in zip(releases, events):
        print(f"{n} cells: lasso of {count:>6} cells -> callback after {(t_cb - t_rel) * 1000:6.0f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
