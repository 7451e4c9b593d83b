"""The comm transport's server half: a request answered in process (``ServerRunner.answer``)
gets the same status, headers and bytes as the same request over HTTP, with the same
guards and errors, because both go through one Tornado application."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from server_http import Client

API = "/_cellucid/api"
HEALTH = "/_cellucid/health"

SAME_AS_HTTP = [
    ("/dataset_identity.json", None),
    (f"{API}/embedding", {"key": "X_umap", "dims": 2}),
    (f"{API}/obs", {"key": "cell_type"}),
    (f"{API}/obs/meta", None),
    (f"{API}/gene", {"name": "CD3E"}),
    (f"{API}/genes", {"q": "CD"}),
    (f"{API}/gene", {"name": "NOT_A_GENE"}),
    (f"{API}/gene", {"index": 10_000}),
    (f"{API}/obs", {"key": "no such field"}),
    ("/assets/app.js", None),
    ("/", None),
]
# Headers that legitimately differ between two answers (time, connection handling).
VOLATILE = {"Date", "Server", "Connection", "Content-Length", "Transfer-Encoding", "Set-Cookie", "Vary"}


def in_process(server, target: str, headers: dict | None = None):
    return server._runner.answer(target, headers or {}).result(timeout=30)


def target_of(path: str, params: dict | None) -> str:
    return f"{path}?{urlencode(params)}" if params else path


@pytest.mark.parametrize("path, params", SAME_AS_HTTP)
def test_the_answer_equals_the_http_answer(h5ad_server, path, params):
    over_http = Client(h5ad_server.base_url).get(path, params, X_Cellucid_Token=h5ad_server.token)
    inproc = in_process(h5ad_server, target_of(path, params))
    assert inproc.status == over_http.status, inproc.body[:200]
    assert inproc.body == over_http.body
    http_headers = {k: v for k, v in over_http.headers.items() if k not in VOLATILE}
    assert {k: v for k, v in inproc.headers.items() if k not in VOLATILE} == http_headers


def test_gzip_is_negotiated_like_http(h5ad_server):
    target = target_of(f"{API}/gene", {"name": "LYZ"})
    plain = in_process(h5ad_server, target)
    zipped = in_process(h5ad_server, target, {"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in plain.headers
    assert zipped.headers.get("Content-Encoding") == "gzip"
    import gzip

    assert gzip.decompress(zipped.body) == plain.body


def test_an_etag_gives_304_without_a_body(h5ad_server):
    target = target_of(f"{API}/embedding", {"key": "X_umap", "dims": 2})
    first = in_process(h5ad_server, target)
    etag = first.headers["Etag"]
    again = in_process(h5ad_server, target, {"If-None-Match": etag})
    assert again.status == 304 and again.body == b""
    changed = in_process(h5ad_server, target, {"if-none-match": '"something-else"'})
    assert changed.status == 200 and changed.body == first.body


def test_client_headers_other_than_the_allowed_ones_are_dropped(h5ad_server):
    # A Host the server would refuse, a foreign token and a cookie: none of them reach the app.
    got = in_process(h5ad_server, HEALTH, {"Host": "evil.example", "X-Cellucid-Token": "wrong",
                                           "Cookie": "x=1", "Origin": "https://evil.example"})
    assert got.status == 200 and got.headers["Content-Type"].startswith("application/json")
    assert "Set-Cookie" not in got.headers


@pytest.mark.parametrize("target", ["https://example.org/_cellucid/health", "//example.org/x",
                                    "_cellucid/health", "/a b", "/x\r\nInjected: 1", "/#frag"])
def test_a_target_that_is_not_a_plain_path_is_refused(h5ad_server, target):
    got = in_process(h5ad_server, target)
    assert got.status == 400
    assert "not a request path" in got.body.decode()


def test_a_too_long_url_gets_the_same_414_as_http(h5ad_server):
    target = target_of(f"{API}/genes", {"q": "A" * 20_000})
    over_http = Client(h5ad_server.base_url).get(f"{API}/genes", {"q": "A" * 20_000})
    got = in_process(h5ad_server, target)
    assert got.status == over_http.status == 414
    assert "too long" in got.body.decode()


def test_a_stopped_server_says_so_instead_of_hanging(h5ad_file):
    from cellucid.anndata_server import AnnDataServer

    with AnnDataServer(h5ad_file, port=0, quiet=True) as server:
        assert in_process(server, HEALTH).status == 200
    with pytest.raises(RuntimeError, match="not running"):
        server._runner.answer(HEALTH, {})
