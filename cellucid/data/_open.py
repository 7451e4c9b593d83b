"""Input detection and the ``open_source`` entry point (SPEC §1)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Literal

from cellucid.data.base import DataSource, InputError, NoEmbedding, SourceOptions

PathKind = Literal["export", "h5ad", "zarr", "10x", "loom", "mudata"]
_INPUTS = ("a .h5ad file, a .zarr directory, a .h5mu (MuData) or .loom file, a Cell Ranger "
           "filtered_feature_bc_matrix.h5 or its MatrixMarket folder, or a cellucid export folder")
_OPTION_NAMES = {f.name for f in dataclasses.fields(SourceOptions)}


def detect_kind(path: str | os.PathLike) -> PathKind:
    """Which source reads ``path``: ``export``, ``h5ad``, ``zarr``, ``10x``, ``loom`` or ``mudata``.

    A directory containing ``dataset_identity.json`` is an export folder; a path ending in
    ``.h5ad`` is h5ad, ``.h5mu`` mudata, ``.loom`` loom, ``.h5`` a Cell Ranger matrix
    (``10x``); a directory with a ``.zarr`` suffix or zarr metadata (``.zgroup`` or
    ``zarr.json``) is zarr; a directory holding ``matrix.mtx`` (or ``.gz``) is Cell Ranger's
    MatrixMarket folder (``10x``); a directory holding ``datasets.json`` or subfolders with
    ``dataset_identity.json`` is a root of export folders (``export``). Anything else raises
    :class:`InputError` naming what was expected.
    """
    from cellucid.data.tenx import is_tenx_dir, is_tenx_h5

    p = Path(path).expanduser()
    if not p.exists():
        raise InputError(
            f"no such file or directory: {p}",
            hint=f"give the path of {_INPUTS}",
        )
    if p.is_dir():
        if (p / "dataset_identity.json").is_file():
            return "export"
        # a multi-dataset root of export folders (datasets.json or dataset subfolders)
        if (p / "datasets.json").is_file() or any((c / "dataset_identity.json").is_file() for c in p.iterdir() if c.is_dir()):
            return "export"
        if p.suffix.lower() == ".zarr" or (p / ".zgroup").is_file() or (p / "zarr.json").is_file():
            return "zarr"
        if is_tenx_dir(p):
            return "10x"
        if _is_export_root(p):
            return "export"
        raise InputError(
            f"{p} is a directory but neither a zarr store, a Cell Ranger MatrixMarket folder nor a "
            "cellucid export folder",
            hint="expected a .zarr AnnData store (with .zgroup or zarr.json), a folder with matrix.mtx, "
            "barcodes.tsv and features.tsv (.gz or not), or a folder written by cellucid prepare() "
            "(with dataset_identity.json)",
        )
    suffix = p.suffix.lower()
    if suffix == ".h5ad":
        return "h5ad"
    if suffix == ".h5mu":
        return "mudata"
    if suffix == ".loom":
        return "loom"
    if is_tenx_h5(p):
        return "10x"
    raise InputError(
        f"{p} is not a supported input (expected .h5ad, .h5mu, .loom or a Cell Ranger .h5)",
        hint=f"cellucid reads {_INPUTS}; convert other formats to AnnData first",
    )


def _is_export_root(p: Path) -> bool:
    """A folder of several export folders (``datasets.json`` or subfolders with identities),
    as the original cellucid writes them; the export reader picks the default dataset."""
    if (p / "datasets.json").is_file():
        return True
    try:
        return any(c.is_dir() and (c / "dataset_identity.json").is_file() for c in p.iterdir())
    except OSError:
        return False


def _split_options(options: dict[str, Any]) -> tuple[SourceOptions, int | None]:
    demo_cells = options.pop("demo_cells", None)
    unknown = sorted(set(options) - _OPTION_NAMES)
    if unknown:
        raise InputError(
            f"unknown option{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}",
            hint=f"valid options: {', '.join(sorted(_OPTION_NAMES | {'demo_cells'}))}",
        )
    opts = SourceOptions(**{k: v for k, v in options.items() if v is not None or k == "obs_keys"})
    if opts.obs_keys is not None and isinstance(opts.obs_keys, str):
        opts.obs_keys = [opts.obs_keys]
    if opts.cache_max is not None:
        from cellucid.data.gene_reading.index_cache import parse_size

        try:
            parse_size(opts.cache_max)
        except ValueError as exc:
            raise InputError(f"cache_max: {exc}", hint="for example cache_max='5G' or cache_max=0 "
                             "(no gene index; genes are read by scanning)") from None
    return opts, demo_cells


def open_source(data: Any = None, **options: Any) -> DataSource:
    """Open ``data`` as a :class:`DataSource`.

    ``data`` is a path (``str`` / ``Path``) to a ``.h5ad``, a ``.zarr`` or an export folder,
    an :class:`anndata.AnnData`, or ``None`` for the built-in demo dataset. ``options`` are
    the :class:`SourceOptions` fields (``backed``, ``latent_key``, ``gene_id_column``,
    ``expression``, ``obs_keys``, ``dataset_name``, ``modality``), plus ``demo_cells=N``
    (demo size) and ``embed=True`` (or a dict of parameters): compute a UMAP and Leiden
    clusters in memory first (:mod:`cellucid.data.embed`), for data without an embedding;
    the caller's data is not modified, except with ``embed="inplace"`` on an AnnData, which
    also stores ``obsm["X_pca"/"X_umap"/"X_umap_3d"]`` and ``obs["leiden"]`` in it.
    Raises :class:`InputError` with a hint for anything that cannot be served.
    """
    options = dict(options)
    embed = options.pop("embed", None)
    opts, demo_cells = _split_options(options)
    if embed and data is not None:
        from cellucid.data.embed import open_with_embedding

        return open_with_embedding(data, opts, embed)
    if data is None:
        from cellucid.data.demo import demo_anndata
        from cellucid.data.memory_source import MemorySource

        n = int(demo_cells) if demo_cells is not None else 5000
        return MemorySource(demo_anndata(n_cells=n), opts, kind="demo", default_name="demo")
    from cellucid.data.remote_source import is_remote_url

    if is_remote_url(data):
        from cellucid.data.remote_source import open_remote

        return open_remote(data, opts)
    if opts.storage_options:
        raise InputError("storage_options apply only to a remote URL (s3://, gs://, https://, ...)",
                         hint=f"leave them out for {data!r}, or give the store's URL")
    if isinstance(data, (str, os.PathLike)):
        path = Path(data).expanduser()
        kind = detect_kind(path)
        if kind == "export":
            try:
                from cellucid.data.export_source import open_export
            except ImportError:
                raise InputError(
                    f"{path} is a cellucid export folder, but export folders are not supported yet",
                    hint="serve the original .h5ad / .zarr instead",
                ) from None
            return open_export(path, opts)
        try:
            return _open_path(path, kind, opts)
        except NoEmbedding as err:
            raise NoEmbedding(err.message, hint=embed_hint(path, err.hint)) from None
    try:
        import anndata as ad
    except ImportError:  # pragma: no cover
        ad = None
    if ad is not None and isinstance(data, ad.AnnData):
        from cellucid.data.memory_source import MemorySource

        return MemorySource(data, opts, kind="anndata", default_name=opts.dataset_name or "anndata")
    if type(data).__name__ == "MuData":
        from cellucid.data.mudata_source import open_mudata_object

        return open_mudata_object(data, opts)
    raise InputError(
        f"cannot serve an object of type {type(data).__name__}",
        hint="pass a path (" + _INPUTS + "), an anndata.AnnData, a mudata.MuData, or nothing for the demo",
    )


def _open_path(path: Path, kind: PathKind, opts: SourceOptions) -> DataSource:
    if opts.modality is not None and kind != "mudata":
        raise InputError(f"modality={opts.modality!r} given, but {path} is not a MuData (.h5mu) file",
                         hint="leave out --modality / modality=; it picks a modality of a .h5mu")
    if kind == "10x":
        from cellucid.data.tenx import open_tenx

        return open_tenx(path, opts)
    if kind == "loom":
        from cellucid.data.loom_source import open_loom

        return open_loom(path, opts)
    if kind == "mudata":
        from cellucid.data.mudata_source import open_mudata

        return open_mudata(path, opts)
    from cellucid.data.store_source import open_store

    return open_store(path, kind, opts)


def embed_command(path: str | os.PathLike) -> str:
    """The exact ``cellucid prepare IN OUT --embed`` command for ``path`` (OUT beside IN)."""
    import shlex

    p = Path(path)
    stem = p.name[: -len("".join(p.suffixes))] if p.suffixes and p.is_file() else p.name
    out = p.parent / f"{stem or 'data'}_cellucid"
    return f"cellucid prepare {shlex.quote(str(path))} {shlex.quote(str(out))} --embed"


def embed_hint(path: str | os.PathLike, detail: str = "") -> str:
    """A :class:`NoEmbedding` hint: the command that computes an embedding, then serves it."""
    import shlex

    command = embed_command(path)
    out = command.split(" ")[-2]
    lead = f"{detail}\n  " if detail else ""
    return (f"{lead}compute one (normalize, log1p, highly variable genes, PCA, neighbours, UMAP 2D + 3D, "
            f"Leiden clusters) with:\n    {command}\n  then: cellucid serve {out}\n"
            f"  (or each time you serve it, in memory: cellucid serve {shlex.quote(str(path))} --embed;"
            " --embed needs scanpy: pip install 'cellucid[embed]')")
