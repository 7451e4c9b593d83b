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
  categorical when they have at most :data:`~cellucid.data.obs_typing.MAX_STRING_CATEGORIES` distinct values *and*
  at most half as many distinct values as non-missing cells (so per-cell identifiers are
  not offered as a legend); anything else is skipped and listed in
  :meth:`AnnDataLikeSource.skipped_fields`.
- **Genes**: var names of the chosen matrix (``X``, ``raw`` → ``raw.var``, ``layer:NAME``);
  id columns: ``gene_id_column`` first when given, then any of :data:`GENE_ID_COLUMNS`
  present.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cellucid.data.backend import Backend
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
    list_names,
)
from cellucid.data.embedding_discovery import discover_embeddings, discover_vectors, is_numeric
from cellucid.data.gene_reading.columns import ColumnReader, column_reader
from cellucid.data.matrix_choice import Expression
from cellucid.data.obs_typing import (
    boolean_data,
    categorical_data,
    continuous_data,
    is_missing_scalar,
    normalize_colors,
    string_categories,
    to_str_list,
)

GENE_ID_COLUMNS = ("gene_ids", "gene_id", "gene_symbols", "feature_name", "gene_name")


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
                hint=f"obsm keys present: {list_names(shapes)}. Compute one (e.g. scanpy.tl.umap) "
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
                hint=f"obsm keys present: {list_names(shapes)}",
            )
        shape, dtype = shapes[latent_key]
        if len(shape) != 2 or shape[0] != self._n_obs or not is_numeric(dtype):
            raise InputError(
                f"obsm[{latent_key!r}] cannot be a latent space (shape {tuple(shape)})",
                hint=f"a latent space is a numeric (n_cells × k) array; obsm keys: {list_names(shapes)}",
            )
        return latent_key

    def _discover_fields(self, obs_keys):
        columns = self._backend.obs_columns()
        if obs_keys is not None:
            obs_keys = [obs_keys] if isinstance(obs_keys, str) else list(obs_keys)
            unknown = [k for k in obs_keys if k not in columns]
            if unknown:
                raise InputError(
                    f"unknown obs key{'s' if len(unknown) > 1 else ''}: {list_names(unknown)}",
                    hint=f"obs columns are: {list_names(columns, 60)}",
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
                codes, cats, n_distinct, n_present = string_categories(self._backend.obs_column(name))
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
                hint=f"use 'X'{' or layer:NAME with NAME in ' + list_names(b.layers()) if b.layers() else ''}",
            )
        if which == "layer" and layer not in b.layers():
            raise InputError(
                f"unknown layer {layer!r}",
                hint=f"layers present: {list_names(b.layers())}; or use expression 'X'",
            )
        var_columns = b.var_columns(self._var)
        if options.gene_id_column is not None and options.gene_id_column not in var_columns:
            where = "raw.var" if self._var == "raw" else "var"
            raise InputError(
                f"gene_id_column {options.gene_id_column!r} is not a {where} column",
                hint=f"{where} columns are: {list_names(var_columns)}",
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
        self._genes = np.asarray(to_str_list(names), dtype=object)
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
            raise NotFound(f"unknown embedding {key!r}", hint=f"embeddings: {list_names(self._embed_by_key)}")
        dim = _check_dim(dim, emb.dimensions, f"embedding {key!r}")
        return self._backend.obsm_array(emb.member_for(dim), dim)

    def obs_field(self, name: str) -> FieldData:
        self._check_open()
        info = self._field_by_name.get(name)
        if info is None:
            why = self._skipped.get(name)
            hint = f"column {name!r} is not shown: {why}" if why else f"fields: {list_names(self._field_by_name, 60)}"
            raise NotFound(f"unknown obs field {name!r}", hint=hint)
        if name in self._string_cache:
            cached = self._string_cache[name]
            data = FieldData(name, "categorical", codes=cached.codes, categories=list(cached.categories),
                             n_missing=cached.n_missing)
        else:
            values = self._backend.obs_column(name)
            if info.kind == "categorical":
                data = categorical_data(name, values, "categorical")
            elif info.kind == "boolean":
                data = boolean_data(name, values)
            else:
                data = continuous_data(name, values)
        if data.kind == "categorical":
            data.colors = normalize_colors(self._backend.uns_colors(name), len(data.categories or []))
        return data

    def gene_names(self) -> np.ndarray:
        return self._genes

    def gene_ids(self, column: str) -> np.ndarray:
        self._check_open()
        if column not in self._id_columns:
            raise NotFound(f"unknown gene id column {column!r}", hint=f"id columns: {list_names(self._id_columns)}")
        cached = self._id_cache.get(column)
        if cached is None:
            values = self._backend.var_column(self._var, column)
            cached = np.asarray(
                ["" if is_missing_scalar(v) else s for v, s in zip(values, to_str_list(values))], dtype=object
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
                hint=f"vector fields: {list_names(self._vector_by_id)}",
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
