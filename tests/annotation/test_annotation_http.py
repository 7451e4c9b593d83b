"""The annotation routes over real HTTP: votes need the token, the consensus is an obs field
that matches the Python rule, nothing escapes the folder, the data file is never written."""

from __future__ import annotations

import json

import anndata as ad
import numpy as np
import pytest

from cellucid.anndata_server import AnnDataServer
from cellucid.annotation import AnnotationFolder, consensus
from cellucid.data.base import InputError
from server_http import Client

API = "/_cellucid/api"


def post(server, action, body, token=True, **headers):
    hdrs = {"Content-Type": "application/json", **headers}
    if token:
        hdrs["X-Cellucid-Token"] = server.token
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Client(server.base_url).request("POST", f"{API}/annotations/{action}", body=raw, headers=hdrs)


def tree(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.fixture
def served(clustered_h5ad, tmp_path):
    before = (clustered_h5ad.read_bytes(), clustered_h5ad.stat().st_mtime_ns)
    with AnnDataServer(clustered_h5ad, port=0, quiet=True, annotations=tmp_path / "ann") as server:
        yield server
    assert (clustered_h5ad.read_bytes(), clustered_h5ad.stat().st_mtime_ns) == before


def test_votes_and_the_consensus_field(served, clustered_h5ad, tmp_path):
    client = Client(served.base_url)
    ident = client.get("/dataset_identity.json").json()
    assert {"name": "annotation", "kind": "categorical", "annotation": True} in ident["fields"]
    assert client.get(f"{API}/annotations").json()["targets"] == []
    empty = client.get(f"{API}/obs", {"field": "annotation"})
    assert empty.status == 200 and (empty.array() == 255).all()

    for who, cat, label in [("Ana", "0", "T cell"), ("Bo", "0", "T cell"), ("Ana", "1", "B cell"),
                            ("Bo", "1", "NK"), ("Cy", "2", "Monocyte")]:
        r = post(served, "vote", {"annotator": who, "field": "leiden", "category": cat, "label": label,
                                  "note": f"{who} thinks so", "confidence": 0.75})
        assert r.status == 200, r.body
    body = post(served, "vote", {"annotator": "Cy", "cells": [3, 4, 5], "label": "Doublet"}).json()
    by_cat = {t.get("category"): t for t in body["targets"]}
    assert by_cat["0"]["status"] == "agreed" and by_cat["0"]["proposals"] == [
        {"label": "T cell", "votes": 2, "voters": ["Ana", "Bo"]}]
    assert by_cat["1"]["status"] == "disputed" and by_cat["1"]["label"] is None
    assert sorted(body["annotators"]) == ["Ana", "Bo", "Cy"]

    meta = client.get(f"{API}/obs/meta", {"field": "annotation"}).json()
    codes = client.get(f"{API}/obs", {"field": "annotation"}).array()
    served_labels = [meta["categories"][c] if c != 255 else None for c in codes]
    adata = ad.read_h5ad(clustered_h5ad)
    expected = consensus(tmp_path / "ann", adata)
    assert served_labels == expected.astype(object).where(expected.notna(), None).tolist()
    assert set(meta["categories"]) == {"T cell", "disputed", "Monocyte", "Doublet"}
    cell = client.get(f"{API}/cells", {"index": "4"}).json()["cells"][0]
    assert cell["fields"]["annotation"] == "Doublet"


def test_the_consensus_is_never_stale(served):
    client = Client(served.base_url)
    post(served, "vote", {"annotator": "Ana", "field": "leiden", "category": "0", "label": "T"})
    first = client.get(f"{API}/obs", {"field": "annotation"})
    etag = first.headers["Etag"]
    assert client.get(f"{API}/obs", {"field": "annotation"}, If_None_Match=etag).status == 304
    post(served, "vote", {"annotator": "Bo", "field": "leiden", "category": "0", "label": "B"})
    again = client.get(f"{API}/obs", {"field": "annotation"}, If_None_Match=etag)
    assert again.status == 200 and again.headers["Etag"] != etag
    assert np.array_equal(first.array() == 0, again.array() == 0)  # the same cells ...
    assert client.get(f"{API}/obs/meta", {"field": "annotation"}).json()["categories"] == ["disputed"]  # T → disputed
    # a change made outside the server (an editor, a git pull) shows up the same way
    AnnotationFolder(served.annotations.path).vote("Cy", field="leiden", category="0", label="T")
    assert client.get(f"{API}/obs/meta", {"field": "annotation"}).json()["categories"] == ["T"]


def test_writes_need_the_token_and_the_same_origin(served, tmp_path):
    vote = {"annotator": "Eve", "field": "leiden", "category": "0", "label": "x"}
    refused = post(served, "vote", vote, token=False)
    assert refused.status == 403 and "token" in refused.json()["error"]
    wrong = post(served, "vote", vote, token=False, **{"X-Cellucid-Token": "guess"})
    assert wrong.status == 403
    cross = post(served, "vote", vote, Origin="http://evil.example")
    assert cross.status == 403 and "origin" in cross.json()["error"]
    assert tree(tmp_path / "ann") == ["annotators", "project.json"]


def test_the_page_carries_the_token_only_with_annotations(served, clustered_h5ad):
    page = Client(served.base_url).get("/").body
    assert f'name="cellucid-write-token" content="{served.token}"'.encode() in page
    with AnnDataServer(clustered_h5ad, port=0, quiet=True) as plain:
        page = Client(plain.base_url).get("/").body
        assert b"cellucid-write-token" not in page and plain.token.encode() not in page
        assert Client(plain.base_url).get(f"{API}/annotations").status == 404


@pytest.mark.parametrize("body, status, message", [
    ({"annotator": "../../../../tmp/evil", "field": "leiden", "category": "0", "label": "x"}, 200, None),
    ({"annotator": "Ana", "field": "../../etc/passwd", "category": "0", "label": "x"}, 404, "no categorical field"),
    ({"annotator": "Ana", "field": "leiden", "category": "../0", "label": "x"}, 404, "has no category"),
    ({"annotator": "Ana", "set": "../../../x", "label": "x"}, 400, "not a cell set id"),
    ({"annotator": "Ana", "set": "cells-../../x", "label": "x"}, 400, "unknown cell set"),
    ({"annotator": "Ana", "cells": [0, 10**9], "label": "x"}, 400, "out of range"),
    ({"annotator": "Ana", "cells": "0-5", "label": "x"}, 400, "list of cell indices"),
    ({"annotator": "", "field": "leiden", "category": "0", "label": "x"}, 400, "annotator name is empty"),
    ({"annotator": "Ana", "field": "leiden", "category": "0", "label": "x", "confidence": 7}, 400, "between 0 and 1"),
    ({"annotator": "Ana", "field": "pseudotime", "category": "0", "label": "x"}, 404, "no categorical field"),
    (b"{not json", 400, "JSON object"),
    ([1, 2], 400, "JSON object"),
])
def test_bad_and_hostile_requests(served, tmp_path, body, status, message):
    r = post(served, "vote", body)
    assert r.status == status, r.body
    if message:
        assert message in r.json()["error"] and r.json()["hint"]
        assert tree(tmp_path / "ann") == ["annotators", "project.json"]
    files = [p for p in (tmp_path / "ann").rglob("*") if p.is_file()]
    assert all(p.parent in (tmp_path / "ann", tmp_path / "ann" / "annotators") for p in files)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ann", "data.h5ad"]


def test_action_names_cannot_be_paths(served, tmp_path):
    client = Client(served.base_url)
    for path in [f"{API}/annotations/..%2F..%2Fx", f"{API}/annotations/vote/../../x", f"{API}/annotations/delete"]:
        r = client.request("POST", path, body=b"{}", headers={"X-Cellucid-Token": served.token})
        assert r.status in (404, 405), (path, r.body)  # no such action, or no such route
    assert tree(tmp_path / "ann") == ["annotators", "project.json"]


def test_lock_is_for_the_author(clustered_h5ad, tmp_path):
    AnnotationFolder(tmp_path / "ann", create=True, author="Ana")
    with AnnDataServer(clustered_h5ad, port=0, quiet=True, annotations=tmp_path / "ann") as server:
        post(server, "vote", {"annotator": "Bo", "field": "leiden", "category": "3", "label": "B"})
        post(server, "vote", {"annotator": "Cy", "field": "leiden", "category": "3", "label": "T"})
        bad = post(server, "lock", {"annotator": "Bo", "field": "leiden", "category": "3", "label": "B"})
        assert bad.status == 400 and "only the project's author (Ana)" in bad.json()["error"]
        ok = post(server, "lock", {"annotator": "Ana", "field": "leiden", "category": "3", "label": "Plasma"})
        [target] = ok.json()["targets"]
        assert (target["status"], target["label"]) == ("locked", "Plasma")
        assert post(server, "retract", {"annotator": "Cy", "field": "leiden", "category": "3"}).status == 200
        meta = Client(server.base_url).get(f"{API}/obs/meta", {"field": "annotation"}).json()
        assert meta["categories"] == ["Plasma"]


def test_the_folder_may_not_be_the_data(clustered_h5ad, tmp_path):
    from cellucid.data.demo import demo_anndata

    zarr = tmp_path / "data.zarr"
    demo_anndata(100, 10).write_zarr(zarr)
    with pytest.raises(InputError, match="inside the data"):
        AnnDataServer(zarr, port=0, quiet=True, annotations=zarr / "ann")
    with pytest.raises(InputError, match="inside the data|is a file"):
        AnnDataServer(clustered_h5ad, port=0, quiet=True, annotations=clustered_h5ad)
    assert not (zarr / "ann").exists()


def test_over_the_comm_reads_and_writes_work(served):
    """The comm transport (notebooks without port access) answers the same routes in process,
    writes included (the kernel adds the token; the same body limit as over HTTP)."""
    vote = json.dumps({"annotator": "Ana", "field": "leiden", "category": "0", "label": "T"}).encode()
    wrote = served.runner.answer(f"{API}/annotations/vote", {"Content-Type": "application/json"},
                                 method="POST", body=vote).result(timeout=30)
    assert wrote.status == 200, wrote.body
    too_big = served.runner.answer(f"{API}/annotations/vote", {"Content-Type": "application/json"},
                                   method="POST", body=b" " * (1 << 20)).result(timeout=30)
    assert too_big.status == 413 and "too large" in json.loads(too_big.body)["error"]
    got = served.runner.answer(f"{API}/annotations").result(timeout=30)
    assert got.status == 200 and json.loads(got.body)["targets"][0]["label"] == "T"
    obs = served.runner.answer(f"{API}/obs/meta?field=annotation").result(timeout=30)
    assert json.loads(obs.body)["categories"] == ["T"]


def test_a_folder_removed_while_served_is_a_clear_error(served, tmp_path):
    import shutil

    shutil.rmtree(tmp_path / "ann")
    r = Client(served.base_url).get(f"{API}/annotations")
    assert r.status == 400 and "project.json cannot be read" in r.json()["error"] and r.json()["hint"]
    assert Client(served.base_url).get(f"{API}/obs", {"field": "leiden"}).status == 200
