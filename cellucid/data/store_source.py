"""Backed ``.h5ad`` (HDF5) and ``.zarr`` stores through one implementation.

Both are the on-disk AnnData format: groups ``obs``/``var`` (dataframes), ``obsm``,
``uns``, ``layers``, ``raw`` and ``X`` (dense array or ``csr_matrix``/``csc_matrix``
group). :class:`StoreBackend` reads single elements with :mod:`cellucid.data.elements`
(one obs column, the var index, one colors list; the common encodings directly, so
start-up imports neither anndata nor pandas) or by slicing datasets (obsm columns);
X is never loaded whole — genes are read one column at a time (see
:mod:`cellucid.data.gene_reading.columns`).

Files are opened read-only (h5py mode ``"r"``, zarr mode ``"r"``): cellucid never writes
into the user's data. :meth:`DataSource.close` closes the HDF5 file.

With ``backed=False`` the whole AnnData is loaded with anndata and served by
:class:`~cellucid.data.memory_source.MemorySource` instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from cellucid.data import elements
from cellucid.data.anndata_like import AnnDataLikeSource
from cellucid.data.backend import Backend
from cellucid.data.base import CellucidError, InputError, SourceKind, SourceOptions
from cellucid.data.matrix_choice import Expression
from cellucid.data.obs_typing import array_hint, to_str_list

_attr = elements.attr_str
_is_array = elements.is_array


def _str_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return to_str_list(np.asarray(value).reshape(-1))


class StoreBackend(Backend):
    """Element access on an open h5py File or zarr Group holding an AnnData."""

    def __init__(self, root: Any, label: str):
        self.root = root
        self.label = label
        obs = root.get("obs") if hasattr(root, "get") else None
        if obs is None:
            raise InputError(f"{label} has no obs: it is not an AnnData file", hint="write it with anndata")
        if _is_array(obs) or _attr(obs, "encoding-type") != "dataframe":
            raise InputError(
                f"{label} uses an old AnnData layout (obs is not a dataframe group)",
                hint="re-save it with a recent anndata: anndata.read_h5ad(path).write_h5ad(new_path)",
            )
        self._obs = obs
        index = obs[_attr(obs, "_index", "_index")]
        self.n_obs = int(index.shape[0])
        self._obs_names: np.ndarray | None = None

    # -- helpers --------------------------------------------------------------------------
    @staticmethod
    def _read(node: Any) -> Any:
        return elements.read_elem(node)

    def _df(self, var: str) -> Any:
        return self.root["raw"]["var"] if var == "raw" else self.root["var"]

    def _group(self, name: str) -> Any:
        return self.root[name] if name in self.root else None

    # -- obs ------------------------------------------------------------------------------
    def obs_columns(self) -> list[str]:
        return _str_list(_attr(self._obs, "column-order", []))

    def obs_column_hint(self, name: str) -> str:
        node = self._obs[name]
        enc = _attr(node, "encoding-type")
        if enc == "categorical":
            return "categorical"
        if enc == "nullable-boolean":
            return "boolean"
        if enc in ("nullable-integer", "nullable-float"):
            return "continuous"
        if enc in ("string-array", "nullable-string-array"):
            return "string"
        if not _is_array(node):
            return f"unsupported: stored as {enc or 'a group'}"
        return array_hint(node.dtype)

    def n_categories(self, name: str) -> int:
        return int(self._obs[name]["categories"].shape[0])

    def obs_column(self, name: str) -> Any:
        return self._read(self._obs[name])

    def obs_names(self) -> np.ndarray:
        if self._obs_names is None:
            names = self._read(self._obs[_attr(self._obs, "_index", "_index")])
            self._obs_names = np.asarray(to_str_list(names), dtype=object)
        return self._obs_names

    def obs_names_at(self, indices: np.ndarray) -> np.ndarray:
        # A few names (tooltips, dataset id) without reading a million strings.
        if self._obs_names is not None or indices.size > 10000:
            return self.obs_names()[indices]
        node = self._obs[_attr(self._obs, "_index", "_index")]
        uniq, inverse = np.unique(indices, return_inverse=True)
        try:
            if hasattr(node, "asstr"):  # h5py: fancy indexing needs increasing indices
                values = node.asstr()[uniq] if uniq.size else np.array([], dtype=object)
            else:  # zarr
                values = node.oindex[uniq] if uniq.size else np.array([], dtype=object)
        except Exception:  # noqa: BLE001 - unusual index encodings: read them all
            return self.obs_names()[indices]
        return np.asarray(to_str_list(values), dtype=object)[inverse]

    # -- obsm -----------------------------------------------------------------------------
    def obsm_shapes(self):
        obsm = self._group("obsm")
        out = {}
        if obsm is None:
            return out
        for key in obsm.keys():
            node = obsm[key]
            if _is_array(node):
                out[str(key)] = (tuple(int(s) for s in node.shape), node.dtype)
        return out

    def obsm_array(self, key: str, ncols: int | None) -> np.ndarray:
        node = self.root["obsm"][key]
        part = node[:] if ncols is None else node[:, :ncols]
        return np.ascontiguousarray(part, dtype=np.float32)

    # -- obsp -----------------------------------------------------------------------------
    def has_obsp(self, key: str) -> bool:
        obsp = self._group("obsp")
        return obsp is not None and key in obsp

    def obsp_matrix(self, key: str) -> Any:
        import scipy.sparse as sp

        node = self.root["obsp"][key]
        if _is_array(node):
            return sp.csr_matrix(node[:])
        enc = _attr(node, "encoding-type")
        shape = tuple(int(v) for v in node.attrs["shape"])
        parts = (node["data"][:], node["indices"][:], node["indptr"][:])
        m = sp.csc_matrix(parts, shape=shape) if enc == "csc_matrix" else sp.csr_matrix(parts, shape=shape)
        return m.tocsr()

    # -- var ------------------------------------------------------------------------------
    def var_names(self, var: str) -> np.ndarray:
        df = self._df(var)
        return np.asarray(to_str_list(self._read(df[_attr(df, "_index", "_index")])), dtype=object)

    def var_columns(self, var: str) -> list[str]:
        return _str_list(_attr(self._df(var), "column-order", []))

    def var_column(self, var: str, name: str) -> Any:
        values = self._read(self._df(var)[name])
        return np.asarray(values, dtype=object)

    # -- uns / matrices -------------------------------------------------------------------
    def uns_colors(self, name: str) -> Any:
        uns = self._group("uns")
        key = f"{name}_colors"
        if uns is None or key not in uns:
            return None
        try:
            return self._read(uns[key])
        except Exception:  # noqa: BLE001 - an unreadable colors entry just means no colors
            return None

    def has_x(self) -> bool:
        return "X" in self.root

    def has_raw(self) -> bool:
        raw = self._group("raw")
        return raw is not None and "X" in raw and "var" in raw

    def layers(self) -> list[str]:
        layers = self._group("layers")
        return [str(k) for k in layers.keys()] if layers is not None else []

    def matrix(self, expression: Expression) -> Any:
        if expression.kind == "X":
            return self.root["X"]
        if expression.kind == "raw":
            return self.root["raw"]["X"]
        return self.root["layers"][expression.layer]

    def close(self) -> None:
        root, self.root = self.root, None
        close = getattr(root, "close", None)  # h5py File; zarr groups hold no handle
        if close is not None:
            try:
                close()
            except Exception:  # noqa: BLE001 - closing twice or a dead handle is fine
                pass


# Below this many stored entries a column scan of an on-disk CSR matrix takes well under
# 100 ms, so a gene-major index would only cost a cache file and a thread.
GENE_INDEX_MIN_NNZ = int(os.environ.get("CELLUCID_GENE_INDEX_MIN_NNZ", 5_000_000))


class StoreSource(AnnDataLikeSource):
    """A backed ``.h5ad`` or ``.zarr`` store (kind ``h5ad`` / ``zarr``).

    For a large cell-major (CSR) matrix, a gene-major index is built once in the background
    into the user's cache dir (:mod:`cellucid.data.gene_reading.gene_index`); genes are read by scanning
    the matrix until it is ready, then with one small read each.
    """

    def __init__(self, backend: "StoreBackend", options: SourceOptions, kind: SourceKind, default_name: str):
        self._dataset_id: str | None = None
        super().__init__(backend, options, kind, default_name)
        self._attach_gene_index()

    def dataset_id(self) -> str:
        # Asked by the gene index and the server identity at start-up: compute it once
        # (it reads cell names from the file).
        if self._dataset_id is None:
            self._dataset_id = super().dataset_id()
        return self._dataset_id

    def _attach_gene_index(self) -> None:
        from cellucid.data.gene_reading.gene_index import IndexedReader, index_for_reader

        reader = self._reader
        try:
            index = index_for_reader(reader, self._backend.label, self.dataset_id(), self._expression,
                                     progress=False, min_nnz=GENE_INDEX_MIN_NNZ,
                                     cache_max=self._options.cache_max)
        except OSError:  # no usable cache dir: keep scanning, still correct
            return
        if index is not None:
            self._reader = IndexedReader(reader, index)

    def gene_index_progress(self) -> float | None:
        """Fraction (0..1) of the gene index built, or ``None`` when none is used."""
        index = getattr(self._reader, "index", None)
        return None if index is None else (1.0 if index.ready else index.progress)

    def gene_index_note(self) -> str | None:
        index = getattr(self._reader, "index", None)
        return None if index is None else index.note

    def close(self) -> None:
        reader = self._reader
        close = getattr(reader, "close", None)
        if close is not None:
            close()  # first: stops a running index build and direct reads before the file closes
        super().close()

    def watched_paths(self) -> tuple[str, ...]:
        return (self._backend.label,)  # the path the store was opened from

    def matrix_location(self) -> tuple[str, str, str]:
        """``(kind, path, element)`` of the expression matrix, for processes that open the
        file themselves (Dask workers): ``("h5ad", "/data/x.h5ad", "raw/X")``."""
        label = self._backend.label
        path = label if "://" in label else os.path.abspath(label)  # workers may start elsewhere
        return self.kind, path, self._matrix_choice.store_path


def open_hdf5(path: Path, what: str = ".h5ad", written_by: str = "an .h5ad is written by anndata's write_h5ad") -> Any:
    """``path`` opened read-only with h5py, or :class:`InputError`: not HDF5 (``what`` names the
    expected kind, ``written_by`` what writes it), held open by a writer, or damaged.
    Shared by every HDF5-based input (``.h5ad``, ``.h5mu``, ``.loom``, Cell Ranger ``.h5``)."""
    import h5py

    if not h5py.is_hdf5(path):
        raise InputError(f"{path} is not an HDF5 file, so not a valid {what}", hint=f"check the path; {written_by}")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        msg = str(exc).split("(")[-1].rstrip(")") if "(" in str(exc) else str(exc)
        if "unable to lock" in msg:  # not just "lock": "sblock->base_addr" names a truncated file
            raise InputError(
                f"cannot open {path}: another program holds it open for writing ({msg})",
                hint="close the file in the other program (e.g. an AnnData opened with "
                "backed='r+') and try again",
            ) from None
        raise InputError(
            f"cannot open {path}: the HDF5 file is damaged or incomplete ({msg})",
            hint="the file may be truncated (an interrupted copy or download); copy or write it again",
        ) from None


def _open_root(path: Path, kind: SourceKind) -> Any:
    if kind == "h5ad":
        return open_hdf5(path)
    import zarr

    try:
        return zarr.open_group(str(path), mode="r")
    except Exception as exc:  # noqa: BLE001 - zarr raises many kinds here
        raise InputError(
            f"cannot open {path} as a zarr store ({type(exc).__name__}: {exc})",
            hint="a .zarr AnnData store is written by anndata's write_zarr",
        ) from None


def open_store(path: str | os.PathLike, kind: SourceKind, options: SourceOptions) -> AnnDataLikeSource:
    """Open a ``.h5ad`` (``kind="h5ad"``) or ``.zarr`` (``kind="zarr"``) store.

    ``options.backed`` (default) reads lazily from the file; ``backed=False`` loads the
    whole AnnData into memory first. Any library error while opening becomes an
    :class:`InputError` naming the file.
    """
    path = Path(path)
    name = options.dataset_name or path.name.removesuffix(".h5ad").removesuffix(".zarr") or path.name
    if not options.backed:
        return _open_in_memory(path, kind, options, name)
    root = _open_root(path, kind)
    try:
        backend = StoreBackend(root, str(path))
        return StoreSource(backend, options, kind, name)
    except CellucidError:
        _close_quietly(root)
        raise
    except Exception as exc:  # noqa: BLE001 - wrap library errors at the boundary
        _close_quietly(root)
        raise InputError(
            f"cannot read {path} as AnnData ({type(exc).__name__}: {exc})",
            hint="the file may be damaged or not written by anndata; try reading it with anndata directly",
        ) from None


def _open_in_memory(path: Path, kind: SourceKind, options: SourceOptions, name: str):
    import anndata as ad

    from cellucid.data.memory_source import MemorySource

    if kind == "h5ad":
        import h5py

        if not h5py.is_hdf5(path):
            raise InputError(f"{path} is not an HDF5 file, so not a valid .h5ad", hint="check the path")
    try:
        adata = ad.read_h5ad(path) if kind == "h5ad" else ad.read_zarr(path)
    except Exception as exc:  # noqa: BLE001
        raise InputError(
            f"cannot load {path} ({type(exc).__name__}: {str(exc)[:300]})",
            hint="the file may be damaged or incomplete; write it again with anndata",
        ) from None
    return MemorySource(adata, options, kind=kind, default_name=name)


def _close_quietly(root: Any) -> None:
    close = getattr(root, "close", None)
    if close is not None:
        try:
            close()
        except Exception:  # noqa: BLE001
            pass
