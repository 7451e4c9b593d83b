"""Read single AnnData on-disk elements straight from h5py / zarr nodes.

Why not :func:`anndata.io.read_elem`: importing anndata costs ~0.7 s (it imports zarr,
scipy and pandas), and a backed ``cellucid serve data.h5ad`` reads a handful of small
elements at start-up (the var index, one categorical column, a colors list). Paying that
import on every start would be most of the start-up time, so the common encodings of the
AnnData on-disk format (https://anndata.readthedocs.io/en/latest/fileformat-prose.html,
the readers in ``anndata/_io/specs/methods.py``) are read here with the storage library
alone:

- ``array`` (0.2.0): the dataset's values (``node[()]``), as anndata returns them.
- ``string-array`` (0.2.0): h5py ``asstr()`` → object array of ``str``; zarr returns its own
  string dtype, as anndata does.
- ``categorical`` (0.2.0): group with ``codes`` (``-1`` = missing) and ``categories``
  (itself an element), attribute ``ordered`` → :class:`Categorical`.
- ``nullable-integer``, ``nullable-boolean``, ``nullable-string-array`` (0.1.0): group with
  ``values`` and ``mask`` (``True`` = missing) → :class:`Masked`.
- ``dataframe``: only its index, named by the ``_index`` attribute
  (:func:`dataframe_index_node`); columns are read one at a time.

Any other encoding or version (sparse matrices, awkward arrays, old files without encoding
attributes, …) falls back to :func:`anndata.io.read_elem`, imported only then, so results
stay whatever anndata returns for those.

:class:`Categorical` and :class:`Masked` are small numpy-only stand-ins for
``pandas.Categorical`` and pandas' masked arrays; ``np.asarray(x, dtype=object)`` turns
either into per-cell values with ``None`` for missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

# (encoding-type, encoding-version) pairs read here; everything else goes to anndata.
KNOWN = {
    ("array", "0.2.0"),
    ("string-array", "0.2.0"),
    ("categorical", "0.2.0"),
    ("nullable-integer", "0.1.0"),
    ("nullable-boolean", "0.1.0"),
    ("nullable-string-array", "0.1.0"),
}


@dataclass
class Categorical:
    """Category codes (``-1`` = missing) into ``categories``; like ``pandas.Categorical``."""

    codes: np.ndarray
    categories: np.ndarray
    ordered: bool = False

    def __len__(self) -> int:
        return int(self.codes.shape[0])

    def to_object(self) -> np.ndarray:
        """Per-cell category values (object array), ``None`` where the code is ``-1``."""
        cats = np.asarray(self.categories, dtype=object)
        codes = np.asarray(self.codes)
        out = np.empty(codes.shape[0], dtype=object)
        present = codes >= 0
        out[present] = cats[codes[present]]
        return out

    def __array__(self, dtype=None, copy=None):
        out = self.to_object()
        return out if dtype is None else out.astype(dtype)


@dataclass
class Masked:
    """``values`` with a ``mask`` (``True`` = missing): a nullable integer, boolean or
    string column. ``kind`` is ``"integer"``, ``"boolean"`` or ``"string"``."""

    values: np.ndarray
    mask: np.ndarray
    kind: str

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def to_object(self) -> np.ndarray:
        """Per-cell values (object array), ``None`` where masked."""
        out = np.asarray(self.values).astype(object)
        out[np.asarray(self.mask, dtype=bool)] = None
        return out

    def __array__(self, dtype=None, copy=None):
        out = self.to_object()
        return out if dtype is None else out.astype(dtype)


def attr_str(node: Any, key: str, default: Any = None) -> Any:
    """An attribute with ``bytes`` decoded (h5py may return either)."""
    value = node.attrs.get(key, default)
    if isinstance(value, bytes):
        value = value.decode()
    return value


def encoding(node: Any) -> tuple[str | None, str | None]:
    """``(encoding-type, encoding-version)`` of a node, ``None`` where absent."""
    return attr_str(node, "encoding-type"), attr_str(node, "encoding-version")


def is_array(node: Any) -> bool:
    """An h5py dataset or zarr array (not a group)."""
    return hasattr(node, "dtype") and hasattr(node, "shape")


def _read_array(node: Any) -> np.ndarray:
    return node[()]


def _read_string_array(node: Any) -> np.ndarray:
    if hasattr(node, "asstr"):  # h5py: variable-length strings come back as bytes otherwise
        return node.asstr()[()]
    return node[()]  # zarr decodes strings itself


def read_elem(node: Any) -> Any:
    """The value of one element: numpy array, :class:`Categorical`, :class:`Masked`, or
    whatever :func:`anndata.io.read_elem` returns for encodings not handled here."""
    enc = encoding(node)
    if enc not in KNOWN:
        return _fallback(node)
    kind = enc[0]
    if kind == "array":
        return _read_array(node)
    if kind == "string-array":
        return _read_string_array(node)
    if kind == "categorical":
        return Categorical(
            codes=_read_array(node["codes"]),
            categories=read_elem(node["categories"]),
            ordered=bool(attr_str(node, "ordered", False)),
        )
    # nullable-integer / nullable-boolean / nullable-string-array
    return Masked(
        values=read_elem(node["values"]),
        mask=np.asarray(read_elem(node["mask"]), dtype=bool),
        kind=kind.removeprefix("nullable-").removesuffix("-array"),
    )


def _fallback(node: Any) -> Any:
    from anndata.io import read_elem as anndata_read_elem  # ~0.7 s: only for rare encodings

    return anndata_read_elem(node)


def dataframe_index_node(group: Any) -> Any:
    """The node holding a dataframe group's index (named by its ``_index`` attribute)."""
    return group[attr_str(group, "_index", "_index")]
