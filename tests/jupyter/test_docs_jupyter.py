"""docs/jupyter.md documents every public member of the Viewer and of cellucid.widget."""

from __future__ import annotations

import inspect
from pathlib import Path

import cellucid.widget as widget_pkg
from cellucid.widget.viewer import Viewer

DOC = (Path(__file__).resolve().parents[2] / "docs" / "jupyter.md").read_text()


def test_every_public_viewer_member_is_documented():
    public = [name for name, _ in inspect.getmembers(Viewer) if not name.startswith("_")]
    missing = [name for name in public if name not in DOC]
    assert public and not missing, f"undocumented Viewer members: {missing}"


def test_every_exported_function_and_its_arguments_are_documented():
    for name in widget_pkg.__all__:
        assert name in DOC, name
    for fn in (widget_pkg.show_anndata, widget_pkg.show):
        for param in inspect.signature(fn).parameters:
            if param != "server_options":
                assert f"`{param}`" in DOC or f"{param}=" in DOC, (fn.__name__, param)


def test_every_proxy_setting_is_documented():
    for needle in ("CELLUCID_PROXY", "JUPYTERHUB_SERVICE_PREFIX", "set_proxy(True)", "set_proxy(False)",
                   "set_proxy(None)", "{port}", "pip install jupyter-server-proxy"):
        assert needle in DOC, needle
