"""Fixtures for CLI tests; the subprocess helpers live in ``cli_process.py``."""

from __future__ import annotations

import pytest

from cli_process import Serving


@pytest.fixture
def serving():
    started: list[Serving] = []

    def start(*args: str, read_banner: bool = True) -> Serving:
        s = Serving(*args, read_banner=read_banner)
        started.append(s)
        return s

    yield start
    for s in started:
        s.kill()
