"""The analysis routes on a real server over a backed .h5ad: the same numbers as the Python
API on the same file, the token rule for POST, and JSON errors with hints."""

from __future__ import annotations

import base64
import json

import numpy as np
import pandas as pd
import pytest

import cellucid

RANK = "/_cellucid/api/analysis/rank_genes"
MARKERS = "/_cellucid/api/analysis/markers"


def post(client, server, body, token=True):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["X-Cellucid-Token"] = server.token
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.request("POST", RANK, body=raw, headers=headers)


def as_frame(payload) -> pd.DataFrame:
    df = pd.DataFrame(payload["columns"])
    for c in df.columns:
        if c not in ("names", "group"):
            df[c] = df[c].astype(float)  # null -> NaN
    return df


def assert_same(route_df: pd.DataFrame, py_df: pd.DataFrame) -> None:
    assert list(route_df.columns) == list(py_df.columns)
    assert route_df["names"].tolist() == py_df["names"].tolist()
    for c in py_df.columns:
        if c not in ("names", "group"):
            np.testing.assert_array_equal(route_df[c].to_numpy(), py_df[c].to_numpy())


def test_post_without_the_token_is_refused(h5ad, h5ad_server):
    r = post(h5ad, h5ad_server, {"group": {"cells": [1, 2, 3]}}, token=False)
    assert r.status == 403 and "token" in r.json()["error"]


@pytest.mark.parametrize("method", ["t-test", "wilcoxon"])
def test_cells_vs_rest_equals_python_on_the_same_file(h5ad, h5ad_server, h5ad_file, small_adata, method):
    cells = np.flatnonzero(small_adata.obs["cell_type"].to_numpy() == "B cell")
    r = post(h5ad, h5ad_server, {"group": {"cells": cells.tolist()}, "method": method, "tie_correct": True})
    assert r.status == 200, r.body
    assert r.headers["Content-Type"].startswith("application/json")
    got = as_frame(r.json())
    assert len(got) == small_adata.n_vars
    assert_same(got, cellucid.rank_genes(h5ad_file, cells, method=method, tie_correct=True))
    # the same cells as base64 uint32, top 10 only
    b64 = base64.b64encode(cells.astype("<u4").tobytes()).decode()
    r2 = post(h5ad, h5ad_server, {"group": {"cells_b64": b64}, "method": method, "tie_correct": True, "n_genes": 10})
    assert_same(as_frame(r2.json()), got.iloc[:10])


def test_categories_against_a_reference(h5ad, h5ad_server, h5ad_file):
    body = {"groupby": "cell_type", "group": {"categories": ["T cell"]}, "reference": {"categories": ["NK cell"]}}
    r = post(h5ad, h5ad_server, body)
    assert r.status == 200, r.body
    assert_same(as_frame(r.json()), cellucid.rank_genes(h5ad_file, "T cell", reference="NK cell", groupby="cell_type"))


@pytest.mark.parametrize("body, status, error, hint", [
    (b"not json", 400, "not JSON", "http-api.md"),
    ({"group": [1, 2]}, 400, "must be an object", "cells"),
    ({"group": {"cells": [1, 2]}, "reference": {"cells": [2, 3]}}, 400, "share 1 cells", "rest"),
    ({"group": {"cells": [7]}}, 400, "only one cell", "add cells"),
    ({"group": {"categories": ["T cell"]}}, 400, "no 'groupby'", "groupby"),
    ({"groupby": "cell_type", "group": {"categories": ["Neuron"]}}, 404, "'Neuron' is not a category", "B cell"),
    ({"group": {"cells": [1, 2, 3]}, "method": "logreg"}, 400, "unknown method", "wilcoxon"),
    ({"group": {"cells_b64": "AAA"}}, 400, "not base64", "uint32"),
])
def test_bad_requests_get_json_errors_with_hints(h5ad, h5ad_server, body, status, error, hint):
    r = post(h5ad, h5ad_server, body)
    assert r.status == status
    payload = r.json()
    assert error in payload["error"] and hint in payload["hint"]


def test_markers_get_equals_python_and_is_cacheable(h5ad, h5ad_file):
    r = h5ad.get(MARKERS, {"groupby": "cell_type", "method": "wilcoxon", "n_genes": 5})
    assert r.status == 200, r.body
    payload = r.json()
    want = cellucid.markers(h5ad_file, "cell_type", method="wilcoxon", n_genes=5)
    assert payload["groups"] == list(dict.fromkeys(want["group"]))
    assert_same(as_frame(payload), want)
    again = h5ad.get(MARKERS, {"groupby": "cell_type", "method": "wilcoxon", "n_genes": 5},
                     If_None_Match=r.headers["Etag"])
    assert again.status == 304
    bad = h5ad.get(MARKERS, {"groupby": "pseudotime"})
    assert bad.status == 400 and "continuous" in bad.json()["error"]
    assert h5ad.get(MARKERS).status == 400  # groupby is required


def test_health_reports_the_background_preparation_and_requests_use_it(h5ad, h5ad_server):
    """Totals and the rank table are made in the background after start; /health says how
    far (waiting → preparing → ready); the answers are the same before and after."""
    import time

    from cellucid.analysis._matrix import expression_of

    seen = set()
    deadline = time.monotonic() + 120  # a bound on waiting, not a speed assertion
    while time.monotonic() < deadline:
        state = h5ad.get("/_cellucid/health").json().get("analysis")
        seen.add(state)
        if state == "ready":
            break
        time.sleep(0.05)
    assert state == "ready", seen
    assert seen <= {"waiting", "preparing", "ready"}
    expr = expression_of(h5ad_server.source)
    assert expr._totals is not None and expr._value_table is not None
    # the field the viewer shows first has its per-category sums (what markers needs) ready:
    # a markers request on it makes no pass over the matrix
    from cellucid.server.warm import first_frame_keys

    field = first_frame_keys(h5ad_server._runner.identity)["field"]
    assert field in {"cell_type", "leiden", "batch"}, field  # a categorical field, or the check is empty
    passes = []
    original = expr.category_sums
    expr.category_sums = lambda *a, **k: passes.append(a) or original(*a, **k)
    try:
        r = h5ad.get(MARKERS, {"groupby": field, "n_genes": "3"})
    finally:
        del expr.category_sums
    assert r.status == 200, r.body
    assert passes == []


def test_a_body_larger_than_other_routes_take_is_accepted_here_and_over_the_comm(h5ad, h5ad_server, small_adata):
    """Groups of many cells make large bodies: this route takes up to 64 MB (others 64 KiB),
    over HTTP and in process (the notebook's comm) alike."""
    cells = np.flatnonzero(small_adata.obs["cell_type"].to_numpy() == "B cell")
    raw = (json.dumps({"group": {"cells": cells.tolist()}, "n_genes": 5}) + " " * 200_000).encode()
    over_http = post(h5ad, h5ad_server, raw)
    assert over_http.status == 200, over_http.body[:300]
    in_process = h5ad_server.runner.answer(RANK, {"Content-Type": "application/json"}, method="POST",
                                           body=raw).result(timeout=60)
    assert in_process.status == 200 and json.loads(in_process.body) == over_http.json()
    other = h5ad.request("POST", "/_cellucid/api/annotations/vote", body=raw,
                         headers={"X-Cellucid-Token": h5ad_server.token})
    assert other.status == 413


def test_background_preparation_waits_for_a_quiet_moment(h5ad, h5ad_server):
    """Data requests (a page loading its first frame) push the preparation back; health polls
    do not (waiting clients send them)."""
    import threading
    import time

    state = h5ad_server._runner._app.cellucid_state
    h5ad.get("/_cellucid/health")
    before = state.last_request
    h5ad.get("/_cellucid/health")
    assert state.last_request == before  # a health poll is not a data request
    assert h5ad.get("/_cellucid/api/obs/meta", {"field": "cell_type"}).status == 200
    assert state.last_request > before

    returned = []
    waiter = threading.Thread(target=lambda: (state.wait_until_quiet(quiet_s=0.5, longest_s=30),
                                              returned.append(time.monotonic())))
    waiter.start()
    stop = time.monotonic() + 1.2
    while time.monotonic() < stop:  # a client busy loading: a request every 0.1 s
        h5ad.get("/_cellucid/api/obs/meta", {"field": "cell_type"})
        time.sleep(0.1)
    last = state.last_request
    waiter.join(10)
    assert returned and returned[0] >= last + 0.5  # it waited for the quiet after the last one


def test_background_preparation_pauses_between_the_steps_of_its_passes(h5ad_file, monkeypatch):
    """The preparation calls its pause between the steps of every pass over the matrix
    (totals, value table, per-category sums and rank sums), so a server can hold it while a
    page loads; a request's own passes on another thread never call it."""
    import threading

    from cellucid.analysis import prepare as analysis_prep
    from cellucid.analysis._matrix import expression_of
    from cellucid.data._open import open_source

    monkeypatch.setenv("CELLUCID_GENE_INDEX", "0")  # the passes read the file itself, no build to wait for
    source = open_source(h5ad_file, gene_id_column="gene_ids")
    try:
        calls = []
        other_thread = []

        def pause():
            calls.append(threading.get_ident())

        def request_pass():  # what a route does meanwhile, on its own thread
            expression_of(source).category_sums(np.zeros(1200, dtype=np.int64), 1, single=True)
            other_thread.append(len(calls))

        analysis_prep.prepare(source, ["cell_type"], pause=pause)
        assert analysis_prep.status(source) == "ready"
        assert len(calls) >= 4  # totals, value table, category sums, category rank sums
        assert set(calls) == {threading.get_ident()}
        before = len(calls)
        t = threading.Thread(target=request_pass)
        t.start()
        t.join(60)
        assert other_thread == [before]  # the other thread's pass did not pause
    finally:
        analysis_prep.forget(source)
        source.close()


def test_running_preparation_waits_for_quiet_after_a_data_request_within_its_share(h5ad, h5ad_server):
    """Between steps (StepPause): after a data request it waits until no request came for
    ``quiet_s``; the time it may pause is earned by working (PREPARE_SHARE), so a client that
    never stops asking cannot stop it."""
    import threading
    import time

    from cellucid.server.state import PREPARE_SHARE, QUIET_WAIT_MAX_S, StepPause

    state = h5ad_server._runner._app.cellucid_state
    pause = StepPause(state, quiet_s=1.0)  # (longer than any gap between the requests below)
    assert h5ad.get("/_cellucid/api/obs/meta", {"field": "cell_type"}).status == 200
    returned = []
    waiter = threading.Thread(target=lambda: (pause(), returned.append(time.monotonic())))
    waiter.start()
    stop = time.monotonic() + 1.5
    while time.monotonic() < stop:  # a page loading: a request every 0.1 s
        h5ad.get("/_cellucid/api/obs/meta", {"field": "cell_type"})
        time.sleep(0.1)
    last = state.last_request
    waiter.join(10)
    assert returned and returned[0] >= last + 1.0  # it waited for the quiet after the last request

    # no credit left: it goes on at once, and each second of work earns pause again
    pause.credit = 0.0
    pause.resumed = time.monotonic() - 0.2  # 0.2 s of work since it last paused
    state.last_request = float("-inf")  # (no recent request: nothing to wait for)
    pause()
    earned = 0.2 * (1 - PREPARE_SHARE) / PREPARE_SHARE
    assert earned <= pause.credit <= QUIET_WAIT_MAX_S
