"""Turning what the user passes as a group (category names, a mask, positions) into sorted
cell positions, with errors that say what was wrong and what would work."""

from __future__ import annotations

from typing import Any

import numpy as np

from cellucid.data.base import BadParameter, DataSource, FieldData, NotFound, list_names


def categorical_field(source: DataSource, groupby: str) -> FieldData:
    """The categorical (or boolean) obs field ``groupby``; a clear error otherwise."""
    field = source.obs_field(groupby)  # NotFound with the valid names for an unknown field
    if field.codes is None or field.categories is None:
        cats = [f.name for f in source.fields() if f.kind != "continuous"]
        raise BadParameter(f"groupby field {groupby!r} is continuous, not categorical",
                           hint=f"categorical fields: {list_names(cats)}")
    return field


def cell_set(spec: Any, source: DataSource, groupby: str | None, n_cells: int, what: str = "group") -> tuple[np.ndarray, str]:
    """Sorted unique int64 positions and a display label for ``spec``.

    ``spec`` is a category of ``groupby`` or a list of them, a boolean mask of length
    ``n_cells`` (numpy, list or pandas Series) or an array of cell positions.
    """
    if spec is None:
        raise BadParameter(f"no {what} given", hint="pass category names of groupby=, a boolean mask or cell positions")
    if isinstance(spec, str) or (isinstance(spec, (list, tuple)) and spec and all(isinstance(s, str) for s in spec)):
        names = [spec] if isinstance(spec, str) else list(spec)
        if groupby is None:
            cats = [f.name for f in source.fields() if f.kind != "continuous"]
            raise BadParameter(f"{what} {names[0]!r} is a category name, so groupby= must name the obs field",
                               hint=f"for example groupby='{cats[0] if cats else 'cell_type'}'; categorical fields: "
                                    f"{list_names(cats)}")
        field = categorical_field(source, groupby)
        cats = list(field.categories)
        unknown = [n for n in names if n not in cats]
        if unknown:
            raise NotFound(f"{list_names(unknown)} {'is not a category' if len(unknown) == 1 else 'are not categories'} "
                           f"of {groupby!r}", hint=f"categories of {groupby!r}: {list_names(cats)}")
        codes = np.asarray([cats.index(n) for n in names])
        rows = np.flatnonzero(np.isin(field.codes, codes)).astype(np.int64)
        return rows, ",".join(names)
    values = np.asarray(getattr(spec, "values", spec))
    if values.dtype == bool:
        if values.ndim != 1 or values.size != n_cells:
            raise BadParameter(f"{what} mask has {values.size} values but the dataset has {n_cells} cells",
                               hint="pass one True/False per cell, in obs order")
        return np.flatnonzero(values).astype(np.int64), f"{what} ({int(values.sum())} cells)"
    if values.dtype.kind in "iu" or (values.dtype.kind == "f" and values.size and np.all(values == np.round(values))):
        rows = np.unique(values.astype(np.int64).reshape(-1))
        if rows.size and (rows[0] < 0 or rows[-1] >= n_cells):
            raise BadParameter(f"{what} has cell positions outside 0..{n_cells - 1}",
                               hint="positions are 0-based row numbers of obs")
        return rows, f"{what} ({rows.size} cells)"
    if values.size == 0:
        return np.empty(0, dtype=np.int64), what
    raise BadParameter(f"cannot use a {type(spec).__name__} of {values.dtype} as a {what}",
                       hint="pass category names (with groupby=), a boolean mask or integer cell positions")


def check_pair(group: np.ndarray, reference: np.ndarray | None, n_cells: int) -> None:
    """Errors for groups that cannot be compared (empty, one cell, equal, overlapping)."""
    if group.size == 0:
        raise BadParameter("the group has no cells", hint="select some cells, or check the category names")
    if group.size < 2:
        raise BadParameter("the group has only one cell; a variance (and a test) needs at least two",
                           hint="add cells to the group")
    if reference is None:
        if group.size >= n_cells - 1:
            raise BadParameter(f"the group holds {group.size} of {n_cells} cells, so 'rest' has "
                               f"{n_cells - group.size} (at least two are needed)",
                               hint="compare with a smaller group, or pass reference= explicitly")
        return
    if reference.size == 0:
        raise BadParameter("the reference has no cells", hint="use reference='rest' or another group")
    if reference.size < 2:
        raise BadParameter("the reference has only one cell; a test needs at least two",
                           hint="use reference='rest' or a larger group")
    if group.size == reference.size and np.array_equal(group, reference):
        raise BadParameter("the group and the reference are the same cells",
                           hint="compare with reference='rest' or with another group")
    overlap = np.intersect1d(group, reference, assume_unique=True).size
    if overlap:
        raise BadParameter(f"the group and the reference share {overlap} cells; they must not overlap",
                           hint="remove the shared cells from one side, or use reference='rest'")
