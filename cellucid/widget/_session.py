"""Viewer sessions and highlight groups on the Python side: file I/O and formatting.

The viewer pushes its session (``sessionObject`` in ``js/src/ui/session.js``) to the
widget's ``session`` trait after every change; cell lists arrive as uint32 arrays. This
module turns that into a JSON file, reads one back, and turns highlight groups into
boolean ``obs`` columns. No widget or browser here: plain functions, unit-testable.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from cellucid.data.base import CellucidError


class SessionError(CellucidError):
    """A session cannot be saved, read or applied (no session yet, not a session file,
    saved for another dataset)."""


def to_jsonable(session: dict) -> dict:
    """A deep copy of ``session`` with numpy arrays as lists (what ``json.dump`` takes)."""

    def conv(v: Any) -> Any:
        if isinstance(v, np.ndarray):
            return v.tolist()
        if isinstance(v, np.generic):
            return v.item()
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [conv(x) for x in v]
        return v

    return conv(session)


def write_session(session: dict, path: str | os.PathLike) -> str:
    """Write ``session`` as JSON to ``path`` (the same format as the viewer's "save")."""
    path = os.fspath(path)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(to_jsonable(session), f)
    return path


def read_session(path: str | os.PathLike) -> dict:
    """Read a session file saved by the viewer or by :func:`write_session`."""
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            o = json.load(f)
    except FileNotFoundError:
        raise SessionError(f"no session file at {path}", "pass the path given to viewer.save_session()") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise SessionError(f"{path} is not JSON ({e})", "choose a session file saved by cellucid") from None
    check_session(o, path)
    return o


def check_session(o: Any, where: str = "session") -> None:
    """Raise :class:`SessionError` unless ``o`` looks like a cellucid session object."""
    if not isinstance(o, dict) or o.get("cellucid_session") != 1:
        raise SessionError(f"{where} is not a cellucid session",
                           "choose a file written by viewer.save_session() or the viewer's “save” button")


def check_same_dataset(o: dict, dataset_id: str | None, dataset_name: str | None = None) -> None:
    """Refuse a session saved for another dataset: its cell indices would point at the wrong cells."""
    if dataset_id is None or o.get("dataset_id") == dataset_id:
        return
    raise SessionError(
        f"the session was saved for dataset “{o.get('dataset_name') or '?'}” ({o.get('dataset_id') or 'no id'}), "
        f"but this viewer shows “{dataset_name or '?'}” ({dataset_id})",
        "open the dataset the session was saved from, then load it again",
    )


def groups_from_session(session: dict) -> dict[str, dict[str, np.ndarray]]:
    """``{page name: {group name: uint32 cell positions}}`` from a session.

    Pages keep the viewer's order; a page without groups is kept (empty dict). Two groups
    with the same name on one page get `` (2)``, `` (3)`` … appended to the later ones.
    """
    pages = {p.get("id"): str(p.get("name")) for p in session.get("group_pages") or []}
    out: dict[str, dict[str, np.ndarray]] = {name: {} for name in pages.values()}
    for g in session.get("highlight_groups") or []:
        page = pages.get(g.get("page"), f"page {g.get('page')}")
        groups = out.setdefault(page, {})
        name, k = str(g.get("name")), 2
        while name in groups:
            name, k = f"{g.get('name')} ({k})", k + 1
        groups[name] = np.asarray(g.get("cells"), dtype="<u4").reshape(-1)
    return out


def groups_frame(groups: dict[str, dict[str, np.ndarray]], index, prefix: str = "group_"):
    """One boolean column per group, ``True`` for member cells, on ``index`` (obs names).

    Columns are ``<prefix><group>``; when a group name occurs on more than one page, its
    columns are ``<prefix><page>/<group>`` so none overwrites another. No groups → a frame
    with the index and no columns.
    """
    import pandas as pd

    n = len(index)
    pages_of: dict[str, int] = {}
    for page_groups in groups.values():
        for name in page_groups:
            pages_of[name] = pages_of.get(name, 0) + 1
    cols: dict[str, np.ndarray] = {}
    for page, page_groups in groups.items():
        for name, cells in page_groups.items():
            col = f"{prefix}{page}/{name}" if pages_of[name] > 1 else f"{prefix}{name}"
            mask = np.zeros(n, dtype=bool)
            cells = np.asarray(cells, dtype=np.int64)
            mask[cells[cells < n]] = True
            cols[col] = mask
    return pd.DataFrame(cols, index=index)
