"""Request-size limits answered before tornado reads a body: ``413``, ``414`` and ``431`` as JSON.

Every route is a ``GET`` without a body, so a request that announces a large body
(``Content-Length`` over :data:`MAX_BODY_BYTES`, or any ``Transfer-Encoding`` such as
``chunked``), a very long URL or request headers over :data:`MAX_HEADER_BYTES` (typically
a browser sending large cookies set for ``127.0.0.1`` by other local apps) is refused right
after its headers, and the connection is closed without reading the body. Tornado alone
would answer a bare ``400`` with no explanation (or read up to its own body limit first),
and drop a connection whose head passes its ``max_header_size`` without any answer: so
tornado's limit is set to :data:`HEAD_READ_LIMIT`, above ours, and only heads beyond that
are still dropped.
"""

from __future__ import annotations

import json
from http.client import responses

from tornado import httputil

#: Largest request body accepted (room for small forms such as an annotation vote).
MAX_BODY_BYTES = 64 * 1024
#: Routes that take larger bodies: differential expression gets its groups of cells in the
#: body (millions of positions, 4 bytes each as base64).
LARGE_BODY_ROUTES = {"/_cellucid/api/analysis/rank_genes": 64 << 20}
#: The most any route accepts (Tornado's own cap, above which it drops the connection).
LARGEST_BODY_BYTES = max([MAX_BODY_BYTES, *LARGE_BODY_ROUTES.values()])
#: Longest request target (path + query). The viewer's longest URL is well under 2 KiB.
MAX_URL_BYTES = 16 * 1024
#: Largest request head (request line + headers) answered; larger ones get ``431``.
MAX_HEADER_BYTES = 64 * 1024
#: Tornado's ``max_header_size``: how much of a head is read at all (beyond: connection dropped).
#: Kept small: it is also the most memory one connection can make the server hold for a head.
HEAD_READ_LIMIT = 256 * 1024


def refusal(start_line: httputil.RequestStartLine, headers: httputil.HTTPHeaders) -> tuple[int, str, str] | None:
    """``(status, error, hint)`` when a request must be refused on its head alone, else None."""
    if len(start_line.path) > MAX_URL_BYTES:
        return (414, f"the URL is too long ({len(start_line.path):,} bytes, at most {MAX_URL_BYTES:,})",
                "Ask for fewer items per request (see docs/http-api.md).")
    head = len(start_line.method) + len(start_line.path) + len(start_line.version) + 4
    head += sum(len(k) + len(v) + 4 for k, v in headers.get_all())
    if head > MAX_HEADER_BYTES:
        return (431, f"the request headers are too large ({head:,} bytes, at most {MAX_HEADER_BYTES:,})",
                "Large cookies are the usual cause: clear this site's cookies in the browser (other "
                "apps on 127.0.0.1 share them), or send fewer headers.")
    if "Transfer-Encoding" in headers:
        return (413, "streamed request bodies are not accepted",
                f"Send at most {MAX_BODY_BYTES:,} bytes with a Content-Length header.")
    length = headers.get("Content-Length")
    if length is not None:
        limit = LARGE_BODY_ROUTES.get(start_line.path.split("?", 1)[0], MAX_BODY_BYTES)
        try:
            too_big = int(length) > limit
        except ValueError:
            return None  # tornado answers a malformed Content-Length with 400 itself
        if too_big:
            return (413, f"the request body is too large ({length} bytes, at most {limit:,})",
                    "Send less in one request (docs/http-api.md lists each route's body).")
    return None


class _Message(httputil.HTTPMessageDelegate):
    """Forwards one request to the application unless its headers already refuse it."""

    def __init__(self, inner: httputil.HTTPMessageDelegate, connection: httputil.HTTPConnection):
        self.inner = inner
        self.connection = connection

    def headers_received(self, start_line, headers):
        refused = refusal(start_line, headers) if isinstance(start_line, httputil.RequestStartLine) else None
        if refused is None:
            return self.inner.headers_received(start_line, headers)
        return self._refuse(*refused)

    async def _refuse(self, status: int, error: str, hint: str) -> None:
        # Detach so tornado neither reads the body nor appends its own bare 400.
        stream = self.connection.detach()  # type: ignore[attr-defined]
        body = json.dumps({"error": error, "hint": hint}).encode()
        head = (f"HTTP/1.1 {status} {responses[status]}\r\n"
                "Content-Type: application/json; charset=utf-8\r\n"
                "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
        try:
            await stream.write(head + body)
        except Exception:  # noqa: BLE001 - the client went away; nothing to tell it
            pass
        finally:
            stream.close()

    def data_received(self, chunk):
        return self.inner.data_received(chunk)

    def finish(self):
        return self.inner.finish()

    def on_connection_close(self):
        return self.inner.on_connection_close()


class RequestLimits(httputil.HTTPServerConnectionDelegate):
    """Wraps the application: ``HTTPServer(RequestLimits(app))``."""

    def __init__(self, app: httputil.HTTPServerConnectionDelegate):
        self.app = app

    def start_request(self, server_conn, request_conn):
        return _Message(self.app.start_request(server_conn, request_conn), request_conn)

    def on_close(self, server_conn):
        return self.app.on_close(server_conn)
