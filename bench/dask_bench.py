"""The analysis passes over all cells in-process vs on a Dask LocalCluster of 2 worker processes.

    python bench/dask_bench.py                       # 1M cells x 2,000 genes (bench/datasets.py)
    python bench/dask_bench.py --cells 100000
    python bench/dask_bench.py --path some.h5ad      # any backed CSR .h5ad with obs cell_type

On one 2-core machine the cluster cannot be faster than the in-process path: both workers
share the same two cores (and the client's), and every task pays scheduling, a file open
and the transfer of its partial result. What this measures is that cost: per case the time
in-process, on the cluster, the number of row blocks, and the bytes sent to / received from
the workers (``DaskCluster.bytes_sent`` / ``bytes_received``; the matrix is read by the
workers from the file, never sent). Cases, each on a source whose totals are known unless
it is the totals itself: ``totals`` (sums over all cells), ``value table`` (distinct values
for the Wilcoxon test), ``markers t-test`` and ``markers wilcoxon`` (8 categories).
In-process reads the value table through the gene index (built first, time reported), as the
server does. Page cache warm. Writes bench/results/dask.json; :func:`section` is its part of
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
RESULTS = BENCH / "results" / "dask.json"
CASES = ["totals", "value table", "markers t-test", "markers wilcoxon"]


def _case(expr, source, case: str) -> float:
    from cellucid.analysis import markers
    from cellucid.analysis._ranksum import value_table

    t = time.perf_counter()
    if case == "totals":
        expr._totals = None
        expr.totals()
    elif case == "value table":
        expr._value_table = False
        value_table(expr)
    else:
        markers(source, "cell_type", method=case.split()[-1])
    return time.perf_counter() - t


def measure(path: str) -> dict:
    import numpy as np  # noqa: F401 - imported before timing
    from distributed import Client, LocalCluster

    from cellucid.analysis._matrix import expression_of
    from cellucid.analysis.cluster import DaskCluster
    from cellucid.data import open_source

    with open(path, "rb") as f:  # page cache warm
        while f.read(1 << 24):
            pass
    out: dict = {"path": os.path.basename(path), "cases": {}}
    src = open_source(path)
    t = time.perf_counter()
    index = getattr(src.expression_reader(), "index", None)  # none below 5M stored values
    if index is not None:
        index.wait()
    out["gene_index_s"] = time.perf_counter() - t
    expr = expression_of(src)
    out["n_cells"], out["n_genes"] = expr.n_cells, expr.n_genes
    out["nnz"] = int(expr.reader._full_indptr()[-1])
    # one-off costs outside the figures: scipy.stats' import, decoding obs cell_type
    from cellucid.analysis._groups import categorical_field
    from scipy import stats  # noqa: F401 - what the test statistics import on first use
    categorical_field(src, "cell_type")
    local = {case: _case(expr, src, case) for case in CASES}
    src.close()

    t = time.perf_counter()
    cluster = LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None)
    client = Client(cluster, set_as_default=False)
    out["cluster_start_s"] = time.perf_counter() - t
    src = open_source(path, cache_max="0")  # no gene index: the cluster does not need one
    expr = expression_of(src)
    categorical_field(src, "cell_type")
    expr.cluster = dc = DaskCluster(client)
    for case in CASES:
        before = (dc.bytes_sent, dc.bytes_received)
        blocks: list[int] = []
        dc.on_progress[:] = [lambda job, done, total: blocks.append(total)]
        secs = _case(expr, src, case)
        out["cases"][case] = {"in_process_s": local[case], "dask_s": secs, "blocks": max(blocks or [0]),
                              "sent_mb": (dc.bytes_sent - before[0]) / 1e6,
                              "received_mb": (dc.bytes_received - before[1]) / 1e6}
    assert dc.problem is None, dc.problem
    src.close()
    client.close()
    cluster.close()
    out["machine"] = {"cores": os.cpu_count(), "python": platform.python_version(),
                      "load_avg": [round(x, 1) for x in os.getloadavg()]}
    out["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return out


def section(path: Path = RESULTS) -> list[str]:
    """The Markdown of the last run (for docs/benchmarks.md)."""
    if not path.exists():
        return []
    r = json.loads(path.read_text())
    rows = [f"| {case} | {c['in_process_s']:.2f} s | {c['dask_s']:.2f} s | {c['blocks']} | "
            f"{c['sent_mb']:.2f} MB | {c['received_mb']:.1f} MB |" for case, c in r["cases"].items()]
    return ["## Analysis on a Dask cluster (`bench/dask_bench.py`)", "",
            f"{r['n_cells']:,} cells × {r['n_genes']:,} genes ({r['nnz'] / 1e6:,.0f}M stored values, backed CSR "
            f"`.h5ad`), in-process vs a `LocalCluster` of 2 worker processes (1 thread each) on the same "
            f"{r['machine']['cores']}-core machine ({r['date']}, load average {r['machine']['load_avg'][0]} at the "
            "end; other engineers shared it). Not faster here, and not expected to be: the workers share the "
            "client's two cores. The figures say what the cluster path costs: scheduling, each block opening "
            "the file, and the partial results moving back (per-gene arrays; the matrix is read by the "
            "workers and never sent). Each case on a source whose totals are already known (except the "
            f"totals). Cluster start {r['cluster_start_s']:.1f} s; in-process, the gene index the value table reads "
            f"was built in {r['gene_index_s']:.1f} s first (the cluster path needs none). See [dask.md](dask.md).", "",
            "| case | in-process | Dask (2 workers) | row blocks | sent to workers | received |",
            "|---|---|---|---|---|---|", *rows, "",
            "The value table differs most: each worker sorts the values of every gene in its block and the "
            "client merges the blocks' distinct (gene, value) pairs one block at a time (a sort of the pairs so "
            "far with the new ones), where in-process sorts each gene's values once, read through the gene "
            "index — which has to exist first (its build time above). "
            "Sent to workers: group codes (1 byte a cell) and, for rank sums, the value table once per worker; "
            "received: per-gene partial arrays of every block.", "",
            "Reproduce: `pip install -e '.[dask]' && python bench/dask_bench.py` (`--cells 100000` for a quick run).", ""]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=1_000_000)
    ap.add_argument("--path", help="a backed CSR .h5ad with obs 'cell_type' (default: the demo of --cells)")
    args = ap.parse_args()
    # a cache of its own, emptied: the in-process gene index is built (and timed) in every run
    cache = BENCH / ".cache" / "dask-bench"
    shutil.rmtree(cache, ignore_errors=True)
    os.environ["CELLUCID_CACHE_DIR"] = str(cache)
    path = args.path
    if path is None:
        from datasets import ensure

        path = str(ensure(args.cells, 2000, zarr=False, export=False).h5ad)
    r = measure(path)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(r, indent=1))
    print("\n".join(section()))


if __name__ == "__main__":
    main()
