"""The Tornado server: turns a :class:`~cellucid.data.base.DataSource` into HTTP.

- :func:`make_app` builds the ``tornado.web.Application`` (routes in ``docs/http-api.md``).
- :class:`ServerRunner` owns the socket, the event-loop thread and shutdown; the CLI,
  ``serve*``, :class:`~cellucid.anndata_server.AnnDataServer` and the widget all use it.
"""

from __future__ import annotations

from cellucid.server.app import make_app
from cellucid.server.runner import ServerRunner
from cellucid.server.settings import ServerSettings

__all__ = ["make_app", "ServerRunner", "ServerSettings"]
