"""One version: ``cellucid/_version.py`` is the source (hatch reads it for the wheel); the
viewer's ``js/package.json`` and its lock file must carry the same one."""

from __future__ import annotations

import json
from pathlib import Path

import cellucid

ROOT = Path(__file__).resolve().parents[2]


def test_js_package_version_equals_the_python_version():
    package = json.loads((ROOT / "js" / "package.json").read_text())
    lock = json.loads((ROOT / "js" / "package-lock.json").read_text())
    assert package["version"] == cellucid.__version__, "bump js/package.json together with cellucid/_version.py"
    assert lock["version"] == lock["packages"][""]["version"] == cellucid.__version__, \
        "run `npm --prefix js install --package-lock-only` after changing the version"


def test_the_version_has_one_python_source():
    from cellucid._version import __version__

    assert cellucid.__version__ is __version__
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject and 'path = "cellucid/_version.py"' in pyproject
