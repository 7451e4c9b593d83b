"""Cell-type annotation: labels, votes and consensus, kept in an annotation folder.

An annotation folder holds ``project.json`` (author, consensus rule) and one JSON file per
annotator (``annotators/<name>-<hash>.json``), so a team sharing the folder through git
never has a merge conflict. It never writes the dataset. See docs/annotation.md.

>>> from cellucid.annotation import AnnotationFolder, annotations, consensus  # doctest: +SKIP
>>> folder = AnnotationFolder("labels", create=True, author="Ana")             # doctest: +SKIP
>>> folder.vote("Ana", field="leiden", category="7", label="CD8 T cell")        # doctest: +SKIP
>>> annotations("labels")            # a DataFrame, one row per vote           # doctest: +SKIP
>>> consensus("labels", adata)       # a categorical Series, one label per cell # doctest: +SKIP
"""

# (no `from __future__ import annotations` here: it would shadow the `annotations` function)
# Loaded on first use: `cellucid --help` imports this package (for `cellucid annotate`) and
# must not pull in numpy and the data layer.
from cellucid._lazy import lazy_attributes

_LAZY = {
    "AnnotationFolder": "cellucid.annotation.folder",
    "Project": "cellucid.annotation.folder",
    "Rule": "cellucid.annotation.rule",
    "decide": "cellucid.annotation.rule",
    "summarize": "cellucid.annotation.summary",
    "cell_labels": "cellucid.annotation.summary",
    "annotations": "cellucid.annotation.tables",
    "consensus": "cellucid.annotation.tables",
    "consensus_table": "cellucid.annotation.tables",
    "annotations_to_obs": "cellucid.annotation.tables",
}

__all__ = list(_LAZY)


__getattr__, __dir__ = lazy_attributes("cellucid.annotation", _LAZY, globals())
