"""Serve an in-memory AnnData with cellucid's AnnDataServer; write how long start took.

Usage: python inmem_server.py FILE.h5ad PORT OUT.json — loads FILE fully (not timed), then
times ``AnnDataServer(adata, ...)`` + ``start_background()`` until ``/_cellucid/health``
answers, writes ``{"ready_s", "load_s", "x_bytes", "rss_after_load_bytes"}`` to OUT.json
and serves until SIGINT/SIGTERM.

Memory: after loading, the process's peak-RSS counter is reset (``5 > /proc/self/clear_refs``,
Linux ≥ 4.0), so the harness's later ``VmHWM`` read is the peak *while serving*; the
server's overhead is that peak minus ``rss_after_load_bytes``, compared with the size of X.
"""

import json
import signal
import sys
import threading
import time
import urllib.request

import anndata as ad

path, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
t = time.perf_counter()
adata = ad.read_h5ad(path)
load_s = time.perf_counter() - t


def _x_bytes(x) -> int:
    if hasattr(x, "data") and hasattr(x, "indices"):  # scipy sparse
        return int(x.data.nbytes + x.indices.nbytes + x.indptr.nbytes)
    return int(getattr(x, "nbytes", 0))


def _rss_after_load() -> int:
    import gc

    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM: the harness then sees the serving peak only
    except OSError:
        pass
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


x_bytes = _x_bytes(adata.X)
rss_after_load = _rss_after_load()

from cellucid.anndata_server import AnnDataServer  # noqa: E402

t0 = time.perf_counter()
srv = AnnDataServer(adata, port=port, host="127.0.0.1", open_browser=False)
srv.start_background()
while True:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{srv.port}/_cellucid/health", timeout=2) as r:
            if r.status == 200:
                break
    except OSError:
        time.sleep(0.002)
ready_s = time.perf_counter() - t0
with open(out + ".tmp", "w") as f:
    json.dump({"ready_s": ready_s, "load_s": load_s, "x_bytes": x_bytes,
               "rss_after_load_bytes": rss_after_load}, f)
import os  # noqa: E402

os.replace(out + ".tmp", out)
stop = threading.Event()
signal.signal(signal.SIGINT, lambda *a: stop.set())
signal.signal(signal.SIGTERM, lambda *a: stop.set())
stop.wait()
srv.stop()
