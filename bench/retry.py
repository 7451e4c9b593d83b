"""Retry a measurement once before it counts as failed.

On a fresh machine a measurement can fail for a reason that is gone a moment later (a peer's
kernel that has just been installed and starts slowly, a port still in use, a page that loads
while the machine is busy). One retry keeps such a hiccup from removing a tool from the report;
a second failure is a real one and is recorded as such. Either way the report shows that a
retry happened, so a figure measured on the second attempt is never passed off as a clean run.
"""

from __future__ import annotations

from typing import Callable, TypeVar

T = TypeVar("T")


class FailedTwice(RuntimeError):
    """Both attempts failed; ``first`` is the first attempt's error, the cause the second's."""

    def __init__(self, what: str, first: BaseException, second: BaseException):
        super().__init__(f"{what}: failed twice; first {describe(first)}; then {describe(second)}")
        self.first = first
        self.second = second


def describe(exc: BaseException) -> str:
    """``Type: message`` of an exception, cut to a length a report can show."""
    return f"{type(exc).__name__}: {exc}"[:500]


def once(fn: Callable[[], T], what: str, log: Callable[[str], None] = print) -> tuple[T, str | None]:
    """Call ``fn``; if it raises, log it and call it once more.

    Returns ``(value, first_error)``: ``first_error`` is ``None`` when the first attempt
    succeeded, else the description of its error (to be recorded beside the figure).
    Raises :class:`FailedTwice` (chained to the second error) when the retry fails too.
    KeyboardInterrupt and SystemExit are never retried.
    """
    try:
        return fn(), None
    except Exception as exc:  # any failure of a measurement: retried once
        first = exc
    log(f"    {what}: {describe(first)}; retrying once")
    try:
        return fn(), describe(first)
    except Exception as second:
        raise FailedTwice(what, first, second) from second
