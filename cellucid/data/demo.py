"""The built-in demo dataset: deterministic, vectorized, fast for millions of cells.

``demo_anndata(n_cells, n_genes, seed)`` returns an :class:`anndata.AnnData` that looks like
a small differentiation study:

- 8 clusters (``obs["cell_type"]``, with ``uns["cell_type_colors"]``) placed one after the
  other along a curved trajectory; ``obs["pseudotime"]`` runs from 0 to 1 along it.
- ``obsm["X_umap"]`` (n, 2) and ``obsm["X_umap_3d"]`` (n, 3): the trajectory as a spiral
  (the 3D version adds height; its first two columns match the 2D one). ``X_umap_3d`` is
  paired with ``X_umap`` by the ``<key>_3d`` naming rule (see ``docs/data-sources.md``), so
  the viewer shows one embedding ``X_umap`` in 1D, 2D and 3D.
- ``obsm["X_tsne"]`` (n, 2): the clusters as separate blobs on a ring.
- ``obsm["X_pca"]`` (n, 50): the latent space (cluster centers + trajectory + noise).
- ``obsm["velocity_umap_2d"]`` (n, 2) and ``obsm["velocity_umap_3d"]`` (n, 3): vectors
  tangent to the trajectory, pointing forward in pseudotime.
- obs: ``cell_type`` and ``batch`` (categorical, with colors), ``leiden`` (categorical,
  no colors), ``n_counts``, ``pct_mito``, ``pseudotime`` (continuous), ``is_doublet`` (bool).
- X: ``scipy.sparse.csr_matrix`` float32 counts, ~7% non-zero. Gene ``g`` is a marker of
  cluster ``g % 8``: it is detected far more often, and at higher counts, in that cluster,
  so coloring by any gene lights up one cluster. The first genes carry real marker names
  (``CD34``, ``MKI67``, ``LYZ``, ``FCER1A``, ``MS4A1``, ``CD3E``, ``NKG7``, ``JCHAIN``) of
  the cluster they mark; the rest are ``GENE0008``, ``GENE0009``, ….
  ``var["gene_ids"]`` holds Ensembl-style ids (``ENSG00000100000``, …).

Determinism: every part draws from its own generator spawned from ``seed``, and X is
generated in fixed-size row chunks, so the same ``(n_cells, n_genes, seed)`` always gives
the same data, whether built in memory or streamed to disk by :func:`write_demo_h5ad`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterator

import numpy as np

N_CLUSTERS = 8
CELL_TYPES = [
    "Stem",
    "Progenitor",
    "Monocyte",
    "Dendritic",
    "B cell",
    "T cell",
    "NK cell",
    "Plasma",
]
CELL_TYPE_COLORS = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
]
# Real marker symbols at var positions 0..7: gene k marks cluster k (k % 8 == k).
MARKER_GENES = ["CD34", "MKI67", "LYZ", "FCER1A", "MS4A1", "CD3E", "NKG7", "JCHAIN"]
BATCHES = ["batch_A", "batch_B", "batch_C"]
BATCH_COLORS = ["#4e79a7", "#f28e2b", "#59a14f"]
# Unequal cluster sizes, so the legend counts differ (sums to 1).
CLUSTER_WEIGHTS = np.array([0.08, 0.12, 0.15, 0.10, 0.16, 0.14, 0.13, 0.12])
DENSITY = 0.07  # fraction of non-zero entries in X
N_PCS = 50
# X is generated in row chunks of this size: small enough that each temporary array
# (rows × 140 entries at 2,000 genes) stays in the CPU cache — 2.5× faster than 64k rows.
_CHUNK_ROWS = 8192
_WRITE_ROWS = 131072  # rows per append when streaming X to disk


@dataclass
class _Cells:
    """Per-cell design shared by every part of the demo."""

    cluster: np.ndarray  # int32 (n,)
    pseudotime: np.ndarray  # float32 (n,) in [0, 1]


def _rngs(seed: int) -> dict[str, np.random.Generator]:
    # One independent stream per part: parts can be generated in any order (or skipped)
    # without changing the others.
    names = ["cells", "embed", "obs", "x"]
    children = np.random.SeedSequence(seed).spawn(len(names))
    return {n: np.random.default_rng(s) for n, s in zip(names, children)}


def _cells(n_cells: int, rng: np.random.Generator) -> _Cells:
    cluster = rng.choice(N_CLUSTERS, size=n_cells, p=CLUSTER_WEIGHTS).astype(np.int32)
    # Position inside the cluster's stretch of the trajectory: bunched at its middle so
    # clusters look like blobs joined by thinner bridges.
    u = np.clip(0.5 + 0.2 * rng.standard_normal(n_cells, dtype=np.float32), 0.0, 1.0)
    pseudotime = ((cluster + u) / N_CLUSTERS).astype(np.float32)
    return _Cells(cluster=cluster, pseudotime=pseudotime)


def _curve(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spiral trajectory: points (n, 3) and unit tangents (n, 3) at pseudotime ``t``."""
    t = t.astype(np.float32)
    theta = 1.6 * np.pi * t
    r = 2.0 + 6.0 * t
    x, y, z = r * np.cos(theta), r * np.sin(theta), 8.0 * t - 4.0
    # Derivatives with respect to t.
    dtheta, dr = 1.6 * np.pi, 6.0
    dx = dr * np.cos(theta) - r * np.sin(theta) * dtheta
    dy = dr * np.sin(theta) + r * np.cos(theta) * dtheta
    dz = np.full_like(t, 8.0)
    pts = np.stack([x, y, z], axis=1)
    tan = np.stack([dx, dy, dz], axis=1)
    tan /= np.linalg.norm(tan, axis=1, keepdims=True)
    return pts.astype(np.float32), tan.astype(np.float32)


def _embeddings(cells: _Cells, rng: np.random.Generator) -> dict[str, np.ndarray]:
    n = cells.cluster.shape[0]
    pts, tan = _curve(cells.pseudotime)
    umap3 = pts + 0.45 * rng.standard_normal((n, 3), dtype=np.float32)

    # 2D velocity: tangent of the projected (x, y) curve, so it follows the 2D picture.
    tan2 = tan[:, :2].copy()
    tan2 /= np.maximum(np.linalg.norm(tan2, axis=1, keepdims=True), 1e-6)
    speed = (0.6 + 0.2 * rng.random(n, dtype=np.float32))[:, None]
    vel2 = speed * tan2 + 0.08 * rng.standard_normal((n, 2), dtype=np.float32)
    vel3 = speed * tan + 0.08 * rng.standard_normal((n, 3), dtype=np.float32)

    # t-SNE-like: one blob per cluster on a ring, stretched a little by pseudotime.
    angle = 2 * np.pi * np.arange(N_CLUSTERS) / N_CLUSTERS
    centers = 18.0 * np.stack([np.cos(angle), np.sin(angle)], axis=1).astype(np.float32)
    local_t = cells.pseudotime * N_CLUSTERS - cells.cluster - 0.5
    tsne = (
        centers[cells.cluster]
        + 2.0 * rng.standard_normal((n, 2), dtype=np.float32)
        + np.stack([3.0 * local_t, np.zeros_like(local_t)], axis=1)
    )

    # PCA-like latent: cluster centers + trajectory direction + noise with decaying spread.
    sd = (8.0 / np.sqrt(np.arange(1, N_PCS + 1))).astype(np.float32)
    pc_centers = rng.standard_normal((N_CLUSTERS, N_PCS), dtype=np.float32) * sd
    direction = rng.standard_normal(N_PCS, dtype=np.float32) * sd
    pca = rng.standard_normal((n, N_PCS), dtype=np.float32)
    pca *= 0.3 * sd
    pca += pc_centers[cells.cluster]
    pca += cells.pseudotime[:, None] * direction

    return {
        "X_umap": np.ascontiguousarray(umap3[:, :2]),
        "X_umap_3d": umap3,
        "X_tsne": tsne.astype(np.float32),
        "X_pca": pca,
        "velocity_umap_2d": vel2.astype(np.float32),
        "velocity_umap_3d": vel3.astype(np.float32),
    }


def _nnz_per_cell(n_genes: int, density: float = DENSITY) -> int:
    return max(1, min(n_genes, int(round(density * n_genes))))


def _check_density(density: float) -> float:
    density = float(density)
    if not 0.0 < density <= 1.0:
        raise ValueError(f"density must be in (0, 1] (fraction of non-zero entries in X), got {density}")
    return density


def _x_chunks(
    cells: _Cells, n_genes: int, rng: np.random.Generator, density: float = DENSITY
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(indices, data)`` for successive row chunks; every row has ``k`` entries.

    The genes are cut into ``k`` contiguous bins and each row takes exactly one gene per
    bin, so column indices come out sorted and unique with no per-row sorting. For a cell
    of cluster ``c``, with probability 0.6 the pick is one of the bin's marker genes of
    ``c`` (genes ``g`` with ``g % 8 == c``) and then gets a higher count.

    Speed: 32 random bits per entry, cut into four bytes (position in bin, marker
    pick, marker coin, count quantile), and int32 arithmetic throughout; counts come
    from a 256-entry table of exponential quantiles instead of drawing floats.
    """
    k = _nnz_per_cell(n_genes, density)
    edges = np.floor(np.linspace(0, n_genes, k + 1)).astype(np.int32)
    start = edges[:-1]
    width = np.maximum(edges[1:] - edges[:-1], 1).astype(np.int32)
    # Per (cluster, bin): the bin's first marker gene of that cluster and how many it has.
    c_col = np.arange(N_CLUSTERS, dtype=np.int32)[:, None]
    first = start + (c_col - start) % N_CLUSTERS  # (8, k)
    n_marker = np.maximum(0, (start + width - first + N_CLUSTERS - 1) // N_CLUSTERS).astype(np.int32)
    has_marker = n_marker > 0
    n_marker1 = np.maximum(n_marker, 1)
    # Counts: 1 + floor(scale * Exp(1)), via the exponential's quantiles at 256 levels.
    q = -np.log1p(-(np.arange(256, dtype=np.float64) + 0.5) / 256)
    count_plain = (1.0 + np.floor(0.8 * q)).astype(np.float32)
    count_marker = (1.0 + np.floor(6.0 * q)).astype(np.float32)
    coin = np.uint8(int(0.6 * 256))
    n = cells.cluster.shape[0]
    for lo in range(0, n, _CHUNK_ROWS):
        hi = min(n, lo + _CHUNK_ROWS)
        m = hi - lo
        c = cells.cluster[lo:hi]
        # 32 random bits per entry, viewed as four uint8 fields (little-endian byte order
        # is fixed by numpy's view, so the result is the same on every platform we run on).
        raw = rng.bit_generator.random_raw((m * k + 1) // 2).view(np.uint8)[: m * k * 4]
        fields = raw.reshape(m, k, 4)
        is_marker = fields[..., 2] < coin
        is_marker &= has_marker[c]
        idx = start + ((fields[..., 0].astype(np.int32) * width) >> 8)  # random gene of each bin
        marker_idx = first[c] + N_CLUSTERS * ((fields[..., 1].astype(np.int32) * n_marker1[c]) >> 8)
        np.copyto(idx, marker_idx, where=is_marker)
        qi = fields[..., 3]
        data = np.where(is_marker, count_marker[qi], count_plain[qi])
        yield idx.astype(np.int32, copy=False).ravel(), data.ravel()


def _var(n_genes: int):
    import pandas as pd

    width = max(4, len(str(max(n_genes - 1, 0))))
    names = [f"GENE{i:0{width}d}" for i in range(n_genes)]
    for i, sym in enumerate(MARKER_GENES[:n_genes]):
        names[i] = sym
    ids = [f"ENSG{100000 + i:011d}" for i in range(n_genes)]
    return pd.DataFrame({"gene_ids": ids}, index=pd.Index(names, name=None))


def _obs(cells: _Cells, n_counts: np.ndarray, rng: np.random.Generator):
    import pandas as pd

    n = cells.cluster.shape[0]
    batch = rng.integers(0, len(BATCHES), size=n).astype(np.int32)
    # leiden: each cluster split in two along pseudotime; labels are shuffled numbers so
    # they do not simply equal cell_type order.
    half = (cells.pseudotime * N_CLUSTERS - cells.cluster >= 0.5).astype(np.int32)
    perm = np.random.default_rng(12345).permutation(2 * N_CLUSTERS)
    leiden_codes = perm[2 * cells.cluster + half].astype(np.int32)
    pct_mito = (rng.beta(2.0, 40.0, size=n) * 100).astype(np.float32)
    is_doublet = rng.random(n, dtype=np.float32) < 0.03
    obs = pd.DataFrame(
        {
            "cell_type": pd.Categorical.from_codes(cells.cluster, categories=CELL_TYPES),
            "batch": pd.Categorical.from_codes(batch, categories=BATCHES),
            "leiden": pd.Categorical.from_codes(
                leiden_codes, categories=[str(i) for i in range(2 * N_CLUSTERS)]
            ),
            "n_counts": n_counts.astype(np.float32),
            "pct_mito": pct_mito,
            "pseudotime": cells.pseudotime,
            "is_doublet": is_doublet,
        },
        index=pd.Index(_cell_names(n)),
    )
    return obs


def _cell_names(n: int) -> np.ndarray:
    # A list comprehension is several times faster than np.char for this.
    return np.array([f"cell_{i}" for i in range(n)], dtype=object)


def _uns() -> dict:
    return {
        "cell_type_colors": np.array(CELL_TYPE_COLORS, dtype=object),
        "batch_colors": np.array(BATCH_COLORS, dtype=object),
    }


def _check_sizes(n_cells: int, n_genes: int) -> None:
    if int(n_cells) < 1:
        raise ValueError(f"n_cells must be at least 1, got {n_cells}")
    if int(n_genes) < 0:
        raise ValueError(f"n_genes must be at least 0, got {n_genes}")


def demo_anndata(n_cells: int = 5000, n_genes: int = 2000, seed: int = 0, density: float = DENSITY):
    """The demo dataset as an in-memory :class:`anndata.AnnData` (see the module docstring).

    ``density`` is the fraction of non-zero entries in X (default 7 %; the 10M-cell
    benchmark uses 2 % to keep the file near 3 GB).

    Deterministic: the same arguments always return identical data. Fully vectorized; a
    million cells with 2,000 genes take a few seconds and ~1.2 GB for X.
    ``n_genes=0`` gives an AnnData with ``X=None`` (no genes).
    """
    import anndata as ad
    import scipy.sparse as sp

    _check_sizes(n_cells, n_genes)
    density = _check_density(density)
    n_cells, n_genes = int(n_cells), int(n_genes)
    rng = _rngs(seed)
    cells = _cells(n_cells, rng["cells"])
    obsm = _embeddings(cells, rng["embed"])

    X = None
    n_counts = np.zeros(n_cells, dtype=np.float32)
    if n_genes > 0:
        k = _nnz_per_cell(n_genes, density)
        # Every row has exactly k entries, so indptr is known up front and chunks are
        # written straight into preallocated arrays (no concatenation copies).
        indices = np.empty(n_cells * k, dtype=np.int32)
        data = np.empty(n_cells * k, dtype=np.float32)
        pos = 0
        for idx, vals in _x_chunks(cells, n_genes, rng["x"], density):
            indices[pos : pos + idx.size] = idx
            data[pos : pos + vals.size] = vals
            pos += idx.size
        indptr = np.arange(0, n_cells * k + 1, k, dtype=np.int64)
        if indptr[-1] < np.iinfo(np.int32).max:
            indptr = indptr.astype(np.int32)
        n_counts = data.reshape(n_cells, k).sum(axis=1, dtype=np.float32)
        X = sp.csr_matrix((data, indices, indptr), shape=(n_cells, n_genes))

    adata = ad.AnnData(
        X=X,
        obs=_obs(cells, n_counts, rng["obs"]),
        var=_var(n_genes),
        obsm=obsm,
        uns=_uns(),
    )
    return adata


def _batched(chunks, max_entries: int):
    """Concatenate consecutive ``(indices, data)`` chunks into batches of ~``max_entries``."""
    idx_parts, val_parts, size = [], [], 0
    for idx, vals in chunks:
        idx_parts.append(idx)
        val_parts.append(vals)
        size += idx.size
        if size >= max_entries:
            yield np.concatenate(idx_parts), np.concatenate(val_parts)
            idx_parts, val_parts, size = [], [], 0
    if idx_parts:
        yield np.concatenate(idx_parts), np.concatenate(val_parts)


def write_demo_h5ad(
    path, n_cells: int = 5000, n_genes: int = 2000, seed: int = 0, density: float = DENSITY
) -> str:
    """Write the demo dataset to an ``.h5ad`` file and return the path (as ``str``).

    The result equals ``demo_anndata(n_cells, n_genes, seed)`` written with anndata, but X
    is streamed to disk one row chunk at a time (anndata's sparse ``append``), so peak
    memory stays bounded by the obs/obsm arrays plus one chunk — large benchmark files
    (millions of cells) can be written without holding X in memory. No compression, for
    fast writing and reading. ``density`` as in :func:`demo_anndata`.

    Size: about ``n_cells * (8 * density * n_genes + 260)`` bytes (X as int32 indices +
    float32 data, plus ~260 B per cell of obs and obsm); 10M cells × 2,000 genes at 2 %
    is ~5.8 GB and takes a few minutes on two cores.
    """
    import anndata as ad
    import h5py
    import scipy.sparse as sp
    from anndata.io import sparse_dataset, write_elem

    _check_sizes(n_cells, n_genes)
    density = _check_density(density)
    n_cells, n_genes = int(n_cells), int(n_genes)
    path = os.fspath(path)
    rng = _rngs(seed)
    cells = _cells(n_cells, rng["cells"])
    obsm = _embeddings(cells, rng["embed"])
    n_counts = np.zeros(n_cells, dtype=np.float32)

    tmp = path + ".tmp"
    # Obs needs n_counts (row sums of X), so write X first, then everything else.
    with h5py.File(tmp, "w") as f:
        if n_genes > 0:
            k = _nnz_per_cell(n_genes, density)
            row = 0
            store = None
            for idx, vals in _batched(_x_chunks(cells, n_genes, rng["x"], density), _WRITE_ROWS * k):
                m = idx.size // k
                n_counts[row : row + m] = vals.reshape(m, k).sum(axis=1, dtype=np.float32)
                chunk = sp.csr_matrix(
                    (vals, idx, np.arange(0, idx.size + 1, k, dtype=np.int64)),
                    shape=(m, n_genes),
                )
                if store is None:
                    # 1 MiB storage chunks: h5py's default for resizable datasets is tiny
                    # (~35 KB), which makes whole-array scans slow.
                    write_elem(f, "X", chunk, dataset_kwargs={"chunks": (1 << 18,)})
                    store = sparse_dataset(f["X"])
                else:
                    store.append(chunk)
                row += m
    shell = ad.AnnData(obs=_obs(cells, n_counts, rng["obs"]), var=_var(n_genes), obsm=obsm, uns=_uns())
    with h5py.File(tmp, "a") as f:
        for key, value in (
            ("obs", shell.obs),
            ("var", shell.var),
            ("obsm", dict(shell.obsm)),
            ("uns", shell.uns),
            ("obsp", {}),
            ("varm", {}),
            ("varp", {}),
            ("layers", {}),
        ):
            write_elem(f, key, value)
        f.attrs["encoding-type"] = "anndata"
        f.attrs["encoding-version"] = "0.1.0"
    os.replace(tmp, path)
    return path
