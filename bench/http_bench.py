"""Server-side measurements for one tool on one dataset (see bench/README.md for definitions)."""

from __future__ import annotations

import random
import statistics
import threading
import time

import h5py


def gene_names(path) -> list[str]:
    with h5py.File(path, "r") as f:
        var = f["var"]
        idx = var.attrs["_index"]
        return [x.decode() if isinstance(x, bytes) else str(x) for x in var[idx][:]]


def pick_genes(path, n: int, seed: int = 1) -> list[str]:
    names = gene_names(path)
    return random.Random(seed).sample(names, min(n, len(names)))


def pct(xs, q):
    xs = sorted(xs)
    if not xs:
        return None
    k = (len(xs) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def med(xs):
    return statistics.median(xs) if xs else None


def health_during_gene(tool, srv, gene: str, probes: int = 5) -> dict:
    """Health latency while a gene request is in flight (does one slow read block the server?)."""
    done = threading.Event()
    res = {}

    def slow():
        t = time.perf_counter()
        try:
            res["gene"] = tool.gene(srv, gene)
        except Exception as exc:  # noqa: BLE001 - reported below
            res["error"] = repr(exc)
        res["gene_s"] = time.perf_counter() - t
        done.set()

    th = threading.Thread(target=slow, daemon=True)
    th.start()
    time.sleep(0.03)
    lat, in_flight = [], []
    for _ in range(probes):
        in_flight.append(not done.is_set())
        t = time.perf_counter()
        tool.health(srv)
        lat.append(time.perf_counter() - t)
        if done.is_set():
            break
    th.join(900)
    return {
        "health_s_max": max(lat),
        "health_s_median": med(lat),
        "probes_in_flight": sum(in_flight),
        "gene_s": res.get("gene_s"),
        "error": res.get("error"),
    }


def measure(tool, ds, log_dir, repeats: int = 3, n_warm: int = 20, log=print) -> dict:
    """Start the tool ``repeats`` times on ``ds``; each time: ready, first-frame data
    (embedding + cell_type coloring, cold), the first gene (cold). In the first start
    also: warm embedding, ``n_warm`` random genes (warm), health during a gene read."""
    genes = pick_genes(ds.h5ad, repeats + n_warm + 1)
    cold_genes, warm_genes, probe_gene = genes[:repeats], genes[repeats : repeats + n_warm], genes[-1]
    if tool.name == "cellucid095":
        warm_genes = warm_genes[:3]  # every gene replays the same ~whole-matrix ranges
    out = {"tool": tool.label, "dataset": ds.name, "n_cells": ds.n_cells, "n_genes": ds.n_genes, "runs": []}
    for r in range(repeats):
        srv = tool.start(ds, log_dir)
        since_ready = time.perf_counter()
        try:
            run = {"ready_s": srv.ready_s}
            eb, et = tool.embedding(srv)
            cb, ct = tool.coloring(srv)
            run.update(embedding_bytes=eb, embedding_s=et, coloring_bytes=cb, coloring_s=ct,
                       first_frame_bytes=eb + cb, first_frame_s=et + ct)
            gb, gt = tool.gene(srv, cold_genes[r])
            run.update(gene_cold_s=gt, gene_cold_bytes=gb)
            if r == 0:
                if hasattr(tool, "settle"):
                    run["settle_s"] = tool.settle(srv)  # e.g. until the gene index is ready
                    # spawn → gene index ready (the first start builds it in the background)
                    run["index_ready_s"] = srv.ready_s + time.perf_counter() - since_ready
                run["embedding_warm_s"] = med([tool.embedding(srv)[1] for _ in range(3)])
                warm = [tool.gene(srv, g) for g in warm_genes]
                run["gene_warm_s"] = [t for _, t in warm]
                run["gene_warm_bytes"] = [b for b, _ in warm]
                run["health_during_gene"] = health_during_gene(tool, srv, probe_gene)
            run["peak_rss_bytes"] = srv.peak_rss()
            run["extra"] = {k: v for k, v in srv.extra.items() if k not in ("plans",)}
        finally:
            srv.stop()
        out["runs"].append(run)
        log(f"    {tool.label} {ds.name} run {r + 1}/{repeats}: ready {run['ready_s']:.2f} s, "
            f"gene cold {run['gene_cold_s'] * 1e3:.0f} ms, RSS {run['peak_rss_bytes'] / 1e6:.0f} MB")
    runs = out["runs"]
    w = runs[0]
    out["summary"] = {
        "ready_s": med([x["ready_s"] for x in runs]),
        "embedding_s": med([x["embedding_s"] for x in runs]),
        "embedding_warm_s": w["embedding_warm_s"],
        "embedding_bytes": med([x["embedding_bytes"] for x in runs]),
        "first_frame_bytes": med([x["first_frame_bytes"] for x in runs]),
        "first_frame_s": med([x["first_frame_s"] for x in runs]),
        "gene_cold_s": med([x["gene_cold_s"] for x in runs]),
        "gene_warm_p50_s": pct(w["gene_warm_s"], 50),
        "gene_warm_p95_s": pct(w["gene_warm_s"], 95),
        "gene_warm_n": len(w["gene_warm_s"]),
        "gene_bytes": med(w["gene_warm_bytes"]),
        "peak_rss_bytes": max(x["peak_rss_bytes"] for x in runs),
        "health_during_gene": w["health_during_gene"],
        "index_ready_s": w.get("index_ready_s"),
        "health_max_while_indexing_s": w.get("extra", {}).get("health_max_while_indexing_s"),
    }
    return out
