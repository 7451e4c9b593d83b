"""A tiny HTTP client for tests (``http.client``: no redirects, no URL normalisation, raw bytes)."""

from __future__ import annotations

import gzip
import http.client
import json
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import numpy as np


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self):
        return json.loads(self.body)

    def array(self) -> np.ndarray:
        """Decode a binary response with its X-Cellucid-Dtype / -Shape headers."""
        body = gzip.decompress(self.body) if self.headers.get("Content-Encoding") == "gzip" else self.body
        dtype = np.dtype(self.headers["X-Cellucid-Dtype"]).newbyteorder("<")
        shape = tuple(int(s) for s in self.headers["X-Cellucid-Shape"].split(","))
        return np.frombuffer(body, dtype=dtype).reshape(shape)


class Client:
    """Requests against one running server (``base_url`` like ``http://127.0.0.1:P/``)."""

    def __init__(self, base_url: str):
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port

    def request(self, method: str, path: str, params: dict | None = None,
                headers: dict | None = None, body: bytes | None = None, timeout: float = 30) -> Response:
        if params:
            path = f"{path}?{urlencode(params)}"
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return Response(resp.status, resp.headers, resp.read())
        finally:
            conn.close()

    def get(self, path: str, params: dict | None = None, **headers) -> Response:
        return self.request("GET", path, params, {k.replace("_", "-"): v for k, v in headers.items()})
