"""``viewer.snapshot()``, ``viewer.views``, ``viewer.layout``, ``viewer.remove_view()``,
``viewer.link_cameras``: the viewer's live view plus up to three snapshots side by side
(small multiples), each with its own coloring, embedding and dimension over the same cells.

The browser holds the views (``js/src/state/views.js``); Python asks for changes through the
widget's commands and reads back what the viewer reports in the ``views`` / ``layout``
traitlets (``cellucid/widget/_widget.py``)."""

from __future__ import annotations

import itertools
from typing import Any

MAX_VIEWS = 4  # the live view and three snapshots (a 2 x 2 grid); js/src/state/views.js
LAYOUTS = ("single", "grid")

_ids = itertools.count(1)


class ViewsMixin:
    """Views conveniences of :class:`cellucid.widget.Viewer` (it provides ``self.widget``)."""

    widget: Any

    def _views_reported(self, payload: dict) -> None:
        """The viewer's report of its views (a custom message, see js/widget/index.js)."""
        views = [dict(v) for v in payload.get("views") or [] if isinstance(v, dict)]
        layout = payload.get("layout") if payload.get("layout") in LAYOUTS else "single"
        link = bool(payload.get("link_cameras"))
        # What the page reports is already true in the page: it must not be sent back. A report
        # that crosses a newer `viewer.layout = ...` on the wire would otherwise undo it there
        # (ipywidgets' own guard for changes that come from the front end).
        with self.widget._lock_property(views=views, layout=layout, link_cameras=link), \
                self.widget.hold_trait_notifications():
            self.widget.views = views
            self.widget.layout = layout
            self.widget.link_cameras = link

    @property
    def views(self) -> list[dict]:
        """Every view, the live one first, as the viewer last reported them: dicts with
        ``id``, ``name``, ``embedding``, ``dimension``, ``color_by``, ``color_by_kind``,
        ``colormap``, ``clip`` and ``range``. Empty until the viewer is shown and ready."""
        return [dict(v) for v in (self.widget.views or [])]

    def snapshot(self, name: str | None = None, *, color_by: str | None = None, embedding: str | None = None,
                 dimension: int | None = None) -> str:
        """Freeze the live view into a snapshot beside it and return the snapshot's id.

        Without arguments the snapshot shows what the live view shows now (coloring,
        embedding, dimension, camera); ``color_by`` (an obs field or a gene), ``embedding``
        and ``dimension`` give the snapshot another one. The layout switches to ``"grid"``.
        At most three snapshots fit beside the live view."""
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise TypeError("snapshot(name=...) needs a non-empty string (or no name: 'snapshot N')")
        if color_by is not None and (not isinstance(color_by, str) or not color_by):
            raise TypeError("snapshot(color_by=...) needs an obs field or gene name")
        if dimension is not None and dimension not in (1, 2, 3):
            raise ValueError(f"snapshot(dimension=...) must be 1, 2 or 3, got {dimension!r}")
        known = self.views
        if len(known) >= MAX_VIEWS:
            raise ValueError(f"the viewer already shows {len(known)} views (at most {MAX_VIEWS}): "
                             f"remove one first with viewer.remove_view(id), ids: {[v['id'] for v in known[1:]]}")
        view_id = f"view-py{next(_ids)}"
        payload = {"id": view_id, "name": name, "color_by": color_by, "embedding": embedding, "dimension": dimension}
        self.widget.send_command("snapshot", {k: v for k, v in payload.items() if v is not None})
        return view_id

    def remove_view(self, view_id: str) -> None:
        """Remove the snapshot ``view_id`` (an id from :meth:`snapshot` or :attr:`views`).
        The live view cannot be removed."""
        if view_id == "live":
            raise ValueError("the live view cannot be removed; remove a snapshot (ids in viewer.views)")
        known = self.views
        if known and view_id not in {v["id"] for v in known}:
            raise KeyError(f"no view {view_id!r}; the snapshots are {[v['id'] for v in known[1:]]}")
        self.widget.send_command("remove_view", {"id": view_id})

    @property
    def layout(self) -> str:
        """``"single"`` (the live view alone) or ``"grid"`` (every view side by side); settable."""
        return self.widget.layout

    @layout.setter
    def layout(self, value: str) -> None:
        if value not in LAYOUTS:
            raise ValueError(f"layout must be 'single' or 'grid', got {value!r}")
        # A command, in order with snapshot / remove_view (the page's reports update the
        # trait without echoing it, see _views_reported), and the trait for a page shown later.
        self.widget.layout = value
        self.widget.send_command("layout", {"layout": value})

    @property
    def link_cameras(self) -> bool:
        """Whether panning / zooming / orbiting one view moves the others (same dimension); settable."""
        return self.widget.link_cameras

    @link_cameras.setter
    def link_cameras(self, on: bool) -> None:
        # like `layout`: a command in order with the others, so a crossing report cannot undo it
        self.widget.link_cameras = bool(on)
        self.widget.send_command("link_cameras", {"on": bool(on)})
