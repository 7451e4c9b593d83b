"""Fixtures for the Jupyter widget tests: small demo AnnData objects and files."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def demo_adata():
    from cellucid.data.demo import demo_anndata

    return demo_anndata(3000)


@pytest.fixture(scope="session")
def demo_h5ad(tmp_path_factory, demo_adata):
    path = tmp_path_factory.mktemp("h5ad") / "demo.h5ad"
    demo_adata.write_h5ad(path)
    return path


@pytest.fixture(autouse=True)
def _reset_proxy(monkeypatch):
    """Every test starts with the proxy choice left to the (cleared) environment."""
    from cellucid.widget import proxy

    monkeypatch.delenv("CELLUCID_PROXY", raising=False)
    monkeypatch.delenv("JUPYTERHUB_SERVICE_PREFIX", raising=False)
    proxy.set_proxy(None)
    yield
    proxy.set_proxy(None)
