"""Reading ``obs`` (as a pandas DataFrame) for whatever the viewer was given.

An in-memory AnnData answers directly. For a path only the ``obs`` group is read (not X),
once, and cached by the viewer. An export folder has no AnnData; its obs is rebuilt from
the server's data source (one column per field).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from cellucid.data.base import InputError


def is_anndata(obj: Any) -> bool:
    return type(obj).__name__ == "AnnData" and hasattr(obj, "obs") and hasattr(obj, "n_obs")


def read_obs(data: Any, source: Any = None) -> pd.DataFrame:
    """The full ``obs`` DataFrame for ``data`` (AnnData, .h5ad/.zarr path, or export folder).
    Other inputs (a MuData, a ``.h5mu`` / ``.loom`` file, a Cell Ranger matrix served with
    ``embed=True``) get a frame built from the served fields (``rna:leiden`` and so on)."""
    if is_anndata(data):
        return data.obs
    if source is not None and getattr(source, "kind", None) not in ("h5ad", "zarr", "export"):
        return _obs_from_source(source, repr(data) if not isinstance(data, (str, os.PathLike)) else os.fspath(data))
    path = os.fspath(data)
    if os.path.isdir(path) and os.path.exists(os.path.join(path, "dataset_identity.json")):
        return _obs_from_source(source, path)
    try:
        from anndata.io import read_elem
    except ImportError:  # anndata < 0.11
        from anndata.experimental import read_elem  # type: ignore[no-redef]
    if path.endswith(".h5ad") or os.path.isfile(path):
        import h5py

        with h5py.File(path, "r") as f:
            return read_elem(f["obs"])
    import zarr

    return read_elem(zarr.open_group(path, mode="r")["obs"])


def _obs_from_source(source: Any, path: str) -> pd.DataFrame:
    if source is None:
        raise InputError(
            f"cannot read obs for the export folder {path}",
            hint="open the original .h5ad/.zarr with show_anndata() to get selected_obs()",
        )
    n = source.summary().n_cells
    try:
        index = pd.Index([str(x) for x in source.obs_names()])
    except NotImplementedError:
        index = pd.RangeIndex(n).astype(str)
    cols = {}
    for info in source.fields():
        fd = source.obs_field(info.name)
        if fd.codes is not None and fd.categories is not None:
            codes = np.asarray(fd.codes, dtype=np.int64)
            cols[info.name] = pd.Categorical.from_codes(codes, categories=list(fd.categories))
        else:
            cols[info.name] = np.asarray(fd.values)
    return pd.DataFrame(cols, index=index)
