"""Annotation costs on one machine: a vote over HTTP, the merged summary, and the consensus
field the viewer loads (GET /obs?field=annotation), for a dataset of N cells.

Usage: python bench/annotation_bench.py [N_CELLS] [N_ANNOTATORS] [OUT.json]
A team of N_ANNOTATORS votes on every leiden cluster (and each labels one selection of 1 % of
the cells); each figure is the median of several runs.
"""

import json
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

from cellucid.anndata_server import AnnDataServer
from cellucid.annotation import AnnotationFolder
from cellucid.annotation.summary import summarize
from cellucid.data.demo import demo_anndata

n_cells = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
n_people = int(sys.argv[2]) if len(sys.argv) > 2 else 10
out = sys.argv[3] if len(sys.argv) > 3 else None


def median_ms(fn, repeats=7):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(times), 2)


adata = demo_anndata(n_cells, 20)
cats = [str(c) for c in adata.obs["leiden"].cat.categories]
rng = np.random.default_rng(0)
res = {"n_cells": n_cells, "n_annotators": n_people, "n_clusters": len(cats)}
with tempfile.TemporaryDirectory() as tmp:
    folder = AnnotationFolder(Path(tmp) / "labels", create=True, author="p0")
    t = time.perf_counter()
    for p in range(n_people):
        for c in cats:
            folder.vote(f"p{p}", field="leiden", category=c, label=f"type {rng.integers(0, 3)}")
        folder.label_cells(f"p{p}", rng.choice(n_cells, n_cells // 100, replace=False), "odd", n_cells)
    res["folder_fill_s"] = round(time.perf_counter() - t, 2)
    res["summarize_ms"] = median_ms(lambda: summarize(folder))
    with AnnDataServer(adata, port=0, quiet=True, annotations=folder) as server:
        base = server.base_url.rstrip("/")

        def vote():
            body = json.dumps({"annotator": "p1", "field": "leiden", "category": cats[0],
                               "label": f"type {rng.integers(0, 3)}"}).encode()
            req = urllib.request.Request(f"{base}/_cellucid/api/annotations/vote", data=body, method="POST",
                                         headers={"X-Cellucid-Token": server.token, "Content-Type": "application/json"})
            urllib.request.urlopen(req).read()

        def field_after_vote():
            vote()
            urllib.request.urlopen(f"{base}/_cellucid/api/obs?field=annotation").read()

        def field_cached():
            urllib.request.urlopen(f"{base}/_cellucid/api/obs?field=annotation").read()

        res["vote_http_ms"] = median_ms(vote)
        res["vote_then_consensus_field_ms"] = median_ms(field_after_vote)
        field_cached()
        res["consensus_field_unchanged_ms"] = median_ms(field_cached)
print(json.dumps(res, indent=1))
if out:
    Path(out).write_text(json.dumps(res, indent=1))
