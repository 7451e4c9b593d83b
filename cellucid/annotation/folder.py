"""The annotation folder: ``project.json`` and one JSON file per annotator.

::

    DIR/project.json              author, consensus rule, consensus field name
    DIR/annotators/<slug>-<hash>.json   one annotator's votes, locks and cell sets

Each annotator writes only their own file, so when the folder is a git repository two
people's work never touches the same file and merges cannot conflict. Every write is
atomic (a temporary file in the same folder, then ``os.replace``). Nothing here ever opens
the dataset: the folder is the only thing written.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np

from cellucid.annotation import _names
from cellucid.annotation.rule import Rule
from cellucid.data.base import BadParameter, InputError

PROJECT = "project.json"
ANNOTATORS = "annotators"
FILE_FORMAT = "cellucid-annotations"
PROJECT_FORMAT = "cellucid-annotation-project"
DEFAULT_FIELD = "annotation"
MAX_RANGES = 100_000  # a selection of cells is stored as [start, stop) runs


@dataclass
class Project:
    """``project.json``: who may lock labels (``author``), the :class:`Rule`, and the name of
    the consensus field the viewer shows (``consensus_field``)."""

    author: str | None = None
    rule: Rule = field(default_factory=Rule)
    consensus_field: str = DEFAULT_FIELD

    def to_json(self) -> dict:
        return {"format": PROJECT_FORMAT, "version": 1, "author": self.author,
                "rule": self.rule.to_json(), "consensus_field": self.consensus_field}


@dataclass
class AnnotatorFile:
    """One annotator's file: ``votes`` and ``locks`` (dicts with ``field``+``category`` or
    ``set``, and ``label``), and the definitions of the cell ``sets`` they refer to."""

    annotator: str
    votes: list[dict] = field(default_factory=list)
    locks: list[dict] = field(default_factory=list)
    sets: dict[str, dict] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"format": FILE_FORMAT, "version": 1, "annotator": self.annotator,
                "votes": self.votes, "locks": self.locks, "sets": self.sets}


def target_of(entry: dict) -> tuple:
    """The target a vote or lock is about: ``("category", field, category)`` or ``("set", id)``."""
    if "set" in entry:
        return ("set", entry["set"])
    return ("category", entry["field"], entry["category"])


def target_fields(target: tuple) -> dict:
    return {"set": target[1]} if target[0] == "set" else {"field": target[1], "category": target[2]}


def cells_to_ranges(indices: Iterable[int], n_cells: int) -> list[list[int]]:
    """Sorted, de-duplicated cell indices as ``[start, stop)`` runs (compact for selections)."""
    try:
        idx = np.unique(np.asarray(list(indices) if not isinstance(indices, np.ndarray) else indices,
                                   dtype=np.int64))
    except (TypeError, ValueError):
        raise BadParameter("cells must be a list of whole-number cell indices",
                           "For example cells=[0, 5, 6, 7].") from None
    if idx.size == 0:
        raise BadParameter("the selection is empty", "Select some cells first.")
    if idx[0] < 0 or idx[-1] >= n_cells:
        raise BadParameter(f"cell index {int(idx[0] if idx[0] < 0 else idx[-1])} is out of range",
                           f"Indices go from 0 to {n_cells - 1}.")
    breaks = np.flatnonzero(np.diff(idx) != 1) + 1
    starts = np.concatenate([[0], breaks])
    stops = np.concatenate([breaks, [idx.size]])
    if starts.size > MAX_RANGES:
        raise BadParameter(f"the selection has {starts.size:,} separate runs of cells (at most {MAX_RANGES:,})",
                           "Label a categorical field's category instead, or a smaller selection.")
    return [[int(idx[a]), int(idx[b - 1]) + 1] for a, b in zip(starts, stops)]


def ranges_to_mask(ranges: list, n_cells: int) -> np.ndarray:
    mask = np.zeros(n_cells, dtype=bool)
    for start, stop in ranges:
        mask[int(start):int(stop)] = True
    return mask


def set_id(ranges: list, n_cells: int) -> str:
    """A content id: the same cells of the same dataset always get the same set id."""
    import hashlib

    digest = hashlib.sha256(json.dumps([n_cells, ranges]).encode()).hexdigest()
    return "cells-" + digest[:12]


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _write_json(path: Path, obj: dict) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(obj, fh, ensure_ascii=False, indent=1, sort_keys=True)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class AnnotationFolder:
    """An annotation folder on disk (created when missing, with ``create=True``).

    >>> folder = AnnotationFolder("labels", create=True)              # doctest: +SKIP
    >>> folder.vote("Ana", field="leiden", category="7", label="CD8 T cell")  # doctest: +SKIP
    """

    def __init__(self, path, create: bool = False, author: str | None = None, rule: Rule | None = None):
        self.path = Path(path).expanduser().resolve()
        self._lock = threading.Lock()
        if self.path.exists() and not self.path.is_dir():
            raise InputError(f"{self.path} is a file, not an annotation folder",
                             "Give a folder (it is created if it does not exist), never the data file.")
        if not (self.path / PROJECT).is_file():
            if not create:
                raise InputError(f"{self.path} is not an annotation folder (no {PROJECT})",
                                 "Create it with `cellucid annotate init DIR --author NAME`, "
                                 "or pass create=True.")
            self.path.mkdir(parents=True, exist_ok=True)
            project = Project(author=_names.clean_name(author) if author else None, rule=rule or Rule())
            _write_json(self.path / PROJECT, project.to_json())
        (self.path / ANNOTATORS).mkdir(exist_ok=True)

    # -- reading --------------------------------------------------------------------
    def project(self) -> Project:
        """``project.json`` as a :class:`Project` (a broken file is an ``InputError``)."""
        try:
            raw = json.loads((self.path / PROJECT).read_text(encoding="utf-8"))
            rule = raw.get("rule") or {}
            author = raw.get("author")
            return Project(author=_names.clean_name(author) if author else None,
                           rule=Rule(int(rule.get("min_votes", 1)), int(rule.get("min_margin", 1))),
                           consensus_field=str(raw.get("consensus_field") or DEFAULT_FIELD))
        except (OSError, ValueError, TypeError, AttributeError, BadParameter) as exc:
            raise InputError(f"{self.path / PROJECT} cannot be read: {exc}",
                             "Fix or restore project.json (it is plain JSON; see docs/annotation.md).") from None

    def files(self) -> list[Path]:
        """The annotator files, in name order (other files in the folder are ignored)."""
        folder = self.path / ANNOTATORS
        if not folder.is_dir():  # removed while served: project() then says what is wrong
            return []
        return sorted(p for p in folder.iterdir() if _names.FILE_PATTERN.match(p.name) and p.is_file())

    def revision(self) -> str:
        """Changes whenever a file of the folder changes (a write here, a git pull, an editor)."""
        parts = []
        for p in [self.path / PROJECT, *self.files()]:
            try:
                st = p.stat()
            except FileNotFoundError:  # removed meanwhile (a git checkout): not part of this revision
                continue
            # st_ino too: every write here is a new file (os.replace), so two writes within one
            # mtime tick still differ
            parts.append(f"{p.name}:{st.st_ino}:{st.st_mtime_ns}:{st.st_size}")
        import hashlib

        return hashlib.sha1("|".join(parts).encode()).hexdigest()[:16]

    def read_all(self) -> tuple[list[AnnotatorFile], list[str]]:
        """Every readable annotator file, and a problem line for each one that is not."""
        out, problems = [], []
        for p in self.files():
            try:
                out.append(self._parse(p))
            except (OSError, ValueError, KeyError, TypeError, AttributeError, BadParameter) as exc:
                problems.append(f"{p.name}: skipped ({exc})")
        return out, problems

    @staticmethod
    def _parse(path: Path) -> AnnotatorFile:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if raw.get("format") != FILE_FORMAT:
            raise ValueError(f"not a {FILE_FORMAT} file")
        name = _names.clean_name(raw["annotator"])
        if _names.file_name(name) != path.name:
            raise ValueError(f"the file of {name!r} must be named {_names.file_name(name)}")
        votes = [v for v in raw.get("votes", []) if isinstance(v, dict) and isinstance(v.get("label"), str)]
        locks = [v for v in raw.get("locks", []) if isinstance(v, dict) and isinstance(v.get("label"), str)]
        for entry in votes + locks:
            target_of(entry)  # KeyError for an entry without a target
        sets = {k: v for k, v in (raw.get("sets") or {}).items() if isinstance(v, dict)}
        return AnnotatorFile(name, votes, locks, sets)

    def annotator_file(self, annotator: str) -> AnnotatorFile:
        """``annotator``'s file (empty when they have not annotated yet)."""
        name = _names.clean_name(annotator)
        path = self.path / ANNOTATORS / _names.file_name(name)
        if not path.is_file():
            return AnnotatorFile(name)
        loaded = self._parse(path)
        loaded.annotator = name  # the spelling used now
        return loaded

    # -- writing (each annotator only ever writes their own file) ------------------
    def _save(self, data: AnnotatorFile) -> None:
        _write_json(self.path / ANNOTATORS / _names.file_name(data.annotator), data.to_json())

    def vote(self, annotator: str, label: str, *, field: str | None = None, category=None,
             set: str | None = None, note: str | None = None, confidence: float | None = None,
             set_definition: dict | None = None) -> dict:
        """Record ``annotator``'s vote for ``label`` on a category of a field
        (``field=``, ``category=``) or on a cell set (``set=``); it replaces their earlier
        vote on that target. Proposing a new label is the same call."""
        entry = self._entry(label, field, category, set)
        entry["note"] = _names.clean_text(note, "note", _names.MAX_NOTE, required=False)
        entry["confidence"] = _confidence(confidence)
        entry["time"] = _now()
        with self._lock:
            data = self.annotator_file(annotator)
            target = target_of(entry)
            data.votes = [v for v in data.votes if target_of(v) != target] + [entry]
            if set is not None:
                if set_definition is None and set not in data.sets:
                    raise BadParameter(f"unknown cell set {set!r}",
                                       "Vote on a set somebody proposed, or label cells with label_cells().")
                if set_definition is not None:
                    data.sets[set] = set_definition
            self._save(data)
        return entry

    def label_cells(self, annotator: str, cells, label: str, n_cells: int, *, note: str | None = None,
                    confidence: float | None = None) -> dict:
        """Propose ``label`` for an explicit set of cells (indices into the dataset's
        ``n_cells`` cells, e.g. the current selection). Returns the vote (its ``set`` id is
        what others vote on)."""
        ranges = cells_to_ranges(cells, int(n_cells))
        sid = set_id(ranges, int(n_cells))
        definition = {"n_cells": int(n_cells), "ranges": ranges,
                      "size": int(sum(b - a for a, b in ranges))}
        return self.vote(annotator, label, set=sid, note=note, confidence=confidence, set_definition=definition)

    def retract(self, annotator: str, *, field: str | None = None, category=None, set: str | None = None) -> bool:
        """Remove ``annotator``'s vote on a target; ``True`` when there was one."""
        target = target_of(self._entry("x", field, category, set))
        with self._lock:
            data = self.annotator_file(annotator)
            kept = [v for v in data.votes if target_of(v) != target]
            if len(kept) == len(data.votes):
                return False
            data.votes = kept
            self._save(data)
        return True

    def lock(self, annotator: str, label: str | None, *, field: str | None = None, category=None,
             set: str | None = None) -> None:
        """The project author fixes the consensus ``label`` of a target (``None`` unlocks)."""
        author = self.project().author
        name = _names.clean_name(annotator)
        if author is None or _names.name_key(author) != _names.name_key(name):
            raise BadParameter(f"only the project's author ({author or 'nobody yet'}) can lock labels, not {name!r}",
                               "Set the author with `cellucid annotate init DIR --author NAME` "
                               "(or in project.json).")
        entry = self._entry(label if label is not None else "x", field, category, set)
        target = target_of(entry)
        with self._lock:
            data = self.annotator_file(name)
            data.locks = [v for v in data.locks if target_of(v) != target]
            if label is not None:
                entry["time"] = _now()
                data.locks.append(entry)
            self._save(data)

    @staticmethod
    def _entry(label, field, category, set) -> dict:
        label = _names.clean_text(label, "label", _names.MAX_LABEL)
        if set is not None:
            if field is not None or category is not None:
                raise BadParameter("give either a set or a field and category, not both",
                                   "A label is for one category of one field, or for one cell set.")
            if not isinstance(set, str) or not set.startswith("cells-") or len(set) > 40:
                raise BadParameter(f"not a cell set id: {str(set)[:50]!r}", "Set ids look like cells-0123456789ab.")
            return {"set": set, "label": label}
        if field is None or category is None:
            raise BadParameter("a label needs a field and a category (or a cell set)",
                               "For example field='leiden', category='7'.")
        # Field and category names are kept exactly as the data spells them.
        return {"field": _names.exact_text(field, "field"),
                "category": _names.exact_text(category if isinstance(category, str) else str(category), "category"),
                "label": label}


def _confidence(value) -> float | None:
    if value is None or value == "":
        return None
    try:
        c = float(value)
    except (TypeError, ValueError):
        raise BadParameter(f"confidence must be a number between 0 and 1, got {value!r}",
                           "For example confidence=0.8, or leave it out.") from None
    if not 0.0 <= c <= 1.0:
        raise BadParameter(f"confidence must be between 0 and 1, got {c}", "For example 0.8.")
    return c


def open_beside_data(path, data_paths) -> AnnotationFolder:
    """The annotation folder at ``path`` (created when missing) for a server whose data lives
    at ``data_paths``: refused when it is, or is inside, one of them — the folder is written
    to, and the data must never be."""
    if isinstance(path, AnnotationFolder):
        folder_path = path.path
    else:
        folder_path = Path(path).expanduser().resolve()
    for data in data_paths:
        data = Path(data).resolve()
        if folder_path == data or data in folder_path.parents:
            raise InputError(f"the annotation folder {folder_path} is inside the data ({data})",
                             "Keep annotations in their own folder, next to the data, e.g. "
                             f"--annotations {data.parent / (data.stem + '-annotations')}.")
    return path if isinstance(path, AnnotationFolder) else AnnotationFolder(folder_path, create=True)
