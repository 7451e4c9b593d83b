"""A minimal HTTP GET that reports wire bytes (compressed body as sent) and wall time."""

from __future__ import annotations

import http.client
import time
import urllib.parse
from dataclasses import dataclass

# What a browser sends; cellxgene's binary routes fail without an Accept-Encoding.
BROWSER_HEADERS = {"Accept-Encoding": "gzip, deflate, br", "Accept": "application/octet-stream, */*"}


@dataclass
class Response:
    status: int
    wire_bytes: int  # body bytes on the wire (after Content-Encoding), headers excluded
    seconds: float  # request sent → last byte received
    headers: dict
    body: bytes  # raw, still encoded

    def decoded(self) -> bytes:
        enc = self.headers.get("content-encoding", "")
        if enc == "gzip":
            import gzip

            return gzip.decompress(self.body)
        if enc == "br":
            import brotli

            return brotli.decompress(self.body)
        if enc == "deflate":
            import zlib

            return zlib.decompress(self.body)
        return self.body


def get(url: str, headers: dict | None = None, timeout: float = 600.0) -> Response:
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    path = u.path + ("?" + u.query if u.query else "")
    h = dict(BROWSER_HEADERS)
    h.update(headers or {})
    try:
        t0 = time.perf_counter()
        conn.request("GET", path, headers=h)
        r = conn.getresponse()
        body = r.read()
        dt = time.perf_counter() - t0
        return Response(r.status, len(body), dt, {k.lower(): v for k, v in r.getheaders()}, body)
    finally:
        conn.close()
