"""The thin anywidget class: synced traitlets and message plumbing, nothing else.

User-facing conveniences (callbacks, ``selected_obs()``, server lifetime) live in
:mod:`cellucid.widget.viewer`. The browser half is ``js/widget/index.js``, bundled into
``cellucid/static/widget/widget.js`` by ``js/build.mjs`` (``npm --prefix js run build``).
"""

from __future__ import annotations

import pathlib

import anywidget
import numpy as np
import traitlets as t

from cellucid.widget._codec import INDICES_SERIALIZERS, SESSION_SERIALIZERS, as_indices

_STATIC = pathlib.Path(__file__).resolve().parent.parent / "static" / "widget" / "widget.js"

# Shown instead of a blank cell when the JS bundle was never built (a source checkout).
_NOT_BUILT_ESM = """
export default { render({ el }) {
  el.innerHTML = '<div style="padding:1em;border:1px solid #c00;color:#c00;font-family:sans-serif">'
    + 'cellucid: the widget JavaScript is not built (cellucid/static/widget/widget.js is missing).'
    + '<br>Run <code>npm --prefix js install && npm --prefix js run build</code> in the cellucid '
    + 'source tree, or install cellucid from a wheel.</div>';
} };
"""


class CellucidWidget(anywidget.AnyWidget):
    """The cellucid viewer, bridged to Python: an iframe onto its server, or (comm transport)
    the viewer written into the output with its data sent over this widget's comm.

    Python → viewer: ``highlight`` (+ ``highlight_color``), ``color_by``, ``embedding``,
    ``dimension``, ``layout``, ``link_cameras`` and the one-off commands of :meth:`send_command`
    (``snapshot``, ``remove_view``, …).
    Viewer → Python: ``selection`` (+ ``selection_event``), ``hover``, ``ready``/``ready_info``,
    ``status``, ``session`` (+ ``session_request_id``), and ``click`` / ``session_restored`` /
    ``views`` / ``view_error`` events (custom messages, see :meth:`on_event`).
    """

    _esm = _STATIC if _STATIC.is_file() else _NOT_BUILT_ESM

    # where the iframe points (see cellucid.widget.proxy)
    server_url = t.Unicode("").tag(sync=True)  # direct URL, http://127.0.0.1:<port>/
    server_port = t.Int(0).tag(sync=True)
    proxy_url = t.Unicode("").tag(sync=True)  # "" direct | "auto" | "<base>proxy/<port>/"
    token = t.Unicode("").tag(sync=True)
    height = t.Int(600).tag(sync=True)
    # how the viewer reaches its data: "auto" (HTTP when the browser reaches the server,
    # else the comm), "http" or "comm"; the JS reports the path it took in transport_in_use
    # ("http", "proxy" or "comm"; "" until an output has rendered)
    transport = t.Enum(["auto", "http", "comm"], default_value="auto").tag(sync=True)
    transport_in_use = t.Unicode("").tag(sync=True)
    # What the viewer's first view is chosen from (identity subset, JSON): with the comm, the
    # widget asks for that view's data together with the page, before the page asks
    first_view = t.Unicode("").tag(sync=True)

    # viewer → Python
    selection = t.Any(np.zeros(0, dtype="<u4")).tag(sync=True, **INDICES_SERIALIZERS)
    # bumped by the JS on every selection (seq) so equal consecutive selections still notify
    selection_event = t.Dict({"seq": 0, "source": None}).tag(sync=True)
    hover = t.Int(None, allow_none=True).tag(sync=True)
    ready = t.Bool(False).tag(sync=True)
    ready_info = t.Dict({}).tag(sync=True)
    # The viewer's full session (what its "save" button writes), pushed after every change;
    # selection and highlight-group cells are uint32 arrays carried as binary buffers.
    session = t.Dict({}).tag(sync=True, **SESSION_SERIALIZERS)
    # the request id a pushed session answers ("" for a push after a change)
    session_request_id = t.Unicode("").tag(sync=True)
    # "", "loading", "ok", or "error: <what happened>" — set by the JS
    status = t.Unicode("").tag(sync=True)

    # Python → viewer (and back when the user changes them in the viewer)
    highlight = t.Any(np.zeros(0, dtype="<u4")).tag(sync=True, **INDICES_SERIALIZERS)
    highlight_color = t.Unicode("#ff0000").tag(sync=True)
    color_by = t.Unicode(None, allow_none=True).tag(sync=True)
    embedding = t.Unicode(None, allow_none=True).tag(sync=True)
    dimension = t.Int(None, allow_none=True).tag(sync=True)
    # views (live + snapshots, cellucid/widget/_views.py): Python sets the layout and linked
    # cameras; the viewer reports all three in a "views" custom message (Viewer._views_reported)
    layout = t.Enum(["single", "grid"], default_value="single").tag(sync=True)
    link_cameras = t.Bool(False).tag(sync=True)
    views = t.List([]).tag(sync=True)

    @t.validate("selection", "highlight")
    def _coerce_indices(self, proposal):
        return as_indices(proposal["value"], name=proposal["trait"].name)

    @t.validate("dimension")
    def _check_dimension(self, proposal):
        v = proposal["value"]
        if v is not None and v not in (1, 2, 3):
            raise t.TraitError(f"dimension must be 1, 2 or 3, got {v!r}")
        return v

    def __init__(self, **kwargs):
        self._event_handlers: list = []
        self._close_handlers: list = []
        super().__init__(**kwargs)
        self.on_msg(self._on_viewer_msg)

    # -- closing ---------------------------------------------------------------------
    def on_close(self, handler) -> None:
        """Call ``handler()`` once when the widget closes, from Python (:meth:`close`) or
        from the front end (comm closed)."""
        self._close_handlers.append(handler)

    def close(self):
        was_open = self.comm is not None
        super().close()
        if was_open:
            self._fire_close()

    @t.observe("comm")
    def _watch_comm(self, change):
        if change["new"] is not None:
            change["new"].on_close(lambda _msg: self._fire_close())

    def _fire_close(self) -> None:
        handlers, self._close_handlers = list(getattr(self, "_close_handlers", [])), []
        for handler in handlers:
            handler()

    # -- custom messages -------------------------------------------------------------
    def send_command(self, cmd: str, payload: dict | None = None, cells: np.ndarray | None = None) -> None:
        """Send a one-off command to every view (``reset_view``, ``clear_highlights``,
        ``visibility`` with ``cells``, ``select`` with ``cells``). ``cells`` travel as a
        binary buffer."""
        content = {"cmd": cmd, "payload": payload or {}}
        buffers = None
        if cells is not None:
            arr = as_indices(cells)
            content["has_cells"] = True
            buffers = [memoryview(arr)]
        self.send(content, buffers=buffers)

    def on_event(self, handler) -> None:
        """Call ``handler(event_name, payload)`` for viewer events sent as custom messages
        (``click``, ``ready``, ``hello``)."""
        self._event_handlers.append(handler)

    def _on_viewer_msg(self, _widget, content, buffers):
        if not isinstance(content, dict) or "event" not in content:
            return
        for handler in list(self._event_handlers):
            handler(content["event"], content.get("payload") or {})
