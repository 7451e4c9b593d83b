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

from __future__ import annotations

from cellucid.annotation.folder import AnnotationFolder, Project
from cellucid.annotation.rule import Rule, decide
from cellucid.annotation.summary import cell_labels, summarize
from cellucid.annotation.tables import annotations, annotations_to_obs, consensus, consensus_table

__all__ = ["AnnotationFolder", "Project", "Rule", "decide", "summarize", "cell_labels", "annotations",
           "consensus", "consensus_table", "annotations_to_obs"]
