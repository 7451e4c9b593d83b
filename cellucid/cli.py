"""The ``cellucid`` command: ``serve`` (and, lazily, ``prepare``)."""

from __future__ import annotations

import importlib
import sys

import click

from cellucid._version import __version__

# Subcommands that live in other modules; imported only when used so that
# `cellucid --help` and `cellucid serve` stay fast and work even if one is missing.
LAZY_COMMANDS = {
    "prepare": ("cellucid.export.cli:prepare_command", "Write an export folder that serves fastest."),
    "cache": ("cellucid.cache_cli:cache_group", "See or empty the gene-index cache."),
    "annotate": ("cellucid.annotation.cli:annotate_group", "Annotation folders: create, show, sync through git."),
}


class LazyGroup(click.Group):
    """A click group whose listed subcommands are imported on first use."""

    def list_commands(self, ctx):
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx, name):
        command = super().get_command(ctx, name)
        if command is not None or name not in LAZY_COMMANDS:
            return command
        target, summary = LAZY_COMMANDS[name]
        module_name, attr = target.split(":")
        try:
            return getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            return _unavailable(name, summary, exc)

    def format_epilog(self, ctx, formatter):
        # Where the cache lives, so a user with a disk quota can find it (`cellucid cache list`).
        from cellucid._paths import ENV_CACHE_DIR, ENV_CACHE_MAX, gene_index_dir  # stdlib only: --help stays fast

        super().format_epilog(ctx, formatter)
        formatter.write_paragraph()
        formatter.write_text(  # \b: click keeps these lines as written (a path must not wrap)
            f"\b\nGene-index cache: {gene_index_dir()}\n"
            f"  move it with {ENV_CACHE_DIR}; cap it with {ENV_CACHE_MAX} or `serve --cache-max`\n"
            "  (default: the smaller of 10 GB and half the free disk space);\n"
            "  see `cellucid cache list` and `cellucid cache clear`.")


def _unavailable(name: str, summary: str, exc: Exception) -> click.Command:
    @click.command(name, help=f"{summary} (not available: {exc})",
                   context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
    def command():
        click.echo(f"Error: `cellucid {name}` is not available in this installation: {exc}", err=True)
        sys.exit(2)

    return command


def _fail(err) -> None:
    """Print a CellucidError (message + hint) and exit with status 2, no traceback."""
    click.echo(f"Error: {err.message}", err=True)
    if getattr(err, "hint", ""):
        click.echo(f"  hint: {err.hint}", err=True)
    sys.exit(2)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="cellucid")
def main():
    """cellucid: look at a single-cell dataset in a fast WebGL viewer.

    Run `cellucid serve` for the built-in demo, or `cellucid serve data.h5ad`.
    """


def _expression(ctx, param, value):
    from cellucid.data.base import InputError
    from cellucid.data.matrix_choice import Expression

    try:
        return str(Expression.parse(value))
    except InputError:
        raise click.BadParameter("use X, raw or layer:NAME (for example layer:counts)") from None


def _storage_options(ctx, param, values):
    """``KEY=VALUE`` pairs as a dict; true/false/none and numbers become Python values."""
    import json

    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r}: use KEY=VALUE, for example anon=true")
        lowered = {"true": "true", "false": "false", "none": "null", "null": "null"}.get(value.lower(), value)
        try:
            out[key] = json.loads(lowered)
        except ValueError:
            out[key] = value
    return out


@main.command("serve")
@click.argument("path", required=False)
@click.option("-p", "--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port to listen on; if taken, the next free port is used (0: any free port).")
@click.option("-H", "--host", default="127.0.0.1", show_default=True,
              help="Address to bind. Anything but loopback makes the server reachable from other "
                   "machines (it then requires its token).")
@click.option("--no-browser", is_flag=True, help="Do not open a web browser.")
@click.option("--no-backed", is_flag=True,
              help="Load an .h5ad fully into memory instead of reading it lazily from disk.")
@click.option("--latent-key", metavar="KEY", help="obsm key of the latent space (default: X_pca if present).")
@click.option("--gene-id-column", metavar="COL",
              help="var column with alternative gene ids to search (e.g. gene_ids, gene_symbols).")
@click.option("--expression", default="X", show_default=True, callback=_expression,
              metavar="X|raw|layer:NAME", help="Matrix the gene expression is read from.")
@click.option("--obs-key", "obs_keys", multiple=True, metavar="KEY",
              help="Show only this obs column (repeatable; shown in this order).")
@click.option("--allowed-host", "allowed_hosts", multiple=True, metavar="HOST",
              help="Extra Host name to answer to, e.g. behind a reverse proxy (repeatable).")
@click.option("--dataset-name", metavar="NAME", help="Name shown in the viewer.")
@click.option("--modality", metavar="NAME",
              help="MuData (.h5mu): the modality genes come from (default: the first with a matrix).")
@click.option("--embed", is_flag=True,
              help="Compute a UMAP (2D and 3D) and Leiden clusters in memory first, for data without an "
                   "embedding (e.g. a Cell Ranger matrix). Needs: pip install 'cellucid[embed]'.")
@click.option("--demo", "demo_cells", type=click.IntRange(1), metavar="N",
              help="Serve the built-in demo dataset with N cells (no PATH also means the demo).")
@click.option("--cache-max", metavar="SIZE",
              help="Cap on the gene-index cache, e.g. 5G (default: $CELLUCID_CACHE_MAX, else the "
                   "smaller of 10G and half the free disk space); 0 never builds an index.")
@click.option("--annotations", metavar="DIR",
              help="Annotation folder (created if missing): label, vote and see the consensus "
                   "in the viewer; see `cellucid annotate --help`.")
@click.option("--storage-option", "storage_options", multiple=True, metavar="KEY=VALUE", callback=_storage_options,
              help="For a remote URL (s3://, gs://, https://): an fsspec storage option, e.g. anon=true, "
                   "endpoint_url=http://127.0.0.1:9000, profile=NAME (repeatable).")
@click.option("--dask", "dask_address", metavar="ADDRESS",
              help="Run the analysis passes over all cells (totals, markers, rank tables) on this Dask "
                   "scheduler, e.g. tcp://host:8786; its workers must read PATH at the same path. "
                   "Falls back to in-process with a warning. Needs: pip install 'cellucid[dask]'.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
@click.option("-v", "--verbose", is_flag=True, help="Log every request.")
def serve_command(path, port, host, no_browser, no_backed, latent_key, gene_id_column, expression,
                  obs_keys, allowed_hosts, dataset_name, modality, embed, demo_cells, cache_max, annotations,
                  storage_options, dask_address, quiet, verbose):
    """Serve PATH and open the viewer.

    PATH is a .h5ad file, a .zarr directory (or the URL of one in object storage: s3://bucket/data.zarr,
    gs://..., https://...), a .h5mu (MuData) or .loom file, or a cellucid export
    folder. A Cell Ranger matrix (.h5 or MatrixMarket folder) has no embedding: compute one with
    `cellucid prepare IN OUT --embed`, then serve OUT (or `cellucid serve IN --embed` each time).

    Without PATH, a built-in demo dataset is served.
    """
    from cellucid.anndata_server import AnnDataServer
    from cellucid.data.base import CellucidError

    if path is not None and demo_cells is not None:
        raise click.UsageError("give either PATH or --demo N, not both")
    extra = {"demo_cells": demo_cells} if demo_cells is not None else {}
    if cache_max is not None:
        extra["cache_max"] = cache_max
    if modality is not None:
        extra["modality"] = modality
    if embed:
        extra["embed"] = True
    if annotations is not None:
        extra["annotations"] = annotations
    if storage_options:
        extra["storage_options"] = storage_options
    if dask_address is not None:
        extra["dask_client"] = dask_address
    try:
        server = AnnDataServer(
            path, port=port, host=host, open_browser=not no_browser, backed=not no_backed,
            latent_key=latent_key, gene_id_column=gene_id_column, expression=expression,
            obs_keys=list(obs_keys) or None, allowed_hosts=list(allowed_hosts),
            dataset_name=dataset_name, quiet=quiet, verbose=verbose, **extra,
        )
        server.serve_forever()
    except CellucidError as err:
        _fail(err)


if __name__ == "__main__":  # pragma: no cover
    main()
