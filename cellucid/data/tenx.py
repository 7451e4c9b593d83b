"""Cell Ranger output: the ``filtered_feature_bc_matrix.h5`` file and its MatrixMarket folder.

Layouts read (10x Genomics' documented ones, as Cell Ranger writes them):

- **v3 HDF5**: group ``/matrix`` with ``barcodes``, ``data``, ``indices``, ``indptr``,
  ``shape`` (features × barcodes, stored column by column, so one barcode = one cell is one
  contiguous slice) and ``features/`` (``id``, ``name``, ``feature_type``, ``genome``).
- **v2 HDF5**: one group per genome (``/GRCh38``) with the same matrix datasets plus
  ``genes`` (ids) and ``gene_names``.
- **MatrixMarket folder**: ``matrix.mtx``, ``barcodes.tsv`` and ``features.tsv`` (v3: id,
  name, feature type) or ``genes.tsv`` (v2: id, name), each gzipped (``.gz``) or not.

A Cell Ranger matrix has no embedding, so it cannot be served as it is: :func:`open_tenx`
checks the layout cheaply (shapes and lengths, no matrix read) and raises
:class:`~cellucid.data.base.NoEmbedding`, whose hint gives the ``cellucid prepare IN OUT
--embed`` command. :func:`read_tenx` reads the whole matrix into an :class:`anndata.AnnData`
(counts as float32 CSR, cells × features; var names = feature names made unique, var
columns ``gene_ids``, ``feature_types``, ``genome``) for that command. Files are opened
read-only.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cellucid.data.base import InputError, NoEmbedding
from cellucid.data.genes import make_unique

GENE_EXPRESSION = "Gene Expression"
_LAYOUT_HINT = ("a Cell Ranger matrix is a filtered_feature_bc_matrix.h5 file or a folder with matrix.mtx, "
                "barcodes.tsv and features.tsv (each may be .gz); write it again or copy it from Cell Ranger's outs/")


@dataclass
class TenxInfo:
    """What a cheap look at a Cell Ranger matrix tells: layout, counts, feature types."""

    path: Path
    layout: str  # "v3 HDF5", "v2 HDF5", "v3 MatrixMarket", "v2 MatrixMarket"
    n_cells: int
    n_features: int
    feature_types: dict[str, int] = field(default_factory=dict)

    def describe(self) -> str:
        types = ", ".join(f"{k}: {v}" for k, v in self.feature_types.items())
        return (f"a Cell Ranger {self.layout} matrix ({self.n_cells:,} cells × {self.n_features:,} features"
                + (f"; {types}" if types else "") + ")")


# ---------------------------------------------------------------------------------------
# detection
# ---------------------------------------------------------------------------------------


def _first(folder: Path, *names: str) -> Path | None:
    for name in names:
        for candidate in (folder / name, folder / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    return None


def is_tenx_dir(path: Path) -> bool:
    """A folder holding ``matrix.mtx`` (or ``.gz``): Cell Ranger's MatrixMarket output."""
    return path.is_dir() and _first(path, "matrix.mtx") is not None


def is_tenx_h5(path: Path) -> bool:
    """An ``.h5`` path (Cell Ranger's suffix; ``.h5ad`` is anndata's)."""
    return path.suffix.lower() == ".h5"


# ---------------------------------------------------------------------------------------
# HDF5
# ---------------------------------------------------------------------------------------


def _open_h5(path: Path):
    from cellucid.data.store_source import open_hdf5

    return open_hdf5(path, "Cell Ranger .h5 matrix", _LAYOUT_HINT)


def _h5_groups(f: Any, path: Path) -> tuple[Any, str, str, str, str | None]:
    """``(matrix group, layout, id dataset path, name dataset path, type dataset path)``."""
    if "matrix" in f:
        m = f["matrix"]
        if "features" not in m:
            raise InputError(f"{path} has /matrix but no /matrix/features", hint=_LAYOUT_HINT)
        return m, "v3 HDF5", "features/id", "features/name", "features/feature_type"
    genomes = [k for k in f.keys() if hasattr(f[k], "keys") and "indptr" in f[k] and "barcodes" in f[k]]
    if genomes:
        if len(genomes) > 1:
            raise InputError(
                f"{path} is a Cell Ranger v2 matrix with several genomes: {', '.join(genomes)}",
                hint="cellucid reads one genome at a time from a v2 file; re-run Cell Ranger v3+ "
                "or read one genome with scanpy.read_10x_h5(path, genome=...) and save it as .h5ad",
            )
        return f[genomes[0]], "v2 HDF5", "genes", "gene_names", None
    if "X" in f and "obs" in f:
        raise InputError(f"{path} is an AnnData file with an .h5 suffix", hint="rename it to .h5ad")
    raise InputError(
        f"{path} is an HDF5 file but not a Cell Ranger matrix (no /matrix group; top-level keys: "
        f"{', '.join(list(f.keys())[:20]) or '(none)'})",
        hint=_LAYOUT_HINT,
    )


def _strings(ds: Any) -> np.ndarray:
    values = ds[:]
    if values.dtype.kind == "S":  # Cell Ranger's fixed-length strings
        return np.char.decode(values, "utf-8").astype(object)
    # variable-length strings arrive from h5py as bytes objects
    return np.asarray([v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values], dtype=object)


def _check_lengths(path: Path, n_features: int, n_cells: int, n_barcodes: int, n_names: int,
                   indptr_len: int | None = None) -> None:
    if n_barcodes != n_cells:
        raise InputError(
            f"{path}: the matrix has {n_cells:,} barcode columns but there are {n_barcodes:,} barcodes",
            hint="barcodes and matrix come from different runs or one was cut short; copy both again "
            "from the same Cell Ranger outs/ folder",
        )
    if n_names != n_features:
        raise InputError(
            f"{path}: the matrix has {n_features:,} feature rows but there are {n_names:,} features",
            hint="features and matrix come from different runs or one was cut short; copy both again",
        )
    if indptr_len is not None and indptr_len != n_cells + 1:
        raise InputError(f"{path}: indptr has {indptr_len:,} entries, expected {n_cells + 1:,}",
                         hint="the file is damaged; copy it again from Cell Ranger's outs/")


def _h5_info(path: Path) -> TenxInfo:
    f = _open_h5(path)
    try:
        m, layout, id_key, name_key, type_key = _h5_groups(f, path)
        for key in ("barcodes", "data", "indices", "indptr", "shape", id_key, name_key):
            if key not in m:
                raise InputError(f"{path}: {m.name}/{key} is missing", hint=_LAYOUT_HINT)
        n_features, n_cells = (int(v) for v in m["shape"][:2])
        _check_lengths(path, n_features, n_cells, int(m["barcodes"].shape[0]), int(m[name_key].shape[0]),
                       int(m["indptr"].shape[0]))
        types = _strings(m[type_key]) if type_key and type_key in m else None
        return TenxInfo(path, layout, n_cells, n_features, _type_counts(types))
    finally:
        f.close()


def _read_h5(path: Path):
    import scipy.sparse as sp

    info = _h5_info(path)
    f = _open_h5(path)
    try:
        m, _, id_key, name_key, type_key = _h5_groups(f, path)
        indptr = m["indptr"][:].astype(np.int64)
        nnz = int(indptr[-1])
        if m["data"].shape[0] != nnz or m["indices"].shape[0] != nnz:
            raise InputError(f"{path}: indptr says {nnz:,} entries but data has {m['data'].shape[0]:,}",
                             hint="the file is damaged; copy it again from Cell Ranger's outs/")
        data = m["data"][:].astype(np.float32)
        indices = m["indices"][:]
        if nnz and (indices.min() < 0 or indices.max() >= info.n_features):
            raise InputError(f"{path}: feature indices out of range", hint="the file is damaged; copy it again")
        # Stored per barcode (CSC of features × barcodes) = CSR of cells × features.
        X = sp.csr_matrix((data, indices, indptr), shape=(info.n_cells, info.n_features))
        barcodes = _strings(m["barcodes"])
        ids, names = _strings(m[id_key]), _strings(m[name_key])
        types = _strings(m[type_key]) if type_key and type_key in m else None
        genome = _strings(m["features/genome"]) if "features/genome" in m else None
    finally:
        f.close()
    return _anndata(X, barcodes, ids, names, types, genome, info)


# ---------------------------------------------------------------------------------------
# MatrixMarket folder
# ---------------------------------------------------------------------------------------


def _open_text(path: Path):
    return gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else open(path, encoding="utf-8")


def _mtx_files(folder: Path) -> tuple[Path, Path, Path, str]:
    matrix = _first(folder, "matrix.mtx")
    barcodes = _first(folder, "barcodes.tsv")
    features = _first(folder, "features.tsv")
    layout = "v3 MatrixMarket"
    if features is None:
        features, layout = _first(folder, "genes.tsv"), "v2 MatrixMarket"
    missing = [n for n, p in (("matrix.mtx", matrix), ("barcodes.tsv", barcodes),
                              ("features.tsv (or genes.tsv)", features)) if p is None]
    if missing:
        raise InputError(f"{folder} is missing {', '.join(missing)} (with or without .gz)", hint=_LAYOUT_HINT)
    return matrix, barcodes, features, layout  # type: ignore[return-value]


def _mtx_header(path: Path) -> tuple[int, int, int]:
    """``(rows, columns, entries)`` from a MatrixMarket header, reading only its first lines."""
    try:
        with _open_text(path) as fh:
            banner = fh.readline()
            if not banner.startswith("%%MatrixMarket matrix coordinate"):
                raise InputError(f"{path} is not a MatrixMarket coordinate matrix (first line {banner[:60]!r})",
                                 hint=_LAYOUT_HINT)
            for line in fh:
                if not line.startswith("%"):
                    rows, cols, nnz = (int(v) for v in line.split()[:3])
                    return rows, cols, nnz
    except (OSError, EOFError, ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path} ({type(exc).__name__}: {exc})",
                         hint="the file is damaged or truncated; copy it again from Cell Ranger's outs/") from None
    raise InputError(f"{path} has no size line", hint="the file is truncated; copy it again")


def _read_tsv(path: Path) -> list[list[str]]:
    try:
        with _open_text(path) as fh:
            return [line.rstrip("\n").split("\t") for line in fh if line.strip()]
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path} ({type(exc).__name__}: {exc})",
                         hint="the file is damaged or truncated; copy it again from Cell Ranger's outs/") from None


def _mtx_info(folder: Path) -> tuple[TenxInfo, list[list[str]], list[list[str]], Path]:
    matrix, barcodes_path, features_path, layout = _mtx_files(folder)
    n_features, n_cells, _ = _mtx_header(matrix)
    barcodes = _read_tsv(barcodes_path)
    features = _read_tsv(features_path)
    _check_lengths(folder, n_features, n_cells, len(barcodes), len(features))
    if features and len(features[0]) < 2:
        raise InputError(f"{features_path} has one column; expected gene id and name (and feature type)",
                         hint=_LAYOUT_HINT)
    types = np.array([r[2] for r in features], dtype=object) if features and len(features[0]) > 2 else None
    return TenxInfo(folder, layout, n_cells, n_features, _type_counts(types)), barcodes, features, matrix


def _read_mtx(folder: Path):
    import scipy.io
    import scipy.sparse as sp

    info, barcodes, features, matrix = _mtx_info(folder)
    try:
        with (gzip.open(matrix, "rb") if matrix.suffix == ".gz" else open(matrix, "rb")) as fh:
            coo = scipy.io.mmread(fh)
    except (OSError, EOFError, ValueError, IndexError) as exc:
        raise InputError(
            f"cannot read {matrix}: the file is truncated or damaged ({type(exc).__name__}: {str(exc)[:200]})",
            hint="copy matrix.mtx again from Cell Ranger's outs/ (an interrupted copy or download cuts it short)",
        ) from None
    X = sp.csr_matrix(coo.T, dtype=np.float32)
    ids = np.array([r[0] for r in features], dtype=object)
    names = np.array([r[1] for r in features], dtype=object)
    types = np.array([r[2] for r in features], dtype=object) if len(features[0]) > 2 else None
    cells = np.array([r[0] for r in barcodes], dtype=object)
    return _anndata(X, cells, ids, names, types, None, info)


# ---------------------------------------------------------------------------------------
# shared
# ---------------------------------------------------------------------------------------


def _type_counts(types: np.ndarray | None) -> dict[str, int]:
    if types is None or not len(types):
        return {}
    kinds, counts = np.unique(types.astype(str), return_counts=True)
    out = dict(zip(kinds.tolist(), counts.astype(int).tolist()))
    # Gene Expression first, the others (antibody capture, CRISPR guides, …) after it
    return dict(sorted(out.items(), key=lambda kv: (kv[0] != GENE_EXPRESSION, kv[0])))


def _anndata(X, barcodes, ids, names, types, genome, info: TenxInfo):
    import anndata as ad
    import pandas as pd

    var = pd.DataFrame({"gene_ids": ids}, index=pd.Index(make_unique(names), dtype=object))
    if types is not None:
        var["feature_types"] = pd.Categorical(types.astype(str))
    if genome is not None:
        var["genome"] = pd.Categorical(genome.astype(str))
    obs = pd.DataFrame(index=pd.Index(barcodes.astype(str)))
    adata = ad.AnnData(X=X, obs=obs, var=var)
    adata.uns["cellucid_input"] = {"format": "10x", "layout": info.layout}
    return adata


def tenx_info(path: str | os.PathLike) -> TenxInfo:
    """Layout, cell and feature counts of a Cell Ranger matrix without reading the matrix.
    Raises :class:`InputError` for a file that is not one or whose parts disagree."""
    p = Path(path)
    return _mtx_info(p)[0] if p.is_dir() else _h5_info(p)


def read_tenx(path: str | os.PathLike):
    """The whole Cell Ranger matrix at ``path`` as an :class:`anndata.AnnData` (see the
    module docstring). Raises :class:`InputError` for a damaged or inconsistent input."""
    p = Path(path)
    return _read_mtx(p) if p.is_dir() else _read_h5(p)


def open_tenx(path: str | os.PathLike, options: Any = None):
    """Check ``path`` and refuse to serve it: a Cell Ranger matrix has no embedding. Raises
    :class:`NoEmbedding` (its hint gives the ``cellucid prepare --embed`` command, filled in by
    :func:`cellucid.data.open_source`), or :class:`InputError` for a damaged input."""
    info = tenx_info(path)
    raise NoEmbedding(f"{info.path} is {info.describe()} and has no 2D or 3D embedding to show")
