"""Walk every route a dataset offers and check each answer is valid data or a clean JSON error."""

from __future__ import annotations

import gzip
import json
from urllib.parse import quote

import numpy as np

from netprobe import Answer, request


def decode(answer: Answer) -> np.ndarray:
    body = gzip.decompress(answer.body) if answer.headers.get("content-encoding") == "gzip" else answer.body
    dtype = np.dtype(answer.headers["x-cellucid-dtype"]).newbyteorder("<")
    shape = tuple(int(s) for s in answer.headers["x-cellucid-shape"].split(","))
    arr = np.frombuffer(body, dtype=dtype)
    assert arr.size == int(np.prod(shape)), (arr.size, shape)
    return arr.reshape(shape)


def _no_constants(name):
    raise AssertionError(f"{name} in JSON: browsers' JSON.parse rejects it")


def strict_json(body: bytes):
    """Parse like a browser would: NaN / Infinity tokens are errors."""
    return json.loads(body, parse_constant=_no_constants)


def targets(ident: dict) -> list[str]:
    q = lambda s: quote(str(s), safe="")  # noqa: E731
    out = ["/_cellucid/health", "/_cellucid/api/embedding", "/_cellucid/api/vectors",
           "/_cellucid/api/genes?q=", "/_cellucid/api/genes?q=g", "/_cellucid/api/gene?index=0",
           "/_cellucid/api/gene?name=CD3E", "/_cellucid/api/cells?index=0",
           "/_cellucid/api/graph/edges", "/_cellucid/api/graph/edges?max=1"]
    n_genes = ident["stats"]["n_genes"]
    if n_genes:
        out.append(f"/_cellucid/api/gene?index={n_genes - 1}")
    n = ident["stats"]["n_cells"]
    if n:
        out.append(f"/_cellucid/api/cells?index=0,{n - 1}")
    for e in ident["embeddings"]:
        for d in e["dimensions"]:
            for fmt in ("f32", "u16"):
                out.append(f"/_cellucid/api/embedding?key={q(e['key'])}&dim={d}&format={fmt}")
    for f in ident["fields"]:
        out += [f"/_cellucid/api/obs?field={q(f['name'])}", f"/_cellucid/api/obs/meta?field={q(f['name'])}"]
    for fid, info in ident["vector_fields"]["fields"].items():
        for d in info["available_dimensions"]:
            out.append(f"/_cellucid/api/vectors?field={q(fid)}&dim={d}")
    return out


def check_answer(target: str, answer: Answer, n_cells: int) -> None:
    assert answer.status in (200, 400, 404), (target, answer.status, answer.body[:300])
    if answer.status != 200:
        assert answer.is_json_error(), (target, answer.body[:300])
        return
    ctype = answer.headers["content-type"]
    if ctype.startswith("application/octet-stream"):
        arr = decode(answer)
        assert arr.shape[0] == n_cells, (target, arr.shape)
        if "u16" in target:
            bounds = json.loads(answer.headers["x-cellucid-bounds"])
            assert all(np.isfinite(b).all() for b in bounds), (target, bounds)
        for h in ("x-cellucid-min", "x-cellucid-max"):
            if h in answer.headers:  # a finite number, or "NaN" when no value is finite
                value = float(answer.headers[h])
                assert np.isfinite(value) or (answer.headers[h] == "NaN" and not np.isfinite(arr).any()), \
                    (target, answer.headers[h])
    else:
        assert ctype.startswith("application/json"), (target, ctype)
        body = gzip.decompress(answer.body) if answer.headers.get("content-encoding") == "gzip" else answer.body
        strict_json(body)


def check_all_routes(port: int) -> dict:
    """Fetch the identity and every route it implies; return the identity."""
    ident_answer = request(port, "/dataset_identity.json")
    assert ident_answer.status == 200, ident_answer.body[:300]
    ident = strict_json(ident_answer.body)
    n_cells = ident["stats"]["n_cells"]
    for target in targets(ident):
        check_answer(target, request(port, target, headers={"Accept-Encoding": "gzip"}), n_cells)
    return ident
