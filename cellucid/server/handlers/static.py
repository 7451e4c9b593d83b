"""The built viewer: ``/`` → ``index.html``, ``/assets/<file>`` → its JS/CSS.

Files are served only from ``cellucid/static/viewer/`` (tornado's StaticFileHandler
refuses paths that resolve outside its root). Without a build, ``/`` answers 503 with
the command that builds it.
"""

from __future__ import annotations

import html
from pathlib import Path

import tornado.web

from cellucid.server.handlers.base import BaseHandler, SecureMixin

BUILD_COMMAND = "npm --prefix js ci && npm --prefix js run build"

_NOT_BUILT = """<!doctype html>
<html><head><meta charset="utf-8"><title>cellucid: viewer not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40em; margin: 3em auto">
<h1>The cellucid viewer is not built</h1>
<p>The data server is running ({name}), but the viewer's JavaScript bundle is missing from
<code>{where}</code>. From a source checkout, build it with:</p>
<pre>{command}</pre>
<p>then reload this page. Installed wheels ship the built viewer.</p>
</body></html>
"""


class IndexHandler(BaseHandler):
    """The viewer page; re-read from disk each time so a rebuild shows up on reload."""

    def get(self) -> None:
        viewer_dir: Path = self.state.settings.viewer_dir
        index = viewer_dir / "index.html"
        self.set_header("Cache-Control", "no-cache")
        if not index.is_file():
            self.set_status(503)
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.finish(_NOT_BUILT.format(name=html.escape(self.state.identity["name"]),
                                          where=html.escape(str(viewer_dir)),
                                          command=html.escape(BUILD_COMMAND)))
            return
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(index.read_bytes())


class AssetHandler(SecureMixin, tornado.web.StaticFileHandler):
    """Viewer assets with the same Host/token checks and JSON errors as every route."""

    def set_extra_headers(self, path: str) -> None:
        # Asset names are not content-hashed, so revalidate (cheap: tornado sends ETags).
        self.set_header("Cache-Control", "no-cache")
