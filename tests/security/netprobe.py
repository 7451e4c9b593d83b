"""A raw-socket HTTP client for attack tests: sends exactly the bytes given (no URL
normalisation, no header fixing) and parses whatever comes back."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass, field


@dataclass
class Answer:
    status: int  # 0 when the server closed the connection without answering
    headers: dict = field(default_factory=dict)
    body: bytes = b""

    def json(self):
        return json.loads(self.body)

    def is_json_error(self) -> bool:
        """A proper error: JSON ``{"error", "hint"}`` and never a traceback."""
        if not self.headers.get("content-type", "").startswith("application/json"):
            return False
        body = self.json()
        return isinstance(body.get("error"), str) and "hint" in body and b"Traceback" not in self.body


def parse(raw: bytes) -> Answer:
    if not raw.startswith(b"HTTP/"):
        return Answer(0, {}, raw)
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    if "content-length" in headers:
        body = body[: int(headers["content-length"])]
    return Answer(status, headers, body)


def send(port: int, data: bytes, timeout: float = 20.0, half_close: bool = False) -> Answer:
    """Send ``data`` to 127.0.0.1:port and read until the server closes the connection.
    ``half_close``: shut our sending side after ``data`` (for bytes that never end a head)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may refuse before reading everything; read its answer anyway
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        try:
            while True:
                chunk = sock.recv(1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
        except ConnectionResetError:
            pass
    return parse(b"".join(chunks))


def request(port: int, target: str, method: str = "GET", host: str = "127.0.0.1",
            headers: dict | None = None, body: bytes = b"") -> Answer:
    """One request with ``Connection: close``; ``target`` is sent verbatim."""
    lines = [f"{method} {target} HTTP/1.1"]
    if host is not None:
        lines.append(f"Host: {host}")
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    if body and not any(k.lower() in ("content-length", "transfer-encoding") for k in (headers or {})):
        lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: close")
    return send(port, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
