"""The comm transport's kernel half: answer the viewer's requests that arrive as widget messages.

When the browser cannot reach the data server's port (VS Code remote, Colab, a gateway, a
hub without jupyter-server-proxy), the widget writes the viewer into its output and sends
each request over the widget's own comm (``js/widget/relay.js``). Here each one is answered
by the server's own application, in process (``ServerRunner.answer``), and the answer goes
back in parts of at most :data:`PART_BYTES`, each a binary buffer.

Messages (content dicts; see the JS for the other side)::

    browser → kernel  {"kind": "http", "requests": [{"id", "url", "headers", "method"?, "body"?}]}
                      (+ buffers: a POST's body is buffer number ``body``)
    kernel → browser  {"kind": "http", "id", "part", "parts", "status", "headers"} + [bytes]
    browser → kernel  {"kind": "ping", "id"}      kernel → browser  {"kind": "pong", "id"}
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import weakref
from typing import Any, Callable

log = logging.getLogger("cellucid.widget")

#: Largest body part in one message. marimo sends buffers as base64 (×4/3) and refuses
#: messages over 8 MB; Jupyter has no such cap, and 4 MiB parts cost it nothing measurable.
PART_BYTES = 4 * 1024 * 1024
#: Most requests taken from one message (the viewer batches a frame's worth, far fewer).
MAX_REQUESTS = 64
_MAX_ID = 64

Answerer = Callable[..., "concurrent.futures.Future"]  # (target, headers, method=, body=)
#: Methods a request may use over the comm: reads, and the writes the HTTP API accepts.
METHODS = ("GET", "POST")


def message_parts(request_id: str, status: int, headers: dict, body: bytes):
    """The messages that carry one answer: ``(content, buffers)`` pairs, headers in the first."""
    view = memoryview(body)
    n = max(1, -(-len(view) // PART_BYTES))
    for i in range(n):
        content: dict[str, Any] = {"kind": "http", "id": request_id, "part": i, "parts": n}
        if i == 0:
            content["status"] = int(status)
            content["headers"] = dict(headers)
        chunk = view[i * PART_BYTES:(i + 1) * PART_BYTES]
        yield content, ([chunk] if len(chunk) else [])


def _error_answer(request_id: str, status: int, error: str, hint: str):
    import json

    body = json.dumps({"error": error, "hint": hint}).encode()
    return message_parts(request_id, status, {"Content-Type": "application/json; charset=utf-8",
                                              "Cache-Control": "no-store"}, body)


class CommTransport:
    """Serve one widget's comm requests with ``answer(target, headers)`` (a
    ``concurrent.futures.Future`` of :class:`cellucid.server.inprocess.Answer`)."""

    def __init__(self, widget, answer: Answerer):
        self._answer = answer
        self._widget = weakref.ref(widget)
        widget.on_msg(self._on_msg)

    # Messages arrive on the kernel's thread; answers are made on the server's thread and
    # sent from the kernel's thread again (marimo's and ipykernel's comms expect that).
    def _on_msg(self, _widget, content, buffers) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("kind")
        if kind == "ping":
            self._send({"kind": "pong", "id": str(content.get("id", ""))[:_MAX_ID]}, [])
        elif kind == "http":
            requests = content.get("requests")
            if isinstance(requests, list):
                for req in requests[:MAX_REQUESTS]:
                    if isinstance(req, dict):
                        self._start(req, buffers or [])

    def _start(self, req: dict, buffers: list) -> None:
        request_id = str(req.get("id", ""))[:_MAX_ID]
        target = req.get("url")
        headers = req.get("headers") if isinstance(req.get("headers"), dict) else {}
        if not isinstance(target, str):
            self._send_all(_error_answer(request_id, 400, "a request without a URL", "The viewer and kernel versions differ; restart the kernel."))
            return
        method = str(req.get("method") or "GET").upper()
        if method not in METHODS:
            self._send_all(_error_answer(request_id, 405, f"{method[:16]!r} requests do not travel over the comm",
                                         "Only GET and POST do (docs/http-api.md)."))
            return
        index = req.get("body")
        body = bytes(buffers[index]) if isinstance(index, int) and 0 <= index < len(buffers) else b""
        try:
            future = self._answer(target, headers, method=method, body=body)
        except RuntimeError:
            self._send_all(_error_answer(request_id, 503, "the viewer's data server has stopped",
                                         "Run the cell that created the viewer again."))
            return
        loop = _running_loop()
        if loop is None:  # no event loop on this thread: answer before returning
            self._finish(request_id, future)
        else:
            future.add_done_callback(lambda f: loop.call_soon_threadsafe(self._finish, request_id, f))

    def _finish(self, request_id: str, future: "concurrent.futures.Future") -> None:
        try:
            answer = future.result()
        except Exception as exc:  # noqa: BLE001 - reported to the page, logged here
            log.warning("comm request %s failed", request_id, exc_info=True)
            self._send_all(_error_answer(request_id, 500, f"internal error: {type(exc).__name__}",
                                         "The kernel's log has the details; please report it."))
            return
        self._send_all(message_parts(request_id, answer.status, answer.headers, answer.body))

    def _send_all(self, parts) -> None:
        for content, buffers in parts:
            self._send(content, buffers)

    def _send(self, content: dict, buffers: list) -> None:
        widget = self._widget()
        if widget is None or widget.comm is None:
            return  # the widget closed meanwhile: nobody to answer
        widget.send(content, buffers=buffers or None)


def _running_loop():
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
