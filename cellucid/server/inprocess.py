"""Answer a request without a socket: the same application, routes and checks, in process.

The notebook widget's comm transport (:mod:`cellucid.widget.comm_transport`) carries the
viewer's requests over the widget's own connection when the browser cannot reach the
server's port. Each request is handed to the very Tornado application that serves HTTP,
through a connection object that collects the response instead of writing it to a socket:
one dispatcher for both transports, so no route, guard or error is written twice.

Must run on the server's event loop (``ServerRunner.answer`` schedules it there).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from types import SimpleNamespace

import tornado.web
from tornado import httputil

from cellucid.server.limits import refusal
from cellucid.server.security import TOKEN_HEADER

#: Request headers a comm client may set; everything else (Host, Origin, cookies) is ours.
FORWARDED_HEADERS = ("Accept-Encoding", "If-None-Match", "Content-Type")


@dataclass
class Answer:
    """One complete response: status, headers (a plain dict) and body bytes."""

    status: int
    headers: dict[str, str]
    body: bytes = b""
    chunks: list = field(default_factory=list, repr=False)


def _done() -> asyncio.Future:
    fut = asyncio.get_running_loop().create_future()
    fut.set_result(None)
    return fut


class _CollectingConnection(httputil.HTTPConnection):
    """An ``HTTPConnection`` that keeps what a handler writes."""

    def __init__(self) -> None:
        self.context = SimpleNamespace(remote_ip="127.0.0.1", protocol="http", address=("127.0.0.1", 0))
        self.start_line: httputil.ResponseStartLine | None = None
        self.headers: httputil.HTTPHeaders | None = None
        self.chunks: list[bytes] = []
        self.finished = asyncio.get_running_loop().create_future()

    def set_close_callback(self, callback) -> None:  # a collected response never closes early
        pass

    def write_headers(self, start_line, headers, chunk=None):
        self.start_line, self.headers = start_line, headers
        if chunk:
            self.chunks.append(bytes(chunk))
        return _done()

    def write(self, chunk):
        if chunk:
            self.chunks.append(bytes(chunk))
        return _done()

    def finish(self) -> None:
        if not self.finished.done():
            self.finished.set_result(None)


def _json_error(status: int, error: str, hint: str) -> Answer:
    body = json.dumps({"error": error, "hint": hint}).encode()
    return Answer(status, {"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store"}, body)


def _request_target(target: str) -> str | None:
    """The path + query of ``target`` when it is a plain origin-relative request target."""
    if not isinstance(target, str) or not target.startswith("/") or target.startswith("//"):
        return None
    if any(c in target for c in "\r\n\x00 #"):
        return None
    return target


async def answer(app: tornado.web.Application, target: str, *, method: str = "GET",
                 headers: dict[str, str] | None = None, body: bytes = b"", host: str = "127.0.0.1",
                 token: str = "") -> Answer:
    """Run one request for ``target`` (``/path?query``) through ``app`` and collect the answer.

    The request carries this server's token and a loopback ``Host``: it comes from the
    widget this kernel created, over a connection Jupyter has already authenticated. Of the
    client's headers only :data:`FORWARDED_HEADERS` pass.
    """
    clean = _request_target(target)
    if clean is None:
        return _json_error(400, f"not a request path: {str(target)[:80]!r}",
                           "Ask for a path on this server, e.g. /_cellucid/health (see docs/http-api.md).")
    hdrs = httputil.HTTPHeaders()
    for name in FORWARDED_HEADERS:
        value = (headers or {}).get(name) or (headers or {}).get(name.lower())
        if value:
            hdrs[name] = str(value)
    hdrs["Host"] = host
    hdrs[TOKEN_HEADER] = token
    if body:
        hdrs["Content-Length"] = str(len(body))
    start_line = httputil.RequestStartLine(method, clean, "HTTP/1.1")
    refused = refusal(start_line, hdrs)  # the same limits as over HTTP (server/limits.py)
    if refused is not None:
        return _json_error(*refused)
    conn = _CollectingConnection()
    request = httputil.HTTPServerRequest(start_line=start_line, headers=hdrs, body=body, connection=conn)
    delegate = app.find_handler(request)
    result = delegate.execute()
    if result is not None:
        await result
    await conn.finished
    status = conn.start_line.code if conn.start_line is not None else 500
    out = {k: v for k, v in (conn.headers.get_all() if conn.headers is not None else [])}
    out.pop("Set-Cookie", None)  # the comm carries no cookies
    body_bytes = b"".join(conn.chunks)
    return Answer(status, out, body_bytes)

