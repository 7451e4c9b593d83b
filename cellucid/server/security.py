"""Request checks: Host header (DNS-rebinding protection) and the per-server token.

Rules (docs/security.md explains why):

1. The ``Host`` header must name the bound address, a loopback name (``localhost``,
   ``127.0.0.1``, ``[::1]``) or an ``allowed_hosts`` entry. On a wildcard bind
   (``0.0.0.0``/``::``) IP literals and this machine's host name are accepted too: a
   DNS-rebinding attack needs a *domain name* that the attacker controls.
   A request carrying the valid token passes whatever its Host (the attacker cannot know
   the token); that is how a viewer behind a proxy with an unknown public name works.
2. State-changing methods (POST/PUT/PATCH/DELETE) need the token in the
   ``X-Cellucid-Token`` header (the read-only analysis POST also takes the narrower
   :func:`analysis_token`, which every viewer page carries) — a cookie alone is not enough (CSRF) — and, when a
   browser sends ``Origin``, it must be this server's own origin.
3. On a non-loopback bind every request needs the token: ``?token=`` once (answered with
   a cookie), then the cookie; or the header.

No CORS headers are sent (the viewer is same-origin with its data), except on
``/_cellucid/health`` asked with this server's own ``?token=``: the notebook widget's identity
check reads that answer from the notebook's origin (handlers/health.py).
"""

from __future__ import annotations

import hmac
import ipaddress
import socket
from dataclasses import dataclass
from functools import lru_cache

from tornado.httputil import HTTPServerRequest, split_host_and_port

from cellucid.server.settings import LOOPBACK_NAMES, ServerSettings, is_wildcard

TOKEN_HEADER = "X-Cellucid-Token"
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: POST routes that only compute (nothing is written): the analysis token is enough for them.
READ_ONLY_POSTS = frozenset({"/_cellucid/api/analysis/rank_genes"})


@dataclass(frozen=True)
class Refusal:
    """Why a request was refused (sent as a 403 JSON error)."""

    error: str
    hint: str


@lru_cache(maxsize=1)
def _local_names() -> frozenset[str]:
    names = {socket.gethostname().lower()}
    try:
        names.add(socket.getfqdn().lower())
    except OSError:  # pragma: no cover - resolver trouble only
        pass
    return frozenset(names)


def request_hostname(request: HTTPServerRequest) -> str:
    """The host name of the ``Host`` header, lower-case, without port or IPv6 brackets."""
    raw = (request.headers.get("Host") or "").strip().lower()
    if raw.startswith("["):  # [::1]:8765
        return raw[1 : raw.find("]")] if "]" in raw else raw
    if raw.count(":") > 1:  # bare IPv6 literal without brackets
        return raw
    host, _ = split_host_and_port(raw)
    return host


def host_allowed(hostname: str, settings: ServerSettings) -> bool:
    """Whether a ``Host`` name is one this server answers to without its token."""
    if "*" in settings.allowed_hosts:
        return True
    allowed = {h.lower().strip("[]") for h in (*LOOPBACK_NAMES, *settings.allowed_hosts)}
    if not is_wildcard(settings.host):
        allowed.add(settings.host.lower().strip("[]"))
    if hostname in allowed:
        return True
    if is_wildcard(settings.host):
        if hostname in _local_names():
            return True
        try:
            ipaddress.ip_address(hostname)
            return True
        except ValueError:
            return False
    return False


def token_matches(candidate: str | None, settings: ServerSettings) -> bool:
    """Constant-time comparison with the server token."""
    return bool(candidate) and hmac.compare_digest(candidate.encode(), settings.token.encode())


def analysis_token(settings: ServerSettings) -> str:
    """The token the viewer page sends with its analysis POSTs: derived from the server token
    (HMAC), so it cannot be turned back into it, and accepted only by :data:`READ_ONLY_POSTS`
    — a page that leaks it lets someone make the server compute, never write."""
    return hmac.new(settings.token.encode(), b"cellucid-analysis", "sha256").hexdigest()[:32]


def same_origin(request: HTTPServerRequest) -> bool:
    """True when the request has no ``Origin`` header (not sent by a browser page) or one
    naming exactly this server as the client reached it (``http://`` + its ``Host``)."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    host = (request.headers.get("Host") or "").strip().lower()
    return bool(host) and origin.strip().lower() == f"{request.protocol}://{host}"


def check(request: HTTPServerRequest, cookie: str | None, query_token: str | None,
          settings: ServerSettings) -> Refusal | None:
    """Return a :class:`Refusal` when the request must be refused, else ``None``."""
    header = request.headers.get(TOKEN_HEADER)
    header_ok = token_matches(header, settings)
    any_token_ok = header_ok or token_matches(query_token, settings) or token_matches(cookie, settings)

    hostname = request_hostname(request)
    if not any_token_ok and not host_allowed(hostname, settings):
        return Refusal(
            f"Host {hostname!r} is not allowed",
            "This server only answers to its own address and localhost (DNS-rebinding "
            "protection). Behind a proxy, start it with --allowed-host "
            f"{hostname or 'NAME'} (allowed_hosts=[...] in Python).",
        )
    read_only_ok = (request.path in READ_ONLY_POSTS and bool(header)
                    and hmac.compare_digest(header.encode(), analysis_token(settings).encode()))
    if request.method in STATE_CHANGING and not (header_ok or read_only_ok):
        return Refusal(
            f"{request.method} needs this server's token",
            f"Send the token in the {TOKEN_HEADER} header.",
        )
    if request.method in STATE_CHANGING and not same_origin(request):
        return Refusal(
            f"{request.method} from another origin is refused",
            "State-changing requests must come from the viewer's own page (same scheme, host and port).",
        )
    if settings.token_required and not any_token_ok:
        return Refusal(
            "this server needs its access token",
            "It is bound to a non-loopback address; open the URL with ?token=... that it "
            "printed when it started.",
        )
    return None
