"""The gene-index cache on a real small or read-only disk: a free-space check before the build,
a disk that fills up during the build (ENOSPC), a read-only cache folder. Serving goes on by
scanning with the same values, and /health says why.

Each case runs a real server in a child Python inside a private mount namespace
(``unshare --user --map-root-user --mount``, no root needed where unprivileged user
namespaces are enabled, as on Debian) with a small ``tmpfs`` — or a read-only mount — as the
cache folder; nothing outside the test's tmp_path is affected.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import json, os, sys, threading, time, urllib.request
    import numpy as np
    from cellucid.anndata_server import AnnDataServer

    mode, path, cache = sys.argv[1:4]
    gene_index_dir = os.path.join(cache, "gene-index")

    def fill_when_the_build_starts():
        # Another program fills the disk once the build has created its temporary file.
        while not (os.path.isdir(gene_index_dir) and any(n.endswith(".tmp") for n in os.listdir(gene_index_dir))):
            time.sleep(0.001)
        try:
            with open(os.path.join(cache, "filler"), "wb") as fh:
                while True:
                    fh.write(b"x" * 65536)
                    fh.flush()
        except OSError:
            pass

    if mode == "enospc":
        threading.Thread(target=fill_when_the_build_starts, daemon=True).start()
    server = AnnDataServer(path, port=0, quiet=True).start_background()
    index = server.source._reader.index
    if mode == "enospc":
        # A gene request in flight: the build pauses between its steps (up to 2 s each),
        # which leaves the filler ample time after the temporary file appears.
        with index.foreground():
            index.wait(120)
    else:
        index.wait(120)

    def get(route):
        with urllib.request.urlopen(server.base_url + route, timeout=60) as resp:
            return resp.read()

    health = json.loads(get("_cellucid/health"))
    gene = np.frombuffer(get("_cellucid/api/gene?index=3"), dtype="<f4")
    print(json.dumps({
        "ready": index.ready, "built": index.built, "error": repr(index.error), "health": health,
        "gene": gene.tolist(), "files": sorted(os.listdir(gene_index_dir)) if os.path.isdir(gene_index_dir) else [],
    }))
    server.stop()
    """
)


def _in_namespace(setup: str, path: Path, cache: Path, mode: str) -> dict:
    """Run the child server after ``setup`` (mount commands) in a private mount namespace."""
    cache.mkdir(exist_ok=True)
    child = f"{shlex.quote(sys.executable)} -c {shlex.quote(CHILD)} {mode} {shlex.quote(str(path))} {shlex.quote(str(cache))}"
    env = {**os.environ, "CELLUCID_CACHE_DIR": str(cache), "CELLUCID_GENE_INDEX_MIN_NNZ": "0",
           "CELLUCID_GENE_INDEX_DELAY": "0", "CELLUCID_CACHE_MAX": "1G",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-ec", f"{setup}\nexec {child}"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {**json.loads(proc.stdout.strip().splitlines()[-1]), "stderr": proc.stderr}


def _data(make_adata, write_h5ad):
    # 12,000 cells × 100 genes, a third non-zero: ~400k entries, a 3.2 MB index.
    adata = make_adata(n_cells=12_000, n_genes=100, matrix="csr", vectors=False)
    expected = np.asarray(adata.X[:, 3].toarray(), dtype=np.float32).ravel().tolist()
    return write_h5ad(adata), expected


def test_too_little_free_space_means_no_build_and_the_server_says_so(make_adata, write_h5ad, tmp_path):
    path, expected = _data(make_adata, write_h5ad)
    cache = tmp_path / "cache"
    out = _in_namespace(f"mount -t tmpfs -o size=2m tmpfs {shlex.quote(str(cache))}", path, cache, "small")
    note = out["health"]["gene_index_note"]
    assert "of disk space" in note and "is free" in note and "scanning" in note, note
    assert str(tmp_path) not in note  # /health names no local path
    assert not out["ready"] and out["error"] == "None" and out["files"] == []
    assert out["gene"] == expected
    assert out["stderr"].count("of disk space") == 1  # said once in the log


def test_disk_full_during_the_build_removes_the_temp_file_and_serving_goes_on(make_adata, write_h5ad, tmp_path):
    path, expected = _data(make_adata, write_h5ad)
    cache = tmp_path / "cache"
    out = _in_namespace(f"mount -t tmpfs -o size=8m tmpfs {shlex.quote(str(cache))}", path, cache, "enospc")
    assert "No space left on device" in out["error"]  # a real ENOSPC from the file system
    assert not out["ready"] and out["files"] == []  # no index, no .tmp, no bucket file
    note = out["health"]["gene_index_note"]
    assert "the disk filled up while building the gene index" in note and "scanning" in note
    assert str(tmp_path) not in note
    assert out["health"]["status"] == "ok"
    assert out["gene"] == expected


def test_read_only_cache_folder_scans_and_says_why(make_adata, write_h5ad, tmp_path):
    path, expected = _data(make_adata, write_h5ad)
    cache = tmp_path / "cache"
    out = _in_namespace(f"mount -t tmpfs -o ro,size=8m tmpfs {shlex.quote(str(cache))}", path, cache, "ro")
    note = out["health"]["gene_index_note"]
    assert "is not writable" in note and "Read-only file system" in note and "CELLUCID_CACHE_DIR" in note
    assert str(tmp_path) not in note
    assert not out["ready"] and out["gene"] == expected
    assert "Traceback" not in out["stderr"]


def test_an_index_already_in_a_read_only_cache_is_used(make_adata, write_h5ad, tmp_path, monkeypatch):
    from cellucid.data import open_source, store_source

    path, expected = _data(make_adata, write_h5ad)
    cache = tmp_path / "cache"
    monkeypatch.setenv("CELLUCID_CACHE_DIR", str(cache))
    monkeypatch.setattr(store_source, "GENE_INDEX_MIN_NNZ", 0)
    with open_source(path) as src:  # built here, on a writable cache
        assert src._reader.index.wait(60)
    q = shlex.quote(str(cache))
    out = _in_namespace(f"mount --bind {q} {q}\nmount -o remount,bind,ro {q}", path, cache, "ro")
    assert out["ready"] and not out["built"]
    assert "gene_index_note" not in out["health"] and out["health"]["gene_index"] == 1.0
    assert out["gene"] == expected
