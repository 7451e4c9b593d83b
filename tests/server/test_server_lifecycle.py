"""Runner behaviour: concurrency, several servers, port fallback, shutdown releasing everything."""

from __future__ import annotations

import hashlib
import os
import socket
import threading

import h5py
import numpy as np
import psutil
import pytest

from cellucid.server import ServerRunner
from server_http import Client

HEALTH = "/_cellucid/health"


def slow_copy(source):
    """The same source, but ``gene_by_index`` waits until the test releases it."""

    class SlowGenes(type(source)):
        def gene_by_index(self, index):
            self.read_started.set()
            assert self.release.wait(30), "the test never released the slow read"
            return super().gene_by_index(index)

    source.__class__ = SlowGenes
    source.read_started = threading.Event()
    source.release = threading.Event()
    return source


def test_health_answers_while_a_slow_gene_read_is_in_flight(small_adata):
    from cellucid.data import open_source

    source = slow_copy(open_source(small_adata))
    with ServerRunner(source, port=0) as runner:
        client = Client(runner.base_url)
        result = {}
        reader = threading.Thread(target=lambda: result.update(r=client.get("/_cellucid/api/gene", {"index": 3})))
        reader.start()
        try:
            assert source.read_started.wait(30)
            # The gene request is blocked inside the data source right now.
            health = client.get(HEALTH, timeout=10)
            assert health.status == 200
            ident = client.get("/dataset_identity.json", timeout=10)
            assert ident.status == 200
            assert reader.is_alive()
        finally:
            source.release.set()
            reader.join(30)
        np.testing.assert_array_equal(result["r"].array(), np.asarray(
            small_adata.X[:, 3].toarray()).ravel().astype(np.float32))


def test_two_servers_in_one_process_are_independent(h5ad_file):
    from cellucid.anndata_server import AnnDataServer

    a = AnnDataServer(None, demo_cells=300, port=0, quiet=True).start_background()
    b = AnnDataServer(h5ad_file, port=0, quiet=True).start_background()
    try:
        assert a.port != b.port
        ha = Client(a.base_url).get(HEALTH).json()
        hb = Client(b.base_url).get(HEALTH).json()
        assert (ha["source_kind"], hb["source_kind"]) == ("demo", "h5ad")
        a.stop()
        assert Client(b.base_url).get(HEALTH).status == 200
        with pytest.raises(OSError):
            Client(a.base_url).get(HEALTH, timeout=5)
    finally:
        a.stop()
        b.stop()


def test_stop_frees_the_port_immediately_and_is_idempotent():
    from cellucid.anndata_server import AnnDataServer

    server = AnnDataServer(None, demo_cells=300, port=0, quiet=True).start_background()
    port = server.port
    assert Client(server.base_url).get(HEALTH).status == 200
    server.stop()
    server.stop()
    assert not server.running
    with socket.socket() as sock:
        # SO_REUSEADDR as every server sets it: TIME_WAIT remnants are fine, a listener is not.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))  # raises EADDRINUSE if the server still held it
        sock.listen()


def test_stop_closes_the_h5ad_file(h5ad_file):
    from cellucid.anndata_server import AnnDataServer

    server = AnnDataServer(h5ad_file, port=0, quiet=True).start_background()
    client = Client(server.base_url)
    assert client.get("/_cellucid/api/gene", {"index": 0}).status == 200
    assert client.get("/_cellucid/api/obs", {"field": "cell_type"}).status == 200
    server.stop()
    open_paths = {os.path.realpath(f.path) for f in psutil.Process().open_files()}
    assert os.path.realpath(h5ad_file) not in open_paths
    with h5py.File(h5ad_file, "r+"):  # HDF5 refuses write access while another handle is open
        pass


def test_serving_never_changes_the_file(small_adata, tmp_path):
    from cellucid.anndata_server import AnnDataServer

    path = tmp_path / "untouched.h5ad"
    small_adata.write_h5ad(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    mtime = path.stat().st_mtime_ns
    with AnnDataServer(path, port=0, quiet=True, gene_id_column="gene_ids") as server:
        client = Client(server.base_url)
        for route, params in [("/dataset_identity.json", {}), ("/_cellucid/api/gene", {"name": "CD3E"}),
                              ("/_cellucid/api/obs", {"field": "cell_type"}),
                              ("/_cellucid/api/embedding", {"key": "X_umap"}),
                              ("/_cellucid/api/genes", {"q": "cd"})]:
            assert client.get(route, params).status == 200
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    assert path.stat().st_mtime_ns == mtime


def test_a_taken_port_falls_back_to_the_next_free_one():
    from cellucid.anndata_server import AnnDataServer

    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        taken = blocker.getsockname()[1]
        with AnnDataServer(None, demo_cells=300, port=taken, quiet=True) as server:
            assert server.port != taken and server.port > taken
            assert f"port {taken} was taken, using {server.port}" in server.banner()
            assert Client(server.base_url).get(HEALTH).status == 200


def test_every_port_taken_is_a_clear_error():
    from cellucid.data.base import CellucidError

    from cellucid.data import open_source

    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        taken = blocker.getsockname()[1]
        runner = ServerRunner(open_source(None, demo_cells=200), port=taken, port_retries=1)
        with pytest.raises(CellucidError) as info:
            runner.start_background()
        assert "in use" in info.value.message and "--port" in info.value.hint
        runner.stop()


def test_anndata_server_repr_url_and_context_manager():
    from cellucid.anndata_server import AnnDataServer

    with AnnDataServer(None, demo_cells=300, port=0, quiet=True) as server:
        assert server.url == f"http://127.0.0.1:{server.port}/"
        assert "running" in repr(server)
    assert "stopped" in repr(server)


def test_serve_anndata_in_a_running_event_loop_starts_in_the_background(small_adata, capsys):
    import asyncio

    from cellucid import serve_anndata

    async def in_loop():
        return serve_anndata(small_adata, port=0, open_browser=False)

    server = asyncio.run(in_loop())
    try:
        assert server.running
        assert Client(server.base_url).get(HEALTH).json()["source_kind"] == "anndata"
        assert "background" in capsys.readouterr().out
    finally:
        server.stop()


def test_stop_returns_and_frees_the_port_while_a_slow_read_is_in_flight(small_adata):
    from cellucid.data import open_source

    source = slow_copy(open_source(small_adata))
    runner = ServerRunner(source, port=0).start_background()
    client = Client(runner.base_url)
    reader = threading.Thread(target=lambda: _swallow(client.get, "/_cellucid/api/gene", {"index": 1}))
    reader.start()
    try:
        assert source.read_started.wait(30)
        runner.stop()  # must not wait for the blocked read
        assert not runner.running
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", runner.port))
            sock.listen()
    finally:
        source.release.set()
        reader.join(30)


def _swallow(fn, *args):
    try:
        fn(*args, timeout=30)
    except OSError:
        pass  # the server went away mid-request: expected here


def test_serve_an_export_folder_in_a_running_event_loop(small_adata, tmp_path, capsys):
    import asyncio

    import cellucid

    out = cellucid.prepare(small_adata, tmp_path / "export", progress=False)

    async def in_loop():
        return cellucid.serve(out, port=0, open_browser=False)

    server = asyncio.run(in_loop())
    try:
        client = Client(server.base_url)
        assert client.get(HEALTH).json()["source_kind"] == "export"
        coords = client.get("/_cellucid/api/embedding", {"key": "X_umap", "dim": 2}).array()
        np.testing.assert_allclose(coords, small_adata.obsm["X_umap"][:, :2], rtol=1e-3, atol=1e-3)
        assert "background" in capsys.readouterr().out
    finally:
        server.stop()


def test_stopped_servers_leave_no_threads_behind():
    import time

    from cellucid.anndata_server import AnnDataServer

    def ours():
        return [t for t in threading.enumerate() if t.name.startswith(("cellucid-server", "cellucid-read"))]

    # Compare identities, not counts: a server of an earlier test may still be finishing
    # its shutdown (its threads leave during this test), which is not ours to judge.
    before = set(ours())
    started = []
    for _ in range(3):
        with AnnDataServer(None, demo_cells=300, port=0, quiet=True) as server:
            client = Client(server.base_url)
            assert client.get("/_cellucid/api/gene", {"index": 0}).status == 200
            assert client.get("/_cellucid/api/obs", {"field": "batch"}).status == 200
            started.append(set(ours()) - before)
    assert all(started)  # each server did run threads of its own while serving
    deadline = time.monotonic() + 10  # idle read workers exit right after shutdown
    while set(ours()) - before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert set(ours()) - before == set()
