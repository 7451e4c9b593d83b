"""Serve an in-memory AnnData with cellucid's AnnDataServer; write how long start took.

Usage: python inmem_server.py FILE.h5ad PORT OUT.json — loads FILE fully (not timed), then
times ``AnnDataServer(adata, ...)`` + ``start_background()`` until ``/_cellucid/health``
answers, writes ``{"ready_s", "load_s"}`` to OUT.json and serves until SIGINT/SIGTERM.
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
    json.dump({"ready_s": ready_s, "load_s": load_s}, f)
import os  # noqa: E402

os.replace(out + ".tmp", out)
stop = threading.Event()
signal.signal(signal.SIGINT, lambda *a: stop.set())
signal.signal(signal.SIGTERM, lambda *a: stop.set())
stop.wait()
srv.stop()
