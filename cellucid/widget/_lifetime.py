"""Who stops a viewer's background server, and when.

Every viewer owns one server. The server must stop when the viewer goes away, whichever
comes first:

- ``viewer.stop()`` / ``viewer.close()``;
- its widget is closed (``viewer.widget.close()``, or the front end closes the comm);
- the viewer is garbage collected — re-running ``viewer = show_anndata(adata)`` rebinds the
  name, the old viewer loses its last reference (the widget only holds it weakly);
- the interpreter exits (``weakref.finalize`` runs its callbacks at exit).

:data:`LIVE` lists viewers whose server is still running (for :func:`stop_all`).
"""

from __future__ import annotations

import logging
import weakref

log = logging.getLogger("cellucid.widget")

LIVE: "weakref.WeakSet" = weakref.WeakSet()


def shutdown(server, widget) -> None:
    """Stop ``server`` and close ``widget``; never raises (runs from finalizers)."""
    try:
        if server is not None:
            server.stop()
    except Exception:  # pragma: no cover - best effort at teardown
        log.debug("stopping cellucid server failed", exc_info=True)
    try:
        if widget is not None and getattr(widget, "comm", None) is not None:
            widget.close()
    except Exception:  # pragma: no cover
        log.debug("closing cellucid widget failed", exc_info=True)


def stop_all() -> int:
    """Stop every live viewer's server in this process; returns how many were stopped."""
    viewers = list(LIVE)
    for v in viewers:
        v.stop()
    return len(viewers)
