"""``cellucid annotate``: create an annotation folder, print its consensus, sync it via git."""

from __future__ import annotations

import sys

import click


def _fail(err) -> None:
    click.echo(f"Error: {err.message}", err=True)
    if getattr(err, "hint", ""):
        click.echo(f"  hint: {err.hint}", err=True)
    sys.exit(2)


@click.group("annotate")
def annotate_group():
    """Annotation folders: labels, votes and consensus (docs/annotation.md)."""


@annotate_group.command("init")
@click.argument("folder")
@click.option("--author", metavar="NAME", help="Who may lock consensus labels.")
@click.option("--min-votes", type=click.IntRange(1), default=1, show_default=True,
              help="Votes a cluster needs before it has a consensus label.")
@click.option("--min-margin", type=click.IntRange(1), default=1, show_default=True,
              help="How many more votes the leading label needs than the runner-up.")
def init_command(folder, author, min_votes, min_margin):
    """Create an annotation FOLDER (project.json and annotators/)."""
    from cellucid.annotation.folder import PROJECT, AnnotationFolder
    from cellucid.annotation.rule import Rule
    from cellucid.data.base import CellucidError
    from pathlib import Path

    try:
        if (Path(folder) / PROJECT).exists():
            raise CellucidError(f"{folder} is already an annotation folder",
                                f"Edit {Path(folder) / PROJECT} to change its author or rule.")
        f = AnnotationFolder(folder, create=True, author=author, rule=Rule(min_votes, min_margin))
    except CellucidError as err:
        _fail(err)
    click.echo(f"created {f.path} (author: {f.project().author or 'none'}; "
               f"rule: min_votes={min_votes}, min_margin={min_margin})")


@annotate_group.command("show")
@click.argument("folder")
def show_command(folder):
    """Print every labelled cluster or cell set with its votes and consensus."""
    from cellucid.annotation.summary import summarize
    from cellucid.annotation.folder import AnnotationFolder
    from cellucid.data.base import CellucidError

    try:
        summary = summarize(AnnotationFolder(folder))
    except CellucidError as err:
        _fail(err)
    for t in summary.ordered():
        what = f"{t.key[1]}={t.key[2]}" if t.key[0] == "category" else f"set {t.key[1]}"
        d = t.decision
        votes = "; ".join(f"{label}: {', '.join(names)}" for label, names in d.voters.items())
        click.echo(f"{what}\t{d.status}\t{d.label or '-'}\t{votes}")
    for problem in summary.problems:
        click.echo(f"warning: {problem}", err=True)


@annotate_group.command("sync")
@click.argument("folder")
@click.option("--annotator", metavar="NAME", help="Commit only this annotator's file.")
@click.option("-m", "--message", help="Commit message.")
def sync_command(folder, annotator, message):
    """Commit, pull (rebase) and push FOLDER's git repository with your own git setup."""
    from cellucid.annotation.sync import sync
    from cellucid.data.base import CellucidError

    try:
        result = sync(folder, annotator=annotator, message=message)
    except CellucidError as err:
        _fail(err)
    for line in result.log:
        click.echo(line)
