"""Per-server settings shared by the app, the security checks and the runner."""

from __future__ import annotations

import ipaddress
import secrets
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Where the built viewer lives (``npm --prefix js run build`` writes it).
VIEWER_DIR = Path(__file__).resolve().parent.parent / "static" / "viewer"

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP literals (``127.x``, ``::1``)."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_wildcard(host: str) -> bool:
    """True for the bind-everything addresses (``0.0.0.0``, ``::``, empty)."""
    host = host.strip("[]")
    return host in ("", "0.0.0.0", "::")


@dataclass
class ServerSettings:
    """What one server needs to know beyond its data source.

    ``host``/``port`` are the bound address (``port`` is the one actually used);
    ``token`` is the per-server secret (state-changing requests carry it in
    ``X-Cellucid-Token``; on a non-loopback host every request needs it);
    ``allowed_hosts`` are extra ``Host`` header names to answer to (reverse proxies);
    ``cache_bytes`` bounds the encoded-response cache; ``executor`` runs slow reads;
    ``header_timeout`` closes a connection that has not sent a complete request head
    in that many seconds (slowloris-style clients; also idle keep-alive connections);
    ``annotations`` is an :class:`~cellucid.annotation.AnnotationFolder` (``--annotations
    DIR``) or ``None``; ``dask`` a Dask scheduler address or ``distributed.Client``
    (``--dask``) for the analysis passes over all cells, or ``None``.
    """

    host: str = "127.0.0.1"
    port: int = 8765
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    allowed_hosts: tuple[str, ...] = ()
    cache_bytes: int = 128 * 1024 * 1024
    viewer_dir: Path = VIEWER_DIR
    executor: Executor | None = None
    verbose: bool = False
    header_timeout: float = 60.0
    annotations: Any = None
    dask: Any = None

    @property
    def token_required(self) -> bool:
        """Every request must carry the token when the server is reachable from other hosts."""
        return not is_loopback(self.host)

    @property
    def cookie_name(self) -> str:
        # Cookies ignore ports, so two servers on one host need distinct names.
        return f"cellucid-token-{self.port}"
