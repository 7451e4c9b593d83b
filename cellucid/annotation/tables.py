"""The folder as pandas objects: the votes table, the per-target consensus, and the per-cell
consensus field for an AnnData (or its ``obs``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from cellucid.annotation.folder import AnnotationFolder
from cellucid.annotation.summary import Summary, cell_labels, summarize
from cellucid.data.base import InputError

VOTE_COLUMNS = ["field", "category", "set", "label", "annotator", "votes", "note", "confidence", "time",
                "status", "consensus"]


def _folder(folder) -> AnnotationFolder:
    return folder if isinstance(folder, AnnotationFolder) else AnnotationFolder(folder)


def annotations(folder) -> "Any":
    """One row per vote: the target (``field`` + ``category``, or ``set``), the ``label``,
    the ``annotator``, how many ``votes`` that label has on that target, ``note``,
    ``confidence``, ``time``, and the target's ``status`` and ``consensus`` label."""
    import pandas as pd

    summary = summarize(_folder(folder))
    rows = []
    for t in summary.ordered():
        d = t.decision
        counts = {label: len(names) for label, names in d.voters.items()}
        spelled = {a: label for label, names in d.voters.items() for a in names}
        for annotator, vote in t.votes:
            rows.append({
                "field": t.key[1] if t.key[0] == "category" else None,
                "category": t.key[2] if t.key[0] == "category" else None,
                "set": t.key[1] if t.key[0] == "set" else None,
                "label": vote["label"], "annotator": annotator, "votes": counts[spelled[annotator]],
                "note": vote.get("note", ""), "confidence": vote.get("confidence"), "time": vote.get("time"),
                "status": d.status, "consensus": d.label,
            })
    return pd.DataFrame(rows, columns=VOTE_COLUMNS)


def consensus_table(folder) -> "Any":
    """One row per target: ``status`` (locked/agreed/disputed/pending), the consensus
    ``label``, ``n_votes``, ``margin`` and the ``proposals`` (label → voters)."""
    import pandas as pd

    rows = []
    for t in summarize(_folder(folder)).ordered():
        d = t.decision
        rows.append({"field": t.key[1] if t.key[0] == "category" else None,
                     "category": t.key[2] if t.key[0] == "category" else None,
                     "set": t.key[1] if t.key[0] == "set" else None,
                     "status": d.status, "label": d.label, "n_votes": d.n_votes, "margin": d.margin,
                     "proposals": {label: list(names) for label, names in d.voters.items()}})
    return pd.DataFrame(rows, columns=["field", "category", "set", "status", "label", "n_votes", "margin", "proposals"])


def obs_field_getter(obs):
    """``get_field`` over a pandas ``obs``: a column's categories as strings (how the viewer
    and the server name them)."""
    import pandas as pd

    def get(name: str):
        if name not in obs.columns:
            return None
        col = obs[name]
        if isinstance(col.dtype, pd.CategoricalDtype):
            cat = col.cat
        elif col.dtype == object or pd.api.types.is_bool_dtype(col) or pd.api.types.is_string_dtype(col):
            cat = col.astype("category").cat
        else:
            return None  # a continuous column has no categories to label
        return np.asarray(cat.codes, dtype=np.int32), [str(c) for c in cat.categories]

    return get


def _obs_of(data):
    obs = getattr(data, "obs", data)
    if not hasattr(obs, "columns") or not hasattr(obs, "index"):
        raise InputError(f"expected an AnnData or a pandas DataFrame (obs), got {type(data).__name__}",
                         "Pass the AnnData the annotations are for, or its .obs.")
    return obs


def consensus(folder, data, summary: Summary | None = None) -> "Any":
    """The consensus label of every cell of ``data`` (an AnnData or its ``obs``) as a
    categorical ``pandas.Series`` indexed like ``obs`` (missing where nothing is decided;
    ``"disputed"`` where the rule found no majority)."""
    import pandas as pd

    obs = _obs_of(data)
    f = _folder(folder)
    summary = summary or summarize(f)
    codes, categories, _problems = cell_labels(summary, len(obs.index), obs_field_getter(obs))
    values = pd.Categorical.from_codes(codes, categories=categories)
    return pd.Series(values, index=obs.index, name=summary.project.consensus_field)


def annotations_to_obs(adata, folder, key: str | None = None) -> str:
    """Put the consensus into ``adata.obs[key]`` (default: the project's consensus field
    name, ``annotation``) in memory, and return ``key``. Nothing is written to disk: save
    the AnnData yourself when you want the labels in a file."""
    series = consensus(folder, adata)
    key = key or series.name
    _obs_of(adata)[key] = series.values
    return key
