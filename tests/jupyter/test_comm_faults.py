"""The comm transport under the faults a notebook user meets, in a real JupyterLab:
``transport="comm"`` forced (no request to any data port at all), answers cut into many
small parts (``PART_BYTES`` lowered in the kernel), the same viewer shown in two outputs,
a kernel busy running a cell (the widget says so, then carries on), the page reloaded (the
output renders again from the kernel's model), and the kernel restarted (the widget says
so; nothing hangs)."""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import time

import pytest
from jupyter_harness import JupyterServer, chromium, open_notebook, output_matching, run_cell, write_notebook
from test_comm_transport import canvas_rgb, colour_pixels, watch_data_servers

pytestmark = [pytest.mark.jupyter, pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]

N = 20_000
CELLS = [
    # answers in parts of 16 KiB: the 80 KB embedding alone takes 5 messages
    "import asyncio, json, os, time\nimport cellucid\nimport cellucid.widget.comm_transport as ct\n"
    "from cellucid.data.demo import demo_anndata\nct.PART_BYTES = 16 * 1024\n"
    f"adata = demo_anndata({N})",
    "viewer = cellucid.show_anndata(adata, height=420, quiet=True, transport='comm')",
    "await asyncio.sleep(0.5)\nprint('INFO', json.dumps({'transport': viewer.transport, "
    "'status': viewer.status, 'port': viewer.server.port, 'selection': len(viewer.selection), 'pid': os.getpid()}))",
    "viewer",
]


def srcdoc_frames(page, n: int, timeout: float = 120):
    """The first ``n`` viewers written into outputs, once each has drawn."""
    iframes = page.locator("iframe[title='cellucid viewer']")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and iframes.count() < n:
        time.sleep(0.2)
    assert iframes.count() >= n, f"expected {n} viewers in outputs; frames: {[f.url for f in page.frames]}"
    frames = []
    for i in range(n):
        iframes.nth(i).scroll_into_view_if_needed()
        # written into the output (srcdoc), not loaded from the data server
        assert not (iframes.nth(i).get_attribute("src") or "").startswith("http")
        f = iframes.nth(i).element_handle().content_frame()
        f.wait_for_selector('body[data-ready="1"]', state="attached", timeout=timeout * 1000)
        frames.append(f)
    return frames


def info(page, want: str = "", tries: int = 20) -> dict:
    got = {}
    for _ in range(tries):
        run_cell(page, 2)
        got = json.loads(output_matching(page, r"INFO (\{.*\})").group(1))
        if want in json.dumps(got):
            return got
        time.sleep(0.5)
    raise AssertionError(f"INFO never showed {want!r}: {got}")


def hover_a_cell(page, frame) -> None:
    """Move the mouse onto a cell the viewer can pick; its tooltip (fetched from /cells) names it."""
    cell = frame.evaluate("""() => { const c = document.querySelector('[data-testid="canvas"]').getBoundingClientRect();
        for (let i = 0; i < 5000; i++) { const p = window.cellucid.project(i);
          if (p && p.x > c.width * 0.3 && p.x < c.width * 0.7 && window.cellucid.pick(p.x, p.y) === i) return i; }
        return null; }""")
    assert cell is not None
    p = frame.evaluate(f"window.cellucid.project({cell})")
    canvas = frame.evaluate("""() => { const r = document.querySelector('[data-testid="canvas"]').getBoundingClientRect();
                                      return {x: r.left, y: r.top}; }""")
    outer = page.locator("iframe[title='cellucid viewer']").first.bounding_box()
    page.mouse.move(outer["x"] + canvas["x"] + p["x"], outer["y"] + canvas["y"] + p["y"])
    tip = frame.locator(".tooltip")
    tip.wait_for(state="visible", timeout=30_000)
    assert f"cell_{cell}" in tip.inner_text()


def colour_by_gene(frame, gene: str, timeout: float = 60) -> None:
    frame.evaluate(f"() => window.cellucid.setColorBy({gene!r}, 'gene')")
    frame.wait_for_function(f"() => window.cellucid.state().colored_by === {gene!r}", timeout=timeout * 1000)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("comm-faults")
    write_notebook(root / "faults.ipynb", CELLS)
    with JupyterServer(root, app="lab") as server:
        yield server


def test_forced_comm_survives_small_parts_two_outputs_busy_kernel_reload_and_restart(lab):
    with chromium() as new_page:
        page = new_page()
        data_requests = watch_data_servers(page, lab.port)
        open_notebook(page, lab, "faults.ipynb")
        run_cell(page, 0)
        run_cell(page, 1)
        (frame,) = srcdoc_frames(page, 1)
        lab.wait_kernels_idle()
        got = info(page, '"status": "ok"')
        assert got["transport"] == "comm"
        assert data_requests == [], "transport='comm' must not touch the data server's port"
        assert not page.locator(".cellucid-transport-note:visible").count()  # forced, not a fallback

        # many small parts: the category colours and a gene colouring still arrive whole
        frame.evaluate("() => window.cellucid.frame()")
        assert colour_pixels(canvas_rgb(frame), "#1f77b4") > 100
        colour_by_gene(frame, "CD3E")
        assert frame.evaluate("() => window.cellucid.state().colored_by") == "CD3E"

        # gene search, a tooltip (a /cells request), the vector field and figure export
        frame.fill("[data-testid=gene-search]", "CD3")
        frame.wait_for_selector("[data-testid=gene-suggestions] li:has-text('CD3E')", timeout=30_000)
        hover_a_cell(page, frame)
        frame.evaluate("() => window.cellucid.setVectors(true)")
        frame.wait_for_function("() => window.cellucid.state().vectors && !window.cellucid.state().vector_problem",
                                timeout=60_000)
        frame.evaluate("() => window.cellucid.setVectors(false)")
        png = base64.b64decode(frame.evaluate("() => window.cellucid.png(1)"))
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000

        # the same viewer in a second output: both draw, a selection in the second reaches Python
        run_cell(page, 3)
        first, second = srcdoc_frames(page, 2)
        lab.wait_kernels_idle()
        second.evaluate("() => window.cellucid.select([2, 4, 6, 8])")
        assert info(page, '"selection": 4')["selection"] == 4
        # both outputs are views of one model: a colouring chosen in one reaches the other
        colour_by_gene(first, "NKG7")
        second.wait_for_function("() => window.cellucid.state().colored_by === 'NKG7'", timeout=60_000)

        # a kernel that cannot answer (frozen here with SIGSTOP; ipykernel 7 answers comm
        # messages even while a cell runs): the request waits, the widget says why, and the
        # answer still comes once the kernel is back
        os.kill(got["pid"], signal.SIGSTOP)
        try:
            first.evaluate("() => { window.cellucid.setColorBy('LYZ', 'gene'); }")
            note = page.locator(".cellucid-transport-note", has_text="waiting for the kernel").first
            note.wait_for(timeout=30_000)
            assert first.evaluate("() => window.cellucid.state().colored_by") != "LYZ"
        finally:
            os.kill(got["pid"], signal.SIGCONT)
        first.wait_for_function("() => window.cellucid.state().colored_by === 'LYZ'", timeout=60_000)
        page.wait_for_function("() => ![...document.querySelectorAll('.cellucid-transport-note')]"
                               ".some(n => /waiting for the kernel/.test(n.textContent))", timeout=20_000)
        assert data_requests == []

        # reload the page: the saved outputs render again from the kernel's live model
        page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
        time.sleep(1.0)
        page.reload()
        page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget", timeout=120_000)
        again = srcdoc_frames(page, 1)[0]
        colour_by_gene(again, "MS4A1")
        again.evaluate("() => window.cellucid.select([1, 3])")
        lab.wait_kernels_idle()
        assert info(page, '"selection": 2')["selection"] == 2

        # restart the kernel: a request now fails with a message instead of waiting forever
        page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()")
        lab.wait_kernels_idle()
        time.sleep(2.0)
        frames = [h.content_frame() for h in page.locator("iframe[title='cellucid viewer']").element_handles()]
        assert frames, "the output stays on the page after a restart"
        frames[0].evaluate("() => { window.cellucid.setColorBy('CD34', 'gene'); }")
        said = page.locator(".cellucid-transport-note", has_text=re.compile("kernel")).first
        said.wait_for(timeout=60_000)
        assert frames[0].evaluate("() => window.cellucid.state().n_cells") == N  # the page still answers
        assert data_requests == []
        page.close()
