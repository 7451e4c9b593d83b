"""The server's view of an annotation folder (``--annotations DIR``): the merged summary and
the consensus field, rebuilt only when a file of the folder changed (a vote through the
viewer, a ``cellucid annotate sync``, an editor)."""

from __future__ import annotations

import threading

import numpy as np

from cellucid.annotation.folder import AnnotationFolder
from cellucid.annotation.summary import Summary, cell_labels, summarize
from cellucid.data.base import DataSource, FieldData, NotFound

CATEGORICAL = ("categorical", "boolean")


class AnnotationService:
    """``summary()`` and ``field()`` for one folder and one data source, cached by the
    folder's revision. ``field_name`` is the consensus field's name in this viewer (the
    project's, with ``_consensus`` added when the data already has an obs field of that name)."""

    def __init__(self, folder: AnnotationFolder, source: DataSource, field_names: list[str], n_cells: int):
        self.folder = folder
        self.source = source
        self.n_cells = n_cells
        name = folder.project().consensus_field
        self.field_name = name if name not in field_names else f"{name}_consensus"
        self._categorical = set()
        self._lock = threading.RLock()  # field() builds on summary()
        self._cache: dict[str, object] = {}
        self._rev: str | None = None

    def set_categorical(self, names) -> None:
        self._categorical = set(names)

    def revision(self) -> str:
        return self.folder.revision()

    def _cached(self, what: str, build):
        rev = self.revision()
        with self._lock:
            if self._rev != rev:
                self._cache, self._rev = {}, rev
            if what not in self._cache:
                self._cache[what] = build()
            return self._cache[what]

    def summary(self) -> Summary:
        return self._cached("summary", lambda: summarize(self.folder))

    def payload(self) -> dict:
        """What ``GET /_cellucid/api/annotations`` answers."""
        body = self.summary().to_json()
        body["consensus_field"] = self.field_name
        body["revision"] = self.revision()
        body["problems"] = body["problems"] + self.field_problems()
        return body

    def field(self) -> FieldData:
        """The consensus as a categorical obs field (codes, categories, no colours)."""
        return self._cached("field", self._build_field)[0]

    def field_problems(self) -> list[str]:
        return self._cached("field", self._build_field)[1]

    def _build_field(self):
        codes, categories, problems = cell_labels(self.summary(), self.n_cells, self._get_field)
        return FieldData(self.field_name, "categorical", codes=codes, categories=categories,
                         n_missing=int(np.count_nonzero(codes < 0))), problems

    def _get_field(self, name: str):
        if name not in self._categorical:
            return None
        data = self.source.obs_field(name)
        return np.asarray(data.codes), [str(c) for c in data.categories]

    def categories_of(self, name: str) -> list[str]:
        """The categories of a categorical field (``NotFound`` with the valid names otherwise)."""
        if name not in self._categorical:
            names = ", ".join(sorted(self._categorical)) or "(none)"
            raise NotFound(f"no categorical field {name!r} to label", f"Categorical fields: {names}.")
        return [str(c) for c in self.source.obs_field(name).categories]
