"""Every CLI option and every public keyword is documented (datasette-style check)."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _serve_options() -> list[str]:
    from cellucid.cli import main

    command = main.get_command(None, "serve")
    return [opt for param in command.params for opt in getattr(param, "opts", []) if opt.startswith("-")]


@pytest.mark.parametrize("option", _serve_options())
def test_every_serve_option_is_in_docs_cli(option):
    assert f"`{option}" in (DOCS / "cli.md").read_text() or f"{option}`" in (DOCS / "cli.md").read_text()


def test_every_anndata_server_keyword_is_in_docs_python_api():
    from cellucid.anndata_server import AnnDataServer

    text = (DOCS / "python-api.md").read_text()
    names = [n for n, p in inspect.signature(AnnDataServer).parameters.items() if p.kind is p.POSITIONAL_OR_KEYWORD]
    missing = [n for n in names if f"`{n}`" not in text]
    assert not missing


@pytest.mark.parametrize("name", ["serve", "serve_anndata", "AnnDataServer", "start_background", "stop()",
                                  "url", "port", "token"])
def test_public_api_names_are_in_docs_python_api(name):
    assert name in (DOCS / "python-api.md").read_text()
