"""Element access for one kind of AnnData storage (in memory, h5py, zarr, loom, mudata).

A :class:`Backend` fetches single elements — one obs column, one obsm array, the var index,
one ``uns`` colors list, the expression matrix — and nothing else; what they mean is decided
by :mod:`cellucid.data.obs_typing`, :mod:`cellucid.data.embedding_discovery` and
:class:`cellucid.data.anndata_like.AnnDataLikeSource`.
"""

from __future__ import annotations

import abc
from typing import Any

import numpy as np

from cellucid.data.elements import Categorical
from cellucid.data.matrix_choice import Expression

# ---------------------------------------------------------------------------------------
# Backend: element access for one storage kind
# ---------------------------------------------------------------------------------------


class Backend(abc.ABC):
    """Reads individual AnnData elements. ``var`` arguments are ``"var"`` or ``"raw"``."""

    n_obs: int

    @abc.abstractmethod
    def obs_columns(self) -> list[str]:
        """obs column names in stored order."""

    @abc.abstractmethod
    def obs_column_hint(self, name: str) -> str:
        """Cheap classification from metadata: ``categorical``, ``boolean``,
        ``continuous``, ``string`` (needs a look at values) or ``unsupported: reason``."""

    @abc.abstractmethod
    def obs_column(self, name: str) -> Any:
        """Values of one obs column (pandas Categorical, numpy array or pandas array)."""

    def n_categories(self, name: str) -> int:
        """Number of categories of a categorical obs column (backends may read metadata only)."""
        values = self.obs_column(name)
        if isinstance(values, Categorical):
            return len(values.categories)
        import pandas as pd

        cat = values if isinstance(values, pd.Categorical) else pd.Categorical(values)
        return len(cat.categories)

    @abc.abstractmethod
    def obs_names(self) -> np.ndarray:
        """All cell names (object array of str)."""

    def obs_names_at(self, indices: np.ndarray) -> np.ndarray:
        """Cell names at ``indices`` (in range); backends may read just those entries."""
        return self.obs_names()[indices]

    @abc.abstractmethod
    def obsm_shapes(self) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
        """Shape and dtype of every array-valued obsm entry (dataframes etc. left out)."""

    @abc.abstractmethod
    def obsm_array(self, key: str, ncols: int | None) -> np.ndarray:
        """The first ``ncols`` columns (all when ``None``) of an obsm array, float32."""

    def has_obsp(self, key: str) -> bool:
        """Whether ``obsp[key]`` is present (metadata only)."""
        return False

    def obsp_matrix(self, key: str) -> Any:
        """``obsp[key]`` as a scipy CSR matrix."""
        raise KeyError(key)

    @abc.abstractmethod
    def var_names(self, var: str) -> np.ndarray:
        """Var index (object array of str)."""

    @abc.abstractmethod
    def var_columns(self, var: str) -> list[str]:
        """Var column names."""

    @abc.abstractmethod
    def var_column(self, var: str, name: str) -> Any:
        """Values of one var column."""

    @abc.abstractmethod
    def uns_colors(self, name: str) -> Any:
        """``uns["<name>_colors"]`` or ``None``."""

    @abc.abstractmethod
    def has_x(self) -> bool:
        """Whether X is present (not ``None``)."""

    @abc.abstractmethod
    def has_raw(self) -> bool:
        """Whether ``raw`` (with X and var) is present."""

    @abc.abstractmethod
    def layers(self) -> list[str]:
        """Layer names."""

    @abc.abstractmethod
    def matrix(self, expression: Expression) -> Any:
        """The matrix object for ``X``, ``raw`` or ``layer:NAME`` (validated by the caller)."""

    def close(self) -> None:
        """Release resources. Idempotent."""
