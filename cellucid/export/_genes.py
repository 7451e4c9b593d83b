"""Write the expression matrix gene-major (CSC) without loading it whole.

The export stores, for gene ``j``, the cells with a non-zero value and those values as one
contiguous run in ``genes/indices.u32`` and ``genes/data.*`` between ``indptr[j]`` and
``indptr[j+1]``, so the reader serves a gene with one small read per file.

Inputs come in two shapes:

- **row-major** (CSR, dense; in memory or on disk via h5py / zarr): two passes over row
  chunks. Pass 1 counts values per gene (→ ``indptr``); pass 2 scatters each chunk into
  memory-mapped output files at each gene's cursor. Memory stays at one chunk.
- **column-major** (CSC on disk or in memory, or a :class:`DataSource` read gene by gene as
  a last resort): genes are appended in order, one pass.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import scipy.sparse as sp

from cellucid.data.base import InputError
from cellucid.data import export_layout as layout

_TARGET_ENTRIES = 4_000_000  # values per chunk: bounds memory (~50 MB of temporaries)


def _attr(obj: Any, name: str) -> str | None:
    v = obj.attrs.get(name) if hasattr(obj, "attrs") else None
    if isinstance(v, bytes):
        v = v.decode()
    return v


class _Matrix:
    """Uniform access to one on-disk or in-memory matrix (cells × genes)."""

    def __init__(self, m: Any):
        self.kind = "dense"
        self.indptr = self.indices = self.data = None
        self.dense = None
        # anndata backed sparse dataset → its h5py/zarr group
        if hasattr(m, "group") and getattr(m, "format", None) in ("csr", "csc"):
            m = m.group
        if sp.issparse(m):
            m = m.tocsr() if m.format not in ("csr", "csc") else m
            self.kind = m.format
            self.shape = tuple(m.shape)
            self.indptr, self.indices, self.data = m.indptr, m.indices, m.data
            return
        enc = _attr(m, "encoding-type") or _attr(m, "h5sparse_format")
        if enc in ("csr_matrix", "csc_matrix", "csr", "csc"):
            self.kind = enc[:3]
            shape = m.attrs.get("shape") if hasattr(m, "attrs") else None
            if shape is None:
                shape = m.attrs.get("h5sparse_shape")
            self.shape = tuple(int(x) for x in shape)
            # indptr is small (n+1); indices/data stay on disk and are sliced per chunk
            self.indptr = np.asarray(m["indptr"][:], dtype=np.int64)
            self.indices, self.data = m["indices"], m["data"]
            return
        if hasattr(m, "shape") and len(m.shape) == 2:
            self.dense = m
            self.shape = tuple(int(x) for x in m.shape)
            return
        raise InputError(
            f"Cannot read the expression matrix (type {type(m).__name__}).",
            "Pass X as a numpy array, a scipy sparse matrix, or an .h5ad/.zarr path.",
        )

    def row_chunks(self, with_data: bool = True) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray | None]]:
        """Yield ``(row0, local_indptr, indices, data)`` for consecutive row chunks."""
        n_rows, n_cols = self.shape
        if self.kind == "csr":
            start = 0
            while start < n_rows:
                # chunk by number of stored values, not rows, so dense rows stay bounded
                lo = self.indptr[start]
                stop = int(np.searchsorted(self.indptr, lo + _TARGET_ENTRIES, side="right")) - 1
                stop = min(max(stop, start + 1), n_rows)
                a, b = int(self.indptr[start]), int(self.indptr[stop])
                ind = np.asarray(self.indices[a:b])
                dat = np.asarray(self.data[a:b]) if with_data else None
                yield start, self.indptr[start : stop + 1] - a, ind, dat
                start = stop
        else:
            step = max(1, _TARGET_ENTRIES // max(1, n_cols))
            for start in range(0, n_rows, step):
                block = self.dense[start : start + step]
                block = block.toarray() if sp.issparse(block) else np.asarray(block)
                csr = sp.csr_matrix(block)
                yield start, csr.indptr.astype(np.int64), csr.indices, csr.data if with_data else None

    def col_chunks(self) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
        """Yield ``(col0, local_indptr, indices, data)`` for consecutive column chunks (CSC)."""
        n_cols = self.shape[1]
        start = 0
        while start < n_cols:
            lo = self.indptr[start]
            stop = int(np.searchsorted(self.indptr, lo + _TARGET_ENTRIES, side="right")) - 1
            stop = min(max(stop, start + 1), n_cols)
            a, b = int(self.indptr[start]), int(self.indptr[stop])
            yield start, self.indptr[start : stop + 1] - a, np.asarray(self.indices[a:b]), np.asarray(self.data[a:b])
            start = stop


def _check_finite(data: np.ndarray, where: str) -> None:
    if data.dtype.kind == "f" and not np.isfinite(data).all():
        raise InputError(
            f"The expression matrix has non-finite values (NaN or inf) {where}.",
            "Quantized export needs finite values: replace them (e.g. np.nan_to_num) or export with quantize=None, which keeps them as they are.",
        )


def write_gene_major(
    matrix: Any,
    out_dir: Path,
    n_cells: int,
    n_genes: int,
    quantize: int | None,
    progress: Callable[..., Any],
    source: Any = None,
) -> dict[str, Any]:
    """Write ``genes/indptr.u64``, ``genes/indices.u32``, ``genes/data.*`` (and
    ``genes/ranges.f32`` when quantized) under ``out_dir``. ``matrix`` may be ``None``, then
    genes are read one by one from ``source`` (slow, but works for every source kind).

    Returns the ``genes`` block of the export manifest.
    """
    (out_dir / layout.GENES_DIR).mkdir(parents=True, exist_ok=True)
    idx_path = out_dir / layout.GENE_INDICES
    f32_path = out_dir / layout.gene_data_file("float32")
    m = _Matrix(matrix) if matrix is not None else None
    if m is not None and tuple(m.shape) != (n_cells, n_genes):
        raise InputError(
            f"The expression matrix has shape {m.shape}, but the dataset has {n_cells} cells × {n_genes} genes.",
            "Check that X (or the chosen layer / raw) matches obs and var.",
        )
    check = quantize is not None
    if m is None or m.kind == "csc":
        indptr = _write_column_major(m, source, idx_path, f32_path, n_cells, n_genes, check, progress)
    else:
        indptr = _write_row_major(m, idx_path, f32_path, n_cells, n_genes, check, progress)
    (out_dir / layout.GENE_INDPTR).write_bytes(indptr.astype("<u8").tobytes())
    block: dict[str, Any] = {
        "indptr": layout.GENE_INDPTR,
        "indices": layout.GENE_INDICES,
        "data": layout.gene_data_file("float32"),
        "dtype": "float32",
        "nnz": int(indptr[-1]),
        "quantized": False,
    }
    if quantize:
        block.update(_quantize_genes(out_dir, f32_path, indptr, quantize, progress))
    return block


def _write_row_major(m, idx_path, f32_path, n_cells, n_genes, check, progress) -> np.ndarray:
    counts = np.zeros(n_genes, dtype=np.int64)
    with progress(total=n_cells, desc="genes: count", unit="cell") as bar:
        for _row0, lp, ind, _ in m.row_chunks(with_data=False):
            counts += np.bincount(ind, minlength=n_genes)[:n_genes]
            bar.update(len(lp) - 1)
    indptr = np.zeros(n_genes + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    nnz = int(indptr[-1])
    if nnz == 0:
        idx_path.write_bytes(b"")
        f32_path.write_bytes(b"")
        return indptr
    out_idx = np.memmap(idx_path, dtype="<u4", mode="w+", shape=(nnz,))
    out_dat = np.memmap(f32_path, dtype="<f4", mode="w+", shape=(nnz,))
    cursor = indptr[:-1].copy()
    with progress(total=n_cells, desc="genes: write", unit="cell") as bar:
        for row0, lp, ind, dat in m.row_chunks(with_data=True):
            n_rows = len(lp) - 1
            if check:
                _check_finite(dat, f"in rows {row0}..{row0 + n_rows - 1}")
            rows = np.repeat(np.arange(row0, row0 + n_rows, dtype=np.uint32), np.diff(lp))
            # stable: rows stay ascending per gene; uint16 keys get numpy's radix sort
            keys = ind.astype(np.uint16) if n_genes <= 65536 else ind
            order = np.argsort(keys, kind="stable")
            g = ind[order]
            cnt = np.bincount(ind, minlength=n_genes)[:n_genes]
            first = np.cumsum(cnt) - cnt  # first position of each gene in the sorted chunk
            pos = cursor[g] + (np.arange(len(g)) - first[g])
            out_idx[pos] = rows[order]
            out_dat[pos] = dat[order]
            cursor += cnt
            bar.update(n_rows)
    out_idx.flush()
    out_dat.flush()
    del out_idx, out_dat
    return indptr


def _write_column_major(m, source, idx_path, f32_path, n_cells, n_genes, check, progress) -> np.ndarray:
    indptr = np.zeros(n_genes + 1, dtype=np.int64)
    with open(idx_path, "wb") as fi, open(f32_path, "wb") as fd, progress(total=n_genes, desc="genes", unit="gene") as bar:
        if m is not None:
            for col0, lp, ind, dat in m.col_chunks():
                if check:
                    _check_finite(dat, f"in genes {col0}..{col0 + len(lp) - 2}")
                fi.write(np.asarray(ind, dtype="<u4").tobytes())
                fd.write(np.asarray(dat, dtype="<f4").tobytes())
                indptr[col0 + 1 : col0 + len(lp)] = indptr[col0] + lp[1:]
                bar.update(len(lp) - 1)
        else:
            # Last resort: the source's own per-gene reader (e.g. re-exporting an export folder).
            for j in range(n_genes):
                v = np.asarray(source.gene_by_index(j), dtype=np.float32)
                if check:
                    _check_finite(v, f"in gene {j}")
                nz = np.flatnonzero(v != 0)  # NaN != 0, so NaN is kept
                fi.write(nz.astype("<u4").tobytes())
                fd.write(v[nz].astype("<f4").tobytes())
                indptr[j + 1] = indptr[j] + len(nz)
                bar.update(1)
    return indptr


def _quantize_genes(out_dir: Path, f32_path: Path, indptr: np.ndarray, bits: int, progress) -> dict[str, Any]:
    """Per-gene min/max of the stored values, then codes; replaces data.f32."""
    dtype = "uint8" if bits == 8 else "uint16"
    q_path = out_dir / layout.gene_data_file(dtype)
    n_genes = len(indptr) - 1
    ranges = np.zeros((n_genes, 2), dtype=np.float32)
    data = np.memmap(f32_path, dtype="<f4", mode="r") if indptr[-1] else np.empty(0, np.float32)
    max_err = 0.0
    with open(q_path, "wb") as out, progress(total=n_genes, desc="genes: quantize", unit="gene") as bar:
        g0 = 0
        while g0 < n_genes:
            g1 = int(np.searchsorted(indptr, indptr[g0] + _TARGET_ENTRIES, side="right")) - 1
            g1 = min(max(g1, g0 + 1), n_genes)
            for j in range(g0, g1):
                seg = np.asarray(data[indptr[j] : indptr[j + 1]])
                lo, hi = (float(seg.min()), float(seg.max())) if seg.size else (0.0, 0.0)
                ranges[j] = (lo, hi)
                max_err = max(max_err, layout.quant_error_bound(lo, hi, bits))
                out.write(layout.quantize(seg, lo, hi, bits).tobytes())
            bar.update(g1 - g0)
            g0 = g1
    del data
    os.remove(f32_path)
    (out_dir / layout.GENE_RANGES).write_bytes(ranges.astype("<f4").tobytes())
    return {
        "data": layout.gene_data_file(dtype),
        "dtype": dtype,
        "quantized": True,
        "quantization_bits": bits,
        "ranges": layout.GENE_RANGES,
        "max_abs_error": max_err,
    }
