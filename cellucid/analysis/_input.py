"""Opening what the user passes (AnnData, a path, an export folder or an open source) for an
analysis, and remembering per-file totals between calls."""

from __future__ import annotations

import contextlib
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any, Iterator

from cellucid.analysis._matrix import Expression, expression_of
from cellucid.data.base import DataSource

# Totals of recently used files, keyed by path, size, mtime and matrix: a second call on the
# same backed file does not pay the full pass again.
_TOTALS: "OrderedDict[tuple, Any]" = OrderedDict()
_TOTALS_MAX = 4


@contextlib.contextmanager
def opened(data: Any, options: dict) -> Iterator[tuple[DataSource, Expression]]:
    """``(source, expression)`` for ``data``. A :class:`DataSource` is used as is (and left
    open); anything else is opened with :func:`cellucid.data.open_source` and closed after."""
    if isinstance(data, DataSource):
        yield data, expression_of(data)
        return
    from cellucid.data import open_source

    if data is None:
        raise _no_data()
    source = open_source(data, **options)
    try:
        expr = expression_of(source)
        key = _file_key(data, options)
        if key is not None and key in _TOTALS:
            expr._totals = _TOTALS[key]
            _TOTALS.move_to_end(key)
        yield source, expr
        if key is not None and expr._totals is not None:
            _TOTALS[key] = expr._totals
            while len(_TOTALS) > _TOTALS_MAX:
                _TOTALS.popitem(last=False)
    finally:
        source.close()


def _no_data():
    from cellucid.data.base import InputError

    return InputError("no data given", hint="pass an AnnData, a .h5ad / .zarr path or an export folder")


def _file_key(data: Any, options: dict) -> tuple | None:
    if not isinstance(data, (str, os.PathLike)):
        return None
    p = Path(data).expanduser().resolve()
    try:
        st = p.stat()
    except OSError:
        return None
    return (str(p), st.st_size, st.st_mtime_ns, str(options.get("expression", "X")))


def log_base(data: Any) -> float | None:
    """scanpy's ``uns["log1p"]["base"]`` of ``data`` (``None``: natural log), read from an
    AnnData, or from a ``.h5ad`` / ``.zarr`` file without loading it."""
    try:
        if isinstance(data, (str, os.PathLike)):
            p = Path(data).expanduser()
            if p.suffix == ".h5ad" and p.is_file():
                import h5py

                with h5py.File(p, "r") as f:
                    node = f.get("uns/log1p/base")
                    return _base(node[()] if node is not None else None)
            if p.suffix == ".zarr" and p.is_dir():
                import zarr

                g = zarr.open_group(str(p), mode="r")
                try:
                    return _base(g["uns/log1p/base"][()])
                except KeyError:
                    return None
            return None
        uns = getattr(data, "uns", None)
        if uns is not None:
            return _base((uns.get("log1p") or {}).get("base"))
    except Exception:  # noqa: BLE001 - an odd uns entry means "natural log", as in scanpy
        return None
    return None


def _base(value: Any) -> float | None:
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if v > 0 and v != 1 else None
