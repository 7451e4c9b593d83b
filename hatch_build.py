"""Hatchling build hook: build the viewer's JavaScript before packaging a wheel.

``pip install .`` / ``pip install -e .`` on a fresh checkout runs ``npm ci`` (when
``js/node_modules`` is missing) and ``npm run build`` in ``js/``, which writes the bundled
viewer to ``cellucid/static/viewer/`` and the widget module to ``cellucid/static/widget/``.
Those folders are git-ignored and listed as wheel ``artifacts`` in pyproject.toml.

An sdist does not need node: it is built from the source tree as is. Set
``CELLUCID_SKIP_JS=1`` to skip the JS build (e.g. when the bundle is already built).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class JsBuildHook(BuildHookInterface):
    """Run the esbuild bundle in ``js/`` for wheel and editable builds."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict) -> None:
        if self.target_name != "wheel":
            return
        root = Path(self.root)
        js = root / "js"
        built = root / "cellucid" / "static" / "viewer" / "index.html"
        if os.environ.get("CELLUCID_SKIP_JS") == "1":
            return
        if not (js / "package.json").exists():
            # Building from an sdist/wheel that already carries the bundle.
            if built.exists():
                return
            raise RuntimeError("cellucid: js/package.json is missing and no prebuilt viewer was found.")
        npm = shutil.which("npm")
        if npm is None:
            if built.exists():
                self.app.display_warning("cellucid: npm not found; using the viewer already built in cellucid/static/.")
                return
            raise RuntimeError(
                "cellucid: building the web viewer needs Node.js >= 18 with npm, and `npm` is not on PATH.\n"
                "  hint: install Node.js (https://nodejs.org, or `apt-get install nodejs npm`), then rerun pip; "
                "or build the viewer yourself with `cd js && npm ci && npm run build` and set CELLUCID_SKIP_JS=1."
            )
        if not (js / "node_modules").exists():
            self._run([npm, "ci", "--no-audit", "--no-fund"], js)
        self._run([npm, "run", "build"], js)
        if not built.exists():
            raise RuntimeError(f"cellucid: `npm run build` finished but {built} was not written.")

    def _run(self, cmd: list[str], cwd: Path) -> None:
        self.app.display_info(f"cellucid: running {' '.join(Path(cmd[0]).name if i == 0 else c for i, c in enumerate(cmd))} in {cwd}")
        try:
            subprocess.run(cmd, cwd=cwd, check=True)
        except subprocess.CalledProcessError as exc:
            raise RuntimeError(
                f"cellucid: `{' '.join(cmd[1:])}` failed in {cwd} (exit {exc.returncode}); see the npm output above."
            ) from exc
