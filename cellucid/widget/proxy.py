"""How the widget's iframe reaches the background server.

By default the iframe opens ``http://127.0.0.1:<port>/`` directly: that works when the
browser runs on the same machine as the kernel (a local JupyterLab / Notebook).

When the kernel runs elsewhere (JupyterHub, a remote server, a container), the browser
cannot reach the kernel's loopback address. Then the iframe goes through
jupyter-server-proxy, on the notebook's own origin: ``<base_url>proxy/<port>/``. The
proxy is used when any of these says so (first match wins):

1. ``cellucid.set_proxy(True)`` / ``set_proxy("<base_url>")`` / ``set_proxy(False)``;
2. the environment variable ``CELLUCID_PROXY`` (``1``/``true`` or a base URL; ``0`` off);
3. ``JUPYTERHUB_SERVICE_PREFIX`` (set by JupyterHub in every single-user server), which is
   also the base URL.

``base_url`` may also be a full template containing ``{port}``, e.g.
``"https://example.org/user/me/proxy/{port}/"`` for unusual setups.

When the proxy is on but no base URL is known, the browser side works it out from the
page's Jupyter config (``baseUrl`` in ``#jupyter-config-data``, present in JupyterLab and
Notebook 7); that is what the ``"auto"`` mode below means.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

# Sentinel for "the JS side derives <baseUrl>proxy/<port>/ from the page".
AUTO = "auto"

_UNSET = object()
_setting: object = _UNSET  # what set_proxy() chose; _UNSET = follow the environment


def set_proxy(enabled: bool | str | None = True) -> None:
    """Choose how new viewers' iframes reach their server.

    ``set_proxy(True)``: through jupyter-server-proxy at ``<notebook base URL>proxy/<port>/``
    (the base URL is read from the page). ``set_proxy("/user/me/")``: the same with an
    explicit base URL (or a full URL template containing ``{port}``).
    ``set_proxy(False)``: always direct (``http://127.0.0.1:<port>/``).
    ``set_proxy(None)``: back to automatic (environment variables decide).

    Affects viewers created afterwards. Needs ``pip install jupyter-server-proxy`` in the
    environment that runs the *Jupyter server* (not necessarily the kernel's).
    """
    global _setting
    if enabled is None:
        _setting = _UNSET
    elif isinstance(enabled, (bool, str)):
        _setting = enabled
    else:
        raise TypeError(f"set_proxy() takes True, False, None or a base URL string, not {type(enabled).__name__}")


def _from_env() -> bool | str:
    raw = os.environ.get("CELLUCID_PROXY", "").strip()
    if raw:
        low = raw.lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        return raw
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "").strip()
    if prefix:
        return prefix
    return False


def proxy_setting() -> bool | str:
    """The effective proxy choice: ``False`` (direct), ``True`` (auto base URL) or a base URL."""
    return _from_env() if _setting is _UNSET else _setting  # type: ignore[return-value]


@dataclass(frozen=True)
class IframeTarget:
    """Where the iframe should point.

    ``direct_url`` is the server's own URL. ``proxy_url`` is ``""`` (direct), ``"auto"``
    (JS computes ``<page baseUrl>proxy/<port>/``) or a URL/path ending in ``/``.
    """

    direct_url: str
    port: int
    proxy_url: str

    @property
    def uses_proxy(self) -> bool:
        return bool(self.proxy_url)


def proxy_url_for(port: int, setting: bool | str | None = None) -> str:
    """The iframe's proxy URL for ``port`` under ``setting`` (default: the effective one)."""
    if setting is None:
        setting = proxy_setting()
    if setting is False:
        return ""
    if setting is True:
        return AUTO
    base = str(setting)
    if "{port}" in base:
        url = base.format(port=port)
        return url if url.endswith("/") else url + "/"
    if not base.endswith("/"):
        base += "/"
    return f"{base}proxy/{port}/"


def iframe_target(server_url: str, port: int, setting: bool | str | None = None) -> IframeTarget:
    """Combine a server's direct URL and the proxy choice into an :class:`IframeTarget`."""
    direct = server_url if server_url.endswith("/") else server_url + "/"
    return IframeTarget(direct_url=direct, port=int(port), proxy_url=proxy_url_for(port, setting))
