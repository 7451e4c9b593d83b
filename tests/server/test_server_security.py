"""Host-header checks, the per-server token, and static files confined to their folder."""

from __future__ import annotations

import pytest

from server_http import Client

HEALTH = "/_cellucid/health"


def test_unknown_host_header_is_refused_with_json(demo):
    r = demo.get(HEALTH, Host="evil.example.com:8765")
    assert r.status == 403
    body = r.json()
    assert "evil.example.com" in body["error"]
    assert "--allowed-host" in body["hint"]


@pytest.mark.parametrize("host", ["localhost", "localhost:1234", "127.0.0.1", "[::1]:9"])
def test_loopback_host_headers_are_accepted(demo, host):
    assert demo.get(HEALTH, Host=host).status == 200


def test_allowed_host_is_accepted_and_others_still_refused():
    from cellucid.anndata_server import AnnDataServer

    with AnnDataServer(None, demo_cells=300, port=0, quiet=True,
                       allowed_hosts=["viewer.example.org"]) as server:
        client = Client(server.base_url)
        assert client.get(HEALTH, Host="viewer.example.org").status == 200
        assert client.get(HEALTH, Host="other.example.org").status == 403


def test_a_valid_token_passes_an_unknown_host(demo, demo_server):
    # How the notebook iframe works behind a proxy whose public name the server cannot know.
    ok = demo.get(HEALTH, Host="hub.example.org", X_Cellucid_Token=demo_server.token)
    bad = demo.get(HEALTH, Host="hub.example.org", X_Cellucid_Token="wrong")
    assert (ok.status, bad.status) == (200, 403)


def test_post_needs_the_token_header(demo, demo_server):
    without = demo.request("POST", HEALTH, body=b"{}")
    assert without.status == 403
    assert "token" in without.json()["error"]
    with_cookie_only = demo.request("POST", HEALTH, body=b"{}",
                                    headers={"Cookie": f"cellucid-token-{demo_server.port}={demo_server.token}"})
    assert with_cookie_only.status == 403
    with_token = demo.request("POST", HEALTH, body=b"{}", headers={"X-Cellucid-Token": demo_server.token})
    assert with_token.status == 405  # the token passes; no route accepts POST
    assert with_token.json()["error"]


def test_delete_and_put_need_the_token_too(demo):
    assert demo.request("DELETE", "/dataset_identity.json").status == 403
    assert demo.request("PUT", "/dataset_identity.json", body=b"x").status == 403


def test_no_cors_headers_are_sent(demo):
    r = demo.get("/dataset_identity.json", Origin="http://evil.example.com")
    assert not [h for h in r.headers if h.lower().startswith("access-control-")]


def test_health_answers_the_widgets_identity_probe_only_for_its_own_token(demo, demo_server):
    # The widget asks before pointing its frame at an address: another server answering
    # there must not pass for this one (and nothing is readable cross-origin without it).
    origin = "http://localhost:8888"
    own = demo.get(HEALTH, {"token": demo_server.token}, Origin=origin)
    other = demo.get(HEALTH, {"token": "0" * len(demo_server.token)}, Origin=origin)
    bare = demo.get(HEALTH, Origin=origin)
    assert own.json()["token_ok"] is True and own.headers["Access-Control-Allow-Origin"] == origin
    for r in (other, bare):
        assert r.status == 200 and "token_ok" not in r.json()
        assert not [h for h in r.headers if h.lower().startswith("access-control-")]


@pytest.mark.parametrize("path", [
    "/assets/../../../../etc/passwd",
    "/assets/..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/assets/%2e%2e/%2e%2e/server/app.py",
    "/assets//etc/passwd",
])
def test_static_path_traversal_is_refused(demo, path):
    r = demo.request("GET", path)
    assert r.status in (403, 404)
    assert b"root:" not in r.body and b"make_app" not in r.body


def test_non_loopback_server_requires_the_token_then_uses_a_cookie():
    from cellucid.anndata_server import AnnDataServer

    with AnnDataServer(None, demo_cells=300, host="0.0.0.0", port=0, quiet=True) as server:
        assert f"?token={server.token}" in server.url
        client = Client(f"http://127.0.0.1:{server.port}/")
        refused = client.get(HEALTH)
        assert refused.status == 403 and "token" in refused.json()["error"]
        first = client.get(HEALTH, {"token": server.token})
        assert first.status == 200
        cookie = first.headers["Set-Cookie"].split(";")[0]
        assert cookie == f"cellucid-token-{server.port}={server.token}"
        assert "HttpOnly" in first.headers["Set-Cookie"]
        assert client.get("/dataset_identity.json", Cookie=cookie).status == 200
        assert client.get(HEALTH, {"token": "wrong"}).status == 403


def test_banner_warns_when_bound_beyond_loopback():
    from cellucid.anndata_server import AnnDataServer

    with AnnDataServer(None, demo_cells=300, host="0.0.0.0", port=0, quiet=True) as server:
        text = server.banner()
    assert "WARNING" in text and "0.0.0.0" in text and server.token in text
    with AnnDataServer(None, demo_cells=300, port=0, quiet=True) as local:
        assert "WARNING" not in local.banner()
