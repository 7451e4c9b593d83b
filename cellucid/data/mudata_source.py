"""MuData (``.h5mu`` files and ``mudata.MuData`` objects): several AnnData modalities of the
same cells.

An ``.h5mu`` is HDF5 with a global AnnData-like part (``/obs``, ``/obsm``, ``/obsmap``) and one
AnnData group per modality under ``/mod/<name>``. Each part is read by the store reader of
``.h5ad`` files (:class:`~cellucid.data.store_source.StoreBackend`, reused, not copied), lazily
and read-only; :class:`MuDataBackend` puts them together:

- **cells**: the global cells (``/obs`` index);
- **fields**: the global obs columns, then each modality's as ``<mod>:<column>`` (``rna:leiden``),
  unless the global table already has that name (mudata's ``pull_obs`` writes them so);
- **embeddings**: the global obsm (``X_wnn_umap``), then each modality's, named
  ``X_<mod>:<name>`` (``X_rna:umap``, shown as ``rna:umap``); a modality that does not cover
  every cell contributes no embedding (listed in the notes);
- **genes**: from one modality — ``modality=`` / ``--modality``, default the first (in the
  file's ``mod-order``) that has a matrix. Cells the modality lacks read as 0.

``/obsmap/<mod>`` (1-based modality row per global cell, 0 = absent) maps modality rows onto
the global cells. A MuData object is served the same way through in-memory backends.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import numpy as np

from cellucid.data.backend import Backend
from cellucid.data.base import CellucidError, InputError, NoEmbedding, SourceOptions, list_names
from cellucid.data.elements import Categorical, Masked
from cellucid.data.matrix_choice import Expression
from cellucid.data.store_source import StoreBackend, StoreSource, _close_quietly, open_hdf5


def _reindex(values: Any, rows: np.ndarray, present: np.ndarray) -> Any:
    """Modality values onto the global cells: ``rows`` (modality row per global cell, valid
    where ``present``); absent cells become missing."""
    if isinstance(values, Categorical):
        codes = np.full(rows.shape[0], -1, dtype=np.int32)
        codes[present] = np.asarray(values.codes)[rows[present]]
        return Categorical(codes, values.categories, values.ordered)
    if isinstance(values, Masked):
        mask = np.ones(rows.shape[0], dtype=bool)
        mask[present] = np.asarray(values.mask)[rows[present]]
        out = np.zeros(rows.shape[0], dtype=np.asarray(values.values).dtype)
        out[present] = np.asarray(values.values)[rows[present]]
        return Masked(out, mask, values.kind)
    if hasattr(values, "codes") and hasattr(values, "categories"):  # pandas.Categorical
        return _reindex(Categorical(np.asarray(values.codes), np.asarray(values.categories)), rows, present)
    arr = np.asarray(values)
    if arr.dtype.kind == "b":
        return Masked(np.where(present, arr[np.where(present, rows, 0)], False), ~present, "boolean")
    if arr.dtype.kind in "iuf":
        out = np.full(rows.shape[0], np.nan)
        out[present] = arr[rows[present]]
        return out
    out = np.full(rows.shape[0], None, dtype=object)
    out[present] = arr.astype(object)[rows[present]]
    return out


class MappedRows:
    """A modality's matrix seen with the global cells as rows: ``[:, j]`` reads gene ``j`` of
    the modality and puts 0 where a cell is absent; ``[a:b]`` reads a block of global cells."""

    def __init__(self, matrix: Any, rows: np.ndarray, present: np.ndarray, n_genes: int):
        from cellucid.data.gene_reading.columns import column_reader

        self.inner = column_reader(matrix)
        self.matrix = matrix
        self.rows, self.present = rows, present
        self.shape = (int(rows.shape[0]), int(n_genes))
        self.dtype = np.dtype(np.float32)

    def __getitem__(self, key: Any) -> np.ndarray:
        rows, cols = key if isinstance(key, tuple) else (key, slice(None))
        if isinstance(cols, (int, np.integer)) and rows == slice(None):
            out = np.zeros(self.shape[0], dtype=np.float32)
            out[self.present] = self.inner.read(int(cols))[self.rows[self.present]]
            return out
        idx = np.arange(self.shape[0])[rows]
        block = np.zeros((idx.size, self.shape[1]), dtype=np.float32)
        keep = self.present[idx]
        wanted = self.rows[idx][keep]
        order = np.argsort(wanted)
        import anndata as ad

        m = self.matrix
        if hasattr(m, "keys"):  # an on-disk sparse group
            m = ad.io.sparse_dataset(m)
        part = m[wanted[order]]
        part = part.toarray() if hasattr(part, "toarray") else np.asarray(part)
        dense = np.empty_like(part)
        dense[order] = part
        block[keep] = dense
        return block[:, cols]


class MuDataBackend(Backend):
    """The global part and the modalities of one MuData, as one AnnData-shaped backend."""

    def __init__(self, glob: Backend, mods: dict[str, Backend], obsmaps: dict[str, np.ndarray],
                 modality: str | None, label: str, root: Any = None):
        self.glob, self.mods, self.label, self.root = glob, mods, label, root
        self.n_obs = glob.n_obs
        if not mods:
            raise InputError(f"{label} has no modalities (/mod is empty)", hint="write it with mudata's write_h5mu")
        self.maps: dict[str, tuple[np.ndarray, np.ndarray, bool]] = {}
        for name, b in mods.items():
            m = np.asarray(obsmaps.get(name, np.arange(1, self.n_obs + 1)), dtype=np.int64).reshape(-1)
            if m.shape[0] != self.n_obs:
                raise InputError(f"{label}: obsmap/{name} has {m.shape[0]} entries for {self.n_obs} cells",
                                 hint="the file is inconsistent; write it again with mudata")
            identity = b.n_obs == self.n_obs and bool(np.array_equal(m, np.arange(1, self.n_obs + 1)))
            self.maps[name] = (m - 1, m > 0, identity)
        if modality is not None and modality not in mods:
            raise InputError(f"unknown modality {modality!r}",
                             hint=f"modalities in {label}: {list_names(mods)}")
        with_matrix = [n for n, b in mods.items() if b.has_x() and len(b.var_names("var"))]
        self.modality = modality or (with_matrix[0] if with_matrix else next(iter(mods)))
        self.notes: list[str] = []
        self._fields: dict[str, tuple[str | None, str]] = {c: (None, c) for c in glob.obs_columns()}
        for name, b in mods.items():
            for c in b.obs_columns():
                self._fields.setdefault(f"{name}:{c}", (name, c))
        self._obsm: dict[str, tuple[str | None, str]] = {}
        glob_shapes = glob.obsm_shapes()
        for k, (_shape, dtype) in glob_shapes.items():
            if k in mods and np.dtype(dtype).kind == "b":
                continue  # mudata's own per-modality membership masks
            self._obsm[k] = (None, k)
        for name, b in mods.items():
            for k in b.obsm_shapes():
                shown = f"X_{name}:{k[2:]}" if k.startswith("X_") else f"{name}:{k}"
                if not self.maps[name][2]:
                    self.notes.append(f"{shown}: modality {name!r} does not have every cell in the global order")
                    continue
                self._obsm.setdefault(shown, (name, k))

    def _part(self, where: str | None) -> Backend:
        return self.glob if where is None else self.mods[where]

    def obsm_keys_by_part(self) -> dict[str, list[str]]:
        """obsm keys of the global part and of each modality (for messages)."""
        out = {"global": [k for k, (s, d) in self.glob.obsm_shapes().items()
                          if not (k in self.mods and np.dtype(d).kind == "b")]}
        out.update({name: list(b.obsm_shapes()) for name, b in self.mods.items()})
        return out

    # -- obs ------------------------------------------------------------------------------
    def obs_columns(self) -> list[str]:
        return list(self._fields)

    def obs_column_hint(self, name: str) -> str:
        where, col = self._fields[name]
        return self._part(where).obs_column_hint(col)

    def n_categories(self, name: str) -> int:
        where, col = self._fields[name]
        return self._part(where).n_categories(col)

    def obs_column(self, name: str) -> Any:
        where, col = self._fields[name]
        values = self._part(where).obs_column(col)
        if where is None or self.maps[where][2]:
            return values
        rows, present, _ = self.maps[where]
        return _reindex(values, rows, present)

    def obs_names(self) -> np.ndarray:
        return self.glob.obs_names()

    def obs_names_at(self, indices: np.ndarray) -> np.ndarray:
        return self.glob.obs_names_at(indices)

    # -- obsm -----------------------------------------------------------------------------
    def obsm_shapes(self):
        out = {}
        for shown, (where, k) in self._obsm.items():
            out[shown] = self._part(where).obsm_shapes()[k]
        return out

    def obsm_array(self, key: str, ncols: int | None) -> np.ndarray:
        where, k = self._obsm[key]
        return self._part(where).obsm_array(k, ncols)

    # -- genes: the chosen modality -------------------------------------------------------
    def var_names(self, var: str) -> np.ndarray:
        return self.mods[self.modality].var_names(var)

    def var_columns(self, var: str) -> list[str]:
        return self.mods[self.modality].var_columns(var)

    def var_column(self, var: str, name: str) -> Any:
        return self.mods[self.modality].var_column(var, name)

    def uns_colors(self, name: str) -> Any:
        where, col = self._fields.get(name, (None, name))
        return self._part(where).uns_colors(col)

    def has_x(self) -> bool:
        return self.mods[self.modality].has_x()

    def has_raw(self) -> bool:
        return self.mods[self.modality].has_raw()

    def layers(self) -> list[str]:
        return self.mods[self.modality].layers()

    def matrix(self, expression: Expression) -> Any:
        matrix = self.mods[self.modality].matrix(expression)
        rows, present, identity = self.maps[self.modality]
        if identity:
            return matrix
        return MappedRows(matrix, rows, present, len(self.var_names("raw" if expression == "raw" else "var")))

    def close(self) -> None:
        root, self.root = self.root, None
        if root is not None:
            _close_quietly(root)


class MuDataSource(StoreSource):
    """A MuData (kind ``mudata``), file-backed or in memory; see the module docstring."""

    def extra_identity(self) -> dict[str, Any]:
        b = self._backend
        return {"modalities": {"names": list(b.mods), "genes_from": b.modality,
                               "n_cells": {n: int(m.n_obs) for n, m in b.mods.items()},
                               "notes": list(b.notes)}}

    def watched_paths(self) -> tuple[str, ...]:
        return (self._backend.label,) if self._backend.root is not None else ()

    def _attach_gene_index(self) -> None:
        if self._backend.root is not None and self._backend.maps[self._backend.modality][2]:
            super()._attach_gene_index()


def _source(backend: MuDataBackend, options: SourceOptions, name: str) -> MuDataSource:
    try:
        return MuDataSource(backend, options, "mudata", name)
    except NoEmbedding:
        where = "; ".join(f"{part}: {list_names(keys)}" for part, keys in backend.obsm_keys_by_part().items())
        raise NoEmbedding("the MuData has no 2D or 3D embedding, in its global obsm or in any modality",
                          hint=f"obsm keys — {where}") from None


def open_mudata(path: str | os.PathLike, options: SourceOptions) -> MuDataSource:
    """Open a ``.h5mu`` file lazily (see the module docstring). Raises :class:`InputError`
    for a file that is not MuData, an unknown ``options.modality``, or no embedding."""
    path = Path(path)
    root = open_hdf5(path, ".h5mu", "a .h5mu file is written by mudata's write_h5mu")
    try:
        if "mod" not in root:
            raise InputError(f"{path} has no /mod group: it is not a MuData file",
                             hint="an .h5mu is written by mudata's write_h5mu; an AnnData file ends in .h5ad")
        order = root["mod"].attrs.get("mod-order")
        names = [str(n) for n in (order if order is not None else root["mod"].keys())]
        mods = {n: StoreBackend(root["mod"][n], f"{path}:mod/{n}") for n in names}
        maps = {n: root["obsmap"][n][:] for n in names if "obsmap" in root and n in root["obsmap"]}
        backend = MuDataBackend(StoreBackend(root, str(path)), mods, maps, options.modality, str(path), root)
        return _source(backend, options, options.dataset_name or path.name.removesuffix(".h5mu"))
    except CellucidError:
        _close_quietly(root)
        raise
    except Exception as exc:  # noqa: BLE001 - wrap library errors at the boundary
        _close_quietly(root)
        raise InputError(f"cannot read {path} as MuData ({type(exc).__name__}: {exc})",
                         hint="the file may be damaged; try mudata.read_h5mu(path) directly") from None


def open_mudata_object(mdata: Any, options: SourceOptions) -> MuDataSource:
    """Serve an in-memory ``mudata.MuData`` (never modified, never closed)."""
    import anndata as ad

    from cellucid.data.memory_source import MemoryBackend

    glob = MemoryBackend(ad.AnnData(obs=mdata.obs, obsm=dict(mdata.obsm.items())))
    mods = {n: MemoryBackend(a) for n, a in mdata.mod.items()}
    maps = {n: np.asarray(mdata.obsmap[n]).reshape(-1) for n in mods if n in mdata.obsmap}
    backend = MuDataBackend(glob, mods, maps, options.modality, "MuData object")
    return _source(backend, dataclasses.replace(options), options.dataset_name or "mudata")


def modality_anndata(path: str | os.PathLike, modality: str | None):
    """One modality of a ``.h5mu`` as an in-memory AnnData (for ``prepare --embed``)."""
    import mudata

    open_hdf5(Path(path), ".h5mu", "a .h5mu file is written by mudata's write_h5mu").close()
    mdata = mudata.read_h5mu(path)
    names = list(mdata.mod)
    if modality is not None and modality not in names:
        raise InputError(f"unknown modality {modality!r}", hint=f"modalities in {path}: {list_names(names)}")
    name = modality or next((n for n in names if mdata.mod[n].X is not None and mdata.mod[n].n_vars), names[0])
    return mdata.mod[name]
