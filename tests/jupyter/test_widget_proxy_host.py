"""What really reaches the cellucid server through jupyter-server-proxy, and that it is let in.

jupyter-server-proxy forwards the browser's original ``Host`` header (e.g. the hub's public
name). The server refuses unknown Host names (DNS-rebinding protection) unless the request
carries its token; the widget's iframe URL carries it, and the answer sets a cookie that
authorizes the viewer's later relative requests. This test checks that chain with a real
Jupyter server (accepting a non-local Host, as a hub's does) in front of a real server.
"""

from __future__ import annotations

import http.client

import pytest
from jupyter_harness import JupyterServer

from cellucid.anndata_server import AnnDataServer

pytestmark = [pytest.mark.jupyter, pytest.mark.timeout(180)]


def get(jupyter_port, path, host, cookie=None):
    conn = http.client.HTTPConnection("127.0.0.1", jupyter_port, timeout=30)
    headers = {"Host": host, **({"Cookie": cookie} if cookie else {})}
    conn.request("GET", path, headers=headers)
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, resp.headers.get_all("Set-Cookie") or [], body


def test_proxied_requests_with_a_public_host_need_and_get_the_token(tmp_path, demo_adata):
    with AnnDataServer(demo_adata, quiet=True) as server, JupyterServer(
        tmp_path, app="server", extra_args=("--ServerApp.allow_remote_access=True",)
    ) as jupyter:
        health = f"/proxy/{server.port}/_cellucid/health"
        # through the proxy from a local page: Host is the notebook's loopback address
        assert get(jupyter.port, health, f"127.0.0.1:{jupyter.port}")[0] == 200
        # from a hub's public name, without the token: refused (the Host arrives unchanged)
        status, _, body = get(jupyter.port, health, "hub.example.org")
        assert status == 403 and b"hub.example.org" in body
        # with the token, as in the widget's iframe URL: let in, and a cookie is set
        status, cookies, _ = get(jupyter.port, f"{health}?token={server.token}", "hub.example.org")
        assert status == 200
        token_cookie = next(c.split(";")[0] for c in cookies if c.startswith("cellucid-token-"))
        # the viewer's later relative requests carry only the cookie
        status, _, body = get(jupyter.port, f"/proxy/{server.port}/dataset_identity.json", "hub.example.org", token_cookie)
        assert status == 200 and b'"stats"' in body
