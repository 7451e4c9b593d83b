"""Analysis on any cellucid data source: differential expression, marker genes, gene
signature scores and correlation, with scanpy's conventions (see ``docs/analysis.md``).

This is the data layer: it takes what :func:`cellucid.show_anndata` accepts (or an open
:class:`cellucid.data.base.DataSource`) and never imports the server or the widget, so
Python, the HTTP API and the viewer share one implementation.
"""

from __future__ import annotations

from cellucid.analysis.de import markers, rank_genes
from cellucid.analysis.scores import correlation, signature_score

__all__ = ["rank_genes", "markers", "signature_score", "correlation"]
