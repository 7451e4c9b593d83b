"""The viewer works under a path prefix, as behind jupyter-server-proxy (``/proxy/<port>/``):
every URL it requests must be relative. A tiny real Tornado reverse proxy strips the prefix
(jupyter-server-proxy semantics) and records what went through it."""

from __future__ import annotations

import json
import urllib.request

import pytest
import tornado.httpclient
import tornado.web

from browser_page import open_viewer
from threaded_app import ThreadedApp

pytestmark = pytest.mark.browser

HOP = {"connection", "keep-alive", "transfer-encoding", "content-encoding", "content-length"}


class ProxyHandler(tornado.web.RequestHandler):
    def initialize(self, seen):
        self.seen = seen

    async def get(self, port, path):
        self.seen.append("/" + path + (("?" + self.request.query) if self.request.query else ""))
        url = f"http://127.0.0.1:{port}/{path}" + (f"?{self.request.query}" if self.request.query else "")
        client = tornado.httpclient.AsyncHTTPClient()
        resp = await client.fetch(url, raise_error=False, decompress_response=True,
                                  headers={k: v for k, v in self.request.headers.items() if k.lower() in ("if-none-match", "cookie")})
        self.set_status(resp.code)
        for k, v in resp.headers.get_all():
            if k.lower() not in HOP:
                self.add_header(k, v)
        if resp.body and resp.code != 304:
            self.write(resp.body)


class Proxy(ThreadedApp):
    """A reverse proxy on its own thread and event loop: /proxy/<port>/x -> 127.0.0.1:<port>/x."""

    def __init__(self):
        self.seen = []
        super().__init__([(r"/proxy/(\d+)/(.*)", ProxyHandler, {"seen": self.seen})])


@pytest.fixture
def proxy():
    p = Proxy()
    yield p
    p.stop()


def test_viewer_works_under_a_proxy_prefix(browser, server, proxy):
    url = f"http://127.0.0.1:{proxy.port}/proxy/{server.port}/"
    v = open_viewer(browser, url)
    try:
        assert v.errors == []
        s = v.state()
        assert s["n_cells"] > 0 and s["color_by"] == "cell_type"
        # everything the page loaded went through the prefix
        paths = [p.split("?")[0] for p in proxy.seen]
        for needed in ["/", "/assets/app.js", "/assets/app.css", "/_cellucid/api/embedding", "/_cellucid/api/obs"]:
            assert needed in paths, f"{needed} was not requested through /proxy/{server.port}/"
        # the identity came inside the page (no request needed), and matches the server's
        inline = v.js("() => JSON.parse(document.getElementById('cellucid-identity').textContent)")
        with urllib.request.urlopen(server.base_url.rstrip("/") + "/dataset_identity.json") as r:
            assert inline == json.loads(r.read())
        # and requests made later (gene coloring, gene search) too
        v.page.fill("[data-testid=gene-search]", "cd3e")
        v.page.wait_for_selector("[data-testid=gene-suggestions] li")
        v.page.press("[data-testid=gene-search]", "Enter")
        v.page.wait_for_function("window.cellucid.state().colored_by === 'CD3E'")
        assert "/_cellucid/api/gene" in [p.split("?")[0] for p in proxy.seen]
        assert v.errors == []
    finally:
        v.page.close()
