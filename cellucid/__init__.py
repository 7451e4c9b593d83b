"""cellucid — look at a single-cell dataset in a fast WebGL viewer and get selections back.

Public API (imported lazily so ``import cellucid`` stays fast)::

    serve(export_dir)            serve a prepared export folder (blocks; background in Jupyter)
    serve_anndata(data)          serve an .h5ad / .zarr path or an AnnData
    show(export_dir)             the viewer as a notebook widget, for an export folder
    show_anndata(adata)          the viewer as a notebook widget, for AnnData data
    prepare(adata, out_dir)      write an export folder that serves fastest
    demo_anndata(n_cells)        the built-in deterministic demo dataset as AnnData
    rank_genes(data, group)      differential expression of a group against the rest / another group
    markers(data, groupby)       marker genes of every category of a field
    signature_score(data, genes) a per-cell score of a gene list
    correlation(data, x, y)      Pearson / Spearman correlation of two genes or fields
"""

from __future__ import annotations

from cellucid._lazy import lazy_attributes
from cellucid._version import __version__

__all__ = ["__version__", "serve", "serve_anndata", "show", "show_anndata", "prepare", "demo_anndata", "set_proxy",
           "rank_genes", "markers", "signature_score", "correlation"]

_LAZY = {
    "serve": "cellucid.api",
    "serve_anndata": "cellucid.api",
    "show": "cellucid.widget",
    "show_anndata": "cellucid.widget",
    "set_proxy": "cellucid.widget",
    "prepare": "cellucid.export",
    "demo_anndata": "cellucid.data.demo",
    "rank_genes": "cellucid.analysis",
    "markers": "cellucid.analysis",
    "signature_score": "cellucid.analysis",
    "correlation": "cellucid.analysis",
}


# Heavy modules (anndata, tornado, anywidget) load on first use, not at import time.
__getattr__, __dir__ = lazy_attributes("cellucid", _LAZY, globals())
