"""Differential expression: :func:`rank_genes` (one group against the rest or another group)
and :func:`markers` (every category of a field against the rest, in one pass).

Results use scanpy's conventions (see :mod:`cellucid.analysis._stattests` and
``docs/analysis.md``): the columns of ``sc.get.rank_genes_groups_df`` plus the two means.
"""

from __future__ import annotations

import hashlib
import weakref
from collections import OrderedDict
from typing import Any

import numpy as np

from cellucid.analysis import _stattests as st
from cellucid.analysis._groups import categorical_field, cell_set, check_pair
from cellucid.analysis._input import log_base as _log_base
from cellucid.analysis._input import opened
from cellucid.analysis._matrix import Expression, Sums
from cellucid.analysis._ranksum import category_rank_sums, rank_sums, rank_sums_vs_rest, value_table
from cellucid.analysis.dask_jobs import using
from cellucid.data.base import BadParameter, list_names

METHODS = ("t-test", "wilcoxon")
COLUMNS = ["names", "scores", "logfoldchanges", "pvals", "pvals_adj", "pct_nz_group", "pct_nz_reference",
           "mean_group", "mean_reference"]


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise BadParameter(f"unknown method {method!r}", hint=f"use one of {', '.join(METHODS)}")


def rank_genes(data: Any, group: Any, reference: Any = "rest", method: str = "t-test", groupby: str | None = None,
               *, tie_correct: bool = False, log_base: float | None = None, dask_client: Any = None, **options: Any):
    """Rank all genes by how they differ between ``group`` and ``reference``.

    ``data`` is anything :func:`cellucid.show_anndata` accepts (an AnnData, a ``.h5ad`` /
    ``.zarr`` path, an export folder). ``group`` / ``reference`` are categories of
    ``groupby`` (a name or a list), boolean masks or arrays of cell positions;
    ``reference="rest"`` means every cell not in ``group``. ``method`` is ``"t-test"``
    (Welch) or ``"wilcoxon"`` (rank sum; ``tie_correct`` as in scanpy). ``log_base`` is the
    base the data were ``log1p``-ed in (default: ``uns["log1p"]["base"]`` when the data
    say, else natural log). ``dask_client`` (a ``distributed.Client`` or a scheduler
    address) runs the passes over all cells on a Dask cluster whose workers open the same
    ``.h5ad`` / ``.zarr`` path (docs/dask.md); if the cluster fails, the call finishes
    in-process with a warning. Other keyword arguments (``expression="raw"``, ...) choose the
    matrix as for :func:`cellucid.show_anndata`.

    Returns a pandas DataFrame with one row per gene — ``names``, ``scores``,
    ``logfoldchanges``, ``pvals``, ``pvals_adj`` (Benjamini–Hochberg), ``pct_nz_group``,
    ``pct_nz_reference``, ``mean_group``, ``mean_reference`` — sorted by score, highest
    first. A gene constant over both groups has NaN score and p-value (listed last).

    >>> import cellucid
    >>> ad = cellucid.demo_anndata(2000)
    >>> df = cellucid.rank_genes(ad, "T cell", groupby="cell_type")
    >>> list(df.columns[:3])
    ['names', 'scores', 'logfoldchanges']
    """
    _check_method(method)
    base = log_base if log_base is not None else _log_base(data)
    with opened(data, options) as (source, expr), using(expr, dask_client):
        n = expr.n_cells
        g, _ = cell_set(group, source, groupby, n, "group")
        ref = None
        if not (isinstance(reference, str) and reference == "rest"):
            ref, _ = cell_set(reference, source, groupby, n, "reference")
        check_pair(g, ref, n)
        expr.totals()  # once per source; also where NaN in the matrix is found and named
        gs, rs = _pair_sums(expr, g, ref)
        if method == "t-test":
            scores, pvals = _welch(gs, rs)
        elif ref is None and expr.layout == "csr" and (table := value_table(expr)) is not None:
            R, ties = rank_sums_vs_rest(expr, g, table)
            scores, pvals = st.wilcoxon_z(R, g.size, n, ties if tie_correct else None)
        else:
            labels = np.full(n, -1, dtype=np.int64)
            labels[g] = 0
            included = None
            if ref is not None:
                included = np.zeros(n, dtype=bool)
                included[g] = True
                included[ref] = True
            R, ties, N, _ = rank_sums(expr, labels, 1, included)
            scores, pvals = st.wilcoxon_z(R[0], g.size, N, ties if tie_correct else None)
        return _frame(source.gene_names(), scores, pvals, gs, rs, base)


def _pair_sums(expr: Expression, g: np.ndarray, ref: np.ndarray | None) -> tuple[Sums, Sums]:
    """Sums over the group and the reference, reading the smaller side when it is 'rest'."""
    if ref is not None:
        return expr.group_sums(g), expr.group_sums(ref)
    totals = expr.totals()
    if g.size <= expr.n_cells // 2:
        gs = expr.group_sums(g)
        return gs, totals - gs
    others = np.setdiff1d(np.arange(expr.n_cells, dtype=np.int64), g, assume_unique=True)
    rs = expr.group_sums(others)
    return totals - rs, rs


def _welch(gs: Sums, rs: Sums) -> tuple[np.ndarray, np.ndarray]:
    m1, v1 = gs.mean_var()
    m2, v2 = rs.mean_var()
    return st.welch(m1, v1, gs.n, m2, v2, rs.n)


def _frame(names, scores, pvals, gs: Sums, rs: Sums, base: float | None, sort: bool = True):
    import pandas as pd

    m1, m2 = gs.total / gs.n, rs.total / rs.n
    df = pd.DataFrame({
        "names": np.asarray(names, dtype=object),
        "scores": scores,
        "logfoldchanges": st.log_fold_change(m1, m2, base),
        "pvals": pvals,
        "pvals_adj": st.benjamini_hochberg(pvals),
        "pct_nz_group": gs.nonzero / gs.n,
        "pct_nz_reference": rs.nonzero / rs.n,
        "mean_group": m1,
        "mean_reference": m2,
    }, columns=COLUMNS)
    if sort:
        df = df.sort_values("scores", ascending=False, na_position="last", kind="stable", ignore_index=True)
    return df


def markers(data: Any, groupby: str, method: str = "t-test", n_genes: int | None = None, *,
            groups: list[str] | None = None, tie_correct: bool = False, to_uns: bool = False,
            key_added: str = "rank_genes_groups", log_base: float | None = None, dask_client: Any = None,
            **options: Any):
    """Marker genes: every category of ``groupby`` against all other cells, in one pass.

    Returns a long pandas DataFrame — a ``group`` column, then the columns of
    :func:`rank_genes` — each group's genes sorted by score; ``n_genes`` keeps the top ones
    per group (all genes by default). ``groups`` restricts the categories tested (the rest
    is still every other cell). With ``to_uns=True`` (``data`` must be an AnnData) the
    result is also written to ``data.uns[key_added]`` in the layout of
    ``scanpy.tl.rank_genes_groups(..., pts=True)``, so ``sc.get.rank_genes_groups_df`` and
    ``sc.pl.rank_genes_groups_dotplot`` read it. ``dask_client``: as for :func:`rank_genes`.

    >>> import cellucid
    >>> ad = cellucid.demo_anndata(2000)
    >>> top = cellucid.markers(ad, "cell_type", n_genes=5)
    >>> sorted(top["group"].unique())[:2]
    ['B cell', 'NK cell']
    """
    import pandas as pd

    _check_method(method)
    if to_uns and not hasattr(data, "uns"):
        raise BadParameter("to_uns=True needs an in-memory AnnData (the result goes to its .uns)",
                           hint="pass the AnnData itself, or drop to_uns and use the returned DataFrame")
    if n_genes is not None and (not isinstance(n_genes, (int, np.integer)) or n_genes < 1):
        raise BadParameter(f"n_genes must be a positive integer, got {n_genes!r}", hint="or None for all genes")
    base = log_base if log_base is not None else _log_base(data)
    with opened(data, options) as (source, expr), using(expr, dask_client):
        field = categorical_field(source, groupby)
        cats = list(field.categories)
        codes = np.asarray(field.codes, dtype=np.int64)
        counts = np.bincount(codes[codes >= 0], minlength=len(cats))
        chosen = list(range(len(cats))) if groups is None else _chosen(groups, cats, groupby)
        small = [f"{cats[k]} ({counts[k]})" for k in chosen if counts[k] < 2 or expr.n_cells - counts[k] < 2]
        if small:
            raise BadParameter(f"categories of {groupby!r} with fewer than two cells (or leaving fewer than two "
                               f"for the rest) cannot be tested: {list_names(small, quote=False)}",
                               hint="pass groups=[...] with the categories to test")
        per_cat = per_category(expr, "sums", codes, len(cats), lambda: expr.category_sums(codes, len(cats)))
        totals = expr.totals()
        if method == "wilcoxon":
            table = value_table(expr) if expr.layout == "csr" else None
            if table is not None:
                R = per_category(expr, "rank sums", codes, len(cats),
                                 lambda: category_rank_sums(expr, codes, len(cats), table))
                ties, N = table.ties, expr.n_cells
                n_k = counts.astype(np.float64)
            else:
                R, ties, N, n_k = rank_sums(expr, codes, len(cats))
        names = source.gene_names()
        frames = []
        for k in chosen:
            gs = Sums(per_cat.total[k], per_cat.squares[k], per_cat.nonzero[k], int(counts[k]))
            rs = totals - gs
            if method == "t-test":
                scores, pvals = _welch(gs, rs)
            else:
                scores, pvals = st.wilcoxon_z(R[k], n_k[k], N, ties if tie_correct else None)
            df = _frame(names, scores, pvals, gs, rs, base)
            if n_genes is not None:
                df = df.iloc[:n_genes]
            df.insert(0, "group", cats[k])
            frames.append(df)
        out = pd.concat(frames, ignore_index=True)
        if to_uns:
            from cellucid.analysis._uns import write_uns

            write_uns(data, out, groupby, method, key_added, options.get("expression", "X"), names,
                      [cats[k] for k in chosen], n_genes)
        return out


# Per-category results of the last few groupings per source: one pass over every stored
# entry (seconds at a million cells) that a second markers call on the same field, or the
# server's background preparation of the default field, already paid. Keyed by the codes'
# digest, not the field's name, so a field whose labels change (annotation) is recomputed.
_PER_CATEGORY: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_PER_CATEGORY_KEEP = 8


def per_category(expr, kind: str, codes: np.ndarray, n_groups: int, compute):
    """``compute()``, remembered per ``(kind, codes, n_groups)`` on ``expr``."""
    key = (kind, n_groups, hashlib.blake2b(np.ascontiguousarray(codes).view(np.uint8), digest_size=16).digest())
    memo = _PER_CATEGORY.setdefault(expr, OrderedDict())
    if key in memo:
        memo.move_to_end(key)
        return memo[key]
    value = compute()
    memo[key] = value
    while len(memo) > _PER_CATEGORY_KEEP:
        memo.popitem(last=False)
    return value


def prepare_field(source, expr, groupby: str, method: str = "t-test") -> None:
    """Compute now what :func:`markers` on ``groupby`` needs, so its first call is fast."""
    field = categorical_field(source, groupby)
    codes = np.asarray(field.codes, dtype=np.int64)
    n = len(field.categories)
    per_category(expr, "sums", codes, n, lambda: expr.category_sums(codes, n))
    if method == "wilcoxon" and expr.layout == "csr":
        table = value_table(expr)
        if table is not None:
            per_category(expr, "rank sums", codes, n, lambda: category_rank_sums(expr, codes, n, table))


def _chosen(groups: Any, cats: list[str], groupby: str) -> list[int]:
    names = [groups] if isinstance(groups, str) else list(groups)
    unknown = [g for g in names if g not in cats]
    if unknown:
        raise BadParameter(f"{list_names(unknown)} not categories of {groupby!r}", hint=f"categories: {list_names(cats)}")
    if not names:
        raise BadParameter("groups is empty", hint="pass at least one category, or groups=None for all")
    return [cats.index(g) for g in names]
