"""Everything the folder says, merged: per target its votes, decision and lock, and the
label of every cell (the consensus field)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from cellucid.annotation import _names
from cellucid.annotation.folder import AnnotationFolder, Project, ranges_to_mask, target_fields, target_of
from cellucid.annotation.rule import DISPUTED, PENDING, Decision, decide

#: ``get_field(name)`` → ``(codes, categories)`` of a categorical field (codes -1 = missing),
#: or ``None`` when the dataset has no such categorical field.
FieldGetter = Callable[[str], "tuple[np.ndarray, list[str]] | None"]


@dataclass
class Target:
    """One labelled target: its ``votes`` (``(annotator, vote dict)`` in time order), the
    author's lock (a label or ``None``) and the rule's :class:`Decision`."""

    key: tuple
    votes: list[tuple[str, dict]] = field(default_factory=list)
    locked: str | None = None
    decision: Decision | None = None

    @property
    def first_time(self) -> str:
        return min((v.get("time") or "" for _, v in self.votes), default="")

    def to_json(self) -> dict:
        d = self.decision
        proposals = [{"label": label, "votes": len(names), "voters": names} for label, names in d.voters.items()]
        proposals.sort(key=lambda p: -p["votes"])
        return {**target_fields(self.key), "status": d.status, "label": d.label, "margin": d.margin,
                "n_votes": d.n_votes, "proposals": proposals,
                "votes": [{"annotator": a, "label": v["label"], "note": v.get("note", ""),
                           "confidence": v.get("confidence"), "time": v.get("time")} for a, v in self.votes]}


@dataclass
class Summary:
    project: Project
    annotators: list[str]
    targets: dict[tuple, Target]
    sets: dict[str, dict]
    problems: list[str]

    def to_json(self) -> dict:
        return {"author": self.project.author, "rule": self.project.rule.to_json(),
                "consensus_field": self.project.consensus_field, "annotators": self.annotators,
                "targets": [t.to_json() for t in self.ordered()],
                "sets": {k: {"size": v.get("size"), "n_cells": v.get("n_cells")} for k, v in self.sets.items()},
                "problems": self.problems}

    def ordered(self) -> list[Target]:
        """Category targets, then cell sets, each by the time of their first vote: the order
        in which they are painted onto cells (a later one wins where they overlap)."""
        return sorted(self.targets.values(), key=lambda t: (t.key[0] == "set", t.first_time, t.key))


def summarize(folder: AnnotationFolder) -> Summary:
    """Read every annotator file and apply the project's rule to every target."""
    project = folder.project()
    files, problems = folder.read_all()
    author_key = _names.name_key(project.author) if project.author else None
    targets: dict[tuple, Target] = {}
    sets: dict[str, dict] = {}
    for f in files:
        sets.update(f.sets)
        for vote in f.votes:
            key = target_of(vote)
            targets.setdefault(key, Target(key)).votes.append((f.annotator, vote))
        if author_key is not None and _names.name_key(f.annotator) == author_key:
            for lock in f.locks:
                targets.setdefault(target_of(lock), Target(target_of(lock))).locked = lock["label"]
    for t in targets.values():
        t.votes.sort(key=lambda av: (av[1].get("time") or "", av[0]))
        t.decision = decide([(a, v["label"]) for a, v in t.votes], project.rule, t.locked)
    return Summary(project, [f.annotator for f in files], targets, sets, problems)


def cell_labels(summary: Summary, n_cells: int, get_field: FieldGetter) -> tuple[np.ndarray, list[str], list[str]]:
    """Per cell: codes (int32, -1 = no label) into the returned categories, and problems.

    Each decided target paints its cells in :meth:`Summary.ordered` order: its label when
    locked or agreed, ``"disputed"`` when disputed; pending targets paint nothing."""
    codes = np.full(n_cells, -1, dtype=np.int32)
    categories: list[str] = []
    index: dict[str, int] = {}
    problems: list[str] = []
    fields: dict[str, tuple | None] = {}
    for t in summary.ordered():
        status = t.decision.status
        if status == PENDING:
            continue
        label = DISPUTED if status == DISPUTED else t.decision.label
        mask = _cells_of(t.key, summary, n_cells, get_field, fields, problems)
        if mask is None:
            continue
        code = index.setdefault(label, len(categories))
        if code == len(categories):
            categories.append(label)
        codes[mask] = code
    return codes, categories, problems


def _cells_of(key, summary, n_cells, get_field, fields, problems):
    if key[0] == "set":
        definition = summary.sets.get(key[1])
        if definition is None or int(definition.get("n_cells", -1)) != n_cells:
            problems.append(f"cell set {key[1]} is not for this dataset ({n_cells} cells); skipped")
            return None
        return ranges_to_mask(definition["ranges"], n_cells)
    name, category = key[1], key[2]
    if name not in fields:
        fields[name] = get_field(name)
        if fields[name] is None:
            problems.append(f"the dataset has no categorical field {name!r}; its labels are skipped")
    got = fields[name]
    if got is None:
        return None
    codes, cats = got
    try:
        code = list(cats).index(category)
    except ValueError:
        problems.append(f"{name!r} has no category {category!r}; its label is skipped")
        return None
    return np.asarray(codes) == code
