"""The user-facing notebook viewer: a widget plus the background server it owns.

``show_anndata(adata)`` returns a :class:`Viewer`. It displays itself, exposes the current
selection as a numpy array and as ``obs`` rows, runs your callbacks on viewer events, and
sends highlights / colouring / visibility commands to the viewer.

About waiting: a Jupyter kernel handles widget messages *between* cells (and, with
ipykernel ≥ 7, while a cell is suspended in ``await``). A synchronous wait inside the
cell that displayed the viewer would block the very messages it waits for, so
:meth:`Viewer.wait_for_ready` never blocks inside a running notebook cell: it answers
at once there (and warns how to wait instead). Use ``await viewer.ready()`` in that cell,
or call ``wait_for_ready`` in a later cell / from another thread, where it does block.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
import traceback
import warnings
import weakref
from typing import Any, Callable

import numpy as np

from cellucid.data.base import InputError
from cellucid.widget import _lifetime
from cellucid.widget._codec import as_indices
from cellucid.widget._obs import is_anndata, read_obs
from cellucid.widget import _session
from cellucid.widget._views import ViewsMixin
from cellucid.widget._widget import CellucidWidget
from cellucid.widget.comm_transport import CommTransport
from cellucid.widget.proxy import iframe_target

TRANSPORTS = ("auto", "http", "comm")


def first_view_json(identity: dict | None) -> str:
    """The part of ``identity`` the viewer chooses its first view from (js/src/data/startup.js
    ``firstView``), as JSON; "" when unknown."""
    if not identity:
        return ""
    return json.dumps({
        "embeddings": [{"key": e["key"], "dimensions": e["dimensions"]} for e in identity.get("embeddings") or []],
        "default_embedding": identity.get("default_embedding"),
        "default_dimension": identity.get("default_dimension"),
        "fields": [{"name": f["name"]} for f in identity.get("fields") or []],
        "default_field": identity.get("default_field"),
    })


def check_transport(transport: str) -> str:
    """``transport`` when it is one of :data:`TRANSPORTS`, else a clear ``ValueError``."""
    if transport not in TRANSPORTS:
        raise ValueError(f"transport must be one of {', '.join(map(repr, TRANSPORTS))}, got {transport!r}: "
                         "'auto' uses HTTP when the browser reaches the server and the notebook's "
                         "connection otherwise")
    return transport

_EVENTS = ("selection", "hover", "click", "ready")
_HEX = "0123456789abcdefABCDEF"


def _check_color(color: str) -> str:
    c = str(color)
    if len(c) == 4 and c[0] == "#" and all(ch in _HEX for ch in c[1:]):
        c = "#" + "".join(ch * 2 for ch in c[1:])
    if not (len(c) == 7 and c[0] == "#" and all(ch in _HEX for ch in c[1:])):
        raise ValueError(f"color must be '#rrggbb' (or '#rgb'), got {color!r}")
    return c.lower()


def _in_running_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _current_execution_count() -> int | None:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return None
    ip = get_ipython()
    return getattr(ip, "execution_count", None) if ip is not None else None


class Viewer(ViewsMixin):
    """A cellucid viewer in a notebook (returned by ``show_anndata`` / ``show``).

    Not usually constructed directly. ``server`` is a started server object with ``url``,
    ``port`` and ``stop()``; the viewer owns it and stops it in :meth:`stop`.
    """

    def __init__(self, server: Any, data: Any = None, *, height: int = 600, color_by: str | None = None,
                 embedding: str | None = None, dimension: int | None = None, proxy: bool | str | None = None,
                 transport: str = "auto"):
        self._server = server
        self._data = data
        self._obs_cache = None
        self._callbacks: dict[str, list[Callable]] = {e: [] for e in _EVENTS}
        self._state: dict[str, Any] = {"selection": None, "hover": None, "click": None, "ready": None,
                                       "session_restored": None}
        self._ready = threading.Event()
        self._stopped = False
        self._auto_displayed_in: int | None = None

        target = iframe_target(server.url, server.port, proxy)
        token = getattr(server, "token", None) or secrets.token_urlsafe(16)
        self.widget = CellucidWidget(
            server_url=target.direct_url,
            server_port=target.port,
            proxy_url=target.proxy_url,
            token=token,
            height=int(height),
            color_by=color_by,
            embedding=embedding,
            dimension=dimension,
            transport=check_transport(transport),
            first_view=first_view_json(getattr(getattr(server, "runner", server), "identity", None)),
        )
        answer = getattr(getattr(server, "runner", server), "answer", None)
        if answer is not None:
            CommTransport(self.widget, answer)
        # The widget lives in ipywidgets' registry; it must not keep this viewer alive,
        # or re-running a cell would never free the old server. So: weak references only.
        ref = weakref.ref(self)

        def _on_selection_event(change, ref=ref):
            v = ref()
            if v is not None:
                v._selection_changed()

        def _on_hover(change, ref=ref):
            v = ref()
            if v is not None:
                v._emit("hover", {"cell": change["new"]})

        def _on_event(name, payload, ref=ref):
            v = ref()
            if v is not None:
                v._viewer_event(name, payload)

        self.widget.observe(_on_selection_event, names="selection_event")
        self.widget.observe(_on_hover, names="hover")
        self.widget.on_event(_on_event)
        def _on_close(ref=ref):
            v = ref()
            if v is not None:
                v.stop()

        self.widget.on_close(_on_close)
        self._finalizer = weakref.finalize(self, _lifetime.shutdown, server, self.widget)
        _lifetime.LIVE.add(self)

    # -- display ---------------------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs):
        # show_anndata() already displayed this viewer in the current cell: when the cell
        # ends with `viewer`, don't draw a second iframe onto the same model.
        if self.widget.comm is None:  # stopped: nothing left to draw
            return {"text/plain": repr(self)}
        count = _current_execution_count()
        if self._auto_displayed_in is not None and count == self._auto_displayed_in:
            return {"text/plain": repr(self)}
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        status = "stopped" if self._stopped else ("ready" if self.is_ready else "starting")
        return f"<cellucid.Viewer {self.url} ({status})>"

    def display(self) -> None:
        """Display the viewer in the current cell output. Returns ``None`` so that, as a
        cell's last line, it does not draw a second copy."""
        from IPython.display import display

        display(self.widget)

    # -- server --------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The server's direct URL (open it in a browser tab for a full-page viewer)."""
        return self.widget.server_url

    @property
    def transport(self) -> str:
        """How the viewer gets its data: ``"http"`` (the server's port), ``"proxy"``
        (through jupyter-server-proxy) or ``"comm"`` (the widget's own connection).

        The path the displayed viewer took, once it has rendered; before that, the path
        it will try first."""
        used = self.widget.transport_in_use
        if used:
            return used
        if self.widget.transport == "comm":
            return "comm"
        return "proxy" if self.widget.proxy_url else "http"

    @property
    def server(self) -> Any:
        """The background server this viewer owns."""
        return self._server

    def stop(self) -> None:
        """Stop the server and close the widget (idempotent). Frees the port and files."""
        if self._stopped:
            return
        self._stopped = True
        _lifetime.LIVE.discard(self)
        self._finalizer()  # runs shutdown(server, widget) once

    close = stop

    def __enter__(self) -> "Viewer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- events from the viewer ------------------------------------------------------
    def _selection_changed(self) -> None:
        cells = np.array(self.widget.selection, dtype=np.uint32, copy=True)
        source = (self.widget.selection_event or {}).get("source")
        self._emit("selection", {"cells": cells, "source": source})

    def _viewer_event(self, name: str, payload: dict) -> None:
        if name == "ready":
            info = {"n_cells": payload.get("n_cells"), "dimensions": list(payload.get("dimensions") or [])}
            self._ready.set()
            self._emit("ready", info)
        elif name == "session_restored":
            info = {"ok": bool(payload.get("ok")), "error": payload.get("error"), "hint": payload.get("hint"),
                    "request_id": payload.get("request_id")}
            self._state["session_restored"] = info
            if not info["ok"]:
                # Arrives between cells: a warning (shown in the running cell's output or the
                # log) rather than an exception nobody could catch.
                warnings.warn(f"cellucid: the viewer did not restore the session: {info['error']}"
                              + (f" (hint: {info['hint']})" if info["hint"] else ""), stacklevel=2)
        elif name == "views":
            self._views_reported(payload)
        elif name == "view_error":
            warnings.warn(f"cellucid: the viewer refused a views command: {payload.get('message')}", stacklevel=2)
        elif name == "click":
            self._emit("click", {"cell": payload.get("cell"), "shift": bool(payload.get("shift")),
                                 "ctrl": bool(payload.get("ctrl"))})

    def _emit(self, event: str, payload: dict) -> None:
        self._state[event] = payload
        for cb in list(self._callbacks[event]):
            try:
                cb(payload)
            except Exception:
                # A broken callback must not break the widget or the other callbacks.
                traceback.print_exc()

    def _register(self, event: str, callback: Callable | None):
        def add(cb: Callable) -> Callable:
            if not callable(cb):
                raise TypeError(f"on_{event} needs a callable, got {type(cb).__name__}")
            self._callbacks[event].append(cb)
            return cb

        return add if callback is None else add(callback)

    def on_selection(self, callback: Callable | None = None):
        """Register ``callback({"cells": np.ndarray[uint32], "source": str})`` for every new
        selection (source: ``lasso``, ``click``, ``filter``, ``clear``, ``python``). Usable as
        a decorator; several callbacks may be registered."""
        return self._register("selection", callback)

    def on_hover(self, callback: Callable | None = None):
        """Register ``callback({"cell": int | None})`` for the cell under the pointer
        (throttled by the viewer to at most 20 calls per second)."""
        return self._register("hover", callback)

    def on_click(self, callback: Callable | None = None):
        """Register ``callback({"cell": int | None, "shift": bool, "ctrl": bool})``."""
        return self._register("click", callback)

    def on_ready(self, callback: Callable | None = None):
        """Register ``callback({"n_cells": int, "dimensions": [int, ...]})``, called when the
        viewer has loaded. Registered after the viewer is ready: called at once too."""

        def add(cb: Callable) -> Callable:
            self._register("ready", cb)
            if self.is_ready and self._state["ready"] is not None:
                cb(self._state["ready"])
            return cb

        return add if callback is None else add(callback)

    def remove_callback(self, callback: Callable) -> bool:
        """Unregister ``callback`` from every event; returns whether it was registered."""
        found = False
        for lst in self._callbacks.values():
            while callback in lst:
                lst.remove(callback)
                found = True
        return found

    # -- selection -------------------------------------------------------------------
    @property
    def selection(self) -> np.ndarray:
        """Positions (0-based, ``uint32``) of the currently selected cells."""
        return np.array(self.widget.selection, dtype=np.uint32, copy=True)

    @selection.setter
    def selection(self, indices) -> None:
        self.select(indices)

    def select(self, indices) -> None:
        """Make ``indices`` (positions or a boolean mask) the viewer's selection."""
        cells = as_indices(indices, self.n_cells, "selection")
        self.widget.send_command("select", {}, cells)

    def _obs(self):
        if self._obs_cache is None:
            self._obs_cache = read_obs(self._data, getattr(self._server, "source", None))
        return self._obs_cache

    # -- annotation (show_anndata(..., annotations=DIR); docs/annotation.md) ---------
    def _annotation_folder(self):
        folder = getattr(self._server, "annotations", None)
        if folder is None:
            raise InputError("this viewer has no annotation folder",
                             "Show the data with show_anndata(adata, annotations='labels/').")
        return folder

    @property
    def annotations(self):
        """The annotation folder's votes, one row per vote (field, category or set, label,
        annotator, votes, note, confidence, time, status, consensus): a pandas DataFrame."""
        from cellucid.annotation import annotations

        return annotations(self._annotation_folder())

    def consensus(self):
        """The consensus label of every cell: a categorical Series indexed like ``obs``."""
        from cellucid.annotation import consensus

        return consensus(self._annotation_folder(), self._obs())

    def selected_obs(self):
        """``obs`` rows of the selected cells: ``adata.obs.iloc[viewer.selection]``
        (a pandas DataFrame; empty with all columns when nothing is selected)."""
        return self._obs().iloc[self.selection.astype(np.int64)]

    @property
    def n_cells(self) -> int | None:
        """Number of cells (from the data, or from the viewer once ready)."""
        if is_anndata(self._data):
            return int(self._data.n_obs)
        source = getattr(self._server, "source", None)
        if source is not None:
            return int(source.summary().n_cells)
        info = self.widget.ready_info or {}
        return int(info["n_cells"]) if info.get("n_cells") is not None else None

    # -- commands to the viewer ------------------------------------------------------
    def highlight_cells(self, indices, color: str = "#ff0000") -> None:
        """Draw ``indices`` (positions or a boolean mask) emphasized in ``color``
        (``#rrggbb``). Replaces the previous highlight."""
        cells = as_indices(indices, self.n_cells, "highlight_cells")
        col = _check_color(color)
        with self.widget.hold_sync():
            self.widget.highlight_color = col
            self.widget.highlight = cells

    def clear_highlights(self) -> None:
        """Remove every highlight."""
        self.widget.highlight = np.zeros(0, dtype="<u4")
        self.widget.send_command("clear_highlights")

    @property
    def highlight(self) -> np.ndarray:
        """Positions of the highlighted cells (set with :meth:`highlight_cells`)."""
        return np.array(self.widget.highlight, dtype=np.uint32, copy=True)

    def set_color_by(self, name: str) -> "Viewer":
        """Color the cells by an obs field or a gene (by name); returns ``self``."""
        if not isinstance(name, str) or not name:
            raise TypeError("set_color_by() needs a field or gene name (a non-empty string)")
        self.widget.color_by = name
        return self

    @property
    def color_by(self) -> str | None:
        """The field or gene the cells are colored by (settable); ``None`` while they are
        colored by something a name cannot bring back (a signature score from the Analysis panel)."""
        return self.widget.color_by

    @color_by.setter
    def color_by(self, name: str) -> None:
        self.set_color_by(name)

    @property
    def embedding(self) -> str | None:
        """The obsm key shown (settable, e.g. ``"X_umap"``)."""
        return self.widget.embedding

    @embedding.setter
    def embedding(self, key: str) -> None:
        self.widget.embedding = key

    @property
    def dimension(self) -> int | None:
        """1, 2 or 3 (settable)."""
        return self.widget.dimension

    @dimension.setter
    def dimension(self, dim: int) -> None:
        self.widget.dimension = dim

    @property
    def height(self) -> int:
        """Widget height in pixels (settable)."""
        return self.widget.height

    @height.setter
    def height(self, px: int) -> None:
        self.widget.height = int(px)

    def set_visibility(self, indices, visible: bool = True) -> None:
        """Show (``visible=True``) or hide the cells at ``indices``."""
        cells = as_indices(indices, self.n_cells, "set_visibility")
        self.widget.send_command("visibility", {"visible": bool(visible)}, cells)

    def reset_view(self) -> None:
        """Reset the camera to show all cells."""
        self.widget.send_command("reset_view")

    # -- sessions and highlight groups ------------------------------------------------
    def session(self) -> dict:
        """The viewer's current session as a JSON-ready dict: dataset id and name, embedding,
        dimension, camera, coloring, color map and range, filters, selection, highlight
        groups and their pages (the same object the viewer's "save" button writes).

        The viewer pushes it to Python after every change, so this answers at once, from the
        last push. Raises :class:`~cellucid.widget._session.SessionError` if the viewer has
        not reported one yet (not displayed, or not loaded: ``await viewer.ready()``).
        """
        current = self.widget.session
        if not current:
            raise _session.SessionError(
                "the viewer has not reported its session yet",
                "display the viewer and wait until it has loaded (`await viewer.ready()`), then try again",
            )
        return _session.to_jsonable(current)

    def save_session(self, path) -> str:
        """Write the viewer's current session (:meth:`session`) to ``path`` as JSON; returns
        the path. The file loads back with :meth:`load_session` or the viewer's "load"."""
        return _session.write_session(self.session(), path)

    def load_session(self, session) -> None:
        """Restore a session in the viewer: ``session`` is a path to a session file (from
        :meth:`save_session` or the viewer's "save") or a session dict.

        A session saved for another dataset is refused: here, with a
        :class:`~cellucid.widget._session.SessionError`, when the viewer has already told
        Python its dataset id; otherwise the viewer refuses it (it keeps its state) and
        Python gets a ``UserWarning`` and ``viewer.state["session_restored"]`` =
        ``{"ok": False, "error": ..., "hint": ...}`` once the answer arrives. The restored
        coloring, embedding and dimension flow back into ``color_by`` etc. as usual.
        """
        if isinstance(session, dict):
            o = session
            _session.check_session(o)
        else:
            o = _session.read_session(session)
        current = self.widget.session or {}
        dataset_id = current.get("dataset_id") or (self.widget.ready_info or {}).get("dataset_id")
        _session.check_same_dataset(o, dataset_id, current.get("dataset_name"))
        self._state["session_restored"] = None
        self.widget.send_command("set_session", {"session": _session.to_jsonable(o), "request_id": secrets.token_hex(6)})

    async def fetch_session(self, timeout: float = 10.0) -> dict:
        """``await viewer.fetch_session()``: ask the viewer for its session now and wait for
        the answer (rarely needed: :meth:`session` already holds the last pushed one)."""
        rid = secrets.token_hex(6)
        self.widget.send_command("get_session", {"request_id": rid})
        deadline = time.monotonic() + timeout
        while self.widget.session_request_id != rid and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if self.widget.session_request_id != rid:
            raise _session.SessionError(f"the viewer did not send its session within {timeout} s",
                                        "check that the viewer is displayed and loaded (viewer.status)")
        return self.session()

    @property
    def groups(self) -> dict[str, dict[str, np.ndarray]]:
        """Highlight groups as ``{page name: {group name: uint32 cell positions}}`` (from
        the last pushed session; ``{}`` before the viewer has loaded). Two groups with one
        name on one page: the later ones get `` (2)``, `` (3)`` …"""
        return _session.groups_from_session(self.widget.session or {})

    def groups_to_obs(self, prefix: str = "group_"):
        """Highlight groups as boolean columns, ``True`` for member cells.

        Returns a new DataFrame with only the group columns, indexed like ``obs`` (so
        ``adata.obs = adata.obs.join(viewer.groups_to_obs())`` adds them; ``adata`` is not
        modified here). Columns are ``<prefix><group name>``, or
        ``<prefix><page name>/<group name>`` when groups on different pages share a name.
        No groups yet (or no browser attached) → a frame with the obs index and no columns.
        """
        if self._data is None:  # no obs to read (a bare server object): positions as the index
            import pandas as pd

            index = pd.RangeIndex(self.n_cells or 0)
        else:
            index = self._obs().index
        return _session.groups_frame(self.groups, index, prefix=prefix)

    # -- analysis ----------------------------------------------------------------------
    def rank_genes(self, group: Any = "selection", reference: Any = "rest", method: str = "t-test",
                   groupby: str | None = None, **kwargs: Any):
        """Differential expression of ``group`` against ``reference`` (all genes, a pandas
        DataFrame; see :func:`cellucid.rank_genes`). Besides categories of ``groupby``,
        masks and positions, ``group`` / ``reference`` may be ``"selection"``,
        ``"highlight"`` or a highlight group's name (``"name"`` or ``"page/name"``)."""
        from cellucid.widget import _analysis

        return _analysis.rank_genes(self, group, reference, method, groupby, **kwargs)

    def markers(self, groupby: str | None = None, method: str = "t-test", n_genes: int | None = None, **kwargs: Any):
        """Marker genes of every category of ``groupby`` (default: the field the viewer is
        coloured by); see :func:`cellucid.markers`."""
        from cellucid.widget import _analysis

        return _analysis.markers(self, groupby, method, n_genes, **kwargs)

    # -- readiness -------------------------------------------------------------------
    @property
    def is_ready(self) -> bool:
        """Whether the viewer in the browser has loaded the data and said so."""
        return self._ready.is_set()

    def wait_for_ready(self, timeout: float = 30.0) -> bool:
        """Block until the viewer is ready, up to ``timeout`` seconds; returns ``is_ready``.

        Inside a running notebook cell this cannot block (the kernel delivers widget
        messages only between cells or while a cell awaits), so there it returns at once,
        with a warning if the viewer is not ready yet — use ``await viewer.ready()``
        instead, or call this in a later cell. From a plain script or another thread it
        waits.
        """
        if self._ready.is_set():
            return True
        if threading.current_thread() is threading.main_thread() and _in_running_loop_or_kernel():
            warnings.warn(
                "cellucid: the viewer is not ready yet, and a notebook cell cannot block-wait for it "
                "(widget messages arrive between cells). Use `await viewer.ready()` in this cell, "
                "or call wait_for_ready() in a later cell.",
                stacklevel=2,
            )
            return False
        return self._ready.wait(timeout)

    async def ready(self, timeout: float = 30.0) -> bool:
        """``await viewer.ready()``: wait (without blocking the kernel) until the viewer is
        ready, up to ``timeout`` seconds; returns ``is_ready``."""
        deadline = time.monotonic() + timeout
        while not self._ready.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return self._ready.is_set()

    @property
    def state(self) -> dict:
        """The last events and current settings: ``selection`` (``{cells, source}``),
        ``hover``, ``click``, ``ready`` payloads (``None`` until they happen), plus
        ``color_by``, ``embedding``, ``dimension``."""
        return {
            **self._state,
            "color_by": self.widget.color_by,
            "embedding": self.widget.embedding,
            "dimension": self.widget.dimension,
        }

    @property
    def status(self) -> str:
        """What the browser side reported: ``"loading"``, ``"ok"``, ``"error: …"`` or ``""``
        (never rendered)."""
        return self.widget.status


def _in_running_loop_or_kernel() -> bool:
    if _in_running_loop():
        return True
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return False
    ip = get_ipython()
    return ip is not None and getattr(ip, "kernel", None) is not None
