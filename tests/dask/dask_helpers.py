"""Helpers of the Dask tests: comparing results, reading what the workers ran."""

from __future__ import annotations

import numpy as np
import pandas as pd


def assert_same_frames(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Same genes (and groups) with the same numbers, up to float64 rounding (blocks are
    summed in another order); the order of genes with equal scores may differ."""
    keys = [c for c in ("group", "names") if c in a.columns]
    a, b = a.set_index(keys).sort_index(), b.set_index(keys).sort_index()
    assert a.index.equals(b.index)
    assert list(a.columns) == list(b.columns)
    for col in a.columns:
        np.testing.assert_allclose(b[col].to_numpy(float), a[col].to_numpy(float), rtol=1e-9, atol=1e-12,
                                   equal_nan=True, err_msg=col)


def cellucid_tasks(stream) -> list[str]:
    """Keys of the cellucid tasks the workers ran (``get_task_stream`` records)."""
    return [str(t["key"]) for t in stream.data if str(t["key"]).startswith("cellucid-")]


def fresh(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` without the per-file totals a previous call left behind
    (the Python API keeps them: the in-process and the Dask call must each compute theirs)."""
    from cellucid.analysis import _input

    _input._TOTALS.clear()
    return fn(*args, **kwargs)
