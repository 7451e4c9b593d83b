"""Load driver: many concurrent clients fetch random genes from a real ``cellucid serve``
process on loopback while a prober checks health; reports requests, errors, latency
percentiles and the server's peak RSS.

Run directly for the full version (the figures reported in docs/security.md):

    python tests/reliability/load_driver.py --clients 50 --seconds 30 --cells 1000000

``tests/reliability/test_load.py`` runs a short version (see ``CELLUCID_LOAD_FULL``).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil


@dataclass
class LoadResult:
    clients: int
    seconds: float
    n_cells: int
    n_genes: int
    requests: int = 0
    errors: list = field(default_factory=list)
    bytes_received: int = 0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    health_probes: int = 0
    health_failures: int = 0
    health_p99_ms: float = 0.0
    health_max_ms: float = 0.0
    rss_start_mb: float = 0.0
    rss_peak_mb: float = 0.0
    rss_end_mb: float = 0.0
    # The gene index as /health reported it (0..1 built, None: no index) at the first and
    # the last probe of the load.
    gene_index_first: float | None = None
    gene_index_last: float | None = None

    def summary(self) -> str:
        d = asdict(self)
        d["errors"] = len(self.errors)
        d["first_errors"] = self.errors[:3]
        return json.dumps(d)


def data_file(n_cells: int, n_genes: int, folder: str | None = None) -> Path:
    """A demo .h5ad of that size, written once and reused (it is never modified)."""
    from cellucid.data.demo import write_demo_h5ad

    folder = Path(folder or os.environ.get("CELLUCID_LOAD_DIR", Path(tempfile.gettempdir()) / "cellucid-load"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"load_{n_cells}x{n_genes}.h5ad"
    if not path.exists():
        tmp = path.with_suffix(".tmp.h5ad")
        write_demo_h5ad(tmp, n_cells, n_genes, seed=11)
        os.replace(tmp, path)
    return path


def start_server(path: Path) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, "-m", "cellucid.cli", "serve", str(path), "--port", "0", "--no-browser"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    banner = ""
    while "stop:" not in banner:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"server did not start:\n{banner}\n{proc.stderr.read()}")
        banner += line
    return proc, int(re.search(r"open:\s+http://[^:]+:(\d+)/", banner).group(1))


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q / 100 * (len(s) - 1))))]


def run_load(path: Path, clients: int, seconds: float, seed: int = 0) -> LoadResult:
    """Serve ``path`` in a subprocess and put it under load; the server is stopped after."""
    proc, port = start_server(path)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/_cellucid/health")
    health = json.loads(conn.getresponse().read())
    conn.close()
    n_cells, n_genes = health["n_cells"], health["n_genes"]
    result = LoadResult(clients, seconds, n_cells, n_genes)
    ps = psutil.Process(proc.pid)
    result.rss_start_mb = ps.memory_info().rss / 2**20
    peak = [ps.memory_info().rss]
    latencies: list[float] = []
    health_lat: list[float] = []
    lock = threading.Lock()
    stop = threading.Event()
    expected = n_cells * 4

    def client(k: int) -> None:
        rng = random.Random(seed * 1000 + k)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while not stop.is_set():
            gene = rng.randrange(n_genes)
            t0 = time.perf_counter()
            try:
                conn.request("GET", f"/_cellucid/api/gene?index={gene}", headers={"Accept-Encoding": "gzip"})
                resp = conn.getresponse()
                body = resp.read()
                ok = resp.status == 200
                if ok and resp.getheader("Content-Encoding") != "gzip":
                    ok = len(body) == expected
                err = None if ok else f"gene {gene}: HTTP {resp.status} {body[:120]!r}"
            except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
                err = f"gene {gene}: {type(exc).__name__}: {exc}"
                body = b""
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            dt = (time.perf_counter() - t0) * 1000
            with lock:
                if err is None:
                    latencies.append(dt)
                    result.bytes_received += len(body)
                else:
                    result.errors.append(err)
        conn.close()

    def prober() -> None:
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("GET", "/_cellucid/health")
                resp = conn.getresponse()
                body = json.loads(resp.read())
                ok = resp.status == 200 and body["status"] == "ok"
                conn.close()
                with lock:
                    if result.health_probes == 0:
                        result.gene_index_first = body.get("gene_index")
                    result.gene_index_last = body.get("gene_index")
            except Exception:  # noqa: BLE001
                ok = False
            with lock:
                result.health_probes += 1
                result.health_failures += not ok
                health_lat.append((time.perf_counter() - t0) * 1000)
            stop.wait(0.2)

    def sampler() -> None:
        while not stop.is_set():
            try:
                peak[0] = max(peak[0], ps.memory_info().rss)
            except psutil.Error:
                return
            stop.wait(0.05)

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(clients)]
    threads += [threading.Thread(target=prober, daemon=True), threading.Thread(target=sampler, daemon=True)]
    try:
        for t in threads:
            t.start()
        stop.wait(seconds)
        stop.set()
        for t in threads:
            t.join(90)
        result.rss_end_mb = ps.memory_info().rss / 2**20
    finally:
        stop.set()
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
    result.requests = len(latencies) + len(result.errors)
    result.p50_ms = _percentile(latencies, 50)
    result.p99_ms = _percentile(latencies, 99)
    result.max_ms = max(latencies, default=0.0)
    result.health_p99_ms = _percentile(health_lat, 99)
    result.health_max_ms = max(health_lat, default=0.0)
    result.rss_peak_mb = peak[0] / 2**20
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--cells", type=int, default=1_000_000)
    ap.add_argument("--genes", type=int, default=2000)
    args = ap.parse_args()
    path = data_file(args.cells, args.genes)
    print(run_load(path, args.clients, args.seconds).summary())


if __name__ == "__main__":
    main()
