"""The built viewer: ``/`` → ``index.html``, ``/assets/<file>`` → its JS/CSS.

Files are served only from ``cellucid/static/viewer/`` (tornado's StaticFileHandler
refuses paths that resolve outside its root). Without a build, ``/`` answers 503 with
the command that builds it.
"""

from __future__ import annotations

import html
from pathlib import Path

import tornado.web

from cellucid.data.base import NotFound
from cellucid.server.encode import json_bytes
from cellucid.server.handlers.base import BaseHandler, SecureMixin
from cellucid.server.security import analysis_token

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
        page = with_identity(index.read_bytes(), self.state.identity)
        page = with_meta(page, "cellucid-analysis-token", analysis_token(self.state.settings))
        if self.state.annotations is not None:
            page = with_write_token(page, self.state.settings.token)
        self.finish(page)


IDENTITY_MARK = b"<!-- cellucid:identity -->"


def with_identity(page: bytes, identity: dict) -> bytes:
    """The viewer page with the dataset identity inlined at its ``<!-- cellucid:identity -->``
    mark, as ``<script type="application/json" id="cellucid-identity">``: the boot script
    (js/src/boot.js) then asks for the first frame's data as soon as the page is parsed,
    instead of one round trip later (and after whatever holds the page's main thread)."""
    if IDENTITY_MARK not in page:
        return page
    # "<" only occurs inside JSON strings, where \u003c means the same and cannot close the tag
    body = json_bytes(identity).replace(b"<", b"\\u003c")
    return page.replace(IDENTITY_MARK, b'<script type="application/json" id="cellucid-identity">' + body + b"</script>", 1)


def with_write_token(page: bytes, token: str) -> bytes:
    """The page with the server token the annotation panel sends with its POSTs (only with
    an annotation folder). Only this server's own pages can read it: the Host check refuses
    DNS-rebinding names and no CORS header lets another origin read the page."""
    return with_meta(page, "cellucid-write-token", token)


def with_meta(page: bytes, name: str, content: str) -> bytes:
    """The page with ``<meta name=... content=...>`` in its head (tokens the viewer sends:
    the analysis token on every page, the write token with an annotation folder)."""
    tag = b'<meta name="' + name.encode() + b'" content="' + html.escape(content).encode() + b'">'
    return page.replace(b"</head>", tag + b"</head>", 1) if b"</head>" in page else tag + page


def unsafe_asset_path(path: str) -> bool:
    """True for asset paths that are never a viewer file: NUL bytes (they crash
    ``os.path.realpath``), backslashes, absolute paths and ``.``/``..`` segments."""
    return ("\x00" in path or "\\" in path or path.startswith("/")
            or any(part in (".", "..") for part in path.split("/")))


def _no_such_asset() -> NotFound:
    return NotFound("no such viewer file", "The viewer's files are index.html and assets/app.js, app.css.")


class AssetHandler(SecureMixin, tornado.web.StaticFileHandler):
    """Viewer assets with the same Host/token checks and JSON errors as every route.

    Every path that is not a plain file inside ``assets/`` answers the same JSON 404,
    whether it is malformed, escapes the folder (``..``, absolute, a symlink pointing
    outside) or just does not exist, so a probe learns nothing about the file system.
    """

    async def get(self, path: str, include_body: bool = True) -> None:
        if unsafe_asset_path(path):
            raise _no_such_asset()
        await super().get(path, include_body)

    def validate_absolute_path(self, root: str, absolute_path: str) -> str | None:
        try:
            return super().validate_absolute_path(root, absolute_path)
        except tornado.web.HTTPError as exc:
            if exc.status_code in (403, 404):  # outside the root, or not a file
                raise _no_such_asset() from None
            raise

    def set_extra_headers(self, path: str) -> None:
        # Asset names are not content-hashed, so revalidate (cheap: tornado sends ETags).
        self.set_header("Cache-Control", "no-cache")
