"""Clients that misbehave, many servers in one process, and signals to the CLI."""

from __future__ import annotations

import signal
import socket
import struct
import threading
import time

import psutil
import pytest

from load_driver import start_server
from relutil import file_state, open_fds
from netprobe import request

BIG = "/_cellucid/api/embedding?key=X_umap&dim=3&format=f32"  # 20k × 3 float32 = 240 KB, uncompressed


def _abort(sock: socket.socket) -> None:
    """Close with a TCP reset (SO_LINGER 0): what a killed browser tab does."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_clients_vanishing_mid_download_do_not_hurt_the_server(demo_h5ad):
    from cellucid.anndata_server import AnnDataServer

    before = file_state(demo_h5ad)
    with AnnDataServer(demo_h5ad, port=0, quiet=True) as srv:
        full = request(srv.port, BIG)
        assert full.status == 200 and len(full.body) == 20_000 * 3 * 4
        for i in range(30):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            target = BIG if i % 2 else f"/_cellucid/api/gene?index={i}"
            s.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
            if i % 3:
                s.recv(100)  # read a little of the answer first
            _abort(s)
        # Everything still works and answers are complete and identical.
        again = request(srv.port, BIG)
        assert again.status == 200 and again.body == full.body
        assert request(srv.port, "/_cellucid/health").json()["status"] == "ok"
    assert file_state(demo_h5ad) == before


def test_slowloris_clients_are_bounded_and_others_are_served(demo_h5ad):
    from cellucid.data import open_source
    from cellucid.server import ServerRunner, ServerSettings

    settings = ServerSettings(host="127.0.0.1", port=0, header_timeout=2.0)
    with ServerRunner(open_source(demo_h5ad), port=0, settings=settings) as runner:
        slow = []
        for _ in range(40):  # each sends an incomplete request head and then trickles
            s = socket.create_connection(("127.0.0.1", runner.port), timeout=30)
            s.sendall(b"GET /_cellucid/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            slow.append(s)
        stop = threading.Event()

        def trickle():
            while not stop.is_set():
                for s in slow:
                    try:
                        s.sendall(b"X-a: b\r\n")
                    except OSError:
                        pass
                stop.wait(0.5)

        t = threading.Thread(target=trickle, daemon=True)
        t.start()
        try:
            # A normal client is served while the slow ones hang on.
            for i in range(10):
                assert request(runner.port, f"/_cellucid/api/gene?index={i}").status == 200
            assert request(runner.port, "/_cellucid/health").status == 200
            # The server drops every slow connection once its header timeout passes.
            closed = 0
            for s in slow:
                s.settimeout(30)
                try:
                    data = s.recv(1024)
                except (ConnectionResetError, socket.timeout):
                    data = b""
                closed += data == b"" or data.startswith(b"HTTP/1.1 4")
            assert closed == len(slow)
        finally:
            stop.set()
            t.join()
            for s in slow:
                s.close()
        assert request(runner.port, "/_cellucid/health").status == 200


def test_a_client_that_never_reads_does_not_block_others(demo_h5ad):
    from cellucid.anndata_server import AnnDataServer

    with AnnDataServer(demo_h5ad, port=0, quiet=True) as srv:
        stuck = []
        for _ in range(10):  # ask for large answers and never read them
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            for _ in range(5):
                s.sendall(f"GET {BIG} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
            stuck.append(s)
        try:
            for i in range(10):
                assert request(srv.port, f"/_cellucid/api/gene?index={i}").status == 200
        finally:
            for s in stuck:
                _abort(s)
        assert request(srv.port, "/_cellucid/health").status == 200


def _cellucid_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("cellucid")]


def test_a_hundred_servers_started_and_stopped_leak_nothing(demo_h5ad):
    from cellucid.anndata_server import AnnDataServer

    proc = psutil.Process()
    # Warm up once so lazily created, process-wide things (imports, caches) are not counted.
    with AnnDataServer(demo_h5ad, port=0, quiet=True) as srv:
        request(srv.port, "/_cellucid/api/gene?index=0")
    time.sleep(0.2)
    threads0, fds0 = threading.active_count(), open_fds()
    conns0 = len(proc.net_connections(kind="inet"))
    before = file_state(demo_h5ad)
    ports = set()
    for i in range(100):
        with AnnDataServer(demo_h5ad, port=0, quiet=True) as srv:
            ports.add(srv.port)
            if i % 10 == 0:
                assert request(srv.port, f"/_cellucid/api/gene?index={i}").status == 200
                assert request(srv.port, "/_cellucid/health").status == 200
    deadline = time.monotonic() + 10  # executor threads wind down on their own
    while time.monotonic() < deadline and (threading.active_count() > threads0 or open_fds() > fds0):
        time.sleep(0.1)
    assert threading.active_count() <= threads0, _cellucid_threads()
    assert open_fds() <= fds0
    assert not [c for c in proc.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN
                and c.laddr.port in ports]
    assert len(proc.net_connections(kind="inet")) <= conns0
    assert not [f.path for f in proc.open_files() if f.path == str(demo_h5ad)]
    assert file_state(demo_h5ad) == before
    assert len(ports) >= 2  # really separate servers (ports are reused only after a stop)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signals_stop_the_cli_within_2_seconds_even_under_load(demo_h5ad, sig):
    before = file_state(demo_h5ad)
    proc, port = start_server(demo_h5ad)
    stop = threading.Event()

    def hammer(k):
        i = k
        while not stop.is_set():
            try:
                request(port, f"/_cellucid/api/gene?index={i % 500}")
            except OSError:
                stop.wait(0.1)  # refused once it stopped: do not spin and starve its exit
            i += 7

    workers = [threading.Thread(target=hammer, args=(k,), daemon=True) for k in range(4)]
    for w in workers:
        w.start()
    time.sleep(1.0)  # requests in flight
    try:
        t0 = time.monotonic()
        proc.send_signal(sig)
        proc.wait(timeout=2.0)  # the bound: a stopped server is gone within 2 s
        elapsed = time.monotonic() - t0
    finally:
        stop.set()
        if proc.poll() is None:
            proc.kill()
        out, err = proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert "stopped" in out
    assert elapsed < 2.0
    for w in workers:
        w.join(5)
    with socket.socket() as s:  # the port is free again
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
    assert file_state(demo_h5ad) == before
