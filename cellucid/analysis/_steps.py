"""Checkpoints between the steps of a pass over the expression matrix.

A pass over a million cells is seconds of CPU. Run in the background of a server
(:mod:`cellucid.analysis.prepare`), it must give way when a viewer starts loading its first
frame — on a 2-core machine it otherwise competes with the browser and the routes for the
CPU and the GIL. The passes call :func:`checkpoint` between steps (each ~2M stored
entries, tens of ms); a thread that set a pause with :func:`pausing` waits there. Other
threads (requests computing an answer) never pause: the hook is per thread.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Callable, Iterator

_LOCAL = threading.local()


def checkpoint() -> None:
    """Between two steps of a pass: run this thread's pause (see :func:`pausing`), if any."""
    pause = getattr(_LOCAL, "pause", None)
    if pause is not None:
        pause()


@contextlib.contextmanager
def pausing(pause: Callable[[], None] | None) -> Iterator[None]:
    """Within the block, every :func:`checkpoint` reached on this thread calls ``pause()``
    (which may block, e.g. until no request came for a while)."""
    previous = getattr(_LOCAL, "pause", None)
    _LOCAL.pause = pause
    try:
        yield
    finally:
        _LOCAL.pause = previous
