"""Gene lookup and search for any :class:`~cellucid.data.base.DataSource`.

A :class:`GeneLookup` is built once per source (on first use, then cached on the source
object) from its var names and gene id columns: exact dictionaries, lowercase
dictionaries, and sorted lowercase keys for prefix search by binary search — so each
lookup or search costs ``O(log n + results)`` rather than a pass over every gene.
"""

from __future__ import annotations

import difflib
import threading
from typing import TYPE_CHECKING

import numpy as np

from cellucid.data.base import GeneHit, NotFound

if TYPE_CHECKING:
    from cellucid.data.base import DataSource

_LOCK = threading.Lock()


class _Column:
    """Exact / lowercase / prefix index over one list of names (var names or an id column)."""

    def __init__(self, values: np.ndarray):
        self.values = [str(v) for v in values]
        self.exact: dict[str, int] = {}
        self.lower: dict[str, int] = {}
        for i, v in enumerate(self.values):
            self.exact.setdefault(v, i)
            self.lower.setdefault(v.lower(), i)
        low = np.array([v.lower() for v in self.values], dtype=str) if self.values else np.array([], dtype=str)
        order = np.argsort(low, kind="stable")
        self.sorted_keys = low[order]
        self.sorted_index = order

    def find(self, name: str) -> int | None:
        hit = self.exact.get(name)
        return hit if hit is not None else None

    def find_ci(self, name: str) -> int | None:
        return self.lower.get(name.lower())

    def prefix(self, query: str) -> np.ndarray:
        """Var positions whose lowercase value starts with ``query`` (lowercase), sorted by value."""
        q = query.lower()
        lo = np.searchsorted(self.sorted_keys, q, side="left")
        hi = np.searchsorted(self.sorted_keys, q + "\U0010ffff", side="left")
        return self.sorted_index[lo:hi]


class GeneLookup:
    """Indexes of a source's var names and id columns."""

    def __init__(self, source: "DataSource"):
        s = source.summary()
        self.n_genes = len(source.gene_names())
        self.no_genes_reason = s.no_genes_reason
        self.names = _Column(source.gene_names())
        self.id_columns = {c: _Column(source.gene_ids(c)) for c in s.gene_id_columns} if self.n_genes else {}
        self.first_id = s.gene_id_columns[0] if s.gene_id_columns else None

    def hit(self, index: int) -> GeneHit:
        gid = self.id_columns[self.first_id].values[index] if self.first_id in self.id_columns else None
        return GeneHit(index=int(index), name=self.names.values[index], gene_id=gid or None)


def lookup_for(source: "DataSource") -> GeneLookup:
    """The cached :class:`GeneLookup` of ``source`` (built on first call)."""
    lookup = getattr(source, "_cellucid_gene_lookup", None)
    if lookup is None:
        with _LOCK:
            lookup = getattr(source, "_cellucid_gene_lookup", None)
            if lookup is None:
                lookup = GeneLookup(source)
                source._cellucid_gene_lookup = lookup
    return lookup


def resolve_gene(source: "DataSource", name: str, id_column: str | None = None) -> int:
    """Var position of gene ``name``: exact match first, then case-insensitive.

    With ``id_column`` only that id column is searched; otherwise var names, then each
    gene id column. Raises :class:`NotFound` with close names as the hint.
    """
    lk = lookup_for(source)
    if lk.n_genes == 0:
        raise NotFound(f"unknown gene {name!r}: this dataset has no genes", hint=lk.no_genes_reason or "")
    name = str(name)
    if id_column is not None:
        if id_column not in lk.id_columns:
            cols = ", ".join(lk.id_columns) or "(none)"
            raise NotFound(f"unknown gene id column {id_column!r}", hint=f"id columns: {cols}")
        columns = [lk.id_columns[id_column]]
    else:
        columns = [lk.names, *lk.id_columns.values()]
    for col in columns:
        hit = col.find(name)
        if hit is not None:
            return hit
    for col in columns:
        hit = col.find_ci(name)
        if hit is not None:
            return hit
    raise NotFound(f"unknown gene {name!r}", hint=_suggest(lk, columns, name))


def _suggest(lk: GeneLookup, columns, name: str) -> str:
    # Prefix matches are cheap; fall back to fuzzy matching only over a bounded sample.
    found: list[str] = []
    for col in columns:
        for i in col.prefix(name[:3])[:5]:
            found.append(col.values[int(i)])
    if not found and len(lk.names.values) <= 50000:
        found = difflib.get_close_matches(name, lk.names.values, n=5, cutoff=0.6)
    if found:
        return "did you mean: " + ", ".join(dict.fromkeys(found))
    return "search genes by prefix (GET _cellucid/api/genes?q=...) to find the right name"


def _matches(lk: GeneLookup, query: str) -> list[int]:
    q = query.strip()
    if not q or lk.n_genes == 0:
        return []
    ql = q.lower()
    columns = [lk.names, *lk.id_columns.values()]
    exact: list[int] = []
    prefix: list[int] = []
    for col in columns:
        for i in col.prefix(ql):
            i = int(i)
            (exact if col.values[i].lower() == ql else prefix).append(i)
    return list(dict.fromkeys(exact + prefix))


def search_genes(source: "DataSource", query: str, limit: int = 20) -> list[GeneHit]:
    """Genes whose name or id starts with ``query`` (case-insensitive), exact matches first,
    then prefix matches in alphabetical order; at most ``limit`` results."""
    lk = lookup_for(source)
    return [lk.hit(i) for i in _matches(lk, query)[: max(0, int(limit))]]


def count_gene_matches(source: "DataSource", query: str) -> int:
    """How many genes :func:`search_genes` would find with no limit (for a ``total``)."""
    return len(_matches(lookup_for(source), query))


def make_unique(names) -> np.ndarray:
    """Names with repeats renamed ``NAME-1``, ``NAME-2``, … as ``anndata.utils.make_index_unique``
    does (the first keeps its name; a suffix already taken is skipped), for formats whose
    gene symbols repeat (Cell Ranger features, Loom rows)."""
    out = [str(n) for n in names]
    seen = set(out)
    if len(seen) == len(out):
        return np.asarray(out, dtype=object)
    counts: dict[str, int] = {}
    first: set[str] = set()
    for i, name in enumerate(out):
        if name not in first:
            first.add(name)
            continue
        k = counts.get(name, 0)
        while True:
            k += 1
            candidate = f"{name}-{k}"
            if candidate not in seen:
                break
        counts[name] = k
        seen.add(candidate)
        out[i] = candidate
    return np.asarray(out, dtype=object)
