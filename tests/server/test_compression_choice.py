"""Binary bodies are gzipped only when gzip pays: quantized coordinates barely compress
(gzip would cost ~140 ms at 1M cells on the first frame's path for 0.2 %), category codes
compress many times over. Both must decode to the same values either way."""

from __future__ import annotations

import os

import numpy as np

from cellucid.server.encode import worth_compressing

API = "/_cellucid/api"


def test_worth_compressing_tells_noise_from_runs():
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 65535, 400_000, dtype=np.uint16).tobytes()
    runs = np.repeat(np.arange(40, dtype=np.uint8), 20_000).tobytes()
    assert not worth_compressing(noise)
    assert worth_compressing(runs)
    assert not worth_compressing(os.urandom(5000))  # small bodies: the whole body is the sample
    assert worth_compressing(b"\0" * 5000)


def test_embedding_is_sent_raw_and_codes_gzipped(demo):
    ident = demo.get("/dataset_identity.json").json()
    emb = demo.get(f"{API}/embedding", {"key": ident["default_embedding"], "dim": 2, "format": "u16"},
                   Accept_Encoding="gzip")
    assert emb.status == 200 and emb.headers.get("Content-Encoding") is None
    q = emb.array()
    assert q.shape == (ident["stats"]["n_cells"], 2) and q.max() == 65534  # the real values, undamaged
    again = demo.get(f"{API}/embedding", {"key": ident["default_embedding"], "dim": 2, "format": "u16"},
                     Accept_Encoding="gzip")
    assert again.headers.get("Content-Encoding") is None and again.body == emb.body

    field = next(f["name"] for f in ident["fields"] if f["kind"] == "categorical")
    codes = demo.get(f"{API}/obs", {"field": field}, Accept_Encoding="gzip")
    assert codes.headers.get("Content-Encoding") == "gzip" and len(codes.body) < ident["stats"]["n_cells"] / 2
    plain = demo.get(f"{API}/obs", {"field": field})
    np.testing.assert_array_equal(codes.array(), plain.array())
