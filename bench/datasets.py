"""Benchmark datasets: generated with cellucid's deterministic demo, cached in bench/data/.

Every dataset is the demo AnnData (``cellucid.data.demo``) with CSR ``float32`` X, written
uncompressed. Files are written to a temporary name and renamed, so an interrupted run
never leaves a half file that a later run would trust.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
DATA = BENCH / "data"
SEED = 0
# Above this many cells the datasets are written at LARGE_DENSITY instead of the demo's 7 %:
# 10M cells x 2,000 genes at 7 % would be ~11 GB of X (and as much again for the gene index);
# at 2 % it is ~3.2 GB. See bench/README.md for what a 10M run needs.
LARGE_CELLS = 2_000_000
LARGE_DENSITY = 0.02


@dataclass
class Dataset:
    """One benchmark input: name, counts and the paths of each format that exists."""

    name: str
    n_cells: int
    n_genes: int
    h5ad: Path
    density: float = 0.07
    zarr: Path | None = None
    export: Path | None = None

    @property
    def size_bytes(self) -> int:
        return self.h5ad.stat().st_size


def density_for(n_cells: int) -> float:
    """Fraction of non-zero entries of X for a dataset of ``n_cells``."""
    from cellucid.data.demo import DENSITY

    return LARGE_DENSITY if n_cells > LARGE_CELLS else DENSITY


def _name(n_cells: int, n_genes: int) -> str:
    base = f"demo_{n_cells // 1000}k_{n_genes}g"
    d = density_for(n_cells)
    from cellucid.data.demo import DENSITY

    return base if d == DENSITY else f"{base}_d{round(d * 100)}"


def ensure(n_cells: int, n_genes: int, zarr: bool = True, export: bool = True, log=print) -> Dataset:
    """Make (or reuse) the ``.h5ad`` — and, when the package can write them, a ``.zarr``
    store and an export folder — for ``n_cells × n_genes``."""
    from cellucid.data.demo import write_demo_h5ad

    DATA.mkdir(parents=True, exist_ok=True)
    name = _name(n_cells, n_genes)
    density = density_for(n_cells)
    ds = Dataset(name, n_cells, n_genes, DATA / f"{name}.h5ad", density=density)
    if not ds.h5ad.exists():
        t = time.perf_counter()
        log(f"  generating {ds.h5ad.name} ({n_cells:,} cells x {n_genes:,} genes, {density:.0%} nonzero)...")
        write_demo_h5ad(ds.h5ad, n_cells, n_genes, SEED, density=density)
        log(f"  wrote {ds.h5ad.name}: {ds.size_bytes / 1e6:,.0f} MB in {time.perf_counter() - t:.1f} s")
    if zarr:
        ds.zarr = _zarr(ds, log)
    if export:
        ds.export = _export(ds, log)
    return ds


def _zarr(ds: Dataset, log) -> Path | None:
    path = DATA / f"{ds.name}.zarr"
    if path.exists():
        return path
    try:
        import anndata as ad

        t = time.perf_counter()
        adata = ad.read_h5ad(ds.h5ad)
        tmp = path.with_suffix(".zarr.tmp")
        adata.write_zarr(tmp)
        os.replace(tmp, path)
        log(f"  wrote {path.name} in {time.perf_counter() - t:.1f} s")
        return path
    except Exception as exc:  # reported, the h5ad benchmarks still run
        log(f"  zarr: not written ({type(exc).__name__}: {exc})")
        return None


def _export(ds: Dataset, log) -> Path | None:
    path = DATA / f"{ds.name}_export"
    if (path / "dataset_identity.json").exists():
        return path
    try:
        from cellucid.export import prepare
    except Exception as exc:
        log(f"  export: cellucid.export.prepare not available ({type(exc).__name__}: {exc})")
        return None
    try:
        import shutil

        t = time.perf_counter()
        tmp = path.with_name(path.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        prepare(str(ds.h5ad), str(tmp))
        os.replace(tmp, path)
        log(f"  wrote {path.name} in {time.perf_counter() - t:.1f} s")
        return path
    except Exception as exc:
        log(f"  export: prepare failed ({type(exc).__name__}: {exc})")
        return None


def warm_page_cache(ds: Dataset, block: int = 8 << 20) -> float:
    """Read every file of ``ds`` once (h5ad, zarr store, export folder), so that the first
    tool measured on a dataset finds it in the OS page cache like every later one does
    (the method says: warm page cache). Returns the seconds it took."""
    t = time.perf_counter()
    paths = [p for p in (ds.h5ad, ds.zarr, ds.export) if p is not None]
    buf = bytearray(block)
    for root in paths:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for f in files:
            with open(f, "rb", buffering=0) as fh:
                while fh.readinto(buf):
                    pass
    return time.perf_counter() - t
