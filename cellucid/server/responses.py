"""Encoded bodies of the data routes that are also built outside a request.

The first frame's responses (embedding, obs, obs/meta) are built here both for their routes
(:mod:`cellucid.server.handlers.data`) and for the warm-up at server start
(:mod:`cellucid.server.warm`); the keys are their response-cache keys. Living below the
handlers keeps ``state → warm → responses`` free of a cycle back through ``handlers.base``.
"""

from __future__ import annotations

import gzip
import json

import numpy as np

from cellucid.data.base import FieldData
from cellucid.server import encode
from cellucid.server.cache import Encoded

OCTET = "application/octet-stream"
JSON = "application/json; charset=utf-8"
GZIP_LEVEL = 4  # near level 6's size on float arrays at about half the CPU


def binary(array: np.ndarray, dtype: str, headers: dict[str, str]) -> Encoded:
    headers = {"X-Cellucid-Dtype": dtype, "X-Cellucid-Shape": encode.shape_header(array), **headers}
    return Encoded(encode.le(array, dtype), OCTET, headers)


def gzip_candidate(entry: Encoded) -> bool:
    """Binary bodies of 1 KB or more are sent gzipped when that pays (JSON, HTML and JS are
    compressed by tornado itself)."""
    return entry.content_type == OCTET and len(entry.body) >= 1024


def compress_if_worth(entry: Encoded) -> None:
    """Judge once whether gzip pays for ``entry`` (a sample at level 1), and if it does, make
    its gzipped body. Idempotent; runs off the IOLoop."""
    with entry.lock:
        if entry.compressible is None:
            entry.compressible = encode.worth_compressing(entry.body)
        if entry.compressible and entry.gzipped is None:
            entry.gzipped = gzip.compress(entry.body, compresslevel=GZIP_LEVEL, mtime=0)


def embedding_key(key: str, dim: int, fmt: str) -> tuple:
    return ("embedding", key, dim, fmt)


def embedding_response(source, key: str, dim: int, fmt: str) -> Encoded:
    """An embedding as float32 (``f32``) or quantized to uint16 with its bounds (``u16``)."""
    coords = np.asarray(source.embedding(key, dim), dtype=np.float32).reshape(-1, dim)
    extra = {"X-Cellucid-Embedding": encode.name_header(key), "X-Cellucid-Dim": str(dim)}
    if fmt == "u16":
        q, bounds = encode.quantize_u16(coords)
        extra["X-Cellucid-Bounds"] = json.dumps(bounds)
        return binary(q, "uint16", extra)
    return binary(coords, "float32", extra)


def obs_key(name: str) -> tuple:
    return ("obs", name)


def obs_response(name: str, data: FieldData) -> Encoded:
    """One obs field: category codes, or float32 values with their finite range."""
    if data.kind == "continuous":
        values = np.asarray(data.values, dtype=np.float32)
        rng = encode.finite_range(values)
        return binary(values, "float32", {
            "X-Cellucid-Field-Kind": "continuous",
            "X-Cellucid-Field": encode.name_header(name),
            "X-Cellucid-Min": encode.number_header(rng[0] if rng else None),
            "X-Cellucid-Max": encode.number_header(rng[1] if rng else None),
        })
    codes, dtype, missing = encode.encode_codes(data)
    return binary(codes, dtype, {
        "X-Cellucid-Field-Kind": "categorical",
        "X-Cellucid-Field": encode.name_header(name),
        "X-Cellucid-Missing-Code": str(missing),
        "X-Cellucid-N-Categories": str(len(data.categories or [])),
    })


def obs_meta_key(name: str) -> tuple:
    return ("obs/meta", name)


def obs_meta_response(data: FieldData) -> Encoded:
    """A field's categories, colors, counts or range, as JSON."""
    return Encoded(encode.json_bytes(encode.field_meta(data)), JSON)


def cell_slice(entry: Encoded, n_cells: int, start: int, stop: int, step: int) -> Encoded:
    """The cells ``range(start, stop, step)`` of a per-cell binary body (an embedding or an
    obs column; its first axis is the cells), with the whole body's other headers (the
    quantization bounds stay those of all cells, so every range decodes alike).
    Progressive loading asks for a strided sample first, then contiguous ranges
    (docs/http-api.md)."""
    per_cell = len(entry.body) // max(n_cells, 1)
    rows = np.frombuffer(entry.body, dtype=np.uint8).reshape(n_cells, per_cell)[start:stop:step]
    shape = entry.headers.get("X-Cellucid-Shape", str(n_cells)).split(",")
    headers = {**entry.headers, "X-Cellucid-Shape": ",".join([str(rows.shape[0]), *shape[1:]]),
               "X-Cellucid-Cells": f"{start}:{stop}:{step}"}
    return Encoded(rows.tobytes(), entry.content_type, headers)
