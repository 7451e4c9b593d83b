"""One build per file even when two servers in two processes (two notebooks) open it at once:
the second waits for the first one's index and reuses it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import json, sys
    from cellucid.anndata_server import AnnDataServer

    server = AnnDataServer(sys.argv[1], port=0, quiet=True).start_background()
    print(server.port, flush=True)
    index = server.source._reader.index
    index.wait(120)
    print(json.dumps({"ready": index.ready, "built": index.built, "error": repr(index.error),
                      "gene": server.source.gene_by_index(3).tolist()}), flush=True)
    server.stop()
    """
)


def _health(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_cellucid/health", timeout=10) as resp:
        return json.load(resp)


def test_two_processes_opening_one_file_build_its_index_once(make_adata, write_h5ad, tmp_path, monkeypatch):
    from cellucid.data import open_source
    from cellucid.data.gene_reading import index_cache

    adata = make_adata(n_cells=3000, n_genes=50, matrix="csr")
    path = write_h5ad(adata)
    cache = tmp_path / "cache"
    monkeypatch.setenv("CELLUCID_CACHE_DIR", str(cache))
    monkeypatch.setenv("CELLUCID_GENE_INDEX", "0")  # this process only computes the key
    with open_source(path) as src:
        key = index_cache.file_cache_key(path, src.dataset_id(), "X")
    env = {**os.environ, "CELLUCID_CACHE_DIR": str(cache), "CELLUCID_GENE_INDEX_MIN_NNZ": "0",
           "CELLUCID_GENE_INDEX_DELAY": "0", "CELLUCID_GENE_INDEX": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}

    # Hold the build lock as a third builder would, so both servers meet it: whichever gets
    # it next builds; the other must then find the index instead of building it again.
    children = []
    with index_cache.build_lock(key, threading.Event()):
        for _ in range(2):
            children.append(subprocess.Popen([sys.executable, "-c", CHILD, str(path)], env=env,
                                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        ports = [int(c.stdout.readline()) for c in children]
        for port in ports:
            for _ in range(600):
                note = _health(port).get("gene_index_note") or ""
                if "another cellucid process is building" in note:
                    break
                time.sleep(0.05)
            assert "another cellucid process is building" in note
    results = []
    for c in children:
        out, err = c.communicate(timeout=120)
        assert c.returncode == 0, err[-2000:]
        results.append(json.loads(out.strip().splitlines()[-1]))

    assert all(r["ready"] for r in results), results
    assert sorted(r["built"] for r in results) == [False, True]  # built once, reused once
    expected = np.asarray(adata.X[:, 3].toarray(), dtype=np.float32).ravel().tolist()
    assert results[0]["gene"] == results[1]["gene"] == expected
    assert sorted(os.listdir(cache / "gene-index")) == [f"{key}.cgidx"]  # no lock or temp files left
