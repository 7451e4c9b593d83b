"""The served file deleted, replaced or truncated while serving: the server keeps answering
(health, other servers), refuses data with a clear 503 instead of sending wrong numbers,
and health names the problem."""

from __future__ import annotations

import os
import shutil
import warnings

import pytest

from netprobe import request

GENE = "/_cellucid/api/gene?index={}"


def _data_routes():
    return [GENE.format(7), "/_cellucid/api/obs?field=batch", "/_cellucid/api/embedding?key=X_tsne",
            "/_cellucid/api/cells?index=1,2"]


def _expect_refused(port):
    for target in _data_routes():
        answer = request(port, target)
        assert answer.status == 503, (target, answer.status, answer.body[:200])
        body = answer.json()
        assert "while being served" in body["error"] and "Restart" in body["hint"]
        assert "/" not in body["error"].split("'")[1]  # the file's name, never its path
    health = request(port, "/_cellucid/health")
    assert health.status == 200
    assert health.json()["status"] == "data_changed" and "while being served" in health.json()["problem"]


def _change(path, how, tmp_path):
    from cellucid.data.demo import write_demo_h5ad

    if how == "deleted":
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    elif how == "replaced":
        other = tmp_path / ("other" + path.suffix)
        if path.suffix == ".zarr":
            from cellucid.data.demo import demo_anndata

            demo_anndata(2000, 100, seed=9).write_zarr(other)
            shutil.rmtree(path)
            os.rename(other, path)
        else:
            write_demo_h5ad(other, 2000, 100, seed=9)
            os.replace(other, path)
    elif how == "truncated":
        with open(path, "r+b") as fh:
            fh.truncate(path.stat().st_size // 3)
    else:
        raise ValueError(how)


@pytest.mark.parametrize("kind,how", [("h5ad", "deleted"), ("h5ad", "replaced"), ("h5ad", "truncated"),
                                      ("zarr", "deleted"), ("zarr", "replaced")])
def test_changed_file_is_refused_clearly_and_the_rest_keeps_serving(tmp_path, kind, how):
    from cellucid.anndata_server import AnnDataServer
    from cellucid.data.demo import demo_anndata, write_demo_h5ad

    if kind == "h5ad":
        path = tmp_path / "served.h5ad"
        write_demo_h5ad(path, 2000, 100, seed=1)
    else:
        path = tmp_path / "served.zarr"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            demo_anndata(2000, 100, seed=1).write_zarr(path)
    bystander_path = tmp_path / "bystander.h5ad"
    write_demo_h5ad(bystander_path, 1000, 50, seed=2)

    with AnnDataServer(path, port=0, quiet=True) as srv, AnnDataServer(bystander_path, port=0, quiet=True) as other:
        before = request(srv.port, GENE.format(3))
        assert before.status == 200
        _change(path, how, tmp_path)
        _expect_refused(srv.port)
        # Answers cached from the file as it was are not sent again ...
        assert request(srv.port, GENE.format(3)).status == 503
        # ... and another server in the same process is untouched.
        for target in _data_routes():
            assert request(other.port, target).status == 200
        assert request(other.port, "/_cellucid/health").json()["status"] == "ok"


def test_unchanged_file_is_never_refused(demo_h5ad):
    from cellucid.anndata_server import AnnDataServer

    with AnnDataServer(demo_h5ad, port=0, quiet=True) as srv:
        for i in range(20):
            assert request(srv.port, GENE.format(i)).status == 200
        assert request(srv.port, "/_cellucid/health").json()["status"] == "ok"
