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


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_json(base_url: str, path: str, body: dict | None = None, token: str | None = None, timeout: float = 120):
    """GET (or POST ``body`` with the server token) ``path`` of a running server: ``(status, json)``."""
    import json
    import urllib.error
    import urllib.request

    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **({"X-Cellucid-Token": token} if token else {})}
    req = urllib.request.Request(base_url.rstrip("/") + path, data=data, headers=headers,
                                 method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def wait_health(base_url: str, ready, timeout: float = 60) -> dict:
    """Poll ``/_cellucid/health`` until ``ready(health)``; the last health otherwise (the
    caller's assertion then shows it)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        _, health = http_json(base_url, "/_cellucid/health")
        if ready(health) or time.monotonic() > deadline:
            return health
        time.sleep(0.1)


def route_frame(payload: dict) -> pd.DataFrame:
    """An analysis route's ``columns`` as a DataFrame (null -> NaN)."""
    df = pd.DataFrame(payload["columns"])
    for c in df.columns:
        if c not in ("names", "group"):
            df[c] = df[c].astype(float)
    return df


MARKERS = "/_cellucid/api/analysis/markers?groupby=cell_type&method=wilcoxon&tie_correct=1"
RANK = "/_cellucid/api/analysis/rank_genes"
