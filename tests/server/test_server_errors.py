"""Unexpected failures: a generic 500 for the client, the details only in the server log."""

from __future__ import annotations

import logging

from cellucid.server import ServerRunner
from server_http import Client


def test_an_unexpected_exception_is_a_generic_500_and_logged(small_adata, caplog):
    from cellucid.data import open_source

    source = open_source(small_adata)

    class Broken(type(source)):
        def gene_by_index(self, index):
            raise RuntimeError("secret internal detail /home/alice/data.h5ad")

    source.__class__ = Broken
    with caplog.at_level(logging.ERROR), ServerRunner(source, port=0) as runner:
        r = Client(runner.base_url).get("/_cellucid/api/gene", {"index": 0})
        health = Client(runner.base_url).get("/_cellucid/health")
    assert r.status == 500
    body = r.json()
    assert body["error"] == "internal server error"
    assert "secret" not in r.body.decode() and "Traceback" not in r.body.decode()
    assert health.status == 200  # the server keeps serving
    assert any("secret internal detail" in (rec.exc_text or "") or
               (rec.exc_info and "secret internal detail" in str(rec.exc_info[1]))
               for rec in caplog.records)


def test_method_not_allowed_is_json(demo, demo_server):
    r = demo.request("POST", "/_cellucid/api/gene", headers={"X-Cellucid-Token": demo_server.token}, body=b"")
    assert r.status == 405
    assert r.json()["error"] == "method not allowed"
