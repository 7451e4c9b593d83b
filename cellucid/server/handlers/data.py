"""Data routes under ``/_cellucid/api/`` (embedding, obs, obs/meta, gene, genes, vectors, cells).

Every slow read runs on the state's executor (``ServerState.run``) so the IOLoop keeps
answering other requests; encoded bodies go through the byte-bounded response cache.
Errors raised by the source (``NotFound`` → 404, ``BadParameter`` → 400) become JSON in
``BaseHandler.write_error``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from cellucid.data.base import BadParameter, FieldData, NotFound
from cellucid.server import encode
from cellucid.server.cache import Encoded
from cellucid.server.responses import (
    JSON,
    OCTET,
    binary,
    cell_slice,
    compress_if_worth,
    embedding_key,
    embedding_response,
    gzip_candidate,
    obs_key,
    obs_meta_key,
    obs_meta_response,
    obs_response,
)
from cellucid.server.handlers.base import BaseHandler

MAX_CELLS = 100
MAX_GENE_LIMIT = 200


class DataHandler(BaseHandler):
    """Parameter parsing and the cached, compressed, ETagged response path."""

    # -- parameters ---------------------------------------------------------------
    def param(self, name: str, required: bool = False, default: str | None = None) -> str | None:
        value = self.get_query_argument(name, None)
        if value is None or (required and value == ""):
            if required:
                raise BadParameter(f"missing query parameter {name!r}",
                                   f"Add ?{name}=... to the URL (see docs/http-api.md).")
            return default
        return value

    def int_param(self, name: str, default: int | None = None, lo: int | None = None,
                  hi: int | None = None) -> int | None:
        raw = self.param(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise BadParameter(f"{name} must be an integer, got {raw!r}",
                               f"Pass a whole number, e.g. {name}={lo if lo is not None else 0}.") from None
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise BadParameter(f"{name}={value} is out of range",
                               f"Use a value between {lo} and {hi}.")
        return value

    def cells_param(self, name: str, most: int, example: str) -> list[int]:
        """A required comma-separated list of at most ``most`` cell positions, each in range."""
        raw = self.param(name, required=True)
        try:
            cells = [int(part) for part in raw.split(",") if part.strip() != ""]
        except ValueError:
            raise BadParameter(f"{name} must be comma-separated integers, got {raw[:60]!r}",
                               f"For example {example}.") from None
        if not cells:
            raise BadParameter(f"{name} is empty", f"For example {example}.")
        if len(cells) > most:
            raise BadParameter(f"at most {most} cells per request, got {len(cells)}", "Split the request.")
        n_cells = self.state.identity["stats"]["n_cells"]
        bad = [i for i in cells if not 0 <= i < n_cells]
        if bad:
            raise BadParameter(f"cell index {bad[0]} is out of range", f"Indices go from 0 to {n_cells - 1}.")
        return cells

    def cell_range(self) -> tuple[int, int, int] | None:
        """``?start=&stop=&step=`` (Python's range over cell positions; all optional), or
        ``None`` when absent or the whole range."""
        n = self.state.identity["stats"]["n_cells"]
        start = self.int_param("start", 0, 0, n)
        stop = self.int_param("stop", n, 0, n)
        step = self.int_param("step", 1, 1, max(n, 1))
        if stop < start:
            raise BadParameter(f"stop={stop} is before start={start}", "Use start <= stop (cell positions).")
        return None if (start, stop, step) == (0, n, 1) else (start, stop, step)

    async def send_cells(self, key, build: Callable[[], Encoded], cells, version: str = "") -> None:
        """Send a per-cell body whole, or only the cells ``range(*cells)`` cut from it."""
        if cells is None:
            return await self.send_encoded(key, build, version)
        state = self.state
        state.check_files()
        whole = state.whole.get(key) or state.responses.get(key)
        if whole is None:
            await state.wait_for_warm_up(response_key=key)
            whole = state.whole.get(key) or state.responses.get(key)
        if whole is None:
            whole = await state.run(key, build)
            state.responses.put(key, whole)
        state.whole.put(key, whole)
        n = state.identity["stats"]["n_cells"]
        await self.send_encoded((*key, "cells", *cells), lambda: cell_slice(whole, n, *cells), version)

    # -- response path ------------------------------------------------------------
    async def send_encoded(self, key, build: Callable[[], Encoded], version: str = "", executor=None) -> None:
        # Before the ETag and the cache: once the file changed, neither a 304 nor a cached
        # answer from the old file may go out.
        self.state.check_files()
        if self.not_modified(version):
            return
        state = self.state
        entry: Encoded | None = state.responses.get(key) or state.whole.get(key)
        if entry is None:
            await state.wait_for_warm_up(response_key=key)
            entry = state.responses.get(key) or state.whole.get(key)
        if entry is None:
            entry = await state.run(key, build, executor=executor)
            state.responses.put(key, entry)
        body = entry.body
        wants_gzip = "gzip" in self.request.headers.get("Accept-Encoding", "")
        if wants_gzip and gzip_candidate(entry):
            if entry.gzipped is None and entry.compressible is not False:
                await state.run(("gzip", key), lambda: compress_if_worth(entry), executor=state.compress_executor)
                state.responses.put(key, entry)  # re-account its size
            if entry.gzipped is not None:  # made here, or with the body (the gene route)
                body = entry.gzipped
                # Set here so tornado's own gzip transform leaves the body alone.
                self.set_header("Content-Encoding", "gzip")
        self.set_header("Content-Type", entry.content_type)
        for name, value in entry.headers.items():
            self.set_header(name, value)
        self.finish(body)

    def annotation_version(self, name: str | None = None) -> str:
        """The annotation folder's revision when ``name`` is the consensus field (``None``:
        any answer that lists every field), else ``""``: part of the cache key and ETag."""
        service = self.state.annotations
        if service is None or (name is not None and name != service.field_name):
            return ""
        return service.revision()

    async def field_data(self, name: str) -> FieldData:
        """One obs field, decoded once and shared by /obs, /obs/meta and /cells."""
        state = self.state
        state.check_files()
        version = self.annotation_version(name)
        if version:  # the consensus field: made from the folder, cached by its revision there
            return await state.run(("annotation", version), state.annotations.field)
        cached = state.fields.get(name)
        if cached is None:
            await state.wait_for_warm_up(field=name)
            cached = state.fields.get(name)
        if cached is not None:
            return cached
        data = await state.run(("field", name), lambda: state.source.obs_field(name))
        state.remember_field(name, data)
        return data

    def require_genes(self) -> None:
        genes = self.state.identity["genes"]
        if not genes["available"]:
            raise NotFound(f"this dataset has no gene expression: {genes['reason']}",
                           "Choose another matrix with --expression X|raw|layer:NAME, if the data has one.")


def _versioned(key: tuple, version: str) -> tuple:
    # Unchanged keys without a version: the start-up warm-up fills the plain ones.
    return (*key, version) if version else key


class EmbeddingHandler(DataHandler):
    """``/_cellucid/api/embedding?key=X_umap&dim=2&format=f32|u16[&start=&stop=&step=]``."""

    async def get(self) -> None:
        ident = self.state.identity
        key = self.param("key", default=ident["default_embedding"])
        info = next((e for e in ident["embeddings"] if e["key"] == key), None)
        if info is None:
            names = ", ".join(e["key"] for e in ident["embeddings"]) or "(none)"
            raise NotFound(f"unknown embedding {key!r}", f"Available embeddings: {names}.")
        default_dim = 2 if 2 in info["dimensions"] else max(info["dimensions"])
        dim = self.int_param("dim", default_dim, 1, 3)
        if dim not in info["dimensions"]:
            raise BadParameter(f"embedding {key!r} cannot be shown in {dim}D",
                               f"Use dim={' or '.join(map(str, info['dimensions']))}.")
        fmt = self.param("format", default="f32")
        if fmt not in ("f32", "u16"):
            raise BadParameter(f"unknown format {fmt!r}", "Use format=f32 or format=u16.")
        cells = self.cell_range()
        source = self.state.source
        await self.send_cells(embedding_key(key, dim, fmt), lambda: embedding_response(source, key, dim, fmt), cells)


class ObsHandler(DataHandler):
    """``/_cellucid/api/obs?field=NAME[&start=&stop=&step=]``: codes (categorical/boolean) or
    float32 values."""

    async def get(self) -> None:
        name = self.param("field", required=True)
        cells = self.cell_range()
        data = await self.field_data(name)
        version = self.annotation_version(name)
        await self.send_cells(_versioned(obs_key(name), version), lambda: obs_response(name, data), cells, version)


class ObsMetaHandler(DataHandler):
    """``/_cellucid/api/obs/meta?field=NAME``: categories, colors, counts, range (JSON)."""

    async def get(self) -> None:
        name = self.param("field", required=True)
        data = await self.field_data(name)
        version = self.annotation_version(name)
        await self.send_encoded(_versioned(obs_meta_key(name), version), lambda: obs_meta_response(data), version)


GENE_ENCODINGS = ("dense", "sparse")


class GeneHandler(DataHandler):
    """``/_cellucid/api/gene?name=CD3E[&column=gene_ids]`` or ``?index=17``, and
    ``&encoding=dense`` (default: float32 per cell) or ``&encoding=sparse`` (the stored cells
    only, byte-shuffled; what the viewer asks for — see docs/http-api.md and
    :func:`cellucid.server.encode.sparse_gene`)."""

    async def get(self) -> None:
        self.require_genes()
        n_genes = self.state.identity["genes"]["n_genes"]
        index = self.int_param("index", None, 0, n_genes - 1)
        name = self.param("name")
        column = self.param("column")
        encoding = self.param("encoding", default="dense")
        if encoding not in GENE_ENCODINGS:
            raise BadParameter(f"unknown gene encoding {encoding!r}",
                               "Use encoding=dense (float32 per cell, the default) or encoding=sparse "
                               "(see docs/http-api.md).")
        if index is None and not name:
            raise BadParameter("a gene needs name= or index=",
                               "For example /_cellucid/api/gene?name=CD3E or ?index=0.")
        source = self.state.source
        n_cells = self.state.identity["stats"]["n_cells"]
        # One executor hop: read, encode and compress in build(). The raw body stays for
        # clients without gzip (send_encoded compresses it later if a gzip client asks).
        zipped = encode.gzip_rle if "gzip" in self.request.headers.get("Accept-Encoding", "") else (lambda parts: None)

        def build() -> Encoded:
            idx = int(index if index is not None else source.resolve_gene(name, column))
            names = {
                "X-Cellucid-Gene-Index": str(idx),
                "X-Cellucid-Gene-Name": encode.name_header(str(source.gene_names()[idx])),
            }
            if encoding == "sparse":
                # From the gene index's stored entries when the source has them: no dense
                # column of n_cells floats to build and scan again (~2.5 ms at 1M cells).
                entries = source.gene_sparse_by_index(idx)
                sparse = encode.sparse_gene_from_entries(*entries, n_cells) if entries is not None else None
                if sparse is None:
                    sparse = encode.sparse_gene(np.asarray(source.gene_by_index(idx), dtype=np.float32))
                parts, headers = sparse
                return Encoded(b"".join(parts), OCTET, {**headers, **names}, zipped(parts))
            values = np.asarray(source.gene_by_index(idx), dtype=np.float32)
            rng = encode.finite_range(values)
            entry = binary(values, "float32", {
                **names,
                "X-Cellucid-Min": encode.number_header(rng[0] if rng else None),
                "X-Cellucid-Max": encode.number_header(rng[1] if rng else None),
            })
            entry.gzipped = zipped([entry.body])
            return entry

        key = ("gene", encoding, index) if index is not None else ("gene", encoding, name, column)
        await self.send_encoded(key, build)


class GeneSearchHandler(DataHandler):
    """``/_cellucid/api/genes?q=cd3&limit=20``: exact matches first, then prefix matches."""

    async def get(self) -> None:
        self.require_genes()
        query = self.param("q", default="")
        limit = self.int_param("limit", 20, 1, MAX_GENE_LIMIT)
        source = self.state.source
        n_genes = self.state.identity["genes"]["n_genes"]

        def build() -> Encoded:
            hits = source.search_genes(query, limit=max(n_genes, 1))
            genes = [{"index": int(h.index), "name": str(h.name), "id": h.gene_id} for h in hits[:limit]]
            return Encoded(encode.json_bytes({"query": query, "genes": genes, "total": len(hits)}), JSON)

        await self.send_encoded(("genes", query, limit), build)


class VectorsHandler(DataHandler):
    """``/_cellucid/api/vectors?field=velocity_umap&dim=2``: float32 ``(n, dim)``."""

    async def get(self) -> None:
        block = self.state.identity["vector_fields"]
        field_id = self.param("field", default=block["default_field"])
        info = block["fields"].get(field_id) if field_id else None
        if info is None:
            names = ", ".join(block["fields"]) or "(none)"
            raise NotFound(f"unknown vector field {field_id!r}", f"Available vector fields: {names}.")
        dim = self.int_param("dim", info["default_dimension"], 1, 3)
        if dim not in info["available_dimensions"]:
            raise BadParameter(f"vector field {field_id!r} has no {dim}D vectors",
                               f"Use dim={' or '.join(map(str, info['available_dimensions']))}.")
        source = self.state.source

        def build() -> Encoded:
            vecs = np.asarray(source.vectors(field_id, dim), dtype=np.float32).reshape(-1, dim)
            return binary(vecs, "float32", {"X-Cellucid-Vector-Field": encode.name_header(field_id),
                                             "X-Cellucid-Dim": str(dim)})

        await self.send_encoded(("vectors", field_id, dim), build)


class CellsHandler(DataHandler):
    """``/_cellucid/api/cells?index=3,17,42``: names and field values for tooltips."""

    async def get(self) -> None:
        indices = self.cells_param("index", MAX_CELLS, "?index=3,17,42")
        source = self.state.source
        field_names = [f["name"] for f in self.state.identity["fields"]]
        fields = [await self.field_data(name) for name in field_names]

        def build() -> Encoded:
            idx = np.asarray(indices, dtype=np.int64)
            try:
                names = [str(n) for n in source.obs_names(idx)]
            except NotImplementedError:
                names = [str(i) for i in indices]
            cells = [
                {"index": i, "name": names[k], "fields": {f.name: encode.cell_value(f, i) for f in fields}}
                for k, i in enumerate(indices)
            ]
            return Encoded(encode.json_bytes({"cells": cells}), JSON)

        version = self.annotation_version()
        await self.send_encoded(_versioned(("cells", tuple(indices)), version), build, version)
