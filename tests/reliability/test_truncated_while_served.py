"""A file truncated *in place* while genes are being read from it (in another process):
the server must not die of SIGBUS (a memory mapping of the file cut under a read). It keeps
answering /health, and the gene route answers a JSON error.

Several clients scan the matrix for genes (no gene index: every request reads the whole
CSR ``indices``) while the file is cut to a third of its size. Before user files were read
with ``pread`` by default, a scan reading a mapped window past the new end killed the
process.
"""

from __future__ import annotations

import http.client
import json
import shutil
import signal
import threading
import time

import pytest

from load_driver import data_file, start_server

CELLS, GENES, CLIENTS = 200_000, 1000, 6


def _get(port: int, target: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", target)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


@pytest.mark.slow
def test_truncating_a_file_mid_read_leaves_the_server_alive_with_a_json_error(tmp_path, monkeypatch):
    monkeypatch.setenv("CELLUCID_GENE_INDEX", "0")  # every gene request scans the file
    monkeypatch.setenv("CELLUCID_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "served.h5ad"
    shutil.copyfile(data_file(CELLS, GENES), path)
    proc, port = start_server(path)
    stop = threading.Event()
    statuses: list[int] = []

    def client(k: int) -> None:
        gene = k
        while not stop.is_set():
            try:
                status, _ = _get(port, f"/_cellucid/api/gene?index={gene % GENES}")
            except OSError:  # the server died (connection refused / reset)
                status = -1
            statuses.append(status)
            gene += CLIENTS

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(CLIENTS)]
    try:
        for t in threads:
            t.start()
        while len(statuses) < 2 * CLIENTS:  # scans are running
            time.sleep(0.05)
        # Cut the file while scans are in flight, several times (each cut can land inside a
        # read of the part that goes away).
        size = path.stat().st_size
        for share in (0.9, 0.7, 0.5, 0.33):
            with open(path, "r+b") as fh:
                fh.truncate(int(size * share))
            time.sleep(0.2)
        time.sleep(1.0)
        stop.set()
        for t in threads:
            t.join(60)
        assert proc.poll() is None, f"the server died (exit {proc.returncode})"
        status, body = _get(port, "/_cellucid/health")
        assert status == 200
        assert json.loads(body)["status"] == "data_changed"
        status, body = _get(port, "/_cellucid/api/gene?index=3")
        assert status == 503
        answer = json.loads(body)
        assert "while being served" in answer["error"] and answer["hint"]
        assert 200 in statuses and -1 not in statuses
    finally:
        stop.set()
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=20)
        except Exception:  # noqa: BLE001 - a hung server is killed, the test has its answer
            proc.kill()
            proc.communicate()
