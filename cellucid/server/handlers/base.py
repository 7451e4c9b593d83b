"""Shared handler behaviour: security checks and JSON errors."""

from __future__ import annotations

import logging
from http.client import responses

import tornado.web

from cellucid.data.base import BadParameter, CellucidError, NotFound
from cellucid.server import security
from cellucid.server.encode import json_bytes
from cellucid.server.state import ServerState
from cellucid.server.watch import DataChanged

log = logging.getLogger("cellucid.server")


def error_status(exc: BaseException) -> int:
    """HTTP status for an exception raised by a source or a handler."""
    if isinstance(exc, DataChanged):
        return 503
    if isinstance(exc, NotFound):
        return 404
    if isinstance(getattr(exc, "http_status", None), int):  # e.g. a remote store that failed: 502
        return exc.http_status  # type: ignore[union-attr]
    if isinstance(exc, (BadParameter, CellucidError)):
        return 400
    if isinstance(exc, tornado.web.HTTPError):
        return exc.status_code
    return 500


class SecureMixin:
    """Host and token checks before any handler method runs; JSON errors after."""

    state: ServerState

    def initialize(self, state: ServerState, **kwargs) -> None:  # type: ignore[override]
        self.state = state
        super().initialize(**kwargs)  # type: ignore[misc]

    def prepare(self):  # noqa: D401 - tornado hook
        settings = self.state.settings
        if not self.request.path.endswith("/_cellucid/health"):
            self.state.note_request()
        query_token = self.get_query_argument("token", None)
        refusal = security.check(
            self.request, self.get_cookie(settings.cookie_name), query_token, settings
        )
        if refusal is not None:
            self.send_json_error(403, refusal.error, refusal.hint)
            return
        if query_token and security.token_matches(query_token, settings):
            # ?token= once, then the cookie carries it for every relative URL the viewer asks.
            self.set_cookie(settings.cookie_name, settings.token, httponly=True, samesite="Lax", path="/")
        return super().prepare()  # type: ignore[misc]

    def set_default_headers(self) -> None:
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")

    def send_json_error(self, status: int, error: str, hint: str = "") -> None:
        self.clear()
        self.set_default_headers()
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish({"error": error, "hint": hint})

    def write_error(self, status_code: int, **kwargs) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, CellucidError):
            status = error_status(exc)
            self.set_status(status)
            self.finish_json_error(status, exc.message, exc.hint)
        elif isinstance(exc, tornado.web.HTTPError) and exc.log_message and status_code < 500:
            hint = getattr(exc, "hint", "") or (
                "Query parameters must be UTF-8, percent-encoded; see docs/http-api.md."
                if status_code == 400 else "")
            self.finish_json_error(status_code, exc.log_message % exc.args if exc.args else exc.log_message, hint)
        elif status_code >= 500:
            # Never leak internals: the traceback is logged server-side by log_exception.
            self.finish_json_error(status_code, "internal server error",
                                   "The server log has the details; please report it.")
        else:
            hint = ("Every cellucid route answers GET; POST only the annotation writes "
                    "(/_cellucid/api/annotations/vote|retract|lock|sync) and "
                    "/_cellucid/api/analysis/rank_genes; see docs/http-api.md." if status_code == 405 else "")
            self.finish_json_error(status_code, responses.get(status_code, "error").lower(), hint)

    def finish_json_error(self, status: int, error: str, hint: str) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish({"error": error, "hint": hint})

    def log_exception(self, typ, value, tb) -> None:
        # User-fixable problems are not server errors; keep the log for real bugs.
        if isinstance(value, CellucidError):
            log.debug("%s %s: %s", self.request.method, self.request.uri, value)
            return
        super().log_exception(typ, value, tb)  # type: ignore[misc]


class BaseHandler(SecureMixin, tornado.web.RequestHandler):
    """Every non-static handler derives from this."""

    def write_json(self, obj, cache: bool = False) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-cache" if cache else "no-store")
        self.finish(json_bytes(obj))

    def not_modified(self, version: str = "") -> bool:
        """Set the ETag (dataset id + path + query, and ``version`` for answers that change
        while the dataset does not: the annotation consensus) and answer 304 when the client has it."""
        params = [(k, v.decode()) for k, vs in self.request.query_arguments.items()
                  if k != "token" for v in vs]
        if version:
            params.append(("\0version", version))
        self.set_header("Etag", self.state.etag(self.request.path, params))
        self.set_header("Cache-Control", "no-cache")
        if self.check_etag_header():
            self.set_status(304)
            self.finish()
            return True
        return False


class NotFoundHandler(BaseHandler):
    """Unknown routes: JSON 404 (after the same security checks)."""

    def get(self, *args, **kwargs):
        self.send_json_error(404, f"no such route: {self.request.path}",
                             "See docs/http-api.md for the routes this server answers.")

    head = get
