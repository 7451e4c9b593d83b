"""``viewer.rank_genes`` / ``viewer.markers``: the viewer's names for cell groups
("selection", "highlight", highlight-group names) turned into cell positions, then the
data-layer analysis (:mod:`cellucid.analysis`) on the server's own source, so per-gene
totals computed once are reused by later calls and by the HTTP route."""

from __future__ import annotations

from typing import Any

import numpy as np

from cellucid.data.base import BadParameter

VIEWER_NAMES = ("selection", "highlight")


def _group_names(groups: dict[str, dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """``{name: cells}`` for every highlight group, also as ``"page/name"``; a name used on
    several pages only in its ``page/name`` form (it would be ambiguous)."""
    out: dict[str, np.ndarray] = {}
    seen: dict[str, int] = {}
    for page, named in groups.items():
        for name, cells in named.items():
            out[f"{page}/{name}"] = cells
            seen[name] = seen.get(name, 0) + 1
    for named in groups.values():
        for name, cells in named.items():
            if seen[name] == 1:
                out[name] = cells
    return out


def resolve(viewer: Any, spec: Any, groupby: str | None, what: str) -> Any:
    """Positions for a viewer name (``"selection"``, ``"highlight"``, a highlight group),
    else ``spec`` unchanged for :func:`cellucid.analysis.rank_genes` (categories, masks, …)."""
    if not isinstance(spec, str):
        return spec
    if spec == "selection":
        cells = viewer.selection
        if cells.size == 0:
            raise BadParameter(f"the {what} is the selection, but no cells are selected",
                               hint="select cells in the viewer (lasso or click) first, or pass positions")
        return cells.astype(np.int64)
    if spec == "highlight":
        return viewer.highlight.astype(np.int64)
    if spec == "rest" or groupby is not None:
        return spec  # a category of groupby (checked, with the valid names, by the analysis)
    named = _group_names(viewer.groups)
    if spec in named:
        return np.asarray(named[spec], dtype=np.int64)
    valid = list(VIEWER_NAMES) + sorted(named)
    raise BadParameter(f"{spec!r} is not a highlight group of this viewer",
                       hint=f"use one of {', '.join(repr(v) for v in valid)}, or a category with groupby=")


def data_of(viewer: Any) -> Any:
    """The server's open source when there is one (shared totals), else the viewer's data."""
    source = getattr(viewer._server, "source", None)
    return source if source is not None else viewer._data


def rank_genes(viewer: Any, group: Any = "selection", reference: Any = "rest", method: str = "t-test",
               groupby: str | None = None, **kwargs: Any):
    from cellucid.analysis import rank_genes as run

    g = resolve(viewer, group, groupby, "group")
    r = resolve(viewer, reference, groupby, "reference")
    return run(data_of(viewer), g, r, method=method, groupby=groupby, **_with_base(viewer, kwargs))


def markers(viewer: Any, groupby: str | None = None, method: str = "t-test", n_genes: int | None = None, **kwargs: Any):
    from cellucid.analysis import markers as run

    if groupby is None:
        color = viewer.widget.color_by
        if not color:
            raise BadParameter("no groupby given and the viewer is not coloured by a field",
                               hint="pass groupby='cell_type' (an obs field), or colour the viewer by one")
        groupby = color
    if kwargs.get("to_uns") and hasattr(viewer._data, "uns"):
        return run(viewer._data, groupby, method=method, n_genes=n_genes, **_with_base(viewer, kwargs))
    return run(data_of(viewer), groupby, method=method, n_genes=n_genes, **_with_base(viewer, kwargs))


def _with_base(viewer: Any, kwargs: dict) -> dict:
    """The log base the user's data declare (the server's source does not carry ``uns``)."""
    if kwargs.get("log_base") is None and viewer._data is not None:
        from cellucid.analysis._input import log_base

        kwargs = {**kwargs, "log_base": log_base(viewer._data)}
    return kwargs
