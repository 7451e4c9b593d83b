"""Fixtures for attack tests: a real server on a free loopback port with a viewer folder
we control (so symlinks and secrets next to it can be planted)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from attack_data import SECRET  # noqa: E402


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """A viewer folder plus secrets outside it and symlinks inside pointing at them."""
    root = tmp_path_factory.mktemp("attack")
    viewer = root / "viewer"
    (viewer / "assets").mkdir(parents=True)
    (viewer / "index.html").write_text("<!doctype html><title>viewer</title>")
    (viewer / "assets" / "app.js").write_text("console.log('viewer');")
    (root / "secret.txt").write_bytes(SECRET)
    outside = root / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(SECRET)
    (viewer / "secret.txt").write_bytes(SECRET)  # next to assets/, still not an asset
    (viewer / "assets" / "link.txt").symlink_to(root / "secret.txt")
    (viewer / "assets" / "linkdir").symlink_to(outside, target_is_directory=True)
    (viewer / "assets" / "abs.txt").symlink_to("/etc/passwd")
    return viewer


@pytest.fixture(scope="module")
def server(planted):
    from cellucid.data import open_source
    from cellucid.server import ServerRunner, ServerSettings

    settings = ServerSettings(host="127.0.0.1", port=0, viewer_dir=planted)
    with ServerRunner(open_source(None, demo_cells=300), port=0, settings=settings) as runner:
        yield runner
