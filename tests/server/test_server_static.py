"""The viewer page and its assets, and the page shown when the viewer is not built."""

from __future__ import annotations

from cellucid.server import ServerRunner, ServerSettings
from server_http import Client


def _runner(viewer_dir):
    from cellucid.data import open_source

    settings = ServerSettings(host="127.0.0.1", port=0, viewer_dir=viewer_dir)
    return ServerRunner(open_source(None, demo_cells=200), port=0, settings=settings)


def test_index_and_assets_are_served_from_the_viewer_folder(tmp_path):
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>viewer</title><script src='assets/app.js'></script>")
    (tmp_path / "assets" / "app.js").write_text("console.log('cellucid viewer');" * 100)
    (tmp_path / "secret.txt").write_text("not an asset")
    with _runner(tmp_path) as runner:
        client = Client(runner.base_url)
        index = client.get("/")
        assert index.status == 200 and b"<title>viewer</title>" in index.body
        js = client.get("/assets/app.js")
        assert js.status == 200 and b"cellucid viewer" in js.body
        assert "javascript" in js.headers["Content-Type"]
        assert client.get("/assets/../secret.txt").status in (403, 404)
        assert client.get("/assets/missing.js").status == 404


def test_missing_viewer_build_answers_503_with_the_build_command(tmp_path):
    with _runner(tmp_path / "not-built") as runner:
        r = Client(runner.base_url).get("/")
    assert r.status == 503
    assert b"npm --prefix js ci &amp;&amp; npm --prefix js run build" in r.body
