"""One-gene read time for the same data as ``.h5ad``, ``.loom`` and ``.h5mu``.

Usage: python bench/formats_bench.py N_CELLS [N_GENES] [OUT.json]
       python bench/formats_bench.py embed N_CELLS [N_GENES] [OUT.json]

The ``.h5ad`` is the benchmark demo dataset (:mod:`datasets`: CSR float32, uncompressed);
the Loom file is written from it with loompy (``loompy.new`` + ``add_columns`` in blocks:
genes × cells, loompy's default (64, 64) gzip chunks), the ``.h5mu`` with mudata (one
modality ``rna`` holding the same AnnData). All three are cached in ``bench/data/``.

For each format: the time to open it with ``cellucid.data.open_source``, the first gene, then
``gene_by_index`` for the same 12 genes, once to warm the page cache and 3 times timed, the
formats interleaved pass by pass (median, p90 and max of the 36 reads). The gene-major cache index is turned off
(``CELLUCID_GENE_INDEX_MIN_NNZ``) so the figures are the formats' own read paths: a CSR scan
for ``.h5ad`` / ``.h5mu``, one row band of chunks for Loom. Then, for ``.h5ad`` and ``.h5mu``,
the same reads once the gene index (what ``serve`` builds in the background for a large CSR
matrix) is ready: ``indexed_median_ms`` (Loom has none: its genes are rows already).

``embed`` mode times ``cellucid prepare IN OUT --embed`` on a Cell Ranger v3 ``.h5`` written
(in 10x's layout) from the same demo data, its values rounded up to integer counts, and
reports the per-step seconds recorded in the export's ``export_settings.embed``.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ["CELLUCID_GENE_INDEX_MIN_NNZ"] = str(10**15)
here = Path(__file__).resolve().parent
os.environ["CELLUCID_CACHE_DIR"] = str(here / ".cache" / "formats-bench")
sys.path.insert(0, str(here))

import numpy as np  # noqa: E402

from datasets import DATA, ensure  # noqa: E402

N_READS = 12
ROUNDS = 3


def _loom(h5ad: Path, block: int = 50_000) -> Path:
    path = h5ad.with_suffix(".loom")
    if path.exists():
        return path
    import anndata as ad
    import loompy

    adata = ad.read_h5ad(h5ad, backed="r")
    tmp = path.with_suffix(".loom.part")
    tmp.unlink(missing_ok=True)
    t = time.perf_counter()
    with loompy.new(str(tmp)) as ds:
        for lo in range(0, adata.n_obs, block):
            hi = min(lo + block, adata.n_obs)
            X = adata.X[lo:hi]
            dense = (X.toarray() if hasattr(X, "toarray") else np.asarray(X)).T.astype(np.float32)
            ds.add_columns({"": dense}, col_attrs={"CellID": np.asarray(adata.obs_names[lo:hi], dtype=str),
                                                   "_X": adata.obsm["X_umap"][lo:hi, 0],
                                                   "_Y": adata.obsm["X_umap"][lo:hi, 1]},
                           row_attrs={"Gene": np.asarray(adata.var_names, dtype=str)})
            print(f"  loom: {hi:,}/{adata.n_obs:,} cells", flush=True)
    adata.file.close()
    tmp.rename(path)
    print(f"  wrote {path.name}: {path.stat().st_size / 1e6:,.0f} MB in {time.perf_counter() - t:.0f} s", flush=True)
    return path


def _h5mu(h5ad: Path) -> Path:
    path = h5ad.with_suffix(".h5mu")
    if path.exists():
        return path
    import anndata as ad
    import mudata

    t = time.perf_counter()
    adata = ad.read_h5ad(h5ad)
    tmp = path.with_suffix(".part.h5mu")
    mudata.MuData({"rna": adata}).write_h5mu(tmp)
    tmp.rename(path)
    print(f"  wrote {path.name}: {path.stat().st_size / 1e6:,.0f} MB in {time.perf_counter() - t:.0f} s", flush=True)
    return path


def _open(path: Path, indexed: bool):
    """``(source, seconds to open)``; with ``indexed`` the gene index is built (or reused from
    the cache dir) before the clock stops being relevant: the wait is not counted."""
    import cellucid.data.store_source as store
    from cellucid.data import open_source

    store.GENE_INDEX_MIN_NNZ = 5_000_000 if indexed else 10**15
    t0 = time.perf_counter()
    src = open_source(path)
    opened = time.perf_counter() - t0
    if indexed and src.gene_index_progress() is not None:
        while src.gene_index_progress() < 1.0:
            time.sleep(0.2)
    return src, opened


def measure(paths: dict[str, Path], genes: list[str], indexed: bool = False) -> dict:
    """Per format: open time, first gene, then :data:`ROUNDS` timed passes over ``genes``,
    the formats interleaved pass by pass so a busy moment of the shared machine hits all."""
    opened = {k: _open(p, indexed) for k, p in paths.items()}
    out: dict[str, dict] = {}
    times: dict[str, list[float]] = {k: [] for k in paths}
    try:
        idx = {k: [src.resolve_gene(g) for g in genes] for k, (src, _) in opened.items()}
        for k, (src, open_s) in opened.items():
            t = time.perf_counter()
            src.gene_by_index(idx[k][0])
            out[k] = {"file": paths[k].name, "size_mb": round(paths[k].stat().st_size / 1e6, 1),
                      "open_s": round(open_s, 3), "first_read_ms": round((time.perf_counter() - t) * 1e3, 1)}
            for j in idx[k][1:]:  # warm the page cache
                src.gene_by_index(j)
        for _ in range(ROUNDS):
            for k, (src, _) in opened.items():
                for j in idx[k]:
                    t = time.perf_counter()
                    src.gene_by_index(j)
                    times[k].append(time.perf_counter() - t)
    finally:
        for src, _ in opened.values():
            src.close()
    for k, ts in times.items():
        ts.sort()
        out[k].update(median_ms=round(statistics.median(ts) * 1e3, 2),
                      p90_ms=round(ts[int(0.9 * (len(ts) - 1))] * 1e3, 2), max_ms=round(ts[-1] * 1e3, 1))
    return out


def _tenx_h5(h5ad: Path) -> Path:
    path = h5ad.with_name(h5ad.stem + "_filtered_feature_bc_matrix.h5")
    if path.exists():
        return path
    import anndata as ad
    import h5py

    adata = ad.read_h5ad(h5ad)
    X = adata.X.tocsr()
    strings = lambda values: np.array([str(v).encode() for v in values], dtype="S")  # noqa: E731
    tmp = path.with_suffix(".part")
    with h5py.File(tmp, "w") as f:
        m = f.create_group("matrix")
        m["barcodes"] = strings(adata.obs_names)
        m["data"] = np.ceil(X.data).astype(np.int32)
        m["indices"], m["indptr"] = X.indices.astype(np.int64), X.indptr.astype(np.int64)
        m["shape"] = np.array([X.shape[1], X.shape[0]], dtype=np.int32)
        m["features/id"] = strings(f"ENSG{i:011d}" for i in range(X.shape[1]))
        m["features/name"] = strings(adata.var_names)
        m["features/feature_type"] = strings(["Gene Expression"] * X.shape[1])
        m["features/genome"] = strings(["GRCh38"] * X.shape[1])
    tmp.rename(path)
    return path


def embed_main(argv: list[str]) -> None:
    import shutil
    import subprocess

    n_cells = int(argv[0]) if argv else 100_000
    n_genes = int(argv[1]) if len(argv) > 1 else 2000
    out = Path(argv[2]) if len(argv) > 2 else here / "results" / f"embed_{n_cells // 1000}k.json"
    h5 = _tenx_h5(ensure(n_cells, n_genes, zarr=False, export=False).h5ad)
    export = DATA / f"{h5.stem}_cellucid"
    shutil.rmtree(export, ignore_errors=True)
    t = time.perf_counter()
    load_before = os.getloadavg()
    subprocess.run([sys.executable, "-m", "cellucid.cli", "prepare", str(h5), str(export), "--embed", "-q"],
                   check=True)
    seconds = time.perf_counter() - t
    identity = json.loads((export / "dataset_identity.json").read_text())
    embed = identity["export_settings"]["embed"]
    result = {"n_cells": n_cells, "n_genes": n_genes, "input": h5.name, "prepare_embed_s": round(seconds, 1),
              "embed_s": embed["seconds"], "step_seconds": embed["step_seconds"],
              "n_clusters": next(f["n_categories"] for f in identity["fields"] if f["name"] == "leiden"),
              # the machine is shared: the 1-minute load average before and after the run
              "load_avg": [round(load_before[0], 1), round(os.getloadavg()[0], 1)]}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "embed":
        embed_main(sys.argv[2:])
        return
    n_cells = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    n_genes = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    out = Path(sys.argv[3]) if len(sys.argv) > 3 else here / "results" / f"formats_{n_cells // 1000}k.json"
    ds = ensure(n_cells, n_genes, zarr=False, export=False)
    paths = {"h5ad": ds.h5ad, "loom": _loom(ds.h5ad), "h5mu": _h5mu(ds.h5ad)}
    from cellucid.data import open_source

    with open_source(ds.h5ad) as src:
        names = list(src.gene_names())
    rng = np.random.default_rng(3)
    genes = [names[i] for i in rng.choice(len(names), N_READS, replace=False)]
    result = {"n_cells": n_cells, "n_genes": n_genes, "genes": genes, "formats": {}}
    result["formats"] = measure(paths, genes)
    # Loom has no gene index: its genes are rows already.
    indexed = measure({k: p for k, p in paths.items() if k != "loom"}, genes, indexed=True)
    for kind, figures in indexed.items():
        result["formats"][kind]["indexed_median_ms"] = figures["median_ms"]
    for kind, figures in result["formats"].items():
        print(kind, figures, flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
