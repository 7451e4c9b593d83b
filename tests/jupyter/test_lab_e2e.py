"""End to end in a real JupyterLab / Notebook 7: kernel → widget → iframe viewer → lasso →
selection back in Python, directly and through jupyter-server-proxy; highlight from Python
→ pixels in the iframe; an unreachable server → a clear message instead of a blank box.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import time
from pathlib import Path

import numpy as np
import pytest
from jupyter_harness import (
    JupyterServer,
    chromium,
    open_notebook,
    output_matching,
    run_cell,
    viewer_frame,
    write_notebook,
)
from matplotlib.path import Path as MplPath

pytestmark = [pytest.mark.jupyter, pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]

N_CELLS = 3000

SETUP = """\
import json, time
import numpy as np
import cellucid
from cellucid.data.demo import demo_anndata
{proxy}
adata = demo_anndata({n})
"""

SHOW = """\
viewer = cellucid.show_anndata(adata, height=520, quiet=True)
events = []
hovers = []
viewer.on_hover(lambda e: hovers.append(e["cell"]))
hist = []
viewer.widget.observe(lambda c: hist.append((c["name"], c["new"] if c["name"] != "selection" else len(c["new"]))),
                      names=["dimension", "embedding", "color_by", "selection", "selection_event"])
viewer.on_selection(lambda e: events.append((time.time(), int(len(e["cells"])), e["source"])))
"""

REPORT = """\
sel = viewer.selection
json.dump({"cells": sel.tolist(), "events": events}, open("selection.json", "w"))
print("SEL", len(sel), viewer.selected_obs().shape, viewer.status)
"""

HIGHLIGHT = """\
viewer.highlight_cells(np.arange(0, {n}, 2), color="#00ff00")
print("HIGHLIGHTED")
"""

# Re-running the show cell rebinds `viewer`: the old viewer's server must stop.
RERUN = """\
import gc, socket
old_port = viewer.server.port
viewer = cellucid.show_anndata(adata, height=300, quiet=True)
gc.collect()
with socket.socket() as s:
    print("OLDPORT", "closed" if s.connect_ex(("127.0.0.1", old_port)) else "open", viewer.server.port != old_port)
"""


COMMANDS = """\
viewer.set_color_by("n_counts")
viewer.set_visibility(np.arange(0, {n}, 3), False)
viewer.dimension = 3
viewer.select([5, 6, 7])
print("COMMANDS")
"""

READ_STATE = """\
import asyncio
await asyncio.sleep(1.0)  # ipykernel >= 7 handles widget messages still in flight meanwhile
print("STATE", viewer.embedding, viewer.color_by, viewer.dimension, len(viewer.selection), viewer.state["selection"]["source"])
print("HISTORY", hist)
"""


BIG = """\
import asyncio
await asyncio.sleep(1.0)
big = viewer.selection
print("BIG", len(big), big.dtype, int(big.astype(np.int64).sum()), int(big[-1]), viewer.state["selection"]["source"])
"""


POINTER = """\
import asyncio
await asyncio.sleep(1.0)
print("POINTER", json.dumps({"hovered": [c for c in hovers if c is not None], "click": viewer.state["click"]}))
"""


def make_notebook(root, proxy: bool = False, n: int = N_CELLS):
    return write_notebook(
        root / "e2e.ipynb",
        [
            SETUP.format(proxy="cellucid.set_proxy(True)" if proxy else "", n=n),
            SHOW,
            REPORT,
            HIGHLIGHT.format(n=n),
            RERUN,
            COMMANDS.format(n=n),
            READ_STATE,
            BIG,
            POINTER,
        ],
    )


def lasso_polygon(frame, page):
    """A hexagon around the middle of the canvas, in canvas px and in page px."""
    box = frame.evaluate("""() => { const r = document.querySelector('[data-testid="canvas"]').getBoundingClientRect();
                                   return {x: r.left, y: r.top, w: r.width, h: r.height}; }""")
    iframe_box = page.locator("iframe[title='cellucid viewer']").bounding_box()
    cx, cy = box["w"] * 0.5, box["h"] * 0.5
    rx, ry = box["w"] * 0.22, box["h"] * 0.3
    angles = np.linspace(0, 2 * np.pi, 7)[:-1] + 0.3
    local = [(cx + rx * np.cos(a), cy + ry * np.sin(a)) for a in angles]
    offset = (iframe_box["x"] + box["x"], iframe_box["y"] + box["y"])
    return local, offset


def draw_lasso(page, local, offset):
    pts = [(x + offset[0], y + offset[1]) for x, y in local]
    page.mouse.move(*pts[0])
    page.mouse.down()
    for p in pts[1:] + pts[:1]:
        page.mouse.move(*p, steps=12)
    t_release = time.time()
    page.mouse.up()
    return t_release


def expected_cells(frame, local, margin=2.0):
    """Cells clearly inside, and cells inside or within ``margin`` px of the lasso's edge."""
    pos = frame.evaluate(f"() => window.cellucid.projectMany(Array.from({{length: {N_CELLS}}}, (_, i) => i))")
    xy = np.array([[p["x"], p["y"]] if p else [np.nan, np.nan] for p in pos])
    inside = MplPath(np.array(local)).contains_points(xy)
    a = np.array(local)
    b = np.roll(a, -1, axis=0)
    ab = b - a  # distance from every cell to every edge segment
    t = np.clip(((xy[:, None, :] - a) * ab).sum(-1) / (ab * ab).sum(-1), 0, 1)
    nearest = a + t[..., None] * ab
    near = (np.linalg.norm(xy[:, None, :] - nearest, axis=-1).min(axis=1) < margin)
    return set(np.flatnonzero(inside & ~near).tolist()), set(np.flatnonzero(inside | near).tolist())


def green_pixels(frame) -> int:
    from PIL import Image

    png = frame.locator('[data-testid="canvas"]').screenshot()
    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    r, g, b = img[..., 0], img[..., 1], img[..., 2]
    return int(((g > 180) & (r < 90) & (b < 90)).sum())


@pytest.fixture(scope="module")
def new_page():
    with chromium() as opener:
        yield opener


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory):
    """One Lab and (lazily) one Notebook 7 server for the whole module: starting one is slow."""
    root = tmp_path_factory.mktemp("jupyter-root")
    servers = {}

    def get(app):
        if app not in servers:
            servers[app] = JupyterServer(root, app=app).__enter__()
        return servers[app]

    get.root = root
    yield get
    for server in servers.values():
        server.__exit__(None, None, None)


@pytest.fixture
def workdir(jupyter, request):
    d = jupyter.root / request.node.name.replace("[", "_").replace("]", "")
    d.mkdir()
    return d


@contextlib.contextmanager
def session(jupyter, new_page, app, notebook_path):
    """A page with ``notebook_path`` (relative to the server root) open and its kernel idle;
    closes the page and shuts the kernels down afterwards (no leaked servers)."""
    server = jupyter(app)
    page = new_page()
    try:
        open_notebook(page, server, notebook_path)
        yield server, page
    finally:
        page.close()
        server.shutdown_kernels()


def shown_viewer(server, page):
    """Run the notebook's first two cells (set-up, show the viewer); the viewer's frame once
    rendered and the kernel idle again."""
    run_cell(page, 0)
    run_cell(page, 1)
    frame = viewer_frame(page)
    server.wait_kernels_idle()
    return frame


@contextlib.contextmanager
def running_viewer(jupyter, new_page, workdir, app="lab", proxy=False):
    """The e2e notebook's viewer shown and rendered; yields (server, page, frame, iframe src)."""
    make_notebook(workdir, proxy=proxy)
    with session(jupyter, new_page, app, f"{workdir.name}/e2e.ipynb") as (server, page):
        frame = shown_viewer(server, page)  # the later cells run when the test says so
        src = page.locator("iframe[title='cellucid viewer']").get_attribute("src")
        yield server, page, frame, src


def forge_selections(page):
    """Messages that must be ignored: from the notebook page itself (not the iframe), with
    the right token and with a wrong one. Were either accepted, the selection would be [1, 2, 3]."""
    page.evaluate(
        """() => {
            const src = document.querySelector("iframe[title='cellucid viewer']").src;
            const token = new URL(src).searchParams.get("token");
            for (const t of [token, "wrong"]) {
                window.postMessage({channel: "cellucid", token: t, type: "selection",
                                    payload: {cells: new Uint32Array([1, 2, 3]), source: "lasso"}}, "*");
            }
        }"""
    )


def lasso_and_read_back(workdir, server, page, frame):
    """Draw a lasso in the iframe, run the report cell, check what Python saw."""
    frame.click('[data-testid="tool-lasso"]')
    local, offset = lasso_polygon(frame, page)
    sure_in, maybe_in = expected_cells(frame, local)
    assert len(sure_in) > 50, "the lasso should cover a good part of the cells"
    t_release = draw_lasso(page, local, offset)
    forge_selections(page)
    # Comm messages reach the kernel between cells; let the selection arrive, then read it.
    time.sleep(1.0)
    server.wait_kernels_idle()
    run_cell(page, 2)
    m = output_matching(page, r"SEL (\d+) \((\d+), (\d+)\) (\S+)")
    got = json.loads((workdir / "selection.json").read_text())
    cells = set(got["cells"])
    assert int(m.group(1)) == len(cells) == len(got["cells"])
    assert int(m.group(2)) == len(cells) and int(m.group(3)) == 7  # selected_obs(): rows × obs columns
    assert m.group(4) == "ok"
    assert sure_in <= cells <= maybe_in
    assert got["events"] and got["events"][-1][1] == len(cells) and got["events"][-1][2] == "lasso"
    print(f"lasso release -> Python callback: {(got['events'][-1][0] - t_release) * 1000:.0f} ms "
          f"({len(cells)} of {N_CELLS} cells)")


def test_lasso_in_jupyterlab_reaches_python_and_highlight_reaches_pixels(jupyter, new_page, workdir):
    with running_viewer(jupyter, new_page, workdir) as (server, page, frame, src):
        assert src.startswith("http://127.0.0.1:") and "embed=1" in src and "parent_origin=" in src
        # the notebook page asks what WebGL runs on (SwiftShader here) and remembers it in its
        # own origin; the viewer (its own origin, new in every notebook) draws on the CPU
        assert "renderer=webgl" not in src
        assert frame.evaluate("() => window.cellucid.state().renderer") == "cpu"
        page.wait_for_function("localStorage.getItem('cellucid:renderer') === 'cpu'", timeout=15000)
        lasso_and_read_back(workdir, server, page, frame)

        # highlight from Python → green pixels in the iframe's canvas
        frame.evaluate("() => window.cellucid.clearSelection()")
        frame.evaluate("() => window.cellucid.frame()")
        before = green_pixels(frame)
        run_cell(page, 3)
        output_matching(page, r"HIGHLIGHTED")
        deadline = time.monotonic() + 20
        after = before
        while time.monotonic() < deadline and after <= before + 200:
            frame.evaluate("() => window.cellucid.frame()")
            after = green_pixels(frame)
        assert after > before + 200, (before, after)

        # a million indices from the iframe through the widget's binary path into numpy
        frame.evaluate(
            """() => {
                const q = new URLSearchParams(location.search);
                const cells = new Uint32Array(1000000).map((_, i) => i);
                window.parent.postMessage({channel: "cellucid", token: q.get("token"), type: "selection",
                                           payload: {cells, source: "filter"}}, q.get("parent_origin"), [cells.buffer]);
            }"""
        )
        run_cell(page, 7)
        output_matching(page, r"BIG 1000000 uint32 499999500000 999999 filter")

        # hover and Shift+click on a cell (pan tool) → on_hover / on_click payloads
        page.locator("iframe[title='cellucid viewer']").scroll_into_view_if_needed()
        frame.click('[data-testid="tool-pan"]')
        local, offset = lasso_polygon(frame, page)
        cell = 42
        p = frame.evaluate(f"() => window.cellucid.project({cell})")
        x, y = p["x"] + offset[0], p["y"] + offset[1]
        page.mouse.move(x - 30, y - 30)
        page.mouse.move(x, y, steps=5)
        time.sleep(0.5)
        page.keyboard.down("Shift")
        page.mouse.click(x, y)
        page.keyboard.up("Shift")
        server.wait_kernels_idle()
        run_cell(page, 8)
        got = json.loads(output_matching(page, r"POINTER (\{.*\})").group(1))
        assert got["click"]["shift"] is True and got["click"]["ctrl"] is False
        assert got["hovered"] and got["click"]["cell"] is not None, got
        for picked in (got["hovered"][-1], got["click"]["cell"]):
            q = frame.evaluate(f"() => window.cellucid.project({picked})")
            assert abs(q["x"] - p["x"]) < 8 and abs(q["y"] - p["y"]) < 8, (picked, q, p)

        # the next viewer of this notebook page is told the remembered renderer up front
        run_cell(page, 1)
        page.wait_for_function(
            """() => [...document.querySelectorAll("iframe[title='cellucid viewer']")]
                       .some((f) => new URL(f.src, location.href).searchParams.get("renderer") === "cpu")""",
            timeout=60_000,
        )


def test_lasso_through_jupyter_server_proxy(jupyter, new_page, workdir):
    with running_viewer(jupyter, new_page, workdir, proxy=True) as (server, page, frame, src):
        assert src.startswith(f"http://127.0.0.1:{server.port}/proxy/"), src
        lasso_and_read_back(workdir, server, page, frame)
        run_cell(page, 4)
        output_matching(page, r"OLDPORT closed True")


def test_lasso_and_commands_in_notebook_7(jupyter, new_page, workdir):
    with running_viewer(jupyter, new_page, workdir, app="notebook") as (server, page, frame, src):
        lasso_and_read_back(workdir, server, page, frame)
        # viewer → Python: the user picks another embedding in the viewer
        frame.select_option('[data-testid="embedding"]', "X_pca")
        # Python → viewer: color, visibility, dimension, selection
        run_cell(page, 5)
        output_matching(page, r"COMMANDS")
        frame.wait_for_function(
            """() => { const s = window.cellucid.state();
                       return s.color_by === 'n_counts' && s.visible_count === 2000 && s.dimension === 3
                              && s.selection_count === 3; }""",
            timeout=30_000,
        )
        server.wait_kernels_idle()
        run_cell(page, 6)
        output_matching(page, r"STATE X_pca n_counts 3 3 python")
        # no flicker back: once Python asked for 3D, the trait never reverted to a stale 2
        history = ast.literal_eval(output_matching(page, r"HISTORY (\[.*\])").group(1))
        dims = [v for name, v in history if name == "dimension"]
        assert dims[dims.index(3):] == [3], dims


def test_unreachable_server_shows_a_clear_message(jupyter, new_page, workdir):
    write_notebook(
        workdir / "dead.ipynb",
        [
            "import cellucid\nfrom cellucid.data.demo import demo_anndata\n"
            # transport="http": never fall back to the comm (which would say the server stopped)
            "viewer = cellucid.show_anndata(demo_anndata(500), display=False, quiet=True, transport='http')\n"
            "viewer.server.stop()  # the iframe has nothing to reach now\n"
            "viewer.display()",
            "print('STATUS', viewer.status)",
        ],
    )
    with session(jupyter, new_page, "lab", f"{workdir.name}/dead.ipynb") as (server, page):
        run_cell(page, 0)
        err = page.locator(".cellucid-widget-error")
        err.wait_for(timeout=60_000)
        text = err.inner_text()
        assert "cannot reach" in text and "jupyter-server-proxy" in text and "set_proxy" in text
        assert "/_cellucid/health" in text and "token=" not in text
        assert page.locator("iframe[title='cellucid viewer']").count() == 0
        # The widget's status reaches the kernel as a comm message, which the kernel handles
        # between cells: on a loaded machine it can land after the next cell started, so ask
        # again (each run lets pending messages in) until it is there.
        pattern = r"STATUS error: cannot reach http://127\.0\.0\.1:\d+/_cellucid/health"
        for attempt in range(12):
            server.wait_kernels_idle()
            run_cell(page, 1)
            try:
                output_matching(page, pattern, timeout=5)
                break
            except AssertionError:
                if attempt == 11:
                    raise


def test_tour_notebook_in_jupyterlab(jupyter, new_page, workdir):
    """The tour, run all in Lab: the viewer renders, no cell fails; a lasso, then re-running
    the read-back cell shows the selected cells."""
    import shutil

    import nbformat

    tour = Path(__file__).resolve().parents[2] / "notebooks" / "tour.ipynb"
    shutil.copy(tour, workdir / "tour.ipynb")
    nb = nbformat.read(tour, as_version=4)
    read_back = next(i for i, c in enumerate(nb.cells) if "viewer.selected_obs()" in c.source and c.cell_type == "code")
    with session(jupyter, new_page, "lab", f"{workdir.name}/tour.ipynb") as (server, page):
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        frame = viewer_frame(page)
        server.wait_kernels_idle(timeout=120)
        output_matching(page, r"cells highlighted")
        texts = page.locator(".jp-OutputArea-output").all_inner_texts()
        assert not [t for t in texts if "Traceback" in t or "Error" in t], texts
        page.locator("iframe[title='cellucid viewer']").scroll_into_view_if_needed()
        frame.click('[data-testid="tool-lasso"]')
        local, offset = lasso_polygon(frame, page)
        draw_lasso(page, local, offset)
        time.sleep(1.0)
        server.wait_kernels_idle()
        run_cell(page, read_back)
        n = int(output_matching(page, r"([1-9]\d*) cells selected").group(1))
        assert n == frame.evaluate("() => window.cellucid.state().selection_count")


def test_two_viewers_in_one_notebook_are_independent(jupyter, new_page, workdir):
    write_notebook(
        workdir / "two.ipynb",
        [
            SETUP.format(proxy="", n=N_CELLS),
            "a = cellucid.show_anndata(adata, height=380, quiet=True)\n"
            "b = cellucid.show_anndata(adata, height=380, quiet=True)",
            "print('TWO', len(a.selection), len(b.selection), a.server.port != b.server.port)",
        ],
    )
    with session(jupyter, new_page, "lab", f"{workdir.name}/two.ipynb") as (server, page):
        run_cell(page, 0)
        run_cell(page, 1)
        iframes = page.locator("iframe[title='cellucid viewer']")
        iframes.nth(1).wait_for(timeout=90_000)
        iframes.nth(1).scroll_into_view_if_needed()
        frame_b = iframes.nth(1).element_handle().content_frame()
        frame_b.wait_for_selector('body[data-ready="1"]', state="attached", timeout=90_000)
        server.wait_kernels_idle()
        frame_b.click('[data-testid="tool-lasso"]')
        box = frame_b.evaluate("""() => { const r = document.querySelector('[data-testid="canvas"]').getBoundingClientRect();
                                       return {x: r.left, y: r.top, w: r.width, h: r.height}; }""")
        outer = iframes.nth(1).bounding_box()
        c = frame_b.evaluate("() => window.cellucid.project(42)")  # a square around a cell: never empty
        local = [(c["x"] + dx, c["y"] + dy) for dx, dy in [(-40, -40), (40, -40), (40, 40), (-40, 40)]]
        draw_lasso(page, local, (outer["x"] + box["x"], outer["y"] + box["y"]))
        frame_b.wait_for_function("() => window.cellucid.state().selection_count > 0", timeout=20_000)
        n_b = frame_b.evaluate("() => window.cellucid.state().selection_count")
        time.sleep(1.0)
        server.wait_kernels_idle()
        run_cell(page, 2)
        output_matching(page, rf"TWO 0 {n_b} True")


GROUP_CELLS = [
    SETUP.format(proxy="", n=N_CELLS),
    "viewer = cellucid.show_anndata(adata, height=520, quiet=True, color_by='cell_type')",
    "print('NOGROUPS', viewer.groups_to_obs().shape[1])",
    "viewer.select(np.arange(0, {n}, 7))\nprint('SELECTED')".format(n=N_CELLS),
    # the pushed session trails the last change by 250 ms: give it time to arrive
    "import asyncio\nawait asyncio.sleep(1.5)\ndf = viewer.groups_to_obs()\n"
    "print('GROUPS', json.dumps({c: int(df[c].sum()) for c in df.columns}), df.shape[0], str(df.dtypes.unique()))",
    "p = viewer.save_session('session.json')\no = json.load(open(p))\n"
    "print('SAVED', o['dataset_id'], o['color_by']['name'], len(o['highlight_groups']), len(o['selection']))",
    "viewer.set_color_by('n_counts')\nprint('RECOLORED')",
    "import asyncio\nawait asyncio.sleep(1.5)\nprint('BEFORE', viewer.state['color_by'])\n"
    "viewer.load_session('session.json')\nprint('LOADED')",
    "import asyncio\nawait asyncio.sleep(1.5)\nprint('AFTER', viewer.state['color_by'], viewer.state['session_restored'])\n"
    "f = await viewer.fetch_session()\nprint('FETCHED', f['color_by']['name'], len(f['selection']), viewer.widget.session_request_id != '')",
]


def test_groups_and_sessions_in_jupyterlab(jupyter, new_page, workdir):
    """Selection from Python → groups saved in the viewer UI on two pages → groups_to_obs
    sums in Python; save_session writes the viewer's session; load_session restores the
    coloring that Python changed meanwhile."""
    write_notebook(workdir / "groups.ipynb", GROUP_CELLS)
    with session(jupyter, new_page, "lab", f"{workdir.name}/groups.ipynb") as (server, page):
        frame = shown_viewer(server, page)
        run_cell(page, 2)
        output_matching(page, r"NOGROUPS 0")
        run_cell(page, 3)
        output_matching(page, r"SELECTED")
        n_first = len(range(0, N_CELLS, 7))
        frame.wait_for_function(f"() => window.cellucid.state().selection_count === {n_first}", timeout=30_000)
        # save the selection as group "tcells" on page 1, through the viewer's own UI
        frame.fill('[data-testid="group-name"]', "tcells")
        frame.click('[data-testid="save-group"]')
        # a second page with another "tcells" (a lasso selection) and a "bcells"
        frame.fill('[data-testid="page-name"]', "second")
        frame.click('[data-testid="add-page"]')
        frame.click('[data-testid="tool-lasso"]')
        local, offset = lasso_polygon(frame, page)
        draw_lasso(page, local, offset)
        frame.wait_for_function(f"() => ![0, {n_first}].includes(window.cellucid.state().selection_count)", timeout=30_000)
        frame.fill('[data-testid="group-name"]', "tcells")
        frame.click('[data-testid="save-group"]')
        frame.evaluate("() => window.cellucid.select([1, 2, 3])")
        frame.fill('[data-testid="group-name"]', "bcells")
        frame.click('[data-testid="save-group"]')
        st = frame.evaluate("() => window.cellucid.state()")
        assert st["groups_by_page"] == {"page 1": ["tcells"], "second": ["tcells", "bcells"]}, st["groups_by_page"]
        counts = [g["count"] for g in st["highlight_groups"]]
        assert counts[0] == n_first and counts[2] == 3 and counts[1] not in (0, n_first)

        time.sleep(1.0)
        server.wait_kernels_idle()
        run_cell(page, 4)
        m = output_matching(page, r"GROUPS (\{.*\}) (\d+) (.*)")
        sums = json.loads(m.group(1))
        assert sums == {"group_page 1/tcells": counts[0], "group_second/tcells": counts[1], "group_bcells": 3}, sums
        assert int(m.group(2)) == N_CELLS and "bool" in m.group(3)

        run_cell(page, 5)
        saved = output_matching(page, r"SAVED (\S+) (\S+) (\d+) (\d+)")
        dataset_id = frame.evaluate("() => window.cellucid.session().dataset_id")
        assert saved.group(1) == dataset_id and saved.group(2) == "cell_type"
        assert int(saved.group(3)) == 3 and int(saved.group(4)) == 3  # groups; the last selection [1, 2, 3]
        on_disk = json.loads((workdir / "session.json").read_text())
        assert on_disk["highlight_groups"][0]["cells"] == list(range(0, N_CELLS, 7))

        run_cell(page, 6)
        output_matching(page, r"RECOLORED")
        frame.wait_for_function("() => window.cellucid.state().color_by === 'n_counts'", timeout=30_000)
        # the viewer's selection changes too, so the restore has more than the color to undo
        frame.evaluate("() => window.cellucid.clearSelection()")
        server.wait_kernels_idle()
        run_cell(page, 7)
        output_matching(page, r"BEFORE n_counts")
        output_matching(page, r"LOADED")
        frame.wait_for_function("() => window.cellucid.state().color_by === 'cell_type'"
                                " && window.cellucid.state().selection_count === 3", timeout=30_000)
        server.wait_kernels_idle()
        run_cell(page, 8)
        output_matching(page, r"AFTER cell_type \{'ok': True")
        output_matching(page, r"FETCHED cell_type 3 True")


def test_a_stopped_server_over_the_comm_says_to_run_the_cell_again(jupyter, new_page, workdir):
    """transport="auto" with the server stopped: the port does not answer, the comm fallback
    gets the server's own refusal, and the widget says what happened and what to do."""
    write_notebook(workdir / "stopped.ipynb", [
        "import cellucid\nfrom cellucid.data.demo import demo_anndata\n"
        "viewer = cellucid.show_anndata(demo_anndata(500), display=False, quiet=True)\n"
        "viewer.server.stop()\nviewer.display()"])
    with session(jupyter, new_page, "lab", f"{workdir.name}/stopped.ipynb") as (_server, page):
        run_cell(page, 0)
        err = page.locator(".cellucid-widget-error")
        err.wait_for(timeout=60_000)
        text = err.inner_text()
        assert "data server has stopped" in text and "Run the cell" in text and '{"error"' not in text, text


def test_another_server_at_the_frames_address_is_not_shown(jupyter, new_page, workdir):
    """transport="auto" and the address the browser would use answers, but with another
    cellucid server (a forwarded or reused port): the probe's token check tells them apart,
    and the viewer shows this kernel's dataset over the comm, not the other one's."""
    write_notebook(workdir / "foreign.ipynb", [
        "import json\nimport cellucid\nfrom cellucid.anndata_server import AnnDataServer\n"
        "from cellucid.data.demo import demo_anndata\n"
        "other = AnnDataServer(demo_anndata(300), port=0, quiet=True).start_background()\n"
        "viewer = cellucid.show_anndata(demo_anndata(500), display=False, quiet=True)\n"
        "viewer.widget.server_url = other.url  # what the browser reaches there is the other server\n"
        "viewer.display()",
        "print('INFO', json.dumps({'transport': viewer.transport, 'other': other.url}))"])
    with session(jupyter, new_page, "lab", f"{workdir.name}/foreign.ipynb") as (server, page):
        run_cell(page, 0)
        frame = viewer_frame(page)
        assert frame.evaluate("() => window.cellucid.state().n_cells") == 500
        note = page.locator(".cellucid-transport-note").inner_text()
        assert "another server answers" in note, note
        server.wait_kernels_idle()
        run_cell(page, 1)
        got = json.loads(output_matching(page, r"INFO (\{.*\})").group(1))
        assert got["transport"] == "comm", got
