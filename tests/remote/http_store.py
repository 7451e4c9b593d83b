"""A static HTTP file server for tests and bench: byte ranges, a request log, injected faults.

``python -m http.server`` answers no ``Range`` header, and zarr reads a chunk inside a shard
with one. :class:`StaticStore` serves a folder over HTTP/1.1 with ``Range: bytes=a-b``,
``bytes=a-`` and ``bytes=-n``; it records every request (``log``) and can, for paths that
contain a chosen text, delay each answer, reset the connection, hang, or answer a status
(403, 500) — so the remote reader's retries, timeouts and error messages meet a real socket.
"""

from __future__ import annotations

import os
import re
import socket
import struct
import threading
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Faults:
    """What the server does to requests whose path contains ``match`` ('' matches all)."""

    match: str = ""
    delay: float = 0.0  # seconds before every answer (all paths)
    reset: int = 0  # this many matching requests: close the connection without an answer
    hang: int = 0  # this many matching requests: answer nothing until released
    status: int = 0  # answer every matching request with this HTTP status (0: off)
    release: threading.Event = field(default_factory=threading.Event)


class _Handler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    store: "StaticStore"

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(head=True)

    def do_GET(self) -> None:  # noqa: N802
        self._answer(head=False)

    def _answer(self, head: bool) -> None:
        store = self.store
        with store.lock:
            store.log.append((self.command, self.path, self.headers.get("Range")))
        faults = store.faults
        if faults.delay:
            store.release_or_wait(faults.delay)
        if faults.match in self.path:
            action = store.take_fault()
            if action == "reset":
                # RST instead of FIN: the client sees "connection reset", not a clean close
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                return
            if action == "hang":
                faults.release.wait(60)
                self.close_connection = True
                return
            if faults.status:
                self._send(faults.status, b'{"error": "injected"}', head)
                return
        rel = self.path.split("?", 1)[0].lstrip("/")
        target = (store.root / rel).resolve()
        if store.root not in target.parents and target != store.root or not target.is_file():
            self._send(404, b"not found", head)
            return
        size = target.stat().st_size
        rng = self.headers.get("Range")
        start, end = 0, size
        if rng:
            m = re.fullmatch(r"bytes=(\d*)-(\d*)", rng.strip())
            if not m:
                self._send(416, b"", head)
                return
            a, b = m.groups()
            if a == "":
                start = max(0, size - int(b))
            else:
                start, end = int(a), min(size, int(b) + 1 if b else size)
        with open(target, "rb") as f:  # only the range: shards can be large
            f.seek(start)
            body = f.read(end - start)
        with store.lock:
            store.bytes_sent += len(body)
        if rng:
            self._send(206, body, head, {"Content-Range": f"bytes {start}-{start + len(body) - 1}/{size}"})
        else:
            self._send(200, body, head)

    def _send(self, status: int, body: bytes, head: bool, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "application/octet-stream")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if not head:
            self.wfile.write(body)


class StaticStore:
    """Serve ``root`` on a free loopback port in a thread; ``url`` is its base URL."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).resolve()
        self.log: list[tuple[str, str, str | None]] = []
        self.bytes_sent = 0  # body bytes answered
        self.lock = threading.Lock()
        self.faults = Faults()
        handler = type("Handler", (_Handler,), {"store": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def take_fault(self) -> str | None:
        with self.lock:
            if self.faults.reset > 0:
                self.faults.reset -= 1
                return "reset"
            if self.faults.hang > 0:
                self.faults.hang -= 1
                return "hang"
        return None

    def release_or_wait(self, seconds: float) -> None:
        threading.Event().wait(seconds)

    def set_faults(self, **kwargs) -> Faults:
        """Replace the faults (releasing requests held by the previous ones)."""
        self.faults.release.set()
        self.faults = Faults(**kwargs)
        return self.faults

    def requests(self, contains: str = "") -> list[tuple[str, str, str | None]]:
        with self.lock:
            return [r for r in self.log if contains in r[1]]

    def close(self) -> None:
        self.faults.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
