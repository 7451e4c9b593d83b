"""How each tool is started and asked for data. One class per tool, same small interface.

- ``start(ds, log_dir)`` → :class:`procs.Server` (spawn → ready route answers 200)
- ``embedding(srv)``, ``coloring(srv)``, ``gene(srv, name)``, ``health(srv)`` →
  ``(wire_bytes, seconds)``
"""

from __future__ import annotations

import json
import sys
import time
import urllib.parse
from pathlib import Path

import peers
import procs
import ranges
from httpclient import get

BENCH = Path(__file__).resolve().parent


def _ok(r, what):
    if r.status not in (200, 206):
        raise RuntimeError(f"{what}: HTTP {r.status}: {r.body[:300]!r}")
    return r.wire_bytes, r.seconds


class Cellucid:
    """This package's CLI server (``cellucid serve PATH``) on a backed h5ad, a zarr store or
    an export folder; ``source`` says which path of the dataset it serves.

    Backed CSR sources build a gene-major index in the background (cellucid.data.gene_reading.gene_index).
    Its cache goes to bench/.cache/cellucid-cache (never ~/.cache), emptied before the first
    start on each dataset: the first start builds the index, later starts reuse it, as a
    user's would. ``settle`` waits until it is ready (health reports progress) before the
    warm genes. ``gene_index=False`` turns it off (``CELLUCID_GENE_INDEX=0``): the scan.
    """

    name = "cellucid"
    ready_path = "/_cellucid/health"
    CACHE = BENCH / ".cache" / "cellucid-cache"

    def __init__(self, source: str = "h5ad", gene_index: bool = True):
        self.source = source
        self.gene_index = gene_index
        self.label = f"cellucid ({source})" if gene_index else f"cellucid ({source}, no gene index)"
        self._fresh: set[str] = set()

    def path(self, ds):
        return getattr(ds, self.source)

    def env(self, ds):
        import os
        import shutil

        if ds.name not in self._fresh:
            shutil.rmtree(self.CACHE, ignore_errors=True)
            self._fresh.add(ds.name)
        env = dict(os.environ, CELLUCID_CACHE_DIR=str(self.CACHE))
        if not self.gene_index:
            env["CELLUCID_GENE_INDEX"] = "0"
        return env

    def start(self, ds, log_dir):
        port = procs.free_port()
        exe = Path(sys.executable).parent / "cellucid"
        cmd = [str(exe), "serve", str(self.path(ds)), "--no-browser", "-p", str(port), "-q"]
        tag = self.label.split("(", 1)[1].rstrip(")").replace(", ", "-").replace(" ", "-")
        return procs.start(cmd, port, self.ready_path, log_dir / f"cellucid-{tag}-{ds.name}.log", env=self.env(ds))

    def settle(self, srv, timeout=900):
        """Seconds until the gene index is ready (0 when the server builds none)."""
        t = time.perf_counter()
        worst = 0.0  # the slowest health answer while the index builds (it must keep answering)
        while time.perf_counter() - t < timeout:
            a = time.perf_counter()
            h = json.loads(get(srv.base + "/_cellucid/health").body)
            worst = max(worst, time.perf_counter() - a)
            srv.extra["health_max_while_indexing_s"] = worst
            if h.get("gene_index") is None or h["gene_index"] >= 1.0:
                return time.perf_counter() - t
            time.sleep(0.1)
        raise RuntimeError("gene index not ready")

    def embedding(self, srv):
        return _ok(get(srv.base + "/_cellucid/api/embedding?key=X_umap&dim=2&format=u16"), "embedding")

    def coloring(self, srv):
        b1, t1 = _ok(get(srv.base + "/dataset_identity.json"), "identity")
        b2, t2 = _ok(get(srv.base + "/_cellucid/api/obs?field=cell_type"), "obs")
        b3, t3 = _ok(get(srv.base + "/_cellucid/api/obs/meta?field=cell_type"), "obs meta")
        return b1 + b2 + b3, t1 + t2 + t3

    def gene(self, srv, name):
        return _ok(get(srv.base + "/_cellucid/api/gene?name=" + urllib.parse.quote(name) + "&encoding=sparse"), f"gene {name}")  # what the viewer asks

    def health(self, srv):
        return _ok(get(srv.base + "/_cellucid/health"), "health")


class CellucidInMemory(Cellucid):
    """``AnnDataServer(adata)`` on an AnnData already in memory (bench/inmem_server.py).
    ``ready`` is AnnDataServer() → health answers, measured inside that process."""

    def __init__(self):
        super().__init__("h5ad")
        self.label = "cellucid (in-memory AnnData)"

    def start(self, ds, log_dir):
        port = procs.free_port()
        out = log_dir / f"inmem-{ds.name}.json"
        out.unlink(missing_ok=True)
        cmd = [sys.executable, str(BENCH / "inmem_server.py"), str(ds.h5ad), str(port), str(out)]
        srv = procs.start(cmd, port, self.ready_path, log_dir / f"cellucid-inmem-{ds.name}.log", timeout=600,
                          env=self.env(ds))
        for _ in range(500):
            if out.exists():
                break
            time.sleep(0.01)
        info = json.loads(out.read_text())
        srv.ready_s = info["ready_s"]  # the in-process figure, without reading the file
        srv.extra = info
        return srv


class Cellxgene:
    name = "cellxgene"
    label = "cellxgene 1.3.0"
    ready_path = "/api/v0.2/schema"
    MAX_MEMORY = 12 * 2**30

    def start(self, ds, log_dir):
        port = procs.free_port()
        cmd = [str(peers.executable("cellxgene")), "--no-upgrade-check", "launch", str(ds.h5ad),
               "--host", "127.0.0.1", "--port", str(port), "--disable-annotations", "--disable-gene-sets-save"]
        # Past 2M cells cellxgene (which reads the whole file into memory) gets at most
        # MAX_MEMORY of address space: on this shared machine it must not push other processes
        # out of memory; if it needs more, the failure and its peak RSS are the result.
        cap = self.MAX_MEMORY if ds.n_cells > 2_000_000 else None
        return procs.start(cmd, port, self.ready_path, log_dir / f"cellxgene-{ds.name}.log", timeout=900,
                           max_memory_bytes=cap)

    def embedding(self, srv):
        return _ok(get(srv.base + "/api/v0.2/layout/obs?layout-name=umap"), "layout")

    def coloring(self, srv):
        # cellxgene colors nothing by default; this is what coloring by cell_type costs.
        b1, t1 = _ok(get(srv.base + "/api/v0.2/schema"), "schema")
        b2, t2 = _ok(get(srv.base + "/api/v0.2/annotations/obs?annotation-name=cell_type"), "annotation")
        return b1 + b2, t1 + t2

    def gene(self, srv, name):
        return _ok(get(srv.base + "/api/v0.2/data/var?var:name_0=" + urllib.parse.quote(name)), f"gene {name}")

    def health(self, srv):
        return _ok(get(srv.base + "/health"), "health")


class Cellucid095:
    """Original cellucid 0.9.5: a byte server; we replay the Range requests its in-browser
    h5ad reader needs (lower bounds, see ranges.py)."""

    name = "cellucid095"
    label = "cellucid 0.9.5 (range replay)"
    ready_path = "/_cellucid/health"

    def start(self, ds, log_dir):
        port = procs.free_port()
        cmd = [str(peers.executable("cellucid095")), "serve", str(ds.h5ad), "--no-browser", "--no-web-ui",
               "--port", str(port), "--dataset-name", ds.name, "--dataset-id", ds.name]
        srv = procs.start(cmd, port, self.ready_path, log_dir / f"cellucid095-{ds.name}.log")
        info = json.loads(get(srv.base + "/_cellucid/datasets").body)
        srv.extra = {"file_url": info["datasets"][0]["anndata"]["file"]["url"], "h5ad": str(ds.h5ad), "plans": {}}
        return srv

    def _replay(self, srv, what):
        plans = srv.extra["plans"]
        if what not in plans:
            plans[what] = ranges.plan(srv.extra["h5ad"], what)
        url = srv.base + "/" + srv.extra["file_url"]
        total_b, total_t = 0, 0.0
        for off, n in plans[what]:
            b, t = _ok(get(url, {"Range": f"bytes={off}-{off + n - 1}"}), f"range {what}")
            total_b += b
            total_t += t
        return total_b, total_t

    def embedding(self, srv):
        return self._replay(srv, "embedding")

    def coloring(self, srv):
        return self._replay(srv, "cell_type")

    def gene(self, srv, name):
        return self._replay(srv, "gene")  # CSR: every gene needs the whole matrix

    def health(self, srv):
        return _ok(get(srv.base + "/_cellucid/health"), "health")
