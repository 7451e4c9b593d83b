"""Binary (de)serialisation of cell-index arrays for widget traitlets.

Cell indices travel between kernel and browser as one binary buffer per value
(``{"buffer": <memoryview>, "dtype": "uint32", "shape": [n]}``); ipywidgets lifts
memoryviews out of the JSON into separate comm buffers, so a million indices cost 4 MB of
raw bytes and no JSON parsing — not a multi-megabyte JSON list.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def as_indices(values: Any, n_cells: int | None = None, name: str = "indices") -> np.ndarray:
    """Coerce ``values`` (list, range, numpy array, boolean mask, pandas Index/Series of
    positions) to a contiguous little-endian ``uint32`` array; validate the range."""
    if values is None:
        return np.zeros(0, dtype="<u4")
    if isinstance(values, range):
        arr = np.arange(values.start, values.stop, values.step, dtype=np.int64)
    else:
        arr = np.asarray(getattr(values, "values", values))
    if arr.dtype == bool:
        if n_cells is not None and arr.shape[0] != n_cells:
            raise ValueError(f"{name}: a boolean mask must have one entry per cell ({n_cells}), got {arr.shape[0]}")
        arr = np.flatnonzero(arr)
    if arr.ndim != 1:
        arr = arr.reshape(-1)
    if arr.size == 0:
        return np.zeros(0, dtype="<u4")
    if not np.issubdtype(arr.dtype, np.integer):
        if np.issubdtype(arr.dtype, np.floating) and np.all(np.mod(arr, 1) == 0):
            arr = arr.astype(np.int64)
        else:
            raise TypeError(f"{name} must be integer cell positions (0-based) or a boolean mask, got dtype {arr.dtype}")
    lo, hi = int(arr.min()), int(arr.max())
    if lo < 0:
        raise ValueError(f"{name}: negative cell position {lo}; use 0-based positions (e.g. np.flatnonzero(mask))")
    if n_cells is not None and hi >= n_cells:
        raise ValueError(f"{name}: cell position {hi} is out of range for {n_cells} cells")
    return np.ascontiguousarray(arr, dtype="<u4")


def indices_to_json(value: Any, widget: Any = None) -> dict:
    """traitlets ``to_json``: numpy uint32 → ``{buffer, dtype, shape}`` (buffer is binary)."""
    arr = as_indices(value)
    return {"buffer": memoryview(arr), "dtype": "uint32", "shape": [int(arr.shape[0])]}


def indices_from_json(value: Any, widget: Any = None) -> np.ndarray:
    """traitlets ``from_json``: ``{buffer}`` (memoryview/bytes from the comm) → uint32 array.

    Accepts ``None`` and plain lists too (a front end that sends JSON), so a bad message
    never breaks the widget.
    """
    if value is None:
        return np.zeros(0, dtype="<u4")
    if isinstance(value, dict):
        buf = value.get("buffer")
        if buf is None:
            return np.zeros(0, dtype="<u4")
        if isinstance(buf, (list, tuple)):
            return np.asarray(buf, dtype="<u4")
        # copy: the comm's buffer belongs to the message, the trait must own its data
        return np.frombuffer(buf, dtype="<u4").copy()
    return np.asarray(value, dtype="<u4").reshape(-1)


INDICES_SERIALIZERS = {"to_json": indices_to_json, "from_json": indices_from_json}


def _is_packed(value: Any) -> bool:
    return isinstance(value, dict) and "buffer" in value


def session_from_json(value: Any, widget: Any = None) -> dict:
    """traitlets ``from_json`` for the pushed session: the viewer's session object whose
    ``selection`` and ``highlight_groups[i].cells`` arrive as binary buffers → uint32 arrays."""
    if not isinstance(value, dict):
        return {}
    out = dict(value)
    if "selection" in out:
        out["selection"] = indices_from_json(out["selection"]) if _is_packed(out["selection"]) else as_indices(out["selection"])
    groups = []
    for g in out.get("highlight_groups") or []:
        g = dict(g)
        cells = g.get("cells")
        g["cells"] = indices_from_json(cells) if _is_packed(cells) else as_indices(cells)
        groups.append(g)
    if "highlight_groups" in out:
        out["highlight_groups"] = groups
    return out


def session_to_json(value: Any, widget: Any = None) -> dict:
    """traitlets ``to_json``: uint32 arrays in the session → binary buffers (the inverse)."""
    if not isinstance(value, dict):
        return {}
    out = dict(value)
    if "selection" in out:
        out["selection"] = indices_to_json(out["selection"])
    if "highlight_groups" in out:
        out["highlight_groups"] = [{**g, "cells": indices_to_json(g.get("cells"))} for g in out["highlight_groups"]]
    return out


SESSION_SERIALIZERS = {"to_json": session_to_json, "from_json": session_from_json}
