"""First frame and one gene from a remote zarr store, with a fixed delay per request.

Usage: python bench/remote_bench.py N_CELLS [--delay 0.02] [--source PATH.h5ad] [--genes 6]

The benchmark demo ``.h5ad`` (``datasets.ensure``; or ``--source``) is written once as the
gene-chunked Zarr v3 store of ``cellucid prepare IN OUT.zarr --format zarr``
(``bench/data/<name>_genes.zarr``, cached). Then the real server (``AnnDataServer`` on a free
loopback port, in this process) serves, one after the other:

- ``h5ad local`` — the ``.h5ad`` itself (genes by CSR scan: the gene index is turned off so
  no background build competes; see gene_index_bench.py for indexed figures);
- ``zarr local`` — the prepared store from its local path;
- ``zarr http +0 ms`` and ``zarr http +D ms`` — the same folder behind a static HTTP server
  (``tests/remote/http_store.py``: byte ranges, one thread per connection) that waits D
  seconds before answering every request — a stand-in for object storage's latency.

For each: *open → ready* (constructor + listening), *first frame* (the three requests the
viewer sends first: default embedding, default field's codes and legend; they include the
start-up warm-up they wait for), and ``--genes`` distinct genes in distinct shards, each
cold (first read of that gene). Store requests and bytes are counted by the HTTP server.
Writes ``bench/results/remote_<N>k.json``; ``remote_report.py`` renders it into
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT / "tests" / "remote"))  # StaticStore: the tests' HTTP store


def _get(base: str, path: str, **params) -> tuple[bytes, float]:
    url = base.rstrip("/") + path + ("?" + urllib.parse.urlencode(params) if params else "")
    t0 = time.perf_counter()
    with urllib.request.urlopen(url, timeout=600) as r:
        body = r.read()
    return body, time.perf_counter() - t0


def _prepared(src: Path, out: Path, previous: Path) -> dict:
    from cellucid.export.zarr_store import prepare_zarr

    if out.exists():  # cached: keep the time of the run that wrote it
        old = json.loads(previous.read_text()) if previous.exists() else {}
        return {"prepare_s": old.get("prepare_s")}
    t0 = time.perf_counter()
    prepare_zarr(src, out)
    return {"prepare_s": round(time.perf_counter() - t0, 1)}


def _folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def measure(target: str, store, genes: list[str]) -> dict:
    from cellucid.anndata_server import AnnDataServer
    from cellucid.server.warm import first_frame_keys

    n0, b0 = (len(store.log), store.bytes_sent) if store else (0, 0)
    t0 = time.perf_counter()
    server = AnnDataServer(target, port=0, quiet=True, open_browser=False).start_background()
    try:
        ready = time.perf_counter() - t0
        base = server.url
        ident = json.loads(_get(base, "/dataset_identity.json")[0])
        want = first_frame_keys(ident)
        key, dim = want["embedding"]
        t1 = time.perf_counter()
        emb, _ = _get(base, "/_cellucid/api/embedding", key=key, dim=dim)
        codes, _ = _get(base, "/_cellucid/api/obs", field=want["field"])
        meta, _ = _get(base, "/_cellucid/api/obs/meta", field=want["field"])
        frame = time.perf_counter() - t1
        row = {"ready_s": round(ready, 3), "first_frame_requests_s": round(frame, 3),
               "start_to_first_frame_s": round(ready + frame, 3),
               "first_frame_wire_bytes": len(emb) + len(codes) + len(meta)}
        if store:
            row["start_store_requests"] = len(store.log) - n0
            row["start_store_bytes"] = store.bytes_sent - b0
        times, reqs, nbytes = [], [], []
        for name in genes:
            n1, b1 = (len(store.log), store.bytes_sent) if store else (0, 0)
            _, dt = _get(base, "/_cellucid/api/gene", name=name)
            times.append(dt)
            if store:
                reqs.append(len(store.log) - n1)
                nbytes.append(store.bytes_sent - b1)
        row.update(gene_first_ms=round(times[0] * 1000, 1), gene_median_ms=round(statistics.median(times) * 1000, 1),
                   gene_max_ms=round(max(times) * 1000, 1))
        if store:
            row.update(gene_store_requests=reqs, gene_store_bytes_median=int(statistics.median(nbytes)))
        return row
    finally:
        server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("n_cells", type=int)
    ap.add_argument("--delay", type=float, default=0.02, help="seconds added to every store request")
    ap.add_argument("--source", type=Path, help="the .h5ad (default: the benchmark demo in bench/data)")
    ap.add_argument("--genes", type=int, default=6)
    args = ap.parse_args()
    os.environ["CELLUCID_GENE_INDEX_MIN_NNZ"] = str(10**15)  # no background index build
    os.environ["CELLUCID_ANALYSIS_PREPARE"] = "0"  # no background totals either (same for every case)

    import numpy as np

    from http_store import StaticStore

    if args.source is None:
        import datasets

        src = datasets.ensure(args.n_cells, 2000, zarr=False, export=False).h5ad
    else:
        src = args.source
    data = BENCH / "data"
    data.mkdir(exist_ok=True)
    out = data / f"{src.name.removesuffix('.h5ad')}_genes.zarr"
    result = {"n_cells": args.n_cells, "source": src.name, "delay_ms": args.delay * 1000}
    dest = BENCH / "results" / f"remote_{args.n_cells // 1000}k.json"
    result.update(_prepared(src, out, dest))
    result["zarr_bytes"] = _folder_bytes(out)
    result["h5ad_bytes"] = src.stat().st_size

    import zarr

    x = zarr.open_group(str(out), mode="r")["X"]
    per_shard = x.shards[1]
    names = [str(v) for v in zarr.open_group(str(out), mode="r")["var"]["_index"][:]]
    rng = np.random.default_rng(0)
    shards = rng.choice(len(names) // per_shard, size=args.genes, replace=False)
    genes = [names[int(s) * per_shard + int(rng.integers(per_shard))] for s in shards]
    result["genes"] = genes
    result["shard_genes"] = int(per_shard)

    cases = {}
    cases["h5ad local"] = measure(str(src), None, genes)
    cases["zarr local"] = measure(str(out), None, genes)
    store = StaticStore(data)
    try:
        from cellucid.data import open_source

        open_source(f"{store.url}/{out.name}").close()  # imports (fsspec, aiohttp) paid once, untimed
        for delay in (0.0, args.delay):
            store.set_faults(delay=delay)
            cases[f"zarr http +{delay * 1000:g} ms"] = measure(f"{store.url}/{out.name}", store, genes)
    finally:
        store.close()
    result["cases"] = cases
    result["load_average_1min_after"] = round(os.getloadavg()[0], 1)  # a shared machine: say how busy
    dest.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
