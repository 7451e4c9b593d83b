"""Loom files (loompy, velocyto, anndata's ``write_loom``), read lazily with h5py.

Layout (Loom 3): ``/matrix`` is genes × cells (dense, chunked), ``/layers/<name>`` the same
shape, ``/row_attrs/<name>`` one value per gene, ``/col_attrs/<name>`` one value (or one row
of a 2-D array) per cell. Mapped onto the AnnData-shaped discovery of
:mod:`cellucid.data.anndata_like`:

- **cells**: ``col_attrs/CellID`` (or ``obs_names``, ``cell_names``) names the cells;
- **fields**: every other one-dimensional column attribute except ``_X``/``_Y``/``_Z``;
- **embeddings**: each two-dimensional column attribute (``umap`` → ``X_umap``; a name that
  already starts with ``X_`` is kept), and ``_X`` + ``_Y`` (+ ``_Z``), loompy's and velocyto's
  convention, as the embedding ``X_xy``;
- **genes**: ``row_attrs/Gene`` (or ``var_names``, ``gene_names``) names them (a repeated
  name becomes ``NAME-1``, as anndata's ``make_index_unique`` does); ``Accession``
  (or ``gene_ids``) is searchable as the gene id column; ``--expression layer:NAME`` reads
  ``/layers/NAME``.

Genes are rows, so reading one gene is one read of row ``j`` of ``/matrix`` (the chunks of
that row band), never a scan. The file is opened read-only.
"""

from __future__ import annotations

import dataclasses
import html
import os
from pathlib import Path
from typing import Any

import numpy as np

from cellucid.data.anndata_like import AnnDataLikeSource
from cellucid.data.backend import Backend
from cellucid.data.base import CellucidError, InputError, SourceOptions
from cellucid.data.genes import make_unique
from cellucid.data.matrix_choice import Expression
from cellucid.data.obs_typing import array_hint, to_str_list
from cellucid.data.store_source import open_hdf5

CELL_NAME_ATTRS = ("CellID", "obs_names", "cell_names", "CellId")
GENE_NAME_ATTRS = ("Gene", "var_names", "gene_names", "Genes")
GENE_ID_ATTRS = ("Accession", "gene_ids", "gene_id")
XY_KEY = "X_xy"
_XYZ = ("_X", "_Y", "_Z")


class RowsAsColumns:
    """A genes × cells HDF5 dataset seen as cells × genes: ``[:, j]`` reads row ``j`` (one
    gene, one contiguous band of chunks), ``[a:b]`` reads cells ``a..b`` for every gene
    (used by ``prepare``'s chunked writer)."""

    def __init__(self, ds: Any):
        self.ds = ds
        self.shape = (int(ds.shape[1]), int(ds.shape[0]))
        self.dtype = ds.dtype

    def __getitem__(self, key: Any) -> np.ndarray:
        rows, cols = key if isinstance(key, tuple) else (key, slice(None))
        return np.asarray(self.ds[cols, rows]).T


def _decode(values: np.ndarray) -> np.ndarray:
    strings = to_str_list(values)
    # loompy stores non-ASCII text as XML character references ("&#233;")
    return np.asarray([html.unescape(s) if "&" in s else s for s in strings], dtype=object)


class LoomBackend(Backend):
    """Element access on an open Loom file (an h5py File)."""

    def __init__(self, root: Any, label: str):
        self.root = root
        self.label = label
        if "matrix" not in root:
            raise InputError(f"{label} has no /matrix: it is not a Loom file",
                             hint="a Loom file is written by loompy.create or anndata's write_loom")
        genes, cells = (int(s) for s in root["matrix"].shape)
        self.n_obs = cells
        col = root["col_attrs"] if "col_attrs" in root else None
        if col is None or not len(col.keys()):
            raise InputError(
                f"{label} has no column attributes (col_attrs is empty): no cell names, fields or embedding",
                hint="store per-cell values when writing it, e.g. loompy.create(path, matrix, row_attrs, "
                "col_attrs={'CellID': names, '_X': x, '_Y': y}), or anndata's write_loom",
            )
        self._col = col
        self._row = root["row_attrs"] if "row_attrs" in root else {}
        bad = [k for k in col.keys() if col[k].shape[:1] != (cells,)]
        if bad:
            raise InputError(f"{label}: column attribute(s) {', '.join(bad)} do not have one value per cell ({cells})",
                             hint="the file is inconsistent; write it again")
        self._cell_attr = next((a for a in CELL_NAME_ATTRS if a in col and col[a].ndim == 1), None)
        self._gene_attr = next((a for a in GENE_NAME_ATTRS if a in self._row), None)
        self.gene_id_attr = next((a for a in GENE_ID_ATTRS if a in self._row), None)
        self._n_genes = genes
        self._embeds: dict[str, tuple[str, ...]] = {}
        if "_X" in col and "_Y" in col:
            self._embeds[XY_KEY] = tuple(a for a in _XYZ if a in col and col[a].ndim == 1)
        for k in col.keys():
            if col[k].ndim == 2 and np.dtype(col[k].dtype).kind in "iuf":
                self._embeds.setdefault(k if k.startswith("X_") else f"X_{k}", (k,))

    # -- obs ------------------------------------------------------------------------------
    def obs_columns(self) -> list[str]:
        return [k for k in self._col.keys()
                if self._col[k].ndim == 1 and k != self._cell_attr and not (k in _XYZ and XY_KEY in self._embeds)]

    def obs_column_hint(self, name: str) -> str:
        return array_hint(self._col[name].dtype)

    def obs_column(self, name: str) -> Any:
        values = self._col[name][:]
        return _decode(values) if values.dtype.kind in "OSU" else values

    def obs_names(self) -> np.ndarray:
        if self._cell_attr is None:
            return np.asarray([str(i) for i in range(self.n_obs)], dtype=object)
        return _decode(self._col[self._cell_attr][:])

    # -- obsm -----------------------------------------------------------------------------
    def obsm_shapes(self):
        return {key: ((self.n_obs, len(attrs)) if len(attrs) > 1 else tuple(self._col[attrs[0]].shape),
                      np.dtype(self._col[attrs[0]].dtype)) for key, attrs in self._embeds.items()}

    def obsm_array(self, key: str, ncols: int | None) -> np.ndarray:
        attrs = self._embeds[key]
        if len(attrs) > 1:
            part = np.stack([self._col[a][:] for a in attrs[: ncols or len(attrs)]], axis=1)
        else:
            ds = self._col[attrs[0]]
            part = ds[:] if ncols is None else ds[:, :ncols]
        return np.ascontiguousarray(part, dtype=np.float32)

    # -- var ------------------------------------------------------------------------------
    def var_names(self, var: str) -> np.ndarray:
        if self._gene_attr is None:
            return np.asarray([str(i) for i in range(self._n_genes)], dtype=object)
        return make_unique(_decode(self._row[self._gene_attr][:]))

    def var_columns(self, var: str) -> list[str]:
        return [k for k in self._row.keys() if self._row[k].ndim == 1 and k != self._gene_attr]

    def var_column(self, var: str, name: str) -> Any:
        return _decode(self._row[name][:])

    # -- matrices -------------------------------------------------------------------------
    def uns_colors(self, name: str) -> Any:
        return None

    def has_x(self) -> bool:
        return True

    def has_raw(self) -> bool:
        return False

    def layers(self) -> list[str]:
        return [str(k) for k in self.root["layers"].keys() if k] if "layers" in self.root else []

    def matrix(self, expression: Expression) -> Any:
        if expression.kind == "X":
            return RowsAsColumns(self.root["matrix"])
        return RowsAsColumns(self.root["layers"][expression.layer])

    def close(self) -> None:
        root, self.root = self.root, None
        if root is not None:
            try:
                root.close()
            except Exception:  # noqa: BLE001 - a dead handle is closed already
                pass


class LoomSource(AnnDataLikeSource):
    """A Loom file (kind ``loom``); see the module docstring."""

    def watched_paths(self) -> tuple[str, ...]:
        return (self._backend.label,)


def open_loom(path: str | os.PathLike, options: SourceOptions) -> LoomSource:
    """Open a ``.loom`` file lazily. Raises :class:`InputError` for a file that is not Loom,
    has no column attributes, or whose parts disagree."""
    path = Path(path)
    root = open_hdf5(path, ".loom", "a .loom file is written by loompy")
    try:
        backend = LoomBackend(root, str(path))
        if options.gene_id_column is None and backend.gene_id_attr is not None:
            options = dataclasses.replace(options, gene_id_column=backend.gene_id_attr)
        name = options.dataset_name or path.name.removesuffix(".loom")
        return LoomSource(backend, options, "loom", name)
    except CellucidError:
        root.close()
        raise
    except Exception as exc:  # noqa: BLE001 - wrap library errors at the boundary
        root.close()
        raise InputError(f"cannot read {path} as Loom ({type(exc).__name__}: {exc})",
                         hint="the file may be damaged; try loompy.connect(path, 'r') directly") from None
