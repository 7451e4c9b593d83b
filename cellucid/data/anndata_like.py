"""The logic shared by every AnnData-shaped source (in-memory AnnData, backed h5ad, zarr).

A :class:`Backend` knows how to fetch single *elements* (one obs column, one obsm array,
the var index, one ``uns`` colors list, the expression matrix) from one kind of storage.
:class:`AnnDataLikeSource` turns a backend into a :class:`~cellucid.data.base.DataSource`:
it discovers embeddings, fields, vector fields and gene id columns once, at open time,
from metadata (shapes, dtypes, encodings) and then reads values on demand.

Discovery rules (also in ``docs/data-sources.md``):

- **Embeddings**: numeric 2D ``obsm`` arrays whose key starts with ``X_`` (``X_umap``,
  ``X_tsne``, ``X_pca``, ``X_draw_graph_fa``, …) or is ``spatial``. The display name drops
  ``X_``. 1 column → dimension 1 only; 2 → 1, 2; 3 or more → 1, 2, 3 (first columns).
  ``<key>_2d`` / ``<key>_3d`` pair with ``<key>`` as one embedding (``X_umap`` +
  ``X_umap_3d`` → one embedding ``X_umap`` in 1, 2 and 3 dimensions; each dimension is read
  from the array of exactly that width when there is one). Order: umap, tsne, draw_graph,
  the others in stored order, pca last. At least one 2D/3D embedding is required.
- **Vector fields**: ``obsm`` keys ``<name>_<basis>_2d`` / ``<name>_<basis>_3d`` and, scVelo
  style, ``velocity_<basis>`` (dimension = its number of columns), where ``<basis>`` is an
  embedding name. Field id ``<name>_<basis>``. A candidate whose width does not match its
  dimension, whose embedding lacks that dimension, or whose basis has no embedding is
  listed by :meth:`AnnDataLikeSource.vector_field_problems`.
- **Fields**: categorical columns → categorical (categories as strings, colors from
  ``uns["<col>_colors"]`` only when the length matches and every entry is a color);
  bool (incl. nullable) → boolean; numeric (incl. nullable) → continuous; strings →
  categorical when they have at most :data:`MAX_STRING_CATEGORIES` distinct values *and*
  at most half as many distinct values as non-missing cells (so per-cell identifiers are
  not offered as a legend); anything else is skipped and listed in
  :meth:`AnnDataLikeSource.skipped_fields`.
- **Genes**: var names of the chosen matrix (``X``, ``raw`` → ``raw.var``, ``layer:NAME``);
  id columns: ``gene_id_column`` first when given, then any of :data:`GENE_ID_COLUMNS`
  present.
"""

from __future__ import annotations

import abc
import re
import sys
from typing import Any, Iterable

import numpy as np

# pandas is imported only where values are pandas objects (an in-memory AnnData, or an
# encoding the store reader hands to anndata): a backed store's columns arrive as numpy
# arrays or cellucid.data.elements types, and importing pandas would cost ~0.3 s at start.
from cellucid.data.base import (
    BadParameter,
    DatasetSummary,
    DataSource,
    EmbeddingInfo,
    FieldData,
    FieldInfo,
    InputError,
    NoEmbedding,
    NotFound,
    SourceKind,
    SourceOptions,
    VectorFieldInfo,
)
from cellucid.data.elements import Categorical, Masked
from cellucid.data.expression import ColumnReader, column_reader
from cellucid.data.matrix_choice import Expression

MAX_STRING_CATEGORIES = 1000
GENE_ID_COLUMNS = ("gene_ids", "gene_id", "gene_symbols", "feature_name", "gene_name")
_EMBED_ORDER = (("umap", 0), ("tsne", 1), ("draw_graph", 2), ("pca", 4))
_PAIR_SUFFIX = re.compile(r"^(?P<base>.+)_(?P<dim>[23])d$")
_VECTOR_ND = re.compile(r"^(?P<name>.+)_(?P<basis>[A-Za-z0-9]+(?:_[A-Za-z0-9]+)*)_(?P<dim>[23])d$")
_HEX = re.compile(r"^#([0-9a-fA-F]{6})([0-9a-fA-F]{2})?$")
_HEX3 = re.compile(r"^#([0-9a-fA-F]{3})$")


def _list(names: Iterable[str], limit: int = 30) -> str:
    names = list(names)
    shown = ", ".join(repr(n) for n in names[:limit])
    more = f", … ({len(names) - limit} more)" if len(names) > limit else ""
    return (shown + more) if names else "(none)"


# ---------------------------------------------------------------------------------------
# Backend: element access for one storage kind
# ---------------------------------------------------------------------------------------


class Backend(abc.ABC):
    """Reads individual AnnData elements. ``var`` arguments are ``"var"`` or ``"raw"``."""

    n_obs: int

    @abc.abstractmethod
    def obs_columns(self) -> list[str]:
        """obs column names in stored order."""

    @abc.abstractmethod
    def obs_column_hint(self, name: str) -> str:
        """Cheap classification from metadata: ``categorical``, ``boolean``,
        ``continuous``, ``string`` (needs a look at values) or ``unsupported: reason``."""

    @abc.abstractmethod
    def obs_column(self, name: str) -> Any:
        """Values of one obs column (pandas Categorical, numpy array or pandas array)."""

    def n_categories(self, name: str) -> int:
        """Number of categories of a categorical obs column (backends may read metadata only)."""
        values = self.obs_column(name)
        if isinstance(values, Categorical):
            return len(values.categories)
        import pandas as pd

        cat = values if isinstance(values, pd.Categorical) else pd.Categorical(values)
        return len(cat.categories)

    @abc.abstractmethod
    def obs_names(self) -> np.ndarray:
        """All cell names (object array of str)."""

    def obs_names_at(self, indices: np.ndarray) -> np.ndarray:
        """Cell names at ``indices`` (in range); backends may read just those entries."""
        return self.obs_names()[indices]

    @abc.abstractmethod
    def obsm_shapes(self) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
        """Shape and dtype of every array-valued obsm entry (dataframes etc. left out)."""

    @abc.abstractmethod
    def obsm_array(self, key: str, ncols: int | None) -> np.ndarray:
        """The first ``ncols`` columns (all when ``None``) of an obsm array, float32."""

    def has_obsp(self, key: str) -> bool:
        """Whether ``obsp[key]`` is present (metadata only)."""
        return False

    def obsp_matrix(self, key: str) -> Any:
        """``obsp[key]`` as a scipy CSR matrix."""
        raise KeyError(key)

    @abc.abstractmethod
    def var_names(self, var: str) -> np.ndarray:
        """Var index (object array of str)."""

    @abc.abstractmethod
    def var_columns(self, var: str) -> list[str]:
        """Var column names."""

    @abc.abstractmethod
    def var_column(self, var: str, name: str) -> Any:
        """Values of one var column."""

    @abc.abstractmethod
    def uns_colors(self, name: str) -> Any:
        """``uns["<name>_colors"]`` or ``None``."""

    @abc.abstractmethod
    def has_x(self) -> bool:
        """Whether X is present (not ``None``)."""

    @abc.abstractmethod
    def has_raw(self) -> bool:
        """Whether ``raw`` (with X and var) is present."""

    @abc.abstractmethod
    def layers(self) -> list[str]:
        """Layer names."""

    @abc.abstractmethod
    def matrix(self, expression: Expression) -> Any:
        """The matrix object for ``X``, ``raw`` or ``layer:NAME`` (validated by the caller)."""

    def close(self) -> None:
        """Release resources. Idempotent."""


# ---------------------------------------------------------------------------------------
# Value conversion helpers
# ---------------------------------------------------------------------------------------


def _hint_from_dtype(dtype: Any) -> str:
    """Classify a pandas/numpy dtype without looking at values."""
    import pandas as pd

    if isinstance(dtype, pd.CategoricalDtype):
        return "categorical"
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
        return "continuous"
    if pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
        return "string"
    return f"unsupported: values of type {dtype}"


def array_hint(dtype: Any) -> str:
    """Classify a numpy array column by its dtype (for backends reading plain datasets):
    ``boolean``, ``continuous``, ``string`` or ``unsupported: …``."""
    kind = np.dtype(dtype).kind
    if kind == "b":
        return "boolean"
    if kind in "iuf":
        return "continuous"
    if kind in "OSUT":
        return "string"
    return f"unsupported: values of type {dtype}"


def _to_str_list(values: Iterable[Any]) -> list[str]:
    if isinstance(values, np.ndarray) and values.ndim == 1 and values.dtype.kind in "OUT":
        items = values.tolist()  # the very objects (object), or str (U, T)
        if set(map(type, items)) <= {str}:  # the usual case, e.g. var names: no Python loop
            return items
    out = []
    for v in values:
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        out.append(str(v))
    return out


def _is_missing_scalar(v: Any) -> bool:
    if v is None:
        return True
    pd = sys.modules.get("pandas")  # pd.NA / NaT can only exist once pandas is imported
    if pd is not None:
        try:
            return bool(pd.isna(v))
        except (TypeError, ValueError):
            return False
    try:
        return bool(v != v)  # NaN, numpy NaT
    except (TypeError, ValueError):
        return False


def _categorical_data(name: str, values: Any, kind: str) -> FieldData:
    if isinstance(values, Categorical):  # read directly from the file: no pandas needed
        cat = values
    else:
        import pandas as pd

        cat = values if isinstance(values, pd.Categorical) else pd.Categorical(values)
    codes = np.asarray(cat.codes, dtype=np.int32)
    return FieldData(
        name=name,
        kind=kind,  # type: ignore[arg-type]
        codes=codes,
        categories=_to_str_list(cat.categories),
        n_missing=int(np.count_nonzero(codes < 0)),
    )


def _boolean_data(name: str, values: Any) -> FieldData:
    if isinstance(values, Masked):
        mask = np.asarray(values.mask, dtype=bool)
        codes = np.where(mask, -1, np.asarray(values.values, dtype=bool).astype(np.int32)).astype(np.int32)
        return FieldData(name=name, kind="boolean", codes=codes, categories=["False", "True"],
                         n_missing=int(np.count_nonzero(mask)))
    if isinstance(values, np.ndarray) and values.dtype == bool:
        codes = values.astype(np.int32)
        return FieldData(name=name, kind="boolean", codes=codes, categories=["False", "True"], n_missing=0)
    import pandas as pd

    arr = pd.array(values, dtype="boolean") if not isinstance(values, np.ndarray) or values.dtype != bool else values
    if isinstance(arr, np.ndarray):
        codes = arr.astype(np.int32)
    else:
        mask = np.asarray(arr.isna())
        codes = np.where(mask, -1, np.asarray(arr.fillna(False), dtype=np.int32)).astype(np.int32)
    return FieldData(
        name=name,
        kind="boolean",
        codes=codes,
        categories=["False", "True"],
        n_missing=int(np.count_nonzero(codes < 0)),
    )


def _continuous_data(name: str, values: Any) -> FieldData:
    if isinstance(values, np.ndarray):
        out = values.astype(np.float32)
    elif isinstance(values, Masked):
        out = np.asarray(values.values).astype(np.float32)
        out[np.asarray(values.mask, dtype=bool)] = np.nan
    else:  # pandas nullable array: NA → NaN
        import pandas as pd

        out = pd.array(values).to_numpy(dtype=np.float32, na_value=np.nan)
    return FieldData(
        name=name,
        kind="continuous",
        values=np.ascontiguousarray(out, dtype=np.float32),
        n_missing=int(np.count_nonzero(np.isnan(out))),
    )


def _string_categories(values: Any) -> tuple[np.ndarray | None, list[str] | None, int, int]:
    """Factorize strings: ``(codes, categories, n_distinct, n_present)`` — codes int32 with
    -1 = missing, sorted categories, number of distinct and of non-missing values. Codes and
    categories are ``None`` when the strings are not categorical
    (:func:`_string_is_categorical`): nobody needs them then."""
    plain = _plain_strings(values)
    if plain is not None:
        return _factorize_str(*plain)
    import pandas as pd

    series = pd.Series(np.asarray(values, dtype=object))
    missing = series.isna().to_numpy()
    strings = series.where(~missing, None).map(lambda v: v.decode() if isinstance(v, bytes) else v)
    codes, uniques = pd.factorize(strings, sort=True, use_na_sentinel=True)
    n_present = int((~missing).sum())
    if not _string_is_categorical(len(uniques), n_present):
        return None, None, len(uniques), n_present
    return codes.astype(np.int32), _to_str_list(uniques), len(uniques), n_present


def _plain_strings(values: Any) -> tuple[list[str], np.ndarray | None] | None:
    """``(strings, missing mask or None)`` when ``values`` holds only ``str`` (with a mask
    for a nullable string column), else ``None`` (then pandas handles the odd cases)."""
    if isinstance(values, Masked):
        mask = np.asarray(values.mask, dtype=bool)
        inner = _plain_strings(values.values)
        if inner is None or inner[1] is not None:
            return None
        return inner[0], mask
    if not isinstance(values, np.ndarray) or values.ndim != 1:
        return None
    if values.dtype.kind in "UT":
        return values.tolist(), None
    if values.dtype.kind == "O":
        items = values.tolist()
        if not items or set(map(type, items)) == {str}:
            return items, None
    return None


def _factorize_str(items: list[str], missing: np.ndarray | None):
    """:func:`_string_categories` for plain strings: what ``pandas.factorize(sort=True)``
    gives, with C-level set/dict work instead of pandas. A column that is not categorical
    (say a million barcodes) costs one ``set``: no sort, no per-cell codes."""
    present = items if missing is None else [v for v, m in zip(items, missing.tolist()) if not m]
    distinct = set(present)
    if not _string_is_categorical(len(distinct), len(present)):
        return None, None, len(distinct), len(present)
    uniques = sorted(distinct)  # str order = code points, as pandas sorts
    lookup = {v: i for i, v in enumerate(uniques)}
    found = np.fromiter(map(lookup.__getitem__, present), dtype=np.int32, count=len(present))
    if missing is None:
        return found, uniques, len(uniques), len(present)
    codes = np.full(len(items), -1, dtype=np.int32)
    codes[~missing] = found
    return codes, uniques, len(uniques), len(present)


def _string_is_categorical(n_distinct: int, n_present: int) -> bool:
    return n_distinct <= MAX_STRING_CATEGORIES and n_distinct * 2 <= max(n_present, 1)


def normalize_colors(raw: Any, n: int) -> list[str] | None:
    """``uns`` colors as ``#rrggbb`` strings, or ``None`` if the length differs from ``n``
    or an entry is not a color."""
    if raw is None:
        return None
    try:
        values = _to_str_list(np.asarray(raw).reshape(-1))
    except Exception:  # noqa: BLE001 - anything odd in uns is simply not used
        return None
    if len(values) != n:
        return None
    out = []
    for v in values:
        v = v.strip()
        m = _HEX.match(v)
        if m:
            out.append("#" + m.group(1).lower())
            continue
        m = _HEX3.match(v)
        if m:
            out.append("#" + "".join(c * 2 for c in m.group(1).lower()))
            continue
        try:  # named colors ("red", "tab:blue") when matplotlib is around
            from matplotlib.colors import to_hex

            out.append(to_hex(v))
        except Exception:  # noqa: BLE001
            return None
    return out


# ---------------------------------------------------------------------------------------
# Embedding and vector discovery (pure functions of the obsm shapes)
# ---------------------------------------------------------------------------------------


class _Embedding:
    """One displayed embedding: its display key/name and the arrays it is read from."""

    def __init__(self, key: str, name: str, members: dict[str, int]):
        self.key, self.name, self.members = key, name, members  # obsm key -> width

    @property
    def n_columns(self) -> int:
        return max(self.members.values())

    @property
    def dimensions(self) -> tuple[int, ...]:
        return tuple(d for d in (1, 2, 3) if d <= self.n_columns)

    def member_for(self, dim: int) -> str:
        exact = [k for k, w in self.members.items() if w == dim]
        if exact:
            return exact[0]
        wide = sorted((w, k) for k, w in self.members.items() if w >= dim)
        return wide[0][1]

    def info(self) -> EmbeddingInfo:
        return EmbeddingInfo(key=self.key, name=self.name, dimensions=self.dimensions, n_columns=self.n_columns)


def _is_numeric(dtype: Any) -> bool:
    try:
        return np.dtype(dtype).kind in "iuf"
    except TypeError:
        return False


def discover_embeddings(
    shapes: dict[str, tuple[tuple[int, ...], Any]], n_obs: int
) -> tuple[list[_Embedding], list[str]]:
    """Embeddings (display order) and notes on obsm entries that were not usable."""
    notes: list[str] = []
    usable: dict[str, int] = {}
    for key, (shape, dtype) in shapes.items():
        if not (key.startswith("X_") or key == "spatial"):
            continue
        if len(shape) != 2 or not _is_numeric(dtype):
            notes.append(f"obsm[{key!r}] is not a numeric 2D array")
        elif shape[0] != n_obs:
            notes.append(f"obsm[{key!r}] has {shape[0]} rows for {n_obs} cells")
        elif shape[1] < 1:
            notes.append(f"obsm[{key!r}] has no columns")
        else:
            usable[key] = int(shape[1])

    groups: dict[str, dict[str, int]] = {}
    for key, width in usable.items():
        m = _PAIR_SUFFIX.match(key)
        base = m.group("base") if m and m.group("base") in usable else key
        groups.setdefault(base, {})[key] = width
    # A lone X_umap_3d is still the "umap" embedding (its vectors use basis "umap").
    embeds = []
    for order, (key, members) in enumerate(groups.items()):
        stem = key[2:] if key.startswith("X_") else key
        m = _PAIR_SUFFIX.match(stem)
        name = m.group("base") if m else stem
        embeds.append((order, _Embedding(key, name, members)))

    def rank(item):
        order, e = item
        # A MuData modality's embedding ("rna:umap") comes after the global ones.
        modality = ":" in e.name
        for prefix, r in _EMBED_ORDER:
            if e.name.rsplit(":", 1)[-1].startswith(prefix):
                return (modality, r, order)
        return (modality, 3, order)

    return [e for _, e in sorted(embeds, key=rank)], notes


class _Vector:
    def __init__(self, field_id: str, name: str, basis: str):
        self.field_id, self.name, self.basis = field_id, name, basis
        self.members: dict[int, str] = {}
        self.problems: list[str] = []

    def info(self) -> VectorFieldInfo:
        return VectorFieldInfo(
            field_id=self.field_id,
            label=f"{self.name} ({self.basis})",
            basis=self.basis,
            dimensions=dict(sorted(self.members.items())),
            problems=tuple(self.problems),
        )


def discover_vectors(
    shapes: dict[str, tuple[tuple[int, ...], Any]],
    n_obs: int,
    embeddings: list[_Embedding],
) -> tuple[list[_Vector], list[str]]:
    """Usable vector fields and the problems of rejected candidates."""
    by_basis = {e.name: e for e in embeddings}
    embed_keys = {k for e in embeddings for k in e.members}
    fields: dict[str, _Vector] = {}
    problems: list[str] = []
    # Longest basis names first, so "draw_graph_fa" wins over a shorter suffix.
    bases = sorted(by_basis, key=len, reverse=True)

    def candidate(key: str) -> tuple[str, str, int | None] | None:
        for basis in bases:
            for dim in (2, 3):
                suffix = f"_{basis}_{dim}d"
                if key.endswith(suffix) and len(key) > len(suffix):
                    return key[: -len(suffix)], basis, dim
            if key == f"velocity_{basis}":
                return "velocity", basis, None
        return None

    # Explicit _2d/_3d keys first so they take precedence over scVelo-style keys.
    keys = sorted((k for k in shapes if k not in embed_keys), key=lambda k: (_PAIR_SUFFIX.match(k) is None, k))
    for key in keys:
        shape, dtype = shapes[key]
        found = candidate(key)
        if found is None:
            m = _VECTOR_ND.match(key)
            if m and not key.startswith("X_"):
                problems.append(f"{key}: no embedding for basis {m.group('basis')!r}")
            continue
        name, basis, dim = found
        if len(shape) != 2 or not _is_numeric(dtype):
            problems.append(f"{key}: not a numeric 2D array")
            continue
        if shape[0] != n_obs:
            problems.append(f"{key}: has {shape[0]} rows for {n_obs} cells")
            continue
        width = int(shape[1])
        if dim is None:
            if width not in (2, 3):
                problems.append(f"{key}: has {width} columns, expected 2 or 3")
                continue
            dim = width
        elif width != dim:
            problems.append(f"{key}: has {width} columns, expected {dim}")
            continue
        emb = by_basis[basis]
        if dim not in emb.dimensions:
            problems.append(f"{key}: embedding {emb.key} has only {emb.n_columns} columns")
            continue
        field_id = f"{name}_{basis}"
        vec = fields.setdefault(field_id, _Vector(field_id, name, basis))
        vec.members.setdefault(dim, key)

    default_basis = embeddings[0].name if embeddings else None
    ordered = sorted(
        fields.values(), key=lambda v: (v.basis != default_basis, v.name != "velocity", v.field_id)
    )
    return ordered, problems


# ---------------------------------------------------------------------------------------
# The source
# ---------------------------------------------------------------------------------------


class AnnDataLikeSource(DataSource):
    """A :class:`DataSource` over a :class:`Backend` (see the module docstring for rules)."""

    def __init__(self, backend: Backend, options: SourceOptions, kind: SourceKind, default_name: str):
        self.kind = kind
        self._backend = backend
        self._options = options
        self._closed = False
        self._name = options.dataset_name or default_name
        n = backend.n_obs
        self._n_obs = n

        shapes = backend.obsm_shapes()
        self._embeds, self._embed_notes = discover_embeddings(shapes, n)
        if not any(2 in e.dimensions for e in self._embeds):
            raise NoEmbedding(
                "the dataset has no 2D or 3D embedding to show",
                hint=f"obsm keys present: {_list(shapes)}. Compute one (e.g. scanpy.tl.umap) "
                "or store coordinates under obsm['X_<name>'] with 2 or 3 columns.",
            )
        self._embed_by_key = {e.key: e for e in self._embeds}
        self._vectors, self._vector_problems = discover_vectors(shapes, n, self._embeds)
        self._vector_by_id = {v.field_id: v for v in self._vectors}

        self._latent_key = self._pick_latent(options.latent_key, shapes)
        self._latent_dims = int(shapes[self._latent_key][0][1]) if self._latent_key else None
        self._fields, self._skipped, self._string_cache = self._discover_fields(options.obs_keys)
        self._field_by_name = {f.name: f for f in self._fields}
        self._setup_genes(options)

    # -- discovery helpers --------------------------------------------------------------
    def _pick_latent(self, latent_key: str | None, shapes) -> str | None:
        if latent_key is None:
            ok = "X_pca" in shapes and len(shapes["X_pca"][0]) == 2 and shapes["X_pca"][0][0] == self._n_obs
            return "X_pca" if ok else None
        if latent_key not in shapes:
            raise InputError(
                f"latent_key {latent_key!r} is not an obsm key",
                hint=f"obsm keys present: {_list(shapes)}",
            )
        shape, dtype = shapes[latent_key]
        if len(shape) != 2 or shape[0] != self._n_obs or not _is_numeric(dtype):
            raise InputError(
                f"obsm[{latent_key!r}] cannot be a latent space (shape {tuple(shape)})",
                hint=f"a latent space is a numeric (n_cells × k) array; obsm keys: {_list(shapes)}",
            )
        return latent_key

    def _discover_fields(self, obs_keys):
        columns = self._backend.obs_columns()
        if obs_keys is not None:
            obs_keys = [obs_keys] if isinstance(obs_keys, str) else list(obs_keys)
            unknown = [k for k in obs_keys if k not in columns]
            if unknown:
                raise InputError(
                    f"unknown obs key{'s' if len(unknown) > 1 else ''}: {_list(unknown)}",
                    hint=f"obs columns are: {_list(columns, 60)}",
                )
            wanted = list(dict.fromkeys(obs_keys))
        else:
            wanted = columns
        fields: list[FieldInfo] = []
        skipped: dict[str, str] = {}
        strings: dict[str, FieldData] = {}
        for name in wanted:
            hint = self._backend.obs_column_hint(name)
            if hint == "categorical":
                n_cat = self._backend.n_categories(name)
                fields.append(FieldInfo(name, "categorical", n_cat))
            elif hint == "boolean":
                fields.append(FieldInfo(name, "boolean", 2))
            elif hint == "continuous":
                fields.append(FieldInfo(name, "continuous"))
            elif hint == "string":
                codes, cats, n_distinct, n_present = _string_categories(self._backend.obs_column(name))
                if codes is not None and cats is not None:
                    strings[name] = FieldData(
                        name, "categorical", codes=codes, categories=cats, n_missing=int((codes < 0).sum())
                    )
                    fields.append(FieldInfo(name, "categorical", len(cats)))
                else:
                    skipped[name] = (
                        f"{n_distinct} distinct strings in {n_present} cells: looks like an identifier, "
                        "not a category"
                    )
            else:
                skipped[name] = hint.removeprefix("unsupported: ")
        if obs_keys is not None and skipped:
            name, why = next(iter(skipped.items()))
            raise InputError(f"obs key {name!r} cannot be shown: {why}", hint="leave it out of obs_keys")
        return fields, skipped, strings

    def _setup_genes(self, options: SourceOptions) -> None:
        b = self._backend
        self._matrix_choice = choice = Expression.parse(options.expression)
        which, layer = choice.kind, choice.layer
        self._expression = str(choice)
        self._var = "raw" if which == "raw" else "var"
        self._reader: ColumnReader | None = None
        self._no_genes: str | None = None
        if which == "raw" and not b.has_raw():
            raise InputError(
                "expression='raw' but the dataset has no .raw",
                hint=f"use 'X'{' or layer:NAME with NAME in ' + _list(b.layers()) if b.layers() else ''}",
            )
        if which == "layer" and layer not in b.layers():
            raise InputError(
                f"unknown layer {layer!r}",
                hint=f"layers present: {_list(b.layers())}; or use expression 'X'",
            )
        var_columns = b.var_columns(self._var)
        if options.gene_id_column is not None and options.gene_id_column not in var_columns:
            where = "raw.var" if self._var == "raw" else "var"
            raise InputError(
                f"gene_id_column {options.gene_id_column!r} is not a {where} column",
                hint=f"{where} columns are: {_list(var_columns)}",
            )
        ids = [options.gene_id_column] if options.gene_id_column else []
        ids += [c for c in GENE_ID_COLUMNS if c in var_columns and c not in ids]
        self._id_columns = ids
        self._id_cache: dict[str, np.ndarray] = {}

        if which == "X" and not b.has_x():
            self._no_genes = "X is None: this dataset stores no expression matrix"
            self._genes = np.array([], dtype=object)
            return
        names = b.var_names(self._var)
        self._genes = np.asarray(_to_str_list(names), dtype=object)
        matrix = b.matrix(self._matrix_choice)
        try:
            self._reader = column_reader(matrix)
        except TypeError as exc:
            raise InputError(f"cannot read genes from {self._expression}: {exc}", hint="use another --expression") from None
        rows, cols = self._reader.shape
        if rows != self._n_obs or cols != len(self._genes):
            raise InputError(
                f"{self._expression} has shape {rows} × {cols} but the dataset has "
                f"{self._n_obs} cells × {len(self._genes)} genes",
                hint="the file looks inconsistent; re-save it with anndata",
            )
        if cols == 0:
            self._no_genes = "the dataset has no genes (empty var)"

    # -- DataSource ---------------------------------------------------------------------
    def summary(self) -> DatasetSummary:
        return DatasetSummary(
            name=self._name,
            kind=self.kind,
            n_cells=self._n_obs,
            n_genes=len(self._genes),
            expression=self._expression,
            gene_id_columns=list(self._id_columns),
            latent_key=self._latent_key,
            no_genes_reason=self._no_genes,
        )

    def embeddings(self) -> list[EmbeddingInfo]:
        return [e.info() for e in self._embeds]

    def fields(self) -> list[FieldInfo]:
        return list(self._fields)

    def skipped_fields(self) -> dict[str, str]:
        return dict(self._skipped)

    def vector_fields(self) -> list[VectorFieldInfo]:
        return [v.info() for v in self._vectors]

    def vector_field_problems(self) -> list[str]:
        return list(self._vector_problems)

    def _check_open(self) -> None:
        if self._closed:
            raise InputError("this data source has been closed", hint="open the dataset again")

    def embedding(self, key: str, dim: int) -> np.ndarray:
        self._check_open()
        emb = self._embed_by_key.get(key)
        if emb is None:
            raise NotFound(f"unknown embedding {key!r}", hint=f"embeddings: {_list(self._embed_by_key)}")
        dim = _check_dim(dim, emb.dimensions, f"embedding {key!r}")
        return self._backend.obsm_array(emb.member_for(dim), dim)

    def obs_field(self, name: str) -> FieldData:
        self._check_open()
        info = self._field_by_name.get(name)
        if info is None:
            why = self._skipped.get(name)
            hint = f"column {name!r} is not shown: {why}" if why else f"fields: {_list(self._field_by_name, 60)}"
            raise NotFound(f"unknown obs field {name!r}", hint=hint)
        if name in self._string_cache:
            cached = self._string_cache[name]
            data = FieldData(name, "categorical", codes=cached.codes, categories=list(cached.categories),
                             n_missing=cached.n_missing)
        else:
            values = self._backend.obs_column(name)
            if info.kind == "categorical":
                data = _categorical_data(name, values, "categorical")
            elif info.kind == "boolean":
                data = _boolean_data(name, values)
            else:
                data = _continuous_data(name, values)
        if data.kind == "categorical":
            data.colors = normalize_colors(self._backend.uns_colors(name), len(data.categories or []))
        return data

    def gene_names(self) -> np.ndarray:
        return self._genes

    def gene_ids(self, column: str) -> np.ndarray:
        self._check_open()
        if column not in self._id_columns:
            raise NotFound(f"unknown gene id column {column!r}", hint=f"id columns: {_list(self._id_columns)}")
        cached = self._id_cache.get(column)
        if cached is None:
            values = self._backend.var_column(self._var, column)
            cached = np.asarray(
                ["" if _is_missing_scalar(v) else s for v, s in zip(values, _to_str_list(values))], dtype=object
            )
            self._id_cache[column] = cached
        return cached

    def gene_by_index(self, index: int) -> np.ndarray:
        self._check_open()
        if self._reader is None or self._no_genes:
            raise NotFound("this dataset has no genes", hint=self._no_genes or "")
        try:
            index = int(index)
        except (TypeError, ValueError):
            raise BadParameter(f"gene index {index!r} is not an integer") from None
        if not 0 <= index < len(self._genes):
            raise BadParameter(f"gene index {index} out of range", hint=f"use 0..{len(self._genes) - 1}")
        return self._reader.read(index)

    def gene_sparse_by_index(self, index: int) -> tuple[np.ndarray, np.ndarray] | None:
        # Only readers holding a column-major copy (the gene index) answer; anything unusual
        # (closed, no genes, bad index) goes to gene_by_index, which raises the right error.
        read = getattr(self._reader, "read_sparse", None)
        if read is None or self._closed or not 0 <= int(index) < len(self._genes):
            return None
        return read(int(index))

    def vectors(self, field_id: str, dim: int) -> np.ndarray:
        self._check_open()
        vec = self._vector_by_id.get(field_id)
        if vec is None:
            raise NotFound(
                f"unknown vector field {field_id!r}",
                hint=f"vector fields: {_list(self._vector_by_id)}",
            )
        dim = _check_dim(dim, tuple(vec.members), f"vector field {field_id!r}")
        return self._backend.obsm_array(vec.members[dim], dim)

    def obs_names(self, indices: np.ndarray | None = None) -> np.ndarray:
        self._check_open()
        if indices is None:
            return self._backend.obs_names()
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        if idx.size and (idx.min() < 0 or idx.max() >= self._n_obs):
            raise BadParameter("cell index out of range", hint=f"use 0..{self._n_obs - 1}")
        return self._backend.obs_names_at(idx)

    def latent(self) -> np.ndarray | None:
        self._check_open()
        if self._latent_key is None:
            return None
        return self._backend.obsm_array(self._latent_key, None)

    def latent_dims(self) -> int | None:
        return self._latent_dims

    def latent_given(self) -> bool:
        return self._options.latent_key is not None

    def has_neighbor_graph(self) -> bool:
        return self._backend.has_obsp("connectivities")

    def neighbor_graph(self) -> Any:
        self._check_open()
        if not self.has_neighbor_graph():
            return None
        g = self._backend.obsp_matrix("connectivities")
        if g.shape != (self._n_obs, self._n_obs):
            raise InputError(f"obsp['connectivities'] has shape {g.shape}, expected ({self._n_obs}, {self._n_obs})",
                             hint="recompute it with scanpy.pp.neighbors, or name a latent space with latent_key")
        return g

    def expression_reader(self) -> ColumnReader | None:
        """The reader behind :meth:`gene_by_index` (``None`` without genes), for caches."""
        return self._reader

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._reader = None
            self._backend.close()


def _check_dim(dim: Any, available: tuple[int, ...], what: str) -> int:
    try:
        d = int(dim)
    except (TypeError, ValueError):
        raise BadParameter(f"dimension {dim!r} is not an integer", hint=f"{what} has {list(available)}") from None
    if d not in available:
        raise BadParameter(f"{what} has no dimension {d}", hint=f"available: {sorted(available)}")
    return d
