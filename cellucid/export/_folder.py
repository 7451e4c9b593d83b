"""Safe writing of an export folder: build in a temporary sibling, then swap into place.

- Everything is written into ``.<name>.tmp-<pid>-<random>`` next to the target, with
  ``dataset_identity.json`` written last; a folder without that file is never accepted by
  ``cellucid serve`` / ``open_source``, so an interrupted export leaves nothing servable.
- At the end the temporary folder is renamed onto the target (``os.replace``). With
  ``force=True`` an existing target is first renamed aside and deleted after the swap, so
  the result is never a mix of old and new files.
- Leftover temporary folders of dead processes are removed on the next export to the same
  target.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from cellucid.data.base import InputError

_TMP = re.compile(r"^\.(?P<name>.+)\.(?:tmp|old)-(?P<pid>\d+)-[0-9a-f]+$")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clean_stale(target: Path) -> None:
    for p in target.parent.glob(f".{target.name}.*-*-*"):
        m = _TMP.match(p.name)
        if m and m["name"] == target.name and not _pid_alive(int(m["pid"])):
            shutil.rmtree(p, ignore_errors=True)


def check_target(target: Path, force: bool, inputs: list[Path]) -> None:
    """Refuse an existing target without ``force`` and a target that holds the input."""
    for inp in inputs:
        inp = inp.resolve()
        if inp == target or target in inp.parents:
            raise InputError(
                f"The output folder {target} contains the input {inp}; exporting there would delete it.",
                "Choose an output folder outside the input's location.",
            )
        if inp in target.parents:  # e.g. OUT inside a .zarr input: that would write into the input
            raise InputError(
                f"The output folder {target} is inside the input {inp}; cellucid never writes into its input.",
                "Choose an output folder outside the input.",
            )
    if target.exists() and not force:
        raise InputError(
            f"The output folder {target} already exists.",
            "Pass force=True (CLI: --force) to replace it, or choose another folder.",
        )
    if target.exists() and not target.is_dir():
        raise InputError(f"{target} exists and is not a folder.", "Choose a folder path for the export.")


@contextmanager
def staged_folder(target: Path) -> Iterator[Path]:
    """Yield a fresh temporary folder; on success swap it onto ``target``, on error delete it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    _clean_stale(target)
    tag = f"{os.getpid()}-{secrets.token_hex(4)}"
    tmp = target.parent / f".{target.name}.tmp-{tag}"
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if target.exists():
        old = target.parent / f".{target.name}.old-{tag}"
        os.replace(target, old)
    try:
        os.replace(tmp, target)
    except BaseException:
        if old is not None:  # put the previous export back
            os.replace(old, target)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
