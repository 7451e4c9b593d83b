"""The postMessage bridge (docs/http-api.md) between the viewer in an iframe and a host page
on another origin: ready, selection (Uint32Array), host commands, origin + token checks."""

from __future__ import annotations

from urllib.parse import quote

import pytest
import tornado.web
from threaded_app import ThreadedApp

pytestmark = pytest.mark.browser

TOKEN = "tok-123"

HOST_PAGE = """<!doctype html><html><body style="margin:0">
<iframe id="v" src="{src}" style="width:900px;height:600px;border:0"></iframe>
<script>
  window.msgs = [];
  const frame = document.getElementById("v");
  window.addEventListener("message", (e) => {{
    if (e.source !== frame.contentWindow || !e.data || e.data.channel !== "cellucid") return;
    const p = e.data.payload || {{}};
    window.msgs.push({{type: e.data.type, token: e.data.token, origin: e.origin, payload: p,
                       cells: p.cells instanceof Uint32Array ? Array.from(p.cells) : null}});
  }});
  window.send = (type, payload, token) => frame.contentWindow.postMessage(
      {{channel: "cellucid", token: token || "{token}", type, payload}}, "*");
</script></body></html>"""


class HostServer(ThreadedApp):
    """The host page on its own origin (localhost, not the viewer's 127.0.0.1)."""

    def __init__(self, viewer_url_for):
        outer = self

        class Page(tornado.web.RequestHandler):
            def get(self):
                self.write(HOST_PAGE.format(src=viewer_url_for(outer.origin), token=TOKEN))

        super().__init__([(r"/", Page)])
        self.origin = f"http://localhost:{self.port}"  # another origin than the viewer's


@pytest.fixture
def host(browser, server):
    hs = HostServer(lambda origin: f"{server.base_url}?embed=1&token={TOKEN}&parent_origin={quote(origin, safe='')}")
    page = browser.new_page(viewport={"width": 1000, "height": 700})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{hs.origin}/")
    page.wait_for_function("window.msgs.some((m) => m.type === 'ready')", timeout=30000)
    frame = page.frames[1]
    yield page, frame, errors
    page.close()
    hs.stop()


def msgs(page, type_):
    return page.evaluate("(t) => window.msgs.filter((m) => m.type === t)", type_)


def test_ready_message_comes_from_the_viewer_with_the_token(host, server):
    page, frame, errors = host
    (ready,) = msgs(page, "ready")
    assert ready["token"] == TOKEN
    assert ready["origin"] == f"http://127.0.0.1:{server.port}"
    assert ready["payload"]["n_cells"] == frame.evaluate("window.cellucid.state().n_cells")
    assert ready["payload"]["embedding"] == "X_umap" and ready["payload"]["color_by"] == "cell_type"
    assert 2 in ready["payload"]["dimensions"]
    assert errors == []


def test_host_select_round_trips_as_uint32_selection(host):
    page, frame, _ = host
    page.evaluate("window.send('select', {cells: new Uint32Array([5, 1, 99])})")
    page.wait_for_function("window.msgs.some((m) => m.type === 'selection')")
    (sel,) = msgs(page, "selection")
    assert sel["cells"] == [1, 5, 99] and sel["payload"]["source"] == "python"
    assert frame.evaluate("window.cellucid.state().selected") == [1, 5, 99]


def test_messages_with_a_wrong_token_are_ignored(host):
    page, frame, _ = host
    page.evaluate("window.send('select', {cells: new Uint32Array([7])}, 'not-the-token')")
    page.evaluate("window.send('color_by', {name: 'pseudotime'}, 'not-the-token')")
    # a correct message sent afterwards is handled; the wrong ones before it were not
    page.evaluate("window.send('highlight', {cells: new Uint32Array([3, 4]), color: '#00ff00', group: 'g'})")
    frame.wait_for_function("window.cellucid.state().highlight_groups.length === 1")
    s = frame.evaluate("window.cellucid.state()")
    assert s["selection_count"] == 0 and s["color_by"] == "cell_type"
    assert s["highlight_groups"] == [{"name": "g", "color": "#00ff00", "count": 2, "visible": True}]


def test_user_actions_reach_the_host(host):
    page, frame, _ = host
    page.evaluate("window.send('color_by', {name: 'CD3E'})")
    page.wait_for_function("window.msgs.some((m) => m.type === 'state' && m.payload.color_by === 'CD3E')")
    # a click on a cell selects it and is reported as click + selection
    frame.evaluate("window.cellucid.frame()")
    # a cell near the middle of the canvas (clear of the toolbar and legend)
    target = frame.evaluate("""() => {
        const c = document.querySelector('canvas').getBoundingClientRect();
        let best = null, bd = Infinity;
        for (let i = 0; i < window.cellucid.state().n_cells; i++) {
            const p = window.cellucid.project(i);
            const d = Math.hypot(p.x - c.width / 2, p.y - c.height / 2);
            if (d < bd) { bd = d; best = {i, x: p.x + c.left, y: p.y + c.top}; }
        }
        return best;
    }""")
    box = page.locator("iframe").bounding_box()
    page.mouse.click(box["x"] + target["x"], box["y"] + target["y"])
    page.wait_for_function("window.msgs.some((m) => m.type === 'selection' && m.payload.source === 'click')")
    clicked = msgs(page, "click")[-1]["payload"]
    sel = [m for m in msgs(page, "selection") if m["payload"]["source"] == "click"][-1]
    assert clicked["shift"] is False and clicked["cell"] is not None
    assert sel["cells"] == [clicked["cell"]]
    # the picked cell is the one under the pointer (or one drawn at the same spot)
    p = frame.evaluate(f"window.cellucid.project({clicked['cell']})")
    c = frame.evaluate("(() => { const r = document.querySelector('canvas').getBoundingClientRect(); return {x: r.left, y: r.top}; })()")
    assert abs(p["x"] + c["x"] - target["x"]) <= 5 and abs(p["y"] + c["y"] - target["y"]) <= 5
    # hover messages arrive while the pointer moves over cells
    page.mouse.move(box["x"] + target["x"] + 1, box["y"] + target["y"])
    page.wait_for_function("window.msgs.some((m) => m.type === 'hover' && m.payload.cell !== null)")


def test_host_commands_visibility_view_and_highlights(host):
    page, frame, _ = host
    n = frame.evaluate("window.cellucid.state().n_cells")
    page.evaluate("window.send('visibility', {cells: new Uint32Array([0, 1, 2, 3, 4]), visible: false})")
    frame.wait_for_function(f"window.cellucid.state().visible_count === {n - 5}")
    page.evaluate("window.send('visibility', {cells: new Uint32Array([0, 1]), visible: true})")
    frame.wait_for_function(f"window.cellucid.state().visible_count === {n - 3}")
    page.evaluate("window.send('dimension', {dim: 3})")
    page.wait_for_function("window.msgs.some((m) => m.type === 'state' && m.payload.dimension === 3)")
    frame.wait_for_function("window.cellucid.state().camera.dim === 3")
    page.evaluate("window.send('embedding', {key: 'X_tsne'})")  # 2D only: falls back to 2D
    page.wait_for_function("window.msgs.some((m) => m.type === 'state' && m.payload.embedding === 'X_tsne')")
    assert frame.evaluate("window.cellucid.state().dimension") == 2
    # the new embedding's view is set once its coordinates arrive (the reset below returns to it)
    frame.wait_for_function("window.cellucid.state().camera.dim === 2")
    page.evaluate("window.send('highlight', {cells: new Uint32Array([7]), color: '#ff0000'})")
    frame.wait_for_function("window.cellucid.state().highlight_groups.length === 1")
    page.evaluate("window.send('clear_highlights', {})")
    frame.wait_for_function("window.cellucid.state().highlight_groups.length === 0")
    frame.evaluate("window._cam = JSON.stringify(window.cellucid.state().camera)")
    frame.evaluate("window.cellucid.app.camera.pan(50, 20)")
    assert frame.evaluate("JSON.stringify(window.cellucid.state().camera) !== window._cam")
    page.evaluate("window.send('reset_view', {})")
    frame.wait_for_function("JSON.stringify(window.cellucid.state().camera) === window._cam")
