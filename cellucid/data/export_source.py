"""Read export folders: ours (``cellucid_export_v1``) and the original cellucid-python's
(``compact_v1``), single datasets or multi-dataset roots.

:func:`open_export` is what :func:`cellucid.data.open_source` calls for a folder holding
``dataset_identity.json`` (or a multi-dataset root, see :func:`is_export_folder`).

- **Ours** (written by :func:`cellucid.prepare`): raw coordinates, obs codes/values, a
  gene-major store read with one positioned read per file per gene. Layout in
  :mod:`cellucid.data.export_layout` and ``docs/export.md``.
- **compact_v1** (the original ``prepare()``): ``points_{d}d.bin[.gz]`` (already normalized
  to [-1, 1]; served as they are), ``obs_manifest.json`` + ``obs/``, ``var_manifest.json`` +
  one dense file per gene in ``var/``, ``vectors/``. ``connectivity/`` is not used.
- **Multi-dataset root**: a folder whose subfolders each hold a dataset, optionally listed
  in ``datasets.json``; the default (``datasets.json``'s ``default``, else the first
  subfolder by name) is opened. Open another one by its path: ``root/<subfolder>``.
"""

from __future__ import annotations

import json
import os
import re
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from cellucid.data.base import (
    BadParameter,
    DatasetSummary,
    DataSource,
    EmbeddingInfo,
    FieldData,
    FieldInfo,
    InputError,
    NotFound,
    SourceOptions,
    VectorFieldInfo,
)
from cellucid.data import export_layout as layout

__all__ = ["open_export", "is_export_folder", "ExportSource", "CompactV1Source"]


def is_export_folder(path: str | os.PathLike) -> bool:
    """True for a folder with ``dataset_identity.json`` or a multi-dataset root of them."""
    p = Path(path)
    if not p.is_dir():
        return False
    if (p / layout.IDENTITY_FILE).is_file() or (p / "datasets.json").is_file():
        return True
    return any((c / layout.IDENTITY_FILE).is_file() for c in p.iterdir() if c.is_dir())


def open_export(path: str | os.PathLike, options: SourceOptions | None = None) -> DataSource:
    """Open an export folder (ours or compact_v1) or the default dataset of a multi-dataset root."""
    options = options or SourceOptions()
    p = Path(path).expanduser()
    if not p.is_dir():
        raise InputError(f"{p} is not a folder.", "Pass the export folder written by prepare().")
    if not (p / layout.IDENTITY_FILE).is_file():
        p = _default_dataset(p)
    identity = _read_json(p / layout.IDENTITY_FILE)
    fmt = (identity.get("export") or {}).get("format")
    if fmt == layout.FORMAT:
        return ExportSource(p, identity, options)
    if (p / "obs_manifest.json").is_file():
        return CompactV1Source(p, identity, options)
    raise InputError(
        f"{p} has dataset_identity.json but is neither a cellucid export ({layout.FORMAT}) nor an original cellucid export (obs_manifest.json missing).",
        "Re-create it with cellucid.prepare(adata, out_dir) or `cellucid prepare INPUT OUT`.",
    )


def _default_dataset(root: Path) -> Path:
    listing = root / "datasets.json"
    if listing.is_file():
        info = _read_json(listing)
        entries = info.get("datasets") or []
        default = info.get("default")
        entry = next((e for e in entries if e.get("id") == default), entries[0] if entries else None)
        if entry is not None:
            sub = _inside(root, str(entry.get("path") or entry.get("id")).strip("/"))
            if (sub / layout.IDENTITY_FILE).is_file():
                return sub
    subs = sorted(c for c in root.iterdir() if c.is_dir() and (c / layout.IDENTITY_FILE).is_file())
    if not subs:
        raise InputError(
            f"{root} has no dataset_identity.json and no dataset subfolders.",
            "Pass an export folder written by prepare() (it contains dataset_identity.json).",
        )
    return subs[0]


def _read_json(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError) as err:
        raise InputError(f"Cannot read {path}: {err}", "The export folder is damaged; re-create it with prepare().") from err


def _find(path: Path) -> Path:
    """``path`` or its ``.gz`` twin (or the plain twin of a ``.gz`` name)."""
    if path.is_file():
        return path
    alt = path.with_name(path.name[:-3]) if path.name.endswith(".gz") else path.with_name(path.name + ".gz")
    if alt.is_file():
        return alt
    raise InputError(f"Export file missing: {path}", "The export folder is incomplete; re-create it with prepare().")


def _inside(root: Path, rel: str) -> Path:
    """``root / rel``, refusing names that lead outside ``root`` (``..``, absolute paths,
    symlinks pointing elsewhere): an export folder from someone else must not make the
    server read, and send, other files of this machine."""
    path = root / str(rel)
    try:
        inside = path.resolve().is_relative_to(root.resolve())
    except (OSError, ValueError):
        inside = False
    if not inside:
        raise InputError(f"the export folder {root.name!r} refers to a file outside itself: {str(rel)!r}",
                         "The folder is damaged or was crafted; re-create it with prepare().")
    return path


def _not_found(what: str, name: str, valid: list[str]) -> NotFound:
    import difflib

    close = difflib.get_close_matches(str(name), valid, n=5)
    hint = f"Did you mean {close}?" if close else f"Valid: {valid[:20]}{' …' if len(valid) > 20 else ''}"
    return NotFound(f"Unknown {what} {name!r}.", hint)


class _FolderSource(DataSource):
    """Shared parts: options (obs_keys, name), cached whole-file reads, field ordering."""

    kind = "export"

    def __init__(self, path: Path, identity: dict, options: SourceOptions):
        self.path = path
        self.identity = identity
        self.options = options
        self._lock = threading.Lock()
        self._read = lru_cache(maxsize=16)(self._read_uncached)

    def watched_paths(self) -> tuple[str, ...]:
        return (str(self.path),)

    def _read_uncached(self, rel: str, dtype: str) -> np.ndarray:
        arr = layout.read_array(_find(_inside(self.path, rel)), dtype)
        arr.flags.writeable = False  # shared by callers through the cache
        return arr

    def _select_fields(self, infos: list[FieldInfo]) -> list[FieldInfo]:
        if self.options.obs_keys is None:
            return infos
        by_name = {f.name: f for f in infos}
        missing = [k for k in self.options.obs_keys if k not in by_name]
        if missing:
            raise InputError(f"obs key(s) {missing} are not in this export.", f"Available: {list(by_name)}")
        return [by_name[k] for k in self.options.obs_keys]

    def dataset_id(self) -> str:
        return str(self.identity.get("id") or super().dataset_id())

    def extra_identity(self) -> dict[str, Any]:
        # What the input's identity said beyond the schema: a MuData's modalities, and the
        # parameters of an embedding `prepare --embed` computed.
        out = {"modalities": self.identity["modalities"]} if "modalities" in self.identity else {}
        embed = (self.identity.get("export_settings") or {}).get("embed")
        if embed:
            out["embed"] = embed
        return out

    def _name(self) -> str:
        return self.options.dataset_name or self.identity.get("name") or self.path.name


# -- ours ---------------------------------------------------------------------------------


class ExportSource(_FolderSource):
    """A folder written by :func:`cellucid.prepare` (format ``cellucid_export_v1``)."""

    def __init__(self, path: Path, identity: dict, options: SourceOptions):
        super().__init__(path, identity, options)
        m = identity["export"]
        self.m = m
        self.n_cells = int(identity["stats"]["n_cells"])
        self._emb = {e["key"]: e for e in m["embeddings"]}
        self._fields = {f["name"]: f for f in m["fields"]}
        self._vec = {v["field_id"]: v for v in m["vectors"]}
        g = m["genes"]
        self._genes = g
        self._gene_names: np.ndarray | None = None
        self._gene_idx: dict[str, np.ndarray] = {}
        self._fds: dict[str, int] = {}
        self._indptr: np.ndarray | None = None
        self._ranges: np.ndarray | None = None
        stored = g.get("expression", "X")
        if options.expression not in ("X", stored):
            raise InputError(
                f"This export holds expression {stored!r}; {options.expression!r} was asked for.",
                "Re-export with prepare(..., expression=...) to serve another matrix.",
            )
        if options.gene_id_column and options.gene_id_column not in g.get("id_columns", []):
            raise InputError(
                f"Gene id column {options.gene_id_column!r} is not in this export.",
                f"Stored id columns: {g.get('id_columns', [])}; re-export with var_gene_id_column=...",
            )
        self.fields()  # an unknown obs key fails at open time, like the AnnData sources

    # description
    def summary(self) -> DatasetSummary:
        g = self._genes
        ok = bool(g["n_genes"]) and g.get("reason") is None
        return DatasetSummary(
            name=self._name(), kind="export", n_cells=self.n_cells, n_genes=int(g["n_genes"]),
            expression=g.get("expression", "X"), gene_id_columns=list(g.get("id_columns", [])),
            latent_key=(self.m.get("latent") or {}).get("key"),
            no_genes_reason=None if ok else (g.get("reason") or "the export has no genes"),
        )

    def embeddings(self) -> list[EmbeddingInfo]:
        return [EmbeddingInfo(e["key"], e["name"], tuple(e["dimensions"]), int(e["n_columns"])) for e in self.m["embeddings"]]

    def fields(self) -> list[FieldInfo]:
        return self._select_fields(
            [FieldInfo(f["name"], f["kind"], f.get("n_categories")) for f in self.m["fields"]]
        )

    def vector_fields(self) -> list[VectorFieldInfo]:
        return [VectorFieldInfo(v["field_id"], v["label"], v["basis"], {int(d): f for d, f in v["files"].items()})
                for v in self.m["vectors"]]

    def vector_field_problems(self) -> list[str]:
        return list(self.m.get("vector_problems", []))

    # data
    def embedding(self, key: str, dim: int) -> np.ndarray:
        e = self._emb.get(key) or next((x for x in self._emb.values() if x["name"] == key), None)
        if e is None:
            raise _not_found("embedding", key, list(self._emb))
        f = e["files"].get(str(int(dim)))
        if f is None:
            raise BadParameter(f"Embedding {key!r} has no {dim}D view.", f"Available dimensions: {e['dimensions']}")
        arr = self._read(f["file"], "float32").reshape(self.n_cells, f["n_columns"])
        return np.ascontiguousarray(arr[:, : int(dim)])

    def obs_field(self, name: str) -> FieldData:
        f = self._fields.get(name)
        if f is None:
            raise _not_found("obs field", name, list(self._fields))
        raw = layout.read_array(_find(_inside(self.path, f["file"])), f["dtype"], self.n_cells)
        if "categories" in f:
            codes = raw.astype(np.int32)
            codes[raw == f["missing_code"]] = -1
            return FieldData(name, f["kind"], codes=codes, categories=list(f["categories"]),
                             colors=f.get("colors"), n_missing=int((codes < 0).sum()))
        if f.get("quantized"):
            values = layout.dequantize(raw, f["min"], f["max"], f["quantization_bits"])
        else:
            values = raw.astype(np.float32, copy=True)
        return FieldData(name, "continuous", values=values, n_missing=int(np.isnan(values).sum()))

    def gene_names(self) -> np.ndarray:
        if self._gene_names is None:
            self._load_var()
        return self._gene_names

    def gene_ids(self, column: str) -> np.ndarray:
        if self._gene_names is None:
            self._load_var()
        if column not in self._gene_idx:
            raise _not_found("gene id column", column, list(self._gene_idx))
        return self._gene_idx[column]

    def _load_var(self) -> None:
        with self._lock:
            if self._gene_names is not None:
                return
            if not self._genes["n_genes"] or "names" not in self._genes:
                self._gene_names = np.array([], dtype=object)
                return
            var = _read_json(_inside(self.path, self._genes["names"]))
            self._gene_idx = {c: np.array(v, dtype=object) for c, v in var["id_columns"].items()}
            self._gene_names = np.array(var["names"], dtype=object)

    def _fd(self, rel: str) -> int:
        fd = self._fds.get(rel)
        if fd is None:
            with self._lock:
                fd = self._fds.get(rel)
                if fd is None:
                    fd = os.open(_inside(self.path, rel), os.O_RDONLY)
                    self._fds[rel] = fd
        return fd

    def gene_by_index(self, index: int) -> np.ndarray:
        g = self._genes
        n_genes = int(g["n_genes"])
        if not n_genes or "indptr" not in g:
            raise NotFound("This export has no genes.", g.get("reason") or "Re-export from data that has X.")
        j = int(index)
        if not 0 <= j < n_genes:
            raise BadParameter(f"Gene index {index} out of range.", f"Use 0..{n_genes - 1}.")
        if self._indptr is None:
            self._indptr = layout.read_array(_inside(self.path, g["indptr"]), "uint64").astype(np.int64)
        a, b = self._indptr[j], self._indptr[j + 1]
        rows = layout.pread_array(self._fd(g["indices"]), "uint32", a, b)
        vals = layout.pread_array(self._fd(g["data"]), g["dtype"], a, b)
        if g.get("quantized"):
            if self._ranges is None:
                self._ranges = layout.read_array(_inside(self.path, g["ranges"]), "float32").reshape(-1, 2)
            lo, hi = self._ranges[j]
            vals = layout.dequantize(vals, float(lo), float(hi), g["quantization_bits"])
        out = np.zeros(self.n_cells, dtype=np.float32)
        out[rows] = vals
        return out

    def vectors(self, field_id: str, dim: int) -> np.ndarray:
        v = self._vec.get(field_id)
        if v is None:
            raise _not_found("vector field", field_id, list(self._vec))
        f = v["files"].get(str(int(dim)))
        if f is None:
            raise BadParameter(f"Vector field {field_id!r} has no {dim}D data.", f"Available: {v['dimensions']}")
        return self._read(f, "float32").reshape(self.n_cells, int(dim)).copy()

    def obs_names(self, indices: np.ndarray | None = None) -> np.ndarray:
        rel = self.m.get("obs_names")
        if rel is None:
            names = np.array([str(i) for i in range(self.n_cells)], dtype=object)
        else:
            if getattr(self, "_obs_names", None) is None:
                self._obs_names = np.array(_read_json(_inside(self.path, rel)), dtype=object)
            names = self._obs_names
        return names if indices is None else names[np.asarray(indices, dtype=np.int64)]

    def latent(self) -> np.ndarray | None:
        lat = self.m.get("latent")
        if not lat:
            return None
        return self._read(lat["file"], "float32").reshape(self.n_cells, lat["n_columns"]).copy()

    def latent_dims(self) -> int | None:
        lat = self.m.get("latent")
        return int(lat["n_columns"]) if lat else None

    def close(self) -> None:
        with self._lock:
            for fd in self._fds.values():
                os.close(fd)
            self._fds.clear()
        self._read.cache_clear()


# -- the original cellucid-python format ------------------------------------------------------

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_EXT_DTYPE = {"f32": "float32", "u8": "uint8", "u16": "uint16", "u32": "uint32"}


def upstream_safe_name(name: str) -> str:
    """The original exporter's file-safe name (UPSTREAM_EXPORT_FORMAT.md)."""
    return _UNSAFE.sub("_", str(name)).strip("._") or "field"


class CompactV1Source(_FolderSource):
    """A folder written by the original cellucid-python ``prepare()`` (``compact_v1``).

    Its points are already normalized to [-1, 1] and are served as they are; its vectors
    are scaled the same way. It stores no cell names: cells are named by position.
    """

    def __init__(self, path: Path, identity: dict, options: SourceOptions):
        super().__init__(path, identity, options)
        self.obs_m = _read_json(path / "obs_manifest.json")
        self.var_m = _read_json(path / "var_manifest.json") if (path / "var_manifest.json").is_file() else None
        self.n_cells = int(self.obs_m.get("n_points") or identity.get("stats", {}).get("n_cells"))
        emb = identity.get("embeddings") or {}
        files = dict(emb.get("files") or {})
        for d in (1, 2, 3):  # older identities may omit "files": discover points_{d}d.bin[.gz]
            if f"{d}d" not in files:
                for name in (f"points_{d}d.bin", f"points_{d}d.bin.gz"):
                    if (path / name).is_file():
                        files[f"{d}d"] = name
        self._points = {int(k[:-1]): v for k, v in files.items() if k[:-1].isdigit() and int(k[:-1]) <= 3}
        if not self._points:
            raise InputError(f"{path} has no points_<d>d.bin file.", "The original export is incomplete; re-run prepare().")
        self._default_dim = int(emb.get("default_dimension") or (2 if 2 in self._points else max(self._points)))
        schemas = self.obs_m.get("_obsSchemas", {})
        self._cont_schema = schemas.get("continuous", {})
        self._cat_schema = schemas.get("categorical", {})
        self._fields: dict[str, tuple[str, list]] = {}
        for entry in self.obs_m.get("_continuousFields", []):
            self._fields[str(entry[0])] = ("continuous", list(entry))
        for entry in self.obs_m.get("_categoricalFields", []):
            self._fields[str(entry[0])] = ("categorical", list(entry))
        # display order: the identity's obs_fields order (the obs column order) when listed
        order = [str(f.get("key")) for f in identity.get("obs_fields") or [] if str(f.get("key")) in self._fields]
        self._fields = {k: self._fields[k] for k in order + [k for k in self._fields if k not in order]}
        self._genes: list[list] = list((self.var_m or {}).get("fields", []))
        self._gene_names = np.array([str(g[0]) for g in self._genes], dtype=object)
        col = (self.var_m or {}).get("var_gene_id_column")
        self._id_column = col if col and col != "index" else None
        vf = identity.get("vector_fields") or {}
        self._vec = vf.get("fields") or {}
        self._vec_default = vf.get("default_field")
        if options.gene_id_column and options.gene_id_column != self._id_column:
            raise InputError(
                f"Gene id column {options.gene_id_column!r} is not in this export (it was exported with var_gene_id_column={col!r}).",
                "Omit the gene id column, or re-export with the column you want.",
            )
        self.fields()

    def summary(self) -> DatasetSummary:
        n_genes = len(self._genes)
        return DatasetSummary(
            name=self._name(), kind="export", n_cells=self.n_cells, n_genes=n_genes, expression="X",
            gene_id_columns=[self._id_column] if self._id_column and n_genes else [],
            latent_key=self.obs_m.get("latent_key"),
            no_genes_reason=None if n_genes else "the original export has no genes (var_manifest.json missing or empty)",
        )

    def embeddings(self) -> list[EmbeddingInfo]:
        dims = tuple(sorted(set(self._points) | {1}))
        return [EmbeddingInfo("X_umap", "umap", dims, max(self._points))]

    def fields(self) -> list[FieldInfo]:
        infos = []
        for name, (kind, entry) in self._fields.items():
            infos.append(FieldInfo(name, "categorical", len(entry[1])) if kind == "categorical" else FieldInfo(name, "continuous"))
        return self._select_fields(infos)

    def vector_fields(self) -> list[VectorFieldInfo]:
        out = []
        for fid, v in self._vec.items():
            dims = {int(k[:-1]): f for k, f in (v.get("files") or {}).items() if k[:-1].isdigit()}
            if dims:
                out.append(VectorFieldInfo(fid, v.get("label") or fid, v.get("basis") or "umap", dims))
        out.sort(key=lambda v: v.field_id != self._vec_default)  # default first
        return out

    def embedding(self, key: str, dim: int) -> np.ndarray:
        if key not in ("X_umap", "umap"):
            raise _not_found("embedding", key, ["X_umap"])
        dim = int(dim)
        if dim in self._points:
            return self._read(self._points[dim], "float32").reshape(self.n_cells, dim).copy()
        if dim == 1:  # first coordinate of the lowest stored dimension
            low = min(self._points)
            return self._read(self._points[low], "float32").reshape(self.n_cells, low)[:, :1].copy()
        raise BadParameter(f"This export has no {dim}D embedding.", f"Available: {sorted(set(self._points) | {1})}")

    def _field_path(self, pattern: str, key: str, ext: str | None = None) -> Path:
        rel = pattern.replace("{key}", upstream_safe_name(key))
        if ext is not None:
            rel = rel.replace("{ext}", ext)
        return _find(_inside(self.path, rel))

    def obs_field(self, name: str) -> FieldData:
        if name not in self._fields:
            raise _not_found("obs field", name, list(self._fields))
        kind, entry = self._fields[name]
        if kind == "categorical":
            cats = [str(c) for c in entry[1]]
            dtype = str(entry[2]) if len(entry) > 2 else "uint8"
            missing = int(entry[3]) if len(entry) > 3 else (255 if dtype == "uint8" else 65535)
            ext = layout.DTYPES[dtype][1]
            pattern = self._cat_schema.get("codesPathPattern", "obs/{key}.codes.{ext}")
            raw = layout.read_array(self._field_path(pattern, name, ext), dtype, self.n_cells)
            codes = raw.astype(np.int32)
            codes[(raw == missing) | (codes >= len(cats))] = -1
            return FieldData(name, "categorical", codes=codes, categories=cats, colors=None,
                             n_missing=int((codes < 0).sum()))
        s = self._cont_schema
        ext = s.get("ext", "f32")
        pattern = s.get("pathPattern", "obs/{key}.values.f32")
        pattern = re.sub(r"\.values\.(f32|u8|u16)", f".values.{ext}", pattern)
        raw = layout.read_array(self._field_path(pattern, name), _EXT_DTYPE[ext], self.n_cells)
        if s.get("quantized") and len(entry) >= 3:
            values = layout.dequantize_upstream(raw, float(entry[1]), float(entry[2]), int(s.get("quantizationBits") or (8 if ext == "u8" else 16)))
        else:
            values = raw.astype(np.float32, copy=True)
        return FieldData(name, "continuous", values=values, n_missing=int(np.isnan(values).sum()))

    def gene_names(self) -> np.ndarray:
        return self._gene_names

    def gene_ids(self, column: str) -> np.ndarray:
        if column != self._id_column:
            raise _not_found("gene id column", column, [self._id_column] if self._id_column else [])
        return self._gene_names  # the original names genes by that column

    def gene_by_index(self, index: int) -> np.ndarray:
        n_genes = len(self._genes)
        j = int(index)
        if not n_genes:
            raise NotFound("This export has no genes.", "Re-export with gene_expression= and var=.")
        if not 0 <= j < n_genes:
            raise BadParameter(f"Gene index {index} out of range.", f"Use 0..{n_genes - 1}.")
        s = self.var_m.get("_varSchema", {})
        ext = s.get("ext", "f32")
        pattern = re.sub(r"\.values\.(f32|u8|u16)", f".values.{ext}", s.get("pathPattern", "var/{key}.values.f32"))
        entry = self._genes[j]
        raw = layout.read_array(self._field_path(pattern, str(entry[0])), _EXT_DTYPE[ext], self.n_cells)
        if s.get("quantized") and len(entry) >= 3:
            bits = int(s.get("quantizationBits") or self.var_m.get("quantization") or (8 if ext == "u8" else 16))
            return layout.dequantize_upstream(raw, float(entry[1]), float(entry[2]), bits)
        return raw.astype(np.float32, copy=True)

    def vectors(self, field_id: str, dim: int) -> np.ndarray:
        v = self._vec.get(field_id)
        if v is None:
            raise _not_found("vector field", field_id, list(self._vec))
        f = (v.get("files") or {}).get(f"{int(dim)}d")
        if f is None:
            raise BadParameter(f"Vector field {field_id!r} has no {dim}D data.", f"Available: {v.get('available_dimensions')}")
        return self._read(f, "float32").reshape(self.n_cells, int(dim)).copy()

    def obs_names(self, indices: np.ndarray | None = None) -> np.ndarray:
        idx = np.arange(self.n_cells) if indices is None else np.asarray(indices, dtype=np.int64)
        return np.array([str(i) for i in idx], dtype=object)

    def close(self) -> None:
        self._read.cache_clear()
