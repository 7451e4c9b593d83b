"""What makes the first frame quick on the server side: the dataset identity written into
the viewer page (no round trip before the data requests), and the first frame's three
responses encoded at start-up, before any browser asks (cellucid/server/warm.py)."""

from __future__ import annotations

import gzip
import json
import re
import time

import numpy as np
import pytest

from cellucid.server import ServerRunner, ServerSettings
from cellucid.server.app import make_app
from cellucid.server import responses as data
from cellucid.server.handlers.static import IDENTITY_MARK
from cellucid.server.warm import first_frame_keys
from server_http import Client

PAGE = "<!doctype html><head>{mark}<script>/* boot */</script></head><body></body>"
INLINE = re.compile(rb'<script type="application/json" id="cellucid-identity">(.*?)</script>', re.S)


def _runner(source, viewer_dir):
    settings = ServerSettings(host="127.0.0.1", port=0, viewer_dir=viewer_dir)
    return ServerRunner(source, port=0, settings=settings)


def _viewer(tmp_path, mark=IDENTITY_MARK.decode()):
    (tmp_path / "assets").mkdir(exist_ok=True)
    (tmp_path / "index.html").write_text(PAGE.format(mark=mark))
    return tmp_path


def test_the_page_carries_the_identity_the_viewer_would_ask_for(tmp_path, h5ad_file):
    from cellucid.data import open_source

    with _runner(open_source(h5ad_file), _viewer(tmp_path)) as runner:
        client = Client(runner.base_url)
        page = client.get("/")
        asked = client.get("/dataset_identity.json")
    assert page.status == 200 and asked.status == 200
    found = INLINE.findall(page.body)
    assert len(found) == 1
    assert json.loads(found[0]) == json.loads(asked.body)
    assert IDENTITY_MARK not in page.body
    assert b"/* boot */" in page.body  # the rest of the page is untouched


def test_names_in_the_inlined_identity_cannot_close_its_script_tag(tmp_path, small_adata):
    from cellucid.data import open_source

    adata = small_adata.copy()
    evil = "</script><script>alert(1)</script>"
    adata.obs[evil] = adata.obs["cell_type"]
    with _runner(open_source(adata), _viewer(tmp_path)) as runner:
        page = Client(runner.base_url).get("/")
    assert b"alert(1)</script>" not in page.body
    identity = json.loads(INLINE.findall(page.body)[0])
    assert evil in [f["name"] for f in identity["fields"]]


def test_a_page_without_the_mark_is_served_as_built(tmp_path):
    from cellucid.data import open_source

    viewer = _viewer(tmp_path, mark="")
    with _runner(open_source(None, demo_cells=200), viewer) as runner:
        page = Client(runner.base_url).get("/")
    # as built, but for the analysis token every page carries (handlers/static.py)
    body = re.sub(rb'<meta name="cellucid-analysis-token" content="[^"]*">', b"", page.body, count=1)
    assert body == (viewer / "index.html").read_bytes()
    assert b"cellucid-identity" not in page.body


def test_the_built_viewer_page_has_the_mark():
    from cellucid.server.settings import ServerSettings as S

    index = S().viewer_dir / "index.html"
    if not index.is_file():
        pytest.fail(f"the viewer is not built ({index} missing): npm --prefix js ci && npm --prefix js run build")
    assert IDENTITY_MARK in index.read_bytes()


def _wait_for(cond, timeout=20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.01)
    return False


def test_the_first_frame_is_encoded_before_anyone_asks(h5ad_file):
    from cellucid.data import open_source

    source = open_source(h5ad_file)
    app = make_app(source, ServerSettings())
    state = app.cellucid_state
    try:
        want = first_frame_keys(state.identity)
        emb, dim = want["embedding"]
        field = want["field"]
        assert (emb, field) == (state.identity["default_embedding"], "cell_type")
        keys = [data.embedding_key(emb, dim, "u16"), data.obs_key(field), data.obs_meta_key(field)]
        # no request was made: the server encoded these by itself
        assert _wait_for(lambda: all(state.responses.get(k) is not None for k in keys))
        assert state.fields.get(field) is not None
        # exactly what the routes would have built
        fresh_field = source.obs_field(field)
        assert state.responses.get(keys[0]).body == data.embedding_response(source, emb, dim, "u16").body
        assert state.responses.get(keys[1]).body == data.obs_response(field, fresh_field).body
        assert state.responses.get(keys[2]).body == data.obs_meta_response(fresh_field).body
        # the codes are already gzipped when that pays (browsers ask for gzip)
        codes = state.responses.get(keys[1])
        assert codes.compressible is not None
        assert (codes.gzipped is not None) == codes.compressible
    finally:
        state.close()
        source.close()  # not left to the garbage collector: a later test checks the file is closed


def _warm_keys(state):
    want = first_frame_keys(state.identity)
    emb, dim = want["embedding"]
    return [data.embedding_key(emb, dim, "u16"), data.obs_key(want["field"]), data.obs_meta_key(want["field"])]


def test_the_routes_send_the_warmed_responses(tmp_path, h5ad_file, small_adata):
    from cellucid.data import open_source

    with _runner(open_source(h5ad_file), _viewer(tmp_path)) as runner:
        state = runner._app.cellucid_state  # the running app's caches
        keys = _warm_keys(state)
        assert _wait_for(lambda: all(state.responses.get(k) is not None for k in keys))
        warmed = [state.responses.get(k) for k in keys]
        client = Client(runner.base_url)
        emb = state.identity["default_embedding"]
        r = client.get(f"/_cellucid/api/embedding?key={emb}&dim=2&format=u16", Accept_Encoding="identity")
        codes = client.get("/_cellucid/api/obs?field=cell_type", Accept_Encoding="gzip")
        meta = client.get("/_cellucid/api/obs/meta?field=cell_type")
        # answered from the warm-up's entries, not rebuilt
        assert [state.responses.get(k) for k in keys] == warmed
        assert all(a is b for a, b in zip((state.responses.get(k) for k in keys), warmed))
    assert r.status == 200 and codes.status == 200 and meta.status == 200
    assert r.body == warmed[0].body
    q = np.frombuffer(r.body, dtype="<u2").reshape(-1, 2)
    assert q.shape == (small_adata.n_obs, 2)
    bounds = json.loads(r.headers["X-Cellucid-Bounds"])
    lo, hi = np.array([b[0] for b in bounds]), np.array([b[1] for b in bounds])
    back = lo + q / 65534.0 * (hi - lo)
    assert np.abs(back - small_adata.obsm[emb][:, :2]).max() <= (hi - lo).max() / 65534.0 + 1e-6
    # the codes went out gzipped when the warm-up judged it worth it, and decode to the column
    body = codes.body
    if codes.headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    assert body == warmed[1].body
    dtype = np.dtype(codes.headers["X-Cellucid-Dtype"]).newbyteorder("<")
    missing = int(codes.headers["X-Cellucid-Missing-Code"])
    sent = np.frombuffer(body, dtype=dtype).astype(int)
    expected = small_adata.obs["cell_type"].cat.codes.to_numpy().astype(int)
    assert np.array_equal(np.where(sent == missing, -1, sent), expected)
    assert json.loads(meta.body)["categories"] == small_adata.obs["cell_type"].cat.categories.tolist()


def test_a_request_during_the_warm_up_waits_for_it_instead_of_reading_again(tmp_path, h5ad_file):
    from cellucid.data import open_source

    source = open_source(h5ad_file)
    reads = {"embedding": 0, "obs_field": 0}
    for name in reads:
        original = getattr(source, name)

        def slow(*args, _original=original, _name=name, **kwargs):
            reads[_name] += 1
            time.sleep(0.3)  # a slow file: the browser's requests arrive meanwhile
            return _original(*args, **kwargs)

        setattr(source, name, slow)
    with _runner(source, _viewer(tmp_path)) as runner:
        client = Client(runner.base_url)
        emb = runner._app.cellucid_state.identity["default_embedding"]
        r = client.get(f"/_cellucid/api/embedding?key={emb}&dim=2&format=u16")
        meta = client.get("/_cellucid/api/obs/meta?field=cell_type")
    assert r.status == 200 and meta.status == 200
    assert reads == {"embedding": 1, "obs_field": 1}


def test_the_warm_up_caches_nothing_read_after_the_files_changed(h5ad_file):
    from cellucid.data import open_source
    from cellucid.server.cache import ByteLRU
    from cellucid.server.warm import warm_first_frame
    from cellucid.server.watch import DataChanged

    source = open_source(h5ad_file)
    app = make_app(source, ServerSettings())
    state = app.cellucid_state
    try:
        state._warming.result(timeout=30)  # the start-up warm-up is over
        state.responses, state.fields = ByteLRU(1 << 26), ByteLRU(1 << 26)
        calls = []

        def changed_after_first_check():
            calls.append(1)
            if len(calls) > 1:
                raise DataChanged("the data file changed", "restart")

        state.watch.check = changed_after_first_check
        warm_first_frame(state)
        assert len(calls) >= 2
        assert len(state.responses) == 0 and len(state.fields) == 0
    finally:
        state.close()
        source.close()


def test_first_frame_keys_follow_the_viewer_s_choice():
    # the same choice as js/src/data/startup.js firstView with no URL choices
    embs = [{"key": "X_umap", "dimensions": [2, 3]}, {"key": "X_pca", "dimensions": [1]}]
    ident = {"embeddings": embs, "default_embedding": "X_umap", "default_dimension": 3,
             "default_field": "leiden", "fields": [{"name": "leiden"}]}
    assert first_frame_keys(ident) == {"embedding": ("X_umap", 3), "field": "leiden"}
    # no defaults: the first embedding (in a dimension it has) and the first field
    ident = {"embeddings": embs[1:], "default_embedding": None, "default_dimension": None,
             "default_field": None, "fields": [{"name": "pseudotime"}]}
    assert first_frame_keys(ident) == {"embedding": ("X_pca", 1), "field": "pseudotime"}
    assert first_frame_keys({"embeddings": [], "default_embedding": None, "default_field": None, "fields": []}) == \
        {"embedding": None, "field": None}
