"""Gene signature scores and correlation (genes or continuous obs fields)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from cellucid.analysis._input import opened
from cellucid.data.base import BadParameter, DataSource, NotFound

SCORE_METHODS = ("mean", "zscore")
CORR_METHODS = ("pearson", "spearman")


def signature_score(data: Any, genes: Any, method: str = "mean", *, name: str = "signature", **options: Any):
    """A per-cell score of a gene list: the mean expression of the genes (``"mean"``), or
    the mean of each gene's z-score over all cells (``"zscore"``; a gene with no variance
    adds 0). Genes are var names or gene-id values; unknown ones are listed in a
    ``UserWarning`` and the others used. Returns a float32 pandas Series indexed like
    ``obs`` (named ``name``), ready for ``adata.obs[name] = ...`` and colouring.

    >>> import cellucid
    >>> ad = cellucid.demo_anndata(1000)
    >>> s = cellucid.signature_score(ad, ["MS4A1", "GENE0012"])
    >>> s.shape
    (1000,)
    """
    import pandas as pd

    names = [genes] if isinstance(genes, str) else [str(g) for g in genes]
    with opened(data, options) as (source, expr):
        score, found, unknown = signature_values(source, names, method)
        if unknown:
            warnings.warn(f"signature_score: {len(unknown)} of {len(names)} genes not found and left out: "
                          f"{', '.join(unknown)}", UserWarning, stacklevel=2)
        return pd.Series(score, index=_obs_index(source), name=name)


def signature_values(source: DataSource, names: list[str], method: str = "mean") -> tuple[np.ndarray, list[str], list[str]]:
    """The score of :func:`signature_score` on an open source as float32 values, with the
    genes used (var names, each once) and the names not found (the HTTP route lists those)."""
    if method not in SCORE_METHODS:
        raise BadParameter(f"unknown method {method!r}", hint=f"use one of {', '.join(SCORE_METHODS)}")
    if not names:
        raise BadParameter("no genes given", hint="pass a list of gene names")
    found, unknown = [], []
    for g in names:
        try:
            found.append(source.resolve_gene(g))
        except NotFound:
            unknown.append(g)
    if not found:
        raise NotFound(f"none of the {len(names)} genes is in the data ({', '.join(unknown[:10])})",
                       hint="check the names (var_names) or pass gene_id_column= for gene ids")
    found = list(dict.fromkeys(found))  # a gene named twice counts once
    acc = np.zeros(int(source.summary().n_cells))
    for j in found:
        col = np.asarray(source.gene_by_index(j), dtype=np.float64)
        if method == "zscore":
            sd = col.std()
            col = (col - col.mean()) / sd if sd > 0 else np.zeros_like(col)
        acc += col
    all_names = source.gene_names()
    return (acc / len(found)).astype(np.float32), [str(all_names[j]) for j in found], unknown


def category_stats(data: Any, groupby: str, genes: list[str], **options: Any):
    """Per category of ``groupby`` and gene: the mean value and the fraction of cells with a
    non-zero value (a dot plot's two numbers). Returns a long DataFrame ``group, names,
    mean, fraction`` in category order, then the order of ``genes``.

    >>> import cellucid
    >>> ad = cellucid.demo_anndata(1000)
    >>> cellucid.analysis.scores.category_stats(ad, "cell_type", ["MS4A1"]).columns.tolist()
    ['group', 'names', 'mean', 'fraction']
    """
    import pandas as pd

    from cellucid.analysis._groups import categorical_field

    names = [genes] if isinstance(genes, str) else [str(g) for g in genes]
    if not names:
        raise BadParameter("no genes given", hint="pass a list of gene names")
    with opened(data, options) as (source, expr):
        field = categorical_field(source, groupby)
        cats = list(field.categories)
        codes = np.asarray(field.codes, dtype=np.int64)
        keep = codes >= 0
        counts = np.bincount(codes[keep], minlength=len(cats)).astype(np.float64)
        rows = []
        for g in names:
            col = np.asarray(source.gene_by_index(source.resolve_gene(g)), dtype=np.float64)[keep]
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = np.bincount(codes[keep], weights=col, minlength=len(cats)) / counts
                frac = np.bincount(codes[keep], weights=(col != 0), minlength=len(cats)) / counts
            rows.append((g, mean, frac))
        return pd.DataFrame({
            "group": [c for c in cats for _ in names],
            "names": [g for _ in cats for g, _, _ in rows],
            "mean": [m[k] for k in range(len(cats)) for _, m, _ in rows],
            "fraction": [f[k] for k in range(len(cats)) for _, _, f in rows],
        })


def _obs_index(source: DataSource):
    import pandas as pd

    try:
        return pd.Index(source.obs_names().astype(str))
    except NotImplementedError:
        return pd.RangeIndex(source.summary().n_cells)


def _values(source: DataSource, spec: Any, n: int, what: str) -> tuple[np.ndarray, str]:
    """float64 values of a continuous obs field, a gene, or an array of length n."""
    if not isinstance(spec, str):
        v = np.asarray(getattr(spec, "values", spec), dtype=np.float64).reshape(-1)
        if v.size != n:
            raise BadParameter(f"{what} has {v.size} values but the dataset has {n} cells",
                               hint="pass one value per cell, a gene name or a continuous obs field")
        return v, getattr(spec, "name", None) or what
    if spec in {f.name for f in source.fields()}:
        field = source.obs_field(spec)
        if field.values is None:
            raise BadParameter(f"{what} {spec!r} is a categorical field; correlation needs numbers",
                               hint="use a continuous obs field or a gene")
        return np.asarray(field.values, dtype=np.float64), spec
    try:
        j = source.resolve_gene(spec)
    except NotFound as exc:
        cont = [f.name for f in source.fields() if f.kind == "continuous"]
        raise NotFound(f"{what} {spec!r} is neither a gene nor an obs field",
                       hint=f"{exc.hint}; continuous fields: {', '.join(cont) or '(none)'}") from None
    return source.gene_by_index(j).astype(np.float64), spec


def correlation(data: Any, x: Any, y: Any = None, method: str = "pearson", *, n_top: int | None = 50,
                **options: Any):
    """Correlation of two genes or continuous obs fields (names, or arrays of one value per
    cell): returns ``{"r", "p", "n", "method", "x", "y"}``; cells where either value is NaN
    are left out. With ``y=None`` (Pearson only): the genes most correlated with ``x``, a
    DataFrame ``names, r, p`` sorted by ``r`` (highest first; ``n_top`` rows, all with
    ``None``), computed in one pass over the matrix.

    >>> import cellucid
    >>> ad = cellucid.demo_anndata(1000)
    >>> round(cellucid.correlation(ad, "n_counts", "n_counts")["r"], 6)
    1.0
    """
    from scipy import stats

    if method not in CORR_METHODS:
        raise BadParameter(f"unknown method {method!r}", hint=f"use one of {', '.join(CORR_METHODS)}")
    with opened(data, options) as (source, expr):
        n = int(source.summary().n_cells)
        xv, xname = _values(source, x, n, "x")
        if y is None:
            if method != "pearson":
                raise BadParameter("the top correlated genes are computed with method='pearson' only",
                                   hint="use method='pearson', or pass y= for a Spearman correlation of two values")
            return _top_genes(source, expr, xv, n_top)
        yv, yname = _values(source, y, n, "y")
        ok = ~(np.isnan(xv) | np.isnan(yv))
        if ok.sum() < 3:
            raise BadParameter(f"only {int(ok.sum())} cells have both values; a correlation needs at least 3",
                               hint="check the fields for missing values")
        a, b = xv[ok], yv[ok]
        if np.ptp(a) == 0 or np.ptp(b) == 0:
            r, p = float("nan"), float("nan")  # a constant has no correlation
        else:
            res = stats.pearsonr(a, b) if method == "pearson" else stats.spearmanr(a, b)
            r, p = float(res[0]), float(res[1])
        return {"r": r, "p": p, "n": int(ok.sum()), "method": method, "x": xname, "y": yname}


def _top_genes(source: DataSource, expr, xv: np.ndarray, n_top: int | None):
    import pandas as pd
    from scipy import stats

    ok = ~np.isnan(xv)
    n = int(ok.sum())
    if n < 3:
        raise BadParameter("fewer than 3 cells have a value of x", hint="check x for missing values")
    rows = np.flatnonzero(ok)
    sums = expr.totals() if n == expr.n_cells else expr.group_sums(rows)
    w = np.where(ok, xv, 0.0)
    sx, sxx = w.sum(), (w * w).sum()
    sxg = expr.dot(w)
    with np.errstate(invalid="ignore", divide="ignore"):
        num = n * sxg - sx * sums.total
        den = np.sqrt(max(n * sxx - sx * sx, 0.0) * np.maximum(n * sums.squares - sums.total ** 2, 0.0))
        r = np.clip(num / den, -1.0, 1.0)
        t = r * np.sqrt((n - 2) / np.maximum(1.0 - r * r, 1e-300))
    p = 2.0 * stats.t.sf(np.abs(t), n - 2)
    p[np.isnan(r)] = np.nan
    df = pd.DataFrame({"names": np.asarray(source.gene_names(), dtype=object), "r": r, "p": p})
    df = df.sort_values("r", ascending=False, na_position="last", kind="stable", ignore_index=True)
    return df if n_top is None else df.iloc[:n_top]
