"""The routes behind the viewer's Analysis panel on a real server over a backed .h5ad: the
page's analysis token (accepted by the analysis POST only), the signature, correlation and
dot-plot routes against the Python API and scipy/pandas on the same file, their errors, and
one DE request through the notebook comm transport's kernel half."""

from __future__ import annotations

import json
import re
import warnings
from urllib.parse import unquote

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import cellucid
from cellucid.server.security import analysis_token
from test_analysis_routes import RANK, as_frame, assert_same

API = "/_cellucid/api/analysis"


def page_token(client) -> str:
    page = client.get("/").body.decode()
    m = re.search(r'<meta name="cellucid-analysis-token" content="([0-9a-f]+)">', page)
    assert m, "every viewer page carries the analysis token"
    return m.group(1)


def post(client, path, body, token):
    return client.request("POST", path, body=json.dumps(body).encode(),
                          headers={"Content-Type": "application/json", "X-Cellucid-Token": token})


def test_the_page_token_opens_the_analysis_post_only(h5ad, h5ad_server, h5ad_file):
    tok = page_token(h5ad)
    assert tok == analysis_token(h5ad_server._runner.settings) and tok != h5ad_server.token
    assert h5ad_server.token not in h5ad.get("/").body.decode(), "no annotation folder: the server token stays off the page"
    cells = list(range(0, 300, 3))
    r = post(h5ad, RANK, {"group": {"cells": cells}}, tok)
    assert r.status == 200, r.body
    assert_same(as_frame(r.json()), cellucid.rank_genes(h5ad_file, np.array(cells)))
    # a wrong token, and the analysis token on a route that writes, are refused
    wrong = tok[:-1] + ("1" if tok[-1] == "0" else "0")  # one character off (never the token itself)
    assert post(h5ad, RANK, {"group": {"cells": cells}}, wrong).status == 403
    r = post(h5ad, "/_cellucid/api/annotations/vote", {"field": "leiden", "category": "0", "label": "x"}, tok)
    assert r.status == 403 and "token" in r.json()["error"]


def test_signature_route_equals_signature_score(h5ad, h5ad_file):
    r = h5ad.get(f"{API}/signature", {"genes": "CD3E, NKG7\nNOT_A_GENE;CD3E", "method": "zscore"})
    assert r.status == 200, r.body
    got = r.array()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        want = cellucid.signature_score(h5ad_file, ["CD3E", "NKG7", "NOT_A_GENE"], method="zscore").to_numpy()
    np.testing.assert_array_equal(got, want)
    assert json.loads(unquote(r.headers["X-Cellucid-Unknown-Genes"])) == ["NOT_A_GENE"]
    assert float(r.headers["X-Cellucid-Max"]) == pytest.approx(float(want.max()))


def test_correlation_route_equals_scipy(h5ad, small_adata):
    r = h5ad.get(f"{API}/correlation", {"x": "CD3E", "y": "n_counts", "method": "spearman"})
    assert r.status == 200, r.body
    x = np.asarray(small_adata[:, "CD3E"].X.todense()).ravel()
    want = stats.spearmanr(x, small_adata.obs["n_counts"].to_numpy())
    got = r.json()
    assert got["r"] == pytest.approx(want[0], rel=1e-12) and got["p"] == pytest.approx(want[1], rel=1e-9)
    assert got["n"] == small_adata.n_obs


def test_dotplot_route_equals_pandas(h5ad, small_adata):
    genes = ["CD3E", "MS4A1", "LYZ"]
    r = h5ad.get(f"{API}/dotplot", {"groupby": "cell_type", "genes": ",".join(genes)})
    assert r.status == 200, r.body
    got = r.json()
    cats = list(small_adata.obs["cell_type"].cat.categories)
    assert got["groups"] == cats and got["genes"] == genes
    dense = pd.DataFrame(np.asarray(small_adata[:, genes].X.todense()), columns=genes)
    dense["g"] = small_adata.obs["cell_type"].to_numpy()
    mean = dense.groupby("g", observed=False)[genes].mean().loc[cats]
    frac = (dense[genes] != 0).groupby(dense["g"], observed=False).mean().loc[cats]
    np.testing.assert_allclose(np.array(got["mean"]), mean.to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(np.array(got["fraction"]), frac.to_numpy(), rtol=1e-12)


@pytest.mark.parametrize("path, params, status, words", [
    ("signature", {"genes": "NOPE1,NOPE2"}, 404, "none of the 2 genes"),
    ("signature", {"genes": " , "}, 400, "genes is empty"),
    ("signature", {"genes": "CD3E", "method": "median"}, 400, "unknown method"),
    ("correlation", {"x": "CD3E", "y": "cell_type"}, 400, "categorical"),
    ("correlation", {"x": "CD3E", "y": "NOPE"}, 404, "neither a gene nor an obs field"),
    ("dotplot", {"groupby": "n_counts", "genes": "CD3E"}, 400, "continuous"),
    ("dotplot", {"groupby": "cell_type", "genes": "NOPE"}, 404, "NOPE"),
])
def test_bad_requests_answer_json_errors_with_hints(h5ad, path, params, status, words):
    r = h5ad.get(f"{API}/{path}", params)
    assert r.status == status, r.body
    body = r.json()
    assert words in body["error"] and body["hint"]


class _Widget:
    """The ipywidget side the comm transport talks to: on_msg registration and send()."""

    comm = object()

    def __init__(self):
        self.sent = []

    def on_msg(self, fn):
        self.handler = fn

    def send(self, content, buffers=None):
        self.sent.append((content, buffers or []))


def test_a_de_request_through_the_comm_transport(h5ad_server, h5ad_file):
    from cellucid.widget.comm_transport import CommTransport

    widget = _Widget()
    CommTransport(widget, h5ad_server._runner.answer)
    body = json.dumps({"group": {"cells": list(range(50, 400))}, "method": "wilcoxon"}).encode()
    # what js/widget/relay.js sends for a POST: the request, its body as buffer 0
    req = {"id": "r1", "url": RANK, "method": "POST", "headers": {"Content-Type": "application/json"}, "body": 0}
    widget.handler(widget, {"kind": "http", "requests": [req]}, [body])
    assert widget.sent, "answered before returning (no event loop on this thread)"
    head = widget.sent[0][0]
    assert head["status"] == 200, widget.sent
    payload = json.loads(b"".join(bytes(b) for _, bufs in widget.sent for b in bufs))
    assert_same(as_frame(payload), cellucid.rank_genes(h5ad_file, np.arange(50, 400), method="wilcoxon"))
