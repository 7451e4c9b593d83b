"""The one interface every data source implements.

The server, the widget and ``prepare()`` only ever talk to a :class:`DataSource`.
Each input kind (backed ``.h5ad``, ``.zarr``, in-memory ``AnnData``, export folder,
demo generator) lives in its own module and subclasses it. Sources return numpy
arrays and plain dataclasses; they know nothing about HTTP.

Conventions shared by every source:

- Per-cell arrays are in cell order (row order of ``obs``), length ``n_cells``.
- Coordinates and vectors are ``float32`` arrays of shape ``(n_cells, dim)``, *raw*
  (not normalized); the server decides how to encode them.
- Categorical codes are ``int32`` with ``-1`` for missing; continuous values are
  ``float32`` with ``NaN`` for missing.
- Gene expression for one gene is a dense ``float32`` array of length ``n_cells``.
- Every lookup by name raises :class:`NotFound` (with a hint listing close or valid
  names) for an unknown name, never ``KeyError`` from deep inside a library.
"""

from __future__ import annotations

import abc
import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Literal, Sequence

import numpy as np

SourceKind = Literal["h5ad", "zarr", "anndata", "export", "demo", "10x", "loom", "mudata"]
FieldKind = Literal["categorical", "continuous", "boolean"]


class CellucidError(Exception):
    """A problem the user can fix. ``str(err)`` says what is wrong; ``hint`` says what to do."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:  # what the CLI prints
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class InputError(CellucidError):
    """The input path or object cannot be served (missing, wrong kind, corrupt, no embedding)."""


class NoEmbedding(InputError):
    """The input has no 2D/3D embedding. :func:`cellucid.data.open_source` adds the
    ``cellucid prepare IN OUT --embed`` command for the path to the hint."""


class NotFound(CellucidError):
    """An unknown embedding, field, gene or vector field was asked for (HTTP 404)."""


class BadParameter(CellucidError):
    """A request parameter is malformed or out of range (HTTP 400)."""


def category_code_dtype(n_categories: int) -> tuple[str, int]:
    """Smallest unsigned dtype for category codes, and its missing-value code.

    Shared by the HTTP encoding and the export layout, so a served field and an exported
    one use the same codes: uint8 up to 254 categories (255 = missing), uint16 up to 65534
    (65535 = missing), else uint32 (4294967295 = missing).
    """
    if n_categories <= 254:
        return "uint8", 255
    if n_categories <= 65534:
        return "uint16", 65535
    return "uint32", 4294967295


@dataclass(frozen=True)
class EmbeddingInfo:
    """One ``obsm`` embedding the viewer can show.

    ``key`` is the obsm key (``X_umap``); ``name`` the display name (``umap``);
    ``dimensions`` the dimensions it can be shown in (``[1, 2]`` for a 2-column
    embedding, ``[1, 2, 3]`` for 3+ columns); ``n_columns`` the stored width.
    """

    key: str
    name: str
    dimensions: tuple[int, ...]
    n_columns: int


@dataclass(frozen=True)
class FieldInfo:
    """One ``obs`` column. ``n_categories`` is set for categorical/boolean fields."""

    name: str
    kind: FieldKind
    n_categories: int | None = None


@dataclass
class FieldData:
    """The values of one obs field for all cells.

    For ``categorical``/``boolean``: ``codes`` (int32, -1 = missing), ``categories``
    (list of str) and ``colors`` (list of ``#rrggbb`` or ``None`` when the data has no
    ``uns["<field>_colors"]`` of matching length). For ``continuous``: ``values``
    (float32, NaN = missing). ``n_missing`` counts missing cells.
    """

    name: str
    kind: FieldKind
    codes: np.ndarray | None = None
    categories: list[str] | None = None
    colors: list[str] | None = None
    values: np.ndarray | None = None
    n_missing: int = 0

    def counts(self) -> list[int] | None:
        """Cells per category (categorical/boolean only)."""
        if self.codes is None or self.categories is None:
            return None
        valid = self.codes[self.codes >= 0]
        return np.bincount(valid, minlength=len(self.categories)).astype(int).tolist()


@dataclass(frozen=True)
class VectorFieldInfo:
    """A vector field (e.g. velocity) aligned with one embedding basis.

    ``field_id`` is the id used in URLs and in ``dataset_identity.json``
    (``velocity_umap``); ``basis`` is the embedding name it belongs to (``umap``);
    ``dimensions`` maps each available dimension to the obsm key (or file) it is read
    from. ``problems`` lists human-readable reasons a candidate was not usable (for
    example a dimension mismatch) so the identity can report them.
    """

    field_id: str
    label: str
    basis: str
    dimensions: dict[int, str]
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class GeneHit:
    """One gene-search result: var position, var name and the id-column value if any."""

    index: int
    name: str
    gene_id: str | None = None


@dataclass
class SourceOptions:
    """Options shared by every source (the CLI flags and keyword arguments of SPEC §2).

    ``expression`` is ``"X"``, ``"raw"`` or ``"layer:NAME"``. ``obs_keys`` restricts and
    orders the obs fields shown. ``gene_id_column`` names a var column searchable as an
    alternative gene id. ``latent_key`` names the obsm latent space (default ``X_pca``).
    ``cache_max`` caps the gene-index cache on disk (bytes or ``"10G"``; default
    ``$CELLUCID_CACHE_MAX``, see :func:`cellucid.data.gene_reading.index_cache.cache_limit`).
    ``modality`` picks the MuData modality genes come from (default: the first with a matrix).
    ``storage_options`` go to the fsspec filesystem of a remote URL (``s3://``, ``gs://``,
    ``https://``), e.g. ``{"anon": True}`` or ``{"key": ..., "secret": ..., "endpoint_url": ...}``.
    """

    backed: bool = True
    latent_key: str | None = None
    gene_id_column: str | None = None
    expression: str = "X"
    obs_keys: Sequence[str] | None = None
    dataset_name: str | None = None
    cache_max: str | int | None = None
    modality: str | None = None
    storage_options: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["obs_keys"] = list(self.obs_keys) if self.obs_keys is not None else None
        return d


@dataclass
class DatasetSummary:
    """Counts and names for banners, health and identity."""

    name: str
    kind: SourceKind
    n_cells: int
    n_genes: int
    expression: str
    gene_id_columns: list[str] = field(default_factory=list)
    latent_key: str | None = None
    no_genes_reason: str | None = None


class DataSource(abc.ABC):
    """Abstract data source. Subclasses implement the abstract methods; the rest is shared.

    Lifetime: a source may hold open files; call :meth:`close` (or use ``with``). After
    ``close()`` the source releases every file handle it opened.
    """

    kind: SourceKind
    #: True when every read goes over the network (a remote store): the server then skips
    #: background work that reads the whole matrix (the analysis totals), which would
    #: download all of it.
    reads_are_remote: bool = False

    # -- description -----------------------------------------------------------------
    @abc.abstractmethod
    def summary(self) -> DatasetSummary:
        """Name, kind, cell and gene counts, expression matrix used, gene id columns."""

    @abc.abstractmethod
    def embeddings(self) -> list[EmbeddingInfo]:
        """Embeddings in display order; the first is the default."""

    @abc.abstractmethod
    def fields(self) -> list[FieldInfo]:
        """Obs fields in display order (``obs_keys`` order when given)."""

    @abc.abstractmethod
    def vector_fields(self) -> list[VectorFieldInfo]:
        """Usable vector fields (may be empty); see :class:`VectorFieldInfo`."""

    def vector_field_problems(self) -> list[str]:
        """Candidate vector fields that were rejected, and why (for ``dataset_identity.json``)."""
        return []

    def extra_identity(self) -> dict[str, Any]:
        """Source-specific keys added to ``dataset_identity.json`` (e.g. a MuData's
        ``modalities``, or ``embed`` with the parameters of an embedding computed on open)."""
        return dict(getattr(self, "identity_extra", {}))

    def skipped_fields(self) -> dict[str, str]:
        """Obs columns that are not offered as fields, mapped to the reason (e.g. unique
        strings that look like identifiers). Empty by default."""
        return {}

    # -- data ------------------------------------------------------------------------
    @abc.abstractmethod
    def embedding(self, key: str, dim: int) -> np.ndarray:
        """float32 ``(n_cells, dim)``. For ``dim`` smaller than the stored width, the first
        ``dim`` columns. ``dim=1`` returns the first column only (the viewer adds jitter).
        Raises :class:`NotFound` / :class:`BadParameter`."""

    @abc.abstractmethod
    def obs_field(self, name: str) -> FieldData:
        """All values of one obs field. Raises :class:`NotFound`."""

    @abc.abstractmethod
    def gene_names(self) -> np.ndarray:
        """Var names (object array of str), length ``n_genes``; empty when there are no genes."""

    @abc.abstractmethod
    def gene_ids(self, column: str) -> np.ndarray:
        """Values of a var id column (object array of str). Raises :class:`NotFound`."""

    @abc.abstractmethod
    def gene_by_index(self, index: int) -> np.ndarray:
        """Dense float32 expression of var position ``index`` for all cells."""

    def gene_sparse_by_index(self, index: int) -> tuple[np.ndarray, np.ndarray] | None:
        """The stored cells of var position ``index`` as ``(rows, float32 values)`` when the
        source has them without building the dense column (e.g. from a gene index), else
        ``None``: callers then use :meth:`gene_by_index`. Rows are in cell order unless the
        matrix has duplicates; values may include explicit zeros."""
        return None

    @abc.abstractmethod
    def vectors(self, field_id: str, dim: int) -> np.ndarray:
        """float32 ``(n_cells, dim)`` vectors in the raw units of the embedding."""

    def obs_names(self, indices: np.ndarray | None = None) -> np.ndarray:
        """Cell names (object array of str) for ``indices`` (all cells when ``None``)."""
        raise NotImplementedError

    def latent(self) -> np.ndarray | None:
        """float32 latent space (``latent_key``) or ``None`` when there is none."""
        return None

    def latent_dims(self) -> int | None:
        """Number of columns of :meth:`latent` (``None`` without one); sources that know it
        from metadata override this so asking does not read the array."""
        lat = self.latent()
        return None if lat is None else int(lat.shape[1])

    def latent_given(self) -> bool:
        """Whether the user named the latent space (``latent_key``) rather than it being
        found by default (``X_pca``): a named one wins over a stored neighbour graph."""
        return False

    def has_neighbor_graph(self) -> bool:
        """Whether :meth:`neighbor_graph` has a graph (from metadata, without reading it)."""
        return False

    def neighbor_graph(self) -> Any:
        """``obsp["connectivities"]`` as a scipy CSR matrix (n_cells × n_cells), or ``None``."""
        return None

    def watched_paths(self) -> tuple[str, ...]:
        """Files or folders this source keeps reading while it serves (empty when all data
        is in memory). The server checks they stay unchanged: a file replaced, truncated or
        deleted under an open handle can read as zeros instead of failing."""
        return ()

    def gene_index_progress(self) -> float | None:
        """Fraction (0..1) of a background gene index built, or ``None`` when none is used."""
        return None

    def gene_index_note(self) -> str | None:
        """Why genes are read by scanning instead of from a gene index (it would not fit in
        the cache or on the disk, its build failed, another process builds it), or ``None``."""
        return None

    def close(self) -> None:
        """Release files. Idempotent."""

    # -- shared helpers --------------------------------------------------------------
    def resolve_gene(self, name: str, id_column: str | None = None) -> int:
        """Var position of a gene given by var name or by an id-column value.

        Exact match first, then case-insensitive. With ``id_column`` only that column is
        searched; otherwise var names, then every gene id column of the summary.
        Raises :class:`NotFound` with suggestions.
        """
        from cellucid.data.genes import resolve_gene

        return resolve_gene(self, name, id_column)

    def search_genes(self, query: str, limit: int = 20) -> list[GeneHit]:
        """Genes whose name or id starts with ``query`` (case-insensitive); exact first."""
        from cellucid.data.genes import search_genes

        return search_genes(self, query, limit)

    def gene(self, name: str, id_column: str | None = None) -> np.ndarray:
        """Dense float32 expression of one gene by name or id (see :meth:`resolve_gene`)."""
        return self.gene_by_index(self.resolve_gene(name, id_column))

    def dataset_id(self) -> str:
        """Stable id for the same data: a hash of counts, names of embeddings/fields/genes
        and the first/last cell names. Overridden by sources that store an id."""
        s = self.summary()
        genes = self.gene_names()
        try:
            cells = self.obs_names(np.array([0, s.n_cells - 1])) if s.n_cells else []
        except NotImplementedError:
            cells = []
        payload = json.dumps(
            [
                s.n_cells,
                s.n_genes,
                [e.key for e in self.embeddings()],
                [f.name for f in self.fields()],
                [str(g) for g in genes[:50]],
                [str(c) for c in cells],
                s.expression,
            ]
        )
        return "ds-" + hashlib.sha256(payload.encode()).hexdigest()[:16]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def list_names(names: Iterable[Any], limit: int = 30, quote: bool = True) -> str:
    """``'a', 'b', … (12 more)`` for error hints; ``(none)`` when empty.

    ``quote=False`` joins already formatted entries (``alone (1)``) as they are.
    """
    names = list(names)
    shown = ", ".join(repr(n) if quote else str(n) for n in names[:limit])
    more = f", … ({len(names) - limit} more)" if len(names) > limit else ""
    return (shown + more) if names else "(none)"
