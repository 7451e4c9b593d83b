"""How the iframe URL is chosen (cellucid.widget.proxy)."""

from __future__ import annotations

import pytest

from cellucid.widget import proxy


def test_default_is_direct():
    assert proxy.proxy_url_for(8765) == ""
    t = proxy.iframe_target("http://127.0.0.1:8765", 8765)
    assert t.direct_url == "http://127.0.0.1:8765/" and not t.uses_proxy


def test_jupyterhub_prefix_is_the_base_url(monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/bob/")
    assert proxy.proxy_url_for(9000) == "/user/bob/proxy/9000/"


@pytest.mark.parametrize("env, expected", [("1", "auto"), ("true", "auto"), ("0", ""), ("/base", "/base/proxy/9000/")])
def test_cellucid_proxy_env(monkeypatch, env, expected):
    monkeypatch.setenv("CELLUCID_PROXY", env)
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/bob/")  # CELLUCID_PROXY wins
    assert proxy.proxy_url_for(9000) == expected


def test_set_proxy_overrides_the_environment(monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/bob/")
    proxy.set_proxy(False)
    assert proxy.proxy_url_for(9000) == ""
    proxy.set_proxy("https://hub.example.org/user/bob")
    assert proxy.proxy_url_for(9000) == "https://hub.example.org/user/bob/proxy/9000/"
    proxy.set_proxy("https://example.org/ports/{port}")
    assert proxy.proxy_url_for(9000) == "https://example.org/ports/9000/"
    proxy.set_proxy(None)
    assert proxy.proxy_url_for(9000) == "/user/bob/proxy/9000/"


def test_set_proxy_rejects_other_types():
    with pytest.raises(TypeError, match="base URL"):
        proxy.set_proxy(1.5)
