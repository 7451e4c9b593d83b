"""Precomputing what makes later analysis requests fast, in the background of a server.

:func:`prepare` computes, for an open source, the per-gene totals over all cells, (for
backed CSR matrices) the table of distinct values with their ranks (:mod:`cellucid.analysis._ranksum`),
and the per-category sums of the field the viewer shows first (what ``markers`` on it needs),
and keeps them on the source's :class:`~cellucid.analysis._matrix.Expression`. Every answer
is right without them — the first request just pays for them — so this only moves that cost
to a moment when nobody waits. :func:`status` is what ``/_cellucid/health`` reports.
"""

from __future__ import annotations

import logging
import os
from typing import Callable, Sequence

from cellucid.data.base import DataSource

log = logging.getLogger("cellucid.analysis")
ENV = "CELLUCID_ANALYSIS_PREPARE"  # "0" turns the background preparation off

_STATUS: dict[int, str] = {}  # id(source) -> "waiting" | "preparing" | "ready" | "failed: ..."


def enabled() -> bool:
    return os.environ.get(ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def prepare(source: DataSource, fields: Sequence[str] = (), pause: Callable[[], None] | None = None) -> None:
    """Totals, then the value table, then per-category sums of the categorical ``fields``;
    waits for a gene index being built first (the table reads genes one by one from it).
    ``pause`` is called between the steps of every pass (:mod:`cellucid.analysis._steps`): a
    server's pause waits there while a viewer is loading. Never raises: a failure is logged
    and reported."""
    from cellucid.analysis._steps import pausing

    with pausing(pause):
        _prepare(source, fields)


def _prepare(source: DataSource, fields: Sequence[str]) -> None:
    from cellucid.analysis._matrix import expression_of
    from cellucid.analysis._ranksum import value_table
    from cellucid.analysis.de import prepare_field

    key = id(source)
    try:
        if not source.summary().n_genes:
            return
        _STATUS[key] = "preparing"
        expr = expression_of(source)
        expr.totals()
        # Backed files only: for an in-memory AnnData this would be seconds of CPU in the
        # user's kernel right after show_anndata(); the first Wilcoxon request makes it.
        on_disk = expr.layout == "csr" and getattr(expr.reader, "on_disk", False)
        if on_disk:
            value_table(expr)
        categorical = {f.name for f in source.fields() if f.kind == "categorical"}
        for name in fields:
            if name in categorical:
                prepare_field(source, expr, name, method="wilcoxon" if on_disk else "t-test")
        _STATUS[key] = "ready"
    except Exception as exc:  # noqa: BLE001 - requests will report the problem themselves
        _STATUS[key] = f"failed: {type(exc).__name__}"
        log.info("cellucid: analysis preparation stopped (%s); requests compute what they need", exc)


def mark_waiting(source: DataSource) -> None:
    _STATUS[id(source)] = "waiting"


def status(source: DataSource) -> str | None:
    """``"waiting"``, ``"preparing"``, ``"ready"``, ``"failed: ..."`` or ``None`` (not started)."""
    return _STATUS.get(id(source))


def forget(source: DataSource) -> None:
    _STATUS.pop(id(source), None)
