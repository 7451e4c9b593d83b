"""``cellucid annotate sync``: share an annotation folder through a git remote.

The folder (or a folder above it) is a git repository the user cloned or created; cellucid
runs the ``git`` command found on ``PATH`` with the user's own configuration and
credentials (GitHub or any remote) and stores nothing itself. One sync:

1. commit the annotation files that changed (the given annotator's own file only, with
   ``annotator=``; else every changed file of the folder);
2. ``git pull --rebase`` from the branch's upstream: other people's files arrive. Each
   person writes only their own file, so the rebase has nothing to merge;
3. ``git push``. A refused push (someone pushed meanwhile, no permission, offline) leaves the
   local commit in place and reports git's reason; sync again later.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from cellucid.annotation import _names
from cellucid.annotation.folder import ANNOTATORS, PROJECT, AnnotationFolder
from cellucid.data.base import CellucidError

GIT_TIMEOUT = 300.0


class SyncError(CellucidError):
    """A sync step failed; the local annotation files and commits are kept."""


@dataclass
class SyncResult:
    """What one sync did: ``committed`` (a new local commit), ``pulled`` (commits that
    arrived), ``pushed``, and a line per step in ``log``."""

    committed: bool = False
    pulled: int = 0
    pushed: bool = False
    log: list[str] = field(default_factory=list)


def _git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                              timeout=GIT_TIMEOUT, stdin=subprocess.DEVNULL,
                              env=_git_env())
    except FileNotFoundError:
        raise SyncError("the git command is not installed", "Install git, then sync again.") from None
    except subprocess.TimeoutExpired:
        raise SyncError(f"`git {args[0]}` did not finish in {GIT_TIMEOUT:.0f} s",
                        "Check the network and the remote, then sync again; local work is kept.") from None
    if check and proc.returncode != 0:
        raise SyncError(f"`git {' '.join(args[:2])}` failed: {_why(proc)}",
                        "Your annotation files are unchanged; fix the problem above and sync again.")
    return proc


def _git_env() -> dict:
    import os

    # Never wait for a password prompt nobody sees; credential helpers and SSH agents still work.
    return {**os.environ, "GIT_TERMINAL_PROMPT": "0"}


def _why(proc: subprocess.CompletedProcess) -> str:
    text = (proc.stderr or proc.stdout or "").strip()
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("hint:")]
    return " / ".join(lines[-4:]) or f"exit status {proc.returncode}"


def sync(folder, annotator: str | None = None, message: str | None = None) -> SyncResult:
    """Commit, pull (rebase) and push the annotation ``folder``'s git repository."""
    folder = folder if isinstance(folder, AnnotationFolder) else AnnotationFolder(folder)
    result = SyncResult()
    top = _git(folder.path, "rev-parse", "--show-toplevel", check=False)
    if top.returncode != 0:
        raise SyncError(f"{folder.path} is not in a git repository",
                        f"Run `git init` there (or clone the team's repository) and add a remote: "
                        f"git -C {folder.path} remote add origin URL.")
    repo = Path(top.stdout.strip())
    if annotator is not None:
        paths = [str(folder.path / ANNOTATORS / _names.file_name(annotator))]
    else:
        paths = [str(folder.path / ANNOTATORS), str(folder.path / PROJECT)]
    paths = [p for p in paths if Path(p).exists()]
    if paths:
        _git(repo, "add", "--", *paths)
    staged = _git(repo, "diff", "--cached", "--quiet", check=False).returncode == 1
    if staged:
        who = _names.clean_name(annotator) if annotator else "annotations"
        msg = message or f"annotations: {who}"
        _commit(repo, msg, annotator)
        result.committed = True
        result.log.append(f"committed: {msg}")
    else:
        result.log.append("nothing new to commit")

    upstream = _git(repo, "rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{u}", check=False)
    if upstream.returncode != 0:
        remotes = _git(repo, "remote").stdout.split()
        if not remotes:
            result.log.append("no remote: the commit stays local (add one with `git remote add origin URL`)")
            return result
        branch = _git(repo, "rev-parse", "--abbrev-ref", "HEAD").stdout.strip()
        remote = "origin" if "origin" in remotes else remotes[0]
        has_branch = _git(repo, "ls-remote", "--exit-code", "--heads", remote, branch, check=False).returncode == 0
        if has_branch:
            _git(repo, "branch", f"--set-upstream-to={remote}/{branch}", check=False)
            _git(repo, "fetch", remote, branch)
    tracked = _git(repo, "rev-parse", "@{u}", check=False)
    if tracked.returncode == 0:
        before = tracked.stdout.strip()  # what we had of the remote: pull's new commits come after it
        pull = _git(repo, "pull", "--rebase", "--autostash", check=False)
        if pull.returncode != 0:
            _git(repo, "rebase", "--abort", check=False)
            raise SyncError(f"could not bring in the remote's changes: {_why(pull)}",
                            "Your votes are committed locally and nothing was lost. This happens when "
                            "someone else edited your file (or you annotated under one name on two "
                            "machines); resolve it with git, then sync again.")
        result.pulled = int(_git(repo, "rev-list", "--count", f"{before}..@{{u}}").stdout.strip() or 0)
        result.log.append(f"pulled {result.pulled} commit(s)")
        push = _git(repo, "push", check=False)
    else:
        push = _git(repo, "push", "-u", remote, "HEAD", check=False)
    if push.returncode != 0:
        raise SyncError(f"the remote refused the push: {_why(push)}",
                        "Your votes are kept in a local commit; sync again once the remote accepts "
                        "pushes (check your access and network).")
    result.pushed = True
    result.log.append("pushed")
    return result


def _commit(repo: Path, message: str, annotator: str | None) -> None:
    # Without a git identity, commit as the annotator for this one command (nothing is stored).
    has_identity = _git(repo, "config", "user.email", check=False).stdout.strip() != ""
    ident = [] if has_identity else ["-c", f"user.name={annotator or 'cellucid'}",
                                     "-c", "user.email=annotator@cellucid.invalid"]
    _git(repo, *ident, "commit", "-q", "-m", message)
