"""A real marimo server (``marimo run``) with a notebook that shows a viewer as a cell's last
expression and reads the selection reactively (``mo.state`` set from ``on_selection``, as
docs/jupyter.md shows). Over HTTP, and with every browser request to the data server's port
refused (the comm transport). At marimo's ~700 px column no two controls overlap."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from jupyter_harness import cellucid_frame, chromium
from jupyter_helpers import free_port
from test_comm_transport import refuse_data_servers
from test_lab_e2e import draw_lasso

pytestmark = [pytest.mark.jupyter, pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"

NOTEBOOK = '''\
import marimo

app = marimo.App()


@app.cell
def _():
    import marimo as mo
    import cellucid
    from cellucid.data.demo import demo_anndata

    viewer = cellucid.show_anndata(demo_anndata(3000), height=480, quiet=True)
    get_selection, set_selection = mo.state(None)
    viewer.on_selection(lambda event: set_selection(event["cells"]))
    viewer
    return get_selection, viewer


@app.cell
def _(get_selection, viewer):
    import json
    cells = get_selection()
    with open({out!r}, "a") as f:
        f.write(json.dumps({{"n": None if cells is None else len(cells), "rows": viewer.selected_obs().shape[0],
                            "transport": viewer.transport}}) + "\\n")
    return


if __name__ == "__main__":
    app.run()
'''

# Every visible control of the stage; pairs whose boxes overlap by more than the 1 px that
# joined buttons of a group share on purpose.
OVERLAPS = """() => {
  const els = [...document.querySelectorAll('.stage button, .stage select, .stage input, .legend, .status')]
    .filter((e) => e.offsetParent !== null);
  const boxes = els.map((e) => ({e, r: e.getBoundingClientRect(), id: e.dataset.testid || e.className}));
  const bad = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i], b = boxes[j];
    if (a.e.contains(b.e) || b.e.contains(a.e)) continue;
    const ix = Math.min(a.r.right, b.r.right) - Math.max(a.r.left, b.r.left);
    const iy = Math.min(a.r.bottom, b.r.bottom) - Math.max(a.r.top, b.r.top);
    if (ix > 1.5 && iy > 1.5) bad.push([a.id, b.id, Math.round(ix), Math.round(iy)]);
  }
  return {bad, n: boxes.length, width: document.documentElement.clientWidth};
}"""


def marimo_run(notebook: Path, port: int, log: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "marimo", "run", str(notebook), "--headless", "--port", str(port),
         "--host", "127.0.0.1", "--no-token"],
        cwd=notebook.parent, stdout=open(log, "wb"), stderr=subprocess.STDOUT,
        env={**os.environ, "MARIMO_SKIP_UPDATE_CHECK": "1"})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"marimo exited: {log.read_text()[-2000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"marimo did not start: {log.read_text()[-2000:]}")


def viewer_frame(page, timeout=90):
    page.wait_for_selector("iframe[title='cellucid viewer']", timeout=timeout * 1000)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fr = cellucid_frame(page)
        if fr is not None:
            fr.wait_for_selector('body[data-ready="1"]', state="attached", timeout=timeout * 1000)
            return fr
        time.sleep(0.2)
    raise AssertionError(f"no viewer frame: {[f.url for f in page.frames]}")


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.parametrize("refused", [False, True], ids=["http", "port-refused"])
def test_marimo_viewer_lasso_reaches_python_reactively(tmp_path, refused):
    out = tmp_path / "selections.jsonl"
    nb = tmp_path / "viewer_app.py"
    nb.write_text(NOTEBOOK.format(out=str(out)))
    port = free_port()
    proc = marimo_run(nb, port, tmp_path / "marimo.log")
    try:
        with chromium(viewport=(1000, 900)) as new_page:
            page = new_page()
            refused_urls = refuse_data_servers(page, port) if refused else []
            page.goto(f"http://127.0.0.1:{port}/")
            frame = viewer_frame(page)
            assert (page.locator("iframe[title='cellucid viewer']").first.get_attribute("srcdoc") is not None) == refused
            if refused:
                assert refused_urls  # the probe tried the port first
            # the dependent cell ran once with no selection
            deadline = time.monotonic() + 30
            while not read_lines(out) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert read_lines(out)[0]["n"] is None

            # marimo's narrow column: no two controls overlap
            layout = frame.evaluate(OVERLAPS)
            assert layout["width"] < 760 and layout["n"] > 10, layout
            assert layout["bad"] == [], layout["bad"]
            if not refused:
                page.locator("iframe[title='cellucid viewer']").screenshot(path=str(DOCS_IMAGES / "marimo-narrow.png"))

            box = frame.evaluate("""() => { const r = document.querySelector('[data-testid="canvas"]').getBoundingClientRect();
                                           return {x: r.left, y: r.top, w: r.width, h: r.height}; }""")
            outer = page.locator("iframe[title='cellucid viewer']").bounding_box()
            frame.click('[data-testid="tool-lasso"]')
            cx, cy = box["w"] / 2, box["h"] / 2
            local = [(cx - 160, cy - 160), (cx + 160, cy - 160), (cx + 160, cy + 160), (cx - 160, cy + 160)]
            draw_lasso(page, local, (outer["x"] + box["x"], outer["y"] + box["y"]))
            frame.wait_for_function("() => window.cellucid.state().selection_count > 0", timeout=20_000)
            n = frame.evaluate("() => window.cellucid.state().selection_count")
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not any(r["n"] == n for r in read_lines(out)):
                time.sleep(0.2)
            last = read_lines(out)[-1]
            assert last == {"n": n, "rows": n, "transport": "comm" if refused else "http"}, read_lines(out)
    finally:
        proc.terminate()
        proc.wait(15)
