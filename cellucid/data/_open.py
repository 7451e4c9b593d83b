"""Input detection and the ``open_source`` entry point (SPEC §1)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Literal

from cellucid.data.base import DataSource, InputError, SourceOptions

PathKind = Literal["export", "h5ad", "zarr"]
_OPTION_NAMES = {f.name for f in dataclasses.fields(SourceOptions)}


def detect_kind(path: str | os.PathLike) -> PathKind:
    """Which source reads ``path``: ``export``, ``h5ad`` or ``zarr``.

    A directory containing ``dataset_identity.json`` is an export folder; a path ending in
    ``.h5ad`` is h5ad; a directory with a ``.zarr`` suffix or zarr metadata (``.zgroup`` or
    ``zarr.json``) is zarr; a directory holding ``datasets.json`` or subfolders with
    ``dataset_identity.json`` is a root of export folders (``export``). Anything else raises
    :class:`InputError` naming what was expected.
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise InputError(
            f"no such file or directory: {p}",
            hint="give the path of a .h5ad file, a .zarr directory or a cellucid export folder",
        )
    if p.is_dir():
        if (p / "dataset_identity.json").is_file():
            return "export"
        # a multi-dataset root of export folders (datasets.json or dataset subfolders)
        if (p / "datasets.json").is_file() or any((c / "dataset_identity.json").is_file() for c in p.iterdir() if c.is_dir()):
            return "export"
        if p.suffix.lower() == ".zarr" or (p / ".zgroup").is_file() or (p / "zarr.json").is_file():
            return "zarr"
        if _is_export_root(p):
            return "export"
        raise InputError(
            f"{p} is a directory but neither a zarr store nor a cellucid export folder",
            hint="expected a .zarr AnnData store (with .zgroup or zarr.json) or a folder written "
            "by cellucid prepare() (with dataset_identity.json)",
        )
    if p.suffix.lower() == ".h5ad":
        return "h5ad"
    raise InputError(
        f"{p} is not a supported input (expected a .h5ad file)",
        hint="cellucid reads .h5ad files, .zarr directories and export folders; convert other "
        "formats to AnnData first (e.g. scanpy.read_10x_h5(...).write_h5ad('data.h5ad'))",
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
        from cellucid.data.index_cache import parse_size

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
    ``expression``, ``obs_keys``, ``dataset_name``), plus ``demo_cells=N`` (demo size).
    Raises :class:`InputError` with a hint for anything that cannot be served.
    """
    opts, demo_cells = _split_options(dict(options))
    if data is None:
        from cellucid.data.demo import demo_anndata
        from cellucid.data.memory_source import MemorySource

        n = int(demo_cells) if demo_cells is not None else 5000
        return MemorySource(demo_anndata(n_cells=n), opts, kind="demo", default_name="demo")
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
        from cellucid.data.store_source import open_store

        return open_store(path, kind, opts)
    try:
        import anndata as ad
    except ImportError:  # pragma: no cover
        ad = None
    if ad is not None and isinstance(data, ad.AnnData):
        from cellucid.data.memory_source import MemorySource

        return MemorySource(data, opts, kind="anndata", default_name=opts.dataset_name or "anndata")
    raise InputError(
        f"cannot serve an object of type {type(data).__name__}",
        hint="pass a path to a .h5ad / .zarr / export folder, an anndata.AnnData, or nothing for the demo",
    )
