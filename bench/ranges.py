"""Byte ranges an .h5ad reader needs, for replaying against cellucid 0.9.5's file server.

cellucid 0.9.5 serves the .h5ad file itself and its browser code reads it with HTTP
Range requests. Without its viewer (offline it has none) we replay the ranges a reader
needs for each dataset, planned with h5py from storage offsets and chunk layout. These
are lower bounds: no HDF5 metadata reads, no decoding in a browser.
"""

from __future__ import annotations

import h5py


def _extents(ds: h5py.Dataset) -> list[tuple[int, int]]:
    """(offset, length) of every stored piece of ``ds``."""
    if ds.chunks is None:
        off = ds.id.get_offset()
        return [] if off is None else [(off, ds.id.get_storage_size())]
    out = []
    for i in range(ds.id.get_num_chunks()):
        info = ds.id.get_chunk_info(i)
        out.append((info.byte_offset, info.size))
    return out


def merge(extents: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sort and merge touching pieces into as few ranges as possible."""
    out: list[list[int]] = []
    for off, n in sorted(extents):
        if out and off <= out[-1][0] + out[-1][1]:
            out[-1][1] = max(out[-1][1], off + n - out[-1][0])
        else:
            out.append([off, n])
    return [(a, b) for a, b in out]


def plan(path: str, what: str) -> list[tuple[int, int]]:
    """Ranges for ``what``: ``"embedding"`` (obsm/X_umap), ``"cell_type"`` (codes and
    categories) or ``"gene"`` (one gene: all of indptr/indices/data for CSR X)."""
    with h5py.File(path, "r") as f:
        if what == "embedding":
            names = ["obsm/X_umap"]
        elif what == "cell_type":
            names = ["obs/cell_type/codes", "obs/cell_type/categories"]
        elif what == "gene":
            enc = f["X"].attrs.get("encoding-type", "")
            if enc != "csr_matrix":
                raise ValueError(f"range plan only for CSR X here, got {enc!r}")
            names = ["X/indptr", "X/indices", "X/data"]
        else:
            raise ValueError(what)
        ext = [e for n in names for e in _extents(f[n])]
    return merge(ext)
