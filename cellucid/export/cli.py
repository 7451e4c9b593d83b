"""``cellucid prepare INPUT OUTPUT_DIR``: the command-line face of :func:`cellucid.prepare`.

Registered lazily by the main CLI (``cellucid/cli.py``) as the ``prepare`` command.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from cellucid.cli import _fail  # Error: + hint:, exit status 2


def _folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} GB"


@click.command("prepare")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.argument("output_dir", metavar="OUTPUT_DIR", type=click.Path(path_type=Path))
@click.option("--gene-id-column", "--var-gene-id-column", "gene_id_column", metavar="COL",
              help="A var column searchable as an alternative gene id (e.g. gene_ids).")
@click.option("--obs-key", "obs_keys", multiple=True, metavar="KEY",
              help="Export only these obs columns, in this order (repeatable).")
@click.option("--embedding", "embeddings", multiple=True, metavar="KEY",
              help="Export only these obsm embeddings, in this order (repeatable).")
@click.option("--expression", default="X", show_default=True, metavar="X|raw|layer:NAME",
              help="Which matrix genes come from.")
@click.option("--latent-key", metavar="KEY", help="obsm key of the latent space (default X_pca if present).")
@click.option("--quantize", type=click.Choice(["none", "16", "8"]), default="none", show_default=True,
              help="Store gene values as 16- or 8-bit codes per gene (error ≤ range/131068 or range/508).")
@click.option("--obs-quantize", type=click.Choice(["none", "16", "8"]), default="none", show_default=True,
              help="The same for continuous obs fields.")
@click.option("--compression", type=click.IntRange(0, 9), default=6, show_default=True,
              help="gzip level for per-cell files (0 = plain files). Genes are never gzipped.")
@click.option("--dataset-name", metavar="NAME", help="Name shown in the viewer (default: from the input).")
@click.option("--force", is_flag=True, help="Replace OUTPUT_DIR if it exists (replaced whole, never merged).")
@click.option("--no-backed", is_flag=True, help="Load an .h5ad fully into memory instead of reading it lazily.")
@click.option("--embed", is_flag=True,
              help="Compute a UMAP (2D and 3D) and Leiden clusters first, for data without an embedding "
                   "(e.g. a Cell Ranger matrix). Needs: pip install 'cellucid[embed]'.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed of --embed.")
@click.option("--modality", metavar="NAME", help="MuData (.h5mu): the modality genes come from.")
@click.option("--format", "out_format", type=click.Choice(["folder", "zarr"]), default="folder", show_default=True,
              help="folder: a cellucid export folder. zarr: an AnnData Zarr v3 store (OUTPUT_DIR, e.g. "
                   "out.zarr) with X in per-gene chunks packed in shards, for object storage: one gene costs "
                   "one or two range GETs. Reads .h5ad or .zarr; uses --expression and --force only.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars; print only the result line.")
def prepare_command(input_path, output_dir, gene_id_column, obs_keys, embeddings, expression, latent_key,
                    quantize, obs_quantize, compression, dataset_name, force, no_backed, embed, seed, modality,
                    out_format, quiet):
    """Write an export folder for INPUT into OUTPUT_DIR.

    INPUT is a .h5ad, .zarr, .h5mu or .loom, a Cell Ranger filtered_feature_bc_matrix.h5 or its
    MatrixMarket folder, or an export folder. `cellucid serve OUTPUT_DIR` then serves it,
    fastest of all inputs.
    """
    from cellucid.data.base import CellucidError

    if not input_path.exists():
        click.echo(f"Error: input {input_path} does not exist.\n  hint: pass an .h5ad, .zarr, .h5mu, .loom, a Cell Ranger .h5 or matrix folder, or an export folder.", err=True)
        sys.exit(2)
    from cellucid.export import prepare

    t0 = time.perf_counter()
    if out_format == "zarr":
        _prepare_zarr(input_path, output_dir, expression, force, quiet, t0)
        return
    try:
        out = prepare(
            input_path, output_dir,
            var_gene_id_column=gene_id_column,
            obs_keys=list(obs_keys) or None,
            embeddings=list(embeddings) or None,
            expression=expression,
            latent_key=latent_key,
            quantize=None if quantize == "none" else int(quantize),
            obs_quantize=None if obs_quantize == "none" else int(obs_quantize),
            compression=compression or None,
            dataset_name=dataset_name,
            force=force,
            backed=not no_backed,
            progress=not quiet,
            embed={"seed": seed} if embed else False,
            modality=modality,
        )
    except CellucidError as err:
        _fail(err)
    seconds = time.perf_counter() - t0
    click.echo(f"Exported {input_path} → {out} ({_human(_folder_size(out))}, {seconds:.1f} s). "
               f"Serve it with: cellucid serve {out}")


def _prepare_zarr(input_path: Path, output_dir: Path, expression: str, force: bool, quiet: bool, t0: float) -> None:
    from cellucid.data.base import CellucidError
    from cellucid.export.zarr_store import prepare_zarr

    def progress(done: int, total: int) -> None:
        if not quiet:
            click.echo(f"\r  X: {done}/{total} genes", nl=done == total, err=True)

    try:
        out = prepare_zarr(input_path, output_dir, expression=expression, force=force, progress=progress)
    except CellucidError as err:
        _fail(err)
    seconds = time.perf_counter() - t0
    click.echo(f"Wrote {input_path} → {out} (zarr v3, gene-chunked X; {_human(_folder_size(out))}, {seconds:.1f} s). "
               f"Serve it with: cellucid serve {out} (or upload the folder and serve its s3:// / https:// URL)")
