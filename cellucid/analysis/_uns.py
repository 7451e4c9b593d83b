"""Writing marker results in scanpy's ``adata.uns["rank_genes_groups"]`` layout."""

from __future__ import annotations

from typing import Any

import numpy as np

from cellucid.data.matrix_choice import Expression

# scanpy stores each of these as a record array with one field per group.
_DTYPES = {"names": "O", "scores": "float32", "logfoldchanges": "float32", "pvals": "float64",
           "pvals_adj": "float64"}


def write_uns(adata: Any, long, groupby: str, method: str, key: str, expression: str, gene_names,
              groups: list[str], n_genes: int | None) -> None:
    """Put ``long`` (the frame :func:`cellucid.markers` returns) into ``adata.uns[key]``:
    ``params``, sorted record arrays ``names``/``scores``/``logfoldchanges``/``pvals``/
    ``pvals_adj`` (rows = ranks, one field per group) and the ``pts`` / ``pts_rest`` frames
    (genes × groups; filled for the genes in the result, like scanpy, for all genes when
    ``n_genes`` is None)."""
    import pandas as pd

    use_raw = expression == "raw"
    layer = Expression.parse(expression).layer
    out: dict[str, Any] = {"params": {"groupby": groupby, "reference": "rest", "method": method,
                                      "use_raw": use_raw, "layer": layer,
                                      "corr_method": "benjamini-hochberg"}}
    by_group = {g: long[long["group"] == g] for g in groups}
    for col, dtype in _DTYPES.items():
        frame = pd.DataFrame({g: by_group[g][col].to_numpy() for g in groups})
        out[col] = frame.to_records(index=False, column_dtypes=dtype)
    index = pd.Index(np.asarray(gene_names, dtype=object).astype(str))
    pts, pts_rest = {}, {}
    for g in groups:
        d = by_group[g].set_index("names")
        pts[g] = d["pct_nz_group"].reindex(index)
        pts_rest[g] = d["pct_nz_reference"].reindex(index)
    out["pts"] = pd.DataFrame(pts, index=index)
    out["pts_rest"] = pd.DataFrame(pts_rest, index=index)
    adata.uns[key] = out
