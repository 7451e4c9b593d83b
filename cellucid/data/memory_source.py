"""An in-memory :class:`anndata.AnnData` served as is (kind ``anndata``; ``demo`` for the demo).

Nothing is copied whole: obs columns, obsm arrays and single genes are read from the
AnnData's own arrays on request. A backed AnnData (``read_h5ad(..., backed="r")``) works
too: its X is read gene by gene through :mod:`cellucid.data.gene_reading.columns`. The caller's
AnnData is never modified and never closed by :meth:`MemorySource.close`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cellucid.data.anndata_like import AnnDataLikeSource
from cellucid.data.backend import Backend
from cellucid.data.base import InputError, SourceKind, SourceOptions
from cellucid.data.matrix_choice import Expression
from cellucid.data.obs_typing import hint_from_dtype


class MemoryBackend(Backend):
    """Element access on an AnnData object."""

    def __init__(self, adata: Any):
        self.adata = adata
        self.n_obs = int(adata.n_obs)
        # Column labels may be non-strings (ints); fields are named by str(label).
        self._obs_keys = {str(c): c for c in adata.obs.columns}

    def obs_columns(self) -> list[str]:
        return list(self._obs_keys)

    def _obs(self, name: str):
        return self.adata.obs[self._obs_keys[name]]

    def obs_column_hint(self, name: str) -> str:
        return hint_from_dtype(self._obs(name).dtype)

    def obs_column(self, name: str) -> Any:
        series = self._obs(name)
        values = series.array if isinstance(series.dtype, pd.api.extensions.ExtensionDtype) else series.to_numpy()
        if isinstance(values, pd.arrays.StringArray) or str(series.dtype).startswith("string"):
            return series.to_numpy(dtype=object, na_value=None)
        if isinstance(series.dtype, pd.CategoricalDtype):
            return series.array  # pd.Categorical, no copy
        return values

    def n_categories(self, name: str) -> int:
        return len(self._obs(name).cat.categories)

    def obs_names(self) -> np.ndarray:
        return np.asarray(self.adata.obs_names, dtype=object)

    def obsm_shapes(self):
        out = {}
        for key in self.adata.obsm.keys():
            value = self.adata.obsm[key]
            if isinstance(value, pd.DataFrame) or not hasattr(value, "dtype") or not hasattr(value, "shape"):
                continue
            out[str(key)] = (tuple(value.shape), value.dtype)
        return out

    def obsm_array(self, key: str, ncols: int | None) -> np.ndarray:
        value = self.adata.obsm[key]
        part = value if ncols is None else value[:, :ncols]
        if hasattr(part, "toarray"):
            part = part.toarray()
        out = np.ascontiguousarray(np.asarray(part), dtype=np.float32)
        if np.shares_memory(out, value):
            # No copy was needed, so this is the caller's own array: hand out a read-only
            # view so nothing downstream can modify the user's AnnData by accident.
            out = out.view()
            out.flags.writeable = False
        return out

    def _var(self, var: str):
        return self.adata.raw.var if var == "raw" else self.adata.var

    def has_obsp(self, key: str) -> bool:
        return getattr(self.adata, "obsp", None) is not None and key in self.adata.obsp

    def obsp_matrix(self, key: str) -> Any:
        import scipy.sparse as sp

        return sp.csr_matrix(self.adata.obsp[key])

    def var_names(self, var: str) -> np.ndarray:
        return np.asarray(self._var(var).index, dtype=object)

    def var_columns(self, var: str) -> list[str]:
        return [str(c) for c in self._var(var).columns]

    def var_column(self, var: str, name: str) -> Any:
        return self._var(var)[name].to_numpy(dtype=object)

    def uns_colors(self, name: str) -> Any:
        return self.adata.uns.get(f"{name}_colors")

    def has_x(self) -> bool:
        return self.adata.X is not None

    def has_raw(self) -> bool:
        return self.adata.raw is not None

    def layers(self) -> list[str]:
        return [str(k) for k in self.adata.layers.keys()]

    def matrix(self, expression: Expression) -> Any:
        if expression.kind == "X":
            return self.adata.X
        if expression.kind == "raw":
            return self.adata.raw.X
        return self.adata.layers[expression.layer]

    def close(self) -> None:
        self.adata = None  # drop our reference; the caller's object stays usable


class MemorySource(AnnDataLikeSource):
    """Serve an in-memory AnnData. ``kind`` is ``anndata`` (default), ``demo``, or the file
    kind (``h5ad``/``zarr``) when a file was loaded whole with ``backed=False``."""

    def __init__(self, adata: Any, options: SourceOptions | None = None, kind: SourceKind = "anndata",
                 default_name: str = "anndata"):
        try:
            import anndata as ad
        except ImportError:  # pragma: no cover - anndata is a dependency
            raise InputError("anndata is not installed", hint="pip install anndata") from None
        if not isinstance(adata, ad.AnnData):
            raise InputError(
                f"expected an AnnData, got {type(adata).__name__}",
                hint="pass an anndata.AnnData or a path to a .h5ad / .zarr",
            )
        super().__init__(MemoryBackend(adata), options or SourceOptions(), kind, default_name)
