"""``cellucid cache list`` and ``cellucid cache clear``: see and empty the gene-index cache."""

from __future__ import annotations

import sys
import time

import click

# The data layer (numpy) is imported inside the commands: `cellucid --help` lists this group
# and must stay as fast as it was.


def _when(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds))


@click.group("cache")
def cache_group():
    """See or empty the gene-index cache (where large backed files keep a gene-major copy)."""


@cache_group.command("list")
def list_command():
    """List cached gene indexes: data file, size, last used (least recently used first)."""
    from cellucid.data.gene_reading import index_cache

    directory = index_cache.cache_dir()
    entries = index_cache.list_entries(directory)
    try:
        limit, origin = index_cache.cache_limit(None, directory)
        cap = f"cap {index_cache.format_size(limit)} ({origin})"
    except ValueError as exc:
        cap = f"cap not usable: {exc}"
    total = sum(e.size for e in entries)
    click.echo(f"{directory}: {len(entries)} index{'es' if len(entries) != 1 else ''}, "
               f"{index_cache.format_size(total)}; {cap}")
    for e in entries:
        matrix = f" [{e.matrix}]" if e.matrix and e.matrix != "X" else ""
        click.echo(f"  {index_cache.format_size(e.size):>9}  last used {_when(e.last_used)}  "
                   f"{e.source or '(source not recorded)'}{matrix}")


@cache_group.command("clear")
@click.argument("path", required=False)
@click.option("--older-than", metavar="AGE", help="Only indexes not used for AGE (e.g. 30d, 12h, 2w).")
def clear_command(path, older_than):
    """Remove cached gene indexes: all of them, those not used for --older-than AGE, or
    (with PATH) those built from that data file. Your data files are never touched; a
    server that needs an index again rebuilds it."""
    from cellucid.data.gene_reading import index_cache

    age = None
    if older_than is not None:
        try:
            age = index_cache.parse_age(older_than)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--older-than") from None
    removed = index_cache.clear(older_than=age, source=path)
    freed = sum(e.size for e in removed)
    click.echo(f"removed {len(removed)} index{'es' if len(removed) != 1 else ''} "
               f"({index_cache.format_size(freed)}) from {index_cache.cache_dir()}")
    if path is not None and not removed:
        click.echo(f"  no cached index was built from {path}; `cellucid cache list` shows what is cached",
                   err=True)
        sys.exit(1)
