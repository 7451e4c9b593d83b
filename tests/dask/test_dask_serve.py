"""`cellucid serve PATH --dask tcp://...` (a real subprocess) computes on the LocalCluster and
answers the analysis routes as the in-process path does; /health reports the cluster."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from dask_helpers import MARKERS, assert_same_frames, cellucid_tasks, fresh, http_json, route_frame, wait_health
from distributed import get_task_stream

import cellucid


def serve(*args: str, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    """A ``cellucid serve`` process and its URL; the banner must name the scheduler."""
    proc = subprocess.Popen([sys.executable, "-m", "cellucid.cli", "serve", *args, "--no-browser", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})
    banner = []
    for line in proc.stdout:
        banner.append(line.strip())
        if line.strip().startswith("stop:"):
            url = next(x.split("open:", 1)[1].strip() for x in banner if x.startswith("open:"))
            assert f"dask:    analysis over all cells on {args[args.index('--dask') + 1]}" in banner, banner
            return proc, url
    raise AssertionError(f"no URL in the banner: {proc.stderr.read()}")


def stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    return err


def test_cli_dask_serves_the_in_process_answer(files, cluster, client):
    path = files["h5ad"]
    # The server's background preparation already makes the per-category passes of the
    # field it shows first (cell_type) — on the cluster — so the tasks are watched from start.
    proc = None
    try:
        with get_task_stream(client=client) as ts:
            proc, url = serve(str(path), "--dask", cluster.scheduler_address)
            health = wait_health(url, lambda h: h.get("analysis") == "ready")
            assert health["analysis"] == "ready"
            assert health["dask"]["status"] == "connected" and health["dask"]["workers"] == 2
            assert health["dask"]["scheduler"] == cluster.scheduler_address and "warning" not in health["dask"]
            status, payload = http_json(url, MARKERS)
            assert status == 200, payload
        ran = cellucid_tasks(ts)
        assert any(k.startswith("cellucid-sums-") for k in ran)  # per-category sums
        assert any(k.startswith("cellucid-ranks-") for k in ran)  # per-category rank sums
        expected = fresh(cellucid.markers, path, "cell_type", method="wilcoxon", tie_correct=True)
        assert_same_frames(expected, route_frame(payload))
    finally:
        err = stop(proc) if proc is not None else ""
    assert "computing in-process" not in err


def test_show_anndata_with_a_client_runs_the_viewers_analysis_there(files, client):
    from cellucid import show_anndata

    path = files["zarr"]
    viewer = show_anndata(path, display=False, quiet=True, port=0, dask_client=client)
    try:
        assert viewer._server.dask.client() is client  # the user's client, as given
        with get_task_stream(client=client) as ts:
            got = viewer.markers("cell_type", method="wilcoxon", tie_correct=True)
        assert any(k.startswith("cellucid-ranks-") for k in cellucid_tasks(ts))
        expected = fresh(cellucid.markers, path, "cell_type", method="wilcoxon", tie_correct=True)
        assert_same_frames(expected, got)
    finally:
        viewer.stop()
    assert client.status == "running"  # stopping the viewer leaves the user's client open


def test_cli_unreachable_scheduler_one_line_on_stderr(files):
    from dask_helpers import free_port

    address = f"tcp://127.0.0.1:{free_port()}"
    proc, url = serve(str(files["h5ad"]), "--dask", address, env={"CELLUCID_DASK_TIMEOUT": "1"})
    try:
        health = wait_health(url, lambda h: h.get("dask", {}).get("status") == "unreachable")
        assert health["dask"]["status"] == "unreachable", health
        status, payload = http_json(url, MARKERS)
        assert status == 200, payload
    finally:
        err = stop(proc)
    line = f"cellucid: cannot reach the Dask scheduler at {address}"
    assert err.count(line) == 1, err
    assert "Traceback" not in err
    expected = fresh(cellucid.markers, files["h5ad"], "cell_type", method="wilcoxon", tie_correct=True)
    assert_same_frames(expected, route_frame(payload))
