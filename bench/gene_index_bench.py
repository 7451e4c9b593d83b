"""Effect of cellucid.data.gene_reading.gene_index on one-gene reads from a backed CSR .h5ad.

Usage: python gene_index_bench.py FILE.h5ad OUT.json [N_GENES]
Runs in its own process so its peak RSS (VmHWM) is the index build's own. Measures:
the plain backed read (anndata ``X[:, j]`` on a backed CSR matrix, what a source without
an index does), the one-time index build, column reads through the index, and the floor
of any read without one (one compare over all of ``X/indices`` in memory).
The index goes to bench/.cache/gene-index (CELLUCID_CACHE_DIR), rebuilt fresh each run.
"""

import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

here = Path(__file__).resolve().parent
os.environ["CELLUCID_CACHE_DIR"] = str(here / ".cache" / "gene-index-bench")
sys.path.insert(0, str(here))

import anndata as ad  # noqa: E402
import h5py  # noqa: E402
import numpy as np  # noqa: E402

from cellucid.data.gene_reading.gene_index import GeneIndex, cache_dir, file_cache_key  # noqa: E402
from http_bench import gene_names, pct, pick_genes  # noqa: E402
from procs import vm_hwm_bytes  # noqa: E402

path, out = sys.argv[1], sys.argv[2]
n = int(sys.argv[3]) if len(sys.argv) > 3 else 20
names = gene_names(path)
pos = {g: i for i, g in enumerate(names)}
genes = [pos[g] for g in pick_genes(path, n + 3, seed=2)]
res = {"file": os.path.basename(path)}

shutil.rmtree(cache_dir(), ignore_errors=True)
res["rss_before_build_bytes"] = vm_hwm_bytes(os.getpid())
with h5py.File(path, "r") as f:
    x = f["X"]
    shape = tuple(int(v) for v in x.attrs["shape"])
    t, cpu = time.perf_counter(), time.process_time()
    idx = GeneIndex.open_or_build(file_cache_key(path, "bench"), x["indptr"], x["indices"], x["data"],
                                  shape[0], shape[1], background=True, progress=False, start_delay=0)
    res["open_or_build_return_s"] = time.perf_counter() - t  # the server is not held up
    idx.wait()
    res["build_s"] = time.perf_counter() - t
    # CPU seconds of the process meanwhile (the build thread; the main thread waits): what
    # the build costs whatever else runs on the machine.
    res["build_cpu_s"] = time.process_time() - cpu
    res["load_average"] = os.getloadavg()[0]
    if idx.error:
        raise idx.error
res["index_bytes"] = idx.path.stat().st_size
with h5py.File(path, "r") as f:  # X's own bytes on disk: what the index is compared with
    res["x_bytes"] = int(sum(f["X"][k].id.get_storage_size() for k in ("indptr", "indices", "data")))
    res["nnz"] = int(f["X"]["indptr"][-1])
res["index_bytes_per_nnz"] = res["index_bytes"] / max(res["nnz"], 1)
res["index_share_of_x"] = res["index_bytes"] / max(res["x_bytes"], 1)
res["rss_peak_bytes"] = vm_hwm_bytes(os.getpid())

# Without an index: anndata's backed CSR column read (scans all of indices/data).
a = ad.read_h5ad(path, backed="r")
plain = []
for j in genes[:3]:
    t = time.perf_counter()
    col = a.X[:, j]
    col = np.asarray(col.toarray() if hasattr(col, "toarray") else col).ravel()
    plain.append(time.perf_counter() - t)
a.file.close()
res["plain_backed_s"] = plain
res["rss_after_plain_bytes"] = vm_hwm_bytes(os.getpid())

# Reopen (what every later server start does) and read columns.
idx.close()
t = time.perf_counter()
idx = GeneIndex.open_or_build(file_cache_key(path, "bench"), [], [], [], shape[0], shape[1], background=False)
res["reopen_s"] = time.perf_counter() - t
lat, nbytes = [], []
for j in genes[3:]:
    t = time.perf_counter()
    col = idx.column(j)
    lat.append(time.perf_counter() - t)
    nbytes.append(int(idx._offsets[j + 1] - idx._offsets[j]))  # the one read per gene
res["column_s"] = lat
res["column_p50_s"] = pct(lat, 50)
res["column_p95_s"] = pct(lat, 95)
res["column_read_bytes_median"] = statistics.median(nbytes)

# The same rows log-normalised (log1p of counts per 10k, float32): what the index takes
# for float values. The first 100k cells (or all), in memory.
with h5py.File(path, "r") as f:
    x = f["X"]
    n_log = min(shape[0], 100_000)
    ip = x["indptr"][: n_log + 1].astype(np.int64)
    ind, dat = x["indices"][: ip[-1]], x["data"][: ip[-1]].astype(np.float32)
sums = np.add.reduceat(dat, ip[:-1]) if dat.size else dat
per_row = np.repeat(np.where(sums > 0, sums, 1), np.diff(ip))
logn = np.log1p(dat / per_row * 1e4).astype(np.float32)
t = time.perf_counter()
lidx = GeneIndex.open_or_build("bench-lognorm", ip, ind, logn, n_log, shape[1], background=False, progress=False)
res["lognorm"] = {"n_cells": n_log, "nnz": int(ip[-1]), "build_s": time.perf_counter() - t,
                  "index_bytes": lidx.path.stat().st_size,
                  "index_bytes_per_nnz": lidx.path.stat().st_size / max(int(ip[-1]), 1)}
res["lognorm"]["index_share_of_x_8b"] = res["lognorm"]["index_bytes_per_nnz"] / 8  # int32 index + float32 value
lat_log = []
for j in genes[3:]:
    t = time.perf_counter()
    lidx.column(j)
    lat_log.append(time.perf_counter() - t)
res["lognorm"]["column_p50_s"] = pct(lat_log, 50)
lidx.close()
del ind, dat, logn, per_row, ip

# What one gene would weigh on the wire in a few encodings (the server's choice, not the
# index's): dense float32 + gzip (levels 6 and 1), sparse (uint32 rows + float32) + gzip,
# and sparse with delta-coded rows (gaps in the smallest uint dtype that holds the largest
# gap) + float32 values + gzip.
import gzip  # noqa: E402

enc = {"dense_f32_gzip6": [], "dense_f32_gzip1": [], "sparse_u32_f32_gzip6": [], "sparse_delta_gzip6": [],
       "dense_f32_gzip6_s": []}
for j in genes[3:13]:
    col = idx.column(j)
    raw = col.astype("<f4").tobytes()
    t = time.perf_counter()
    enc["dense_f32_gzip6"].append(len(gzip.compress(raw, 6, mtime=0)))
    enc["dense_f32_gzip6_s"].append(time.perf_counter() - t)
    enc["dense_f32_gzip1"].append(len(gzip.compress(raw, 1, mtime=0)))
    nz = np.flatnonzero(col)
    vals = col[nz].astype("<f4").tobytes()
    enc["sparse_u32_f32_gzip6"].append(len(gzip.compress(nz.astype("<u4").tobytes() + vals, 6, mtime=0)))
    gaps = np.diff(nz, prepend=0)
    gdt = "<u1" if gaps.max(initial=0) < 256 else "<u2" if gaps.max(initial=0) < 65536 else "<u4"
    enc["sparse_delta_gzip6"].append(len(gzip.compress(gaps.astype(gdt).tobytes() + vals, 6, mtime=0)))
res["wire_estimates_median"] = {k: statistics.median(v) for k, v in enc.items()}

# Check one column against the plain read.
a = ad.read_h5ad(path, backed="r")
ref = a.X[:, genes[0]]
ref = np.asarray(ref.toarray() if hasattr(ref, "toarray") else ref).ravel()
res["matches_plain_read"] = bool(np.array_equal(idx.column(genes[0]), ref.astype(np.float32)))
a.file.close()

# The floor of reading any CSR column without an index: every entry of X/indices must be
# looked at once. Timed here as one np.equal over all of indices already in memory, split
# over two threads (it is bound by memory bandwidth, not by a core); best of 5. Measured
# last, so the 4 bytes per entry it holds do not count in the build's peak RSS above.
from concurrent.futures import ThreadPoolExecutor  # noqa: E402

with h5py.File(path, "r") as f:
    indices = f["X"]["indices"][:]
half = indices.shape[0] // 2
floor = []
with ThreadPoolExecutor(2) as pool:
    for _ in range(5):
        t = time.perf_counter()
        list(pool.map(lambda part: np.equal(part, genes[0]), (indices[:half], indices[half:])))
        floor.append(time.perf_counter() - t)
res["scan_floor_s"] = min(floor)
res["indices_bytes"] = int(indices.nbytes)
del indices

# A server reading the file has the bytes in the OS page cache, not in its memory: it must
# first map them into its address space (or copy them). That cost alone, for all of
# X/indices (best of one and two threads), mapping 64 MB windows with MADV_POPULATE_READ (Linux ≥ 5.14)
# and unmapping them; it depends on how the kernel holds the file (large folios map faster).
import mmap  # noqa: E402

from cellucid.data.gene_reading.hdf5_chunks import DirectArray  # noqa: E402

with h5py.File(path, "r") as f:
    direct = DirectArray.open(f["X"]["indices"])
    if direct is not None:
        windows = []
        for e in direct.extents:
            for k in range(0, e.count, 16 << 20):
                off = e.offset + 4 * k
                windows.append((off, 4 * min(16 << 20, e.count - k)))

        def populate(part):
            for off, size in part:
                base = off - off % mmap.ALLOCATIONGRANULARITY
                mm = mmap.mmap(direct.fd, off + size - base, prot=mmap.PROT_READ, offset=base)
                try:
                    mm.madvise(getattr(mmap, "MADV_POPULATE_READ", 22))
                finally:
                    mm.close()

        mapping = []
        try:
            with ThreadPoolExecutor(2) as pool:
                for _ in range(3):  # one thread, then two (page-table updates can contend)
                    t = time.perf_counter()
                    populate(windows)
                    mapping.append(time.perf_counter() - t)
                    t = time.perf_counter()
                    list(pool.map(populate, (windows[0::2], windows[1::2])))
                    mapping.append(time.perf_counter() - t)
            res["page_cache_map_s"] = min(mapping)
        except OSError as exc:  # no MADV_POPULATE_READ on this kernel
            res["page_cache_map_error"] = str(exc)
        direct.close()
with open(out, "w") as f:
    json.dump(res, f, indent=1)
print(json.dumps({k: v for k, v in res.items() if k != "column_s"}, indent=1))
