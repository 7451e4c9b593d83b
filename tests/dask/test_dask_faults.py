"""Faults of the cluster: a scheduler that cannot be reached, and one that dies during a job.
Either way the answer is the in-process one, one warning says what happened (log, /health,
a Python warning in the notebook API), and later requests work."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest
from dask_helpers import (MARKERS, RANK, assert_same_frames, free_port, fresh, http_json, route_frame,
                          wait_health)

import cellucid
from cellucid.anndata_server import AnnDataServer


def fallback_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "cellucid.analysis" and r.levelno == logging.WARNING and "in-process" in r.getMessage()]


@pytest.fixture
def dying_cluster():
    """A LocalCluster of its own (the test closes it); two worker processes."""
    from distributed import Client, LocalCluster

    c = LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None)
    client = Client(c, set_as_default=False)
    yield c, client
    client.close()
    c.close()


def test_unreachable_scheduler_server_falls_back(files, monkeypatch, caplog):
    monkeypatch.setenv("CELLUCID_DASK_TIMEOUT", "1")
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    path = files["h5ad"]
    caplog.set_level(logging.WARNING, logger="cellucid.analysis")
    with AnnDataServer(path, port=0, quiet=True, dask_client=address) as server:
        health = wait_health(server.base_url, lambda h: h.get("analysis") == "ready")
        dask = health["dask"]
        assert dask["status"] == "unreachable" and dask["scheduler"] == address
        assert f"cannot reach the Dask scheduler at {address}" in dask["warning"]
        assert dask["warning"].endswith("computing in-process")
        status, payload = http_json(server.base_url, MARKERS)
        assert status == 200, payload
    expected = fresh(cellucid.markers, path, "cell_type", method="wilcoxon", tie_correct=True)
    assert_same_frames(expected, route_frame(payload))
    assert len(fallback_warnings(caplog)) == 1, fallback_warnings(caplog)


def test_unreachable_scheduler_python_api_warns_once(files, adata, monkeypatch):
    monkeypatch.setenv("CELLUCID_DASK_TIMEOUT", "1")
    path = files["zarr"]
    group = np.arange(0, adata.n_obs, 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = fresh(cellucid.rank_genes, path, group, dask_client=f"tcp://127.0.0.1:{free_port()}")
    mine = [w for w in caught if "cellucid:" in str(w.message)]
    assert len(mine) == 1 and mine[0].category is RuntimeWarning
    assert "cannot reach the Dask scheduler" in str(mine[0].message)
    assert_same_frames(fresh(cellucid.rank_genes, path, group), got)
    # not an address at all: the same fallback
    with pytest.warns(RuntimeWarning, match="cannot reach the Dask scheduler at not-a-scheduler"):
        got = fresh(cellucid.rank_genes, path, group, dask_client="not-a-scheduler")
    assert_same_frames(fresh(cellucid.rank_genes, path, group), got)


def test_scheduler_dies_during_a_server_job(files, adata, dying_cluster, monkeypatch, caplog):
    cluster, _ = dying_cluster
    monkeypatch.setenv("CELLUCID_ANALYSIS_PREPARE", "0")  # the request's job is the one that loses it
    monkeypatch.setenv("CELLUCID_DASK_CHUNK_ENTRIES", "5000")  # many blocks: the job outlives the cluster
    caplog.set_level(logging.WARNING, logger="cellucid.analysis")
    path = files["h5ad"]
    closed_at: list[tuple[str, int, int]] = []
    during: list[dict] = []

    def close_cluster(job, done, total):
        if not closed_at:
            closed_at.append((job, done, total))
            during.append(http_json(server.base_url, "/_cellucid/health")[1]["dask"])  # the job's progress
            cluster.close()  # scheduler and workers go away while the job's other blocks run

    with AnnDataServer(path, port=0, quiet=True, dask_client=cluster.scheduler_address) as server:
        health = wait_health(server.base_url, lambda h: h.get("dask", {}).get("status") == "connected")
        assert health["dask"]["workers"] == 2
        server.dask.on_progress.append(close_cluster)
        status, payload = http_json(server.base_url, MARKERS)
        assert status == 200, payload
        job, done, total = closed_at[0]
        assert done < total  # it died mid-job
        assert during[0]["job"] == job and during[0]["progress"] == round(done / total, 3)
        health = wait_health(server.base_url, lambda h: True)
        assert health["dask"]["status"] == "lost"
        assert f"failed during '{job}'" in health["dask"]["warning"]
        # a later request works (in-process now)
        half = np.arange(0, adata.n_obs, 2)
        status, ranked = http_json(server.base_url, RANK, {"group": {"cells": half.tolist()}}, token=server.token)
        assert status == 200, ranked
    expected = fresh(cellucid.markers, path, "cell_type", method="wilcoxon", tie_correct=True)
    assert_same_frames(expected, route_frame(payload))
    assert_same_frames(fresh(cellucid.rank_genes, path, half), route_frame(ranked))
    assert len(fallback_warnings(caplog)) == 1, fallback_warnings(caplog)


def test_scheduler_dies_during_a_python_call(files, dying_cluster, monkeypatch):
    from cellucid.analysis.cluster import DaskCluster

    cluster, client = dying_cluster
    path = files["zarr"]
    dc = DaskCluster(client, warn=True)
    dc.on_progress.append(lambda job, done, total: cluster.close() if done == 1 else None)
    monkeypatch.setenv("CELLUCID_DASK_CHUNK_ENTRIES", "5000")
    with pytest.warns(RuntimeWarning, match=r"failed during 'sums' .*blocks left; computing in-process"):
        got = fresh(cellucid.markers, path, "cell_type", dask_client=dc)
    assert dc.status()["status"] == "lost"
    assert_same_frames(fresh(cellucid.markers, path, "cell_type"), got)
    # a later call with the dead client: one warning, the in-process answer
    with pytest.warns(RuntimeWarning, match="is not connected"):
        got = fresh(cellucid.markers, path, "cell_type", dask_client=client)
    assert_same_frames(fresh(cellucid.markers, path, "cell_type"), got)


def test_a_dask_client_of_the_wrong_type_is_a_clear_error(files):
    from cellucid.data.base import BadParameter

    for call in (lambda: AnnDataServer(files["h5ad"], port=0, quiet=True, dask_client=8786),
                 lambda: cellucid.markers(files["h5ad"], "cell_type", dask_client=8786)):
        with pytest.raises(BadParameter) as err:
            call()
        assert "dask_client must be a distributed.Client or a scheduler address, got int" in err.value.message
        assert "tcp://host:8786" in err.value.hint


def test_scheduler_gone_between_requests(files, dying_cluster, monkeypatch, caplog):
    cluster, _ = dying_cluster
    monkeypatch.setenv("CELLUCID_ANALYSIS_PREPARE", "0")
    caplog.set_level(logging.WARNING, logger="cellucid.analysis")
    path = files["h5ad"]
    with AnnDataServer(path, port=0, quiet=True, dask_client=cluster.scheduler_address) as server:
        wait_health(server.base_url, lambda h: h.get("dask", {}).get("status") == "connected")
        cluster.close()
        status, payload = http_json(server.base_url, MARKERS)
        assert status == 200, payload
        assert wait_health(server.base_url, lambda h: True)["dask"]["status"] == "lost"
        status, again = http_json(server.base_url, MARKERS.replace("wilcoxon", "t-test"))
        assert status == 200, again
    assert_same_frames(fresh(cellucid.markers, path, "cell_type", method="wilcoxon", tie_correct=True),
                       route_frame(payload))
    assert_same_frames(fresh(cellucid.markers, path, "cell_type", tie_correct=True), route_frame(again))
    assert len(fallback_warnings(caplog)) == 1, fallback_warnings(caplog)
