"""``ServerRunner``: one server's socket, event-loop thread and shutdown.

The server runs on a daemon thread with its own asyncio event loop, so it keeps serving
while the caller (a Jupyter cell, a long computation) is busy. ``serve_forever()`` is the
foreground variant used by the CLI: it waits for Ctrl+C / SIGTERM and stops cleanly.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import errno
import logging
import signal
import socket
import threading
from typing import Callable, Iterable

import tornado.httpserver
import tornado.netutil

from cellucid.data.base import DataSource, InputError
from cellucid.server import inprocess
from cellucid.server.app import make_app
from cellucid.server.limits import HEAD_READ_LIMIT, LARGEST_BODY_BYTES, RequestLimits
from cellucid.server.settings import ServerSettings, is_loopback, is_wildcard

log = logging.getLogger("cellucid.server")

PORT_RETRIES = 20
START_TIMEOUT = 30.0
STOP_TIMEOUT = 2.0


def _url_host(host: str) -> str:
    """The host part of a URL a person can open for a server bound to ``host``."""
    if is_wildcard(host):
        host = socket.gethostname() or "127.0.0.1"
    return f"[{host}]" if ":" in host else host


class ServerRunner:
    """Serve ``source`` on ``host:port`` (the next free port if that one is taken).

    ``close_source``: close the data source on :meth:`stop` (its files are released).
    Attributes after start: ``port`` (actually used), ``requested_port``, ``url``,
    ``token``, ``port_fell_back``.
    """

    def __init__(self, source: DataSource, host: str = "127.0.0.1", port: int = 8765, *,
                 allowed_hosts: Iterable[str] | None = None, token: str | None = None,
                 close_source: bool = True, verbose: bool = False,
                 port_retries: int = PORT_RETRIES, settings: ServerSettings | None = None):
        self.source = source
        self.host = host
        self.requested_port = int(port)
        self.close_source = close_source
        self.port_retries = max(1, port_retries)
        self.settings = settings or ServerSettings(host=host, port=int(port),
                                                   allowed_hosts=tuple(allowed_hosts or ()),
                                                   verbose=verbose)
        if token:
            self.settings.token = token
        self.settings.host = host
        self._sockets: list[socket.socket] = []
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: tornado.httpserver.HTTPServer | None = None
        self._app = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._lock = threading.Lock()
        self._started = False
        self._stopped = False

    # -- public --------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self.settings.port

    @property
    def token(self) -> str:
        return self.settings.token

    @property
    def port_fell_back(self) -> bool:
        return self._started and self.requested_port not in (0, self.port)

    @property
    def base_url(self) -> str:
        """``http://host:port/`` without the token."""
        return f"http://{_url_host(self.host)}:{self.port}/"

    @property
    def url(self) -> str:
        """The URL to open: with ``?token=`` when the server is reachable from other hosts."""
        if self.settings.token_required:
            return f"{self.base_url}?token={self.token}"
        return self.base_url

    @property
    def identity(self) -> dict | None:
        """The served dataset's identity (``dataset_identity.json``) once started."""
        return self._app.cellucid_state.identity if self._app is not None else None

    @property
    def running(self) -> bool:
        return self._started and not self._stopped and bool(self._thread and self._thread.is_alive())

    def start_background(self) -> "ServerRunner":
        """Bind, build the app and serve on a daemon thread. Returns once it is listening."""
        with self._lock:
            if self._stopped:
                raise RuntimeError("this server was stopped; create a new one")
            if self._started:
                return self
            self._sockets, self.settings.port = self._bind()
            try:
                self._app = make_app(self.source, self.settings)
            except BaseException:
                self._close_sockets()
                raise
            self._thread = threading.Thread(target=self._thread_main, daemon=True,
                                            name=f"cellucid-server-{self.port}")
            self._thread.start()
            self._ready.wait(START_TIMEOUT)
            if self._start_error is not None or not self._ready.is_set():
                err = self._start_error or RuntimeError("the server thread did not start")
                self._close_sockets()
                raise err
            self._started = True
        log.info("serving on %s", self.base_url)
        return self

    def answer(self, target: str, headers: dict[str, str] | None = None, *, method: str = "GET",
               body: bytes = b"") -> "concurrent.futures.Future":
        """Answer ``method target`` (``/path?query``) on the server's own event loop, without a
        socket (:mod:`cellucid.server.inprocess`): the notebook widget's comm transport.
        Returns a ``concurrent.futures.Future`` of an :class:`~cellucid.server.inprocess.Answer`."""
        if not self.running or self._loop is None:
            raise RuntimeError("this server is not running")
        host = f"{_url_host(self.host)}:{self.port}"
        coro = inprocess.answer(self._app, target, method=method, headers=headers, body=body, host=host,
                                token=self.token)
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def stop(self) -> None:
        """Stop serving, free the port and close the data source. Idempotent."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            if threading.current_thread() is thread:
                loop.call_soon(loop.stop)
            else:
                try:
                    asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(STOP_TIMEOUT)
                except Exception:  # noqa: BLE001 - best effort: the loop stops regardless
                    log.debug("graceful shutdown timed out", exc_info=True)
                loop.call_soon_threadsafe(loop.stop)
                thread.join(STOP_TIMEOUT + 3)
        self._close_sockets()
        if self._app is not None:
            self._app.cellucid_state.close()
        if self.close_source:
            self.source.close()

    def serve_forever(self, on_started: Callable[[], None] | None = None) -> None:
        """Serve in the foreground until Ctrl+C (SIGINT) or SIGTERM, then stop cleanly.

        ``on_started`` runs once the server listens and the signal handlers are in place
        (the CLI prints its banner there, so a Ctrl+C right after it is still clean).
        """
        done = threading.Event()
        previous = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, lambda *_: done.set())
        try:
            self.start_background()
            if on_started is not None:
                on_started()
            while not done.wait(0.25):
                if not (self._thread and self._thread.is_alive()):
                    break
        except KeyboardInterrupt:
            pass
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.stop()

    def __enter__(self) -> "ServerRunner":
        return self.start_background()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- internals -----------------------------------------------------------------
    def _bind(self) -> tuple[list[socket.socket], int]:
        first = self.requested_port
        ports = [0] if first == 0 else [p for p in range(first, first + self.port_retries) if p <= 65535]
        address = None if self.host in ("", "*") else self.host
        for port in ports:
            try:
                sockets = tornado.netutil.bind_sockets(port, address=address)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    continue
                raise InputError(
                    f"cannot listen on {self.host}:{port}: {exc.strerror or exc}",
                    "Check --host: it must be an address of this machine (127.0.0.1 by default).",
                ) from None
            return sockets, sockets[0].getsockname()[1]
        raise InputError(
            f"ports {ports[0]}–{ports[-1]} on {self.host} are all in use",
            "Choose another with --port (port=... in Python), or stop the other servers.",
        )

    def _thread_main(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            loop.run_until_complete(self._setup())
        except BaseException as exc:  # noqa: BLE001 - reported to start_background()
            self._start_error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

    async def _setup(self) -> None:
        # RequestLimits answers oversize bodies/URLs/heads with JSON 413/414/431 before reading
        # bodies; tornado reads heads up to HEAD_READ_LIMIT so that it can see them.
        self._server = tornado.httpserver.HTTPServer(
            RequestLimits(self._app), max_body_size=LARGEST_BODY_BYTES, body_timeout=30.0, max_header_size=HEAD_READ_LIMIT,
            idle_connection_timeout=self.settings.header_timeout,
        )
        self._server.add_sockets(self._sockets)

    async def _shutdown(self) -> None:
        if self._server is None:
            return
        self._server.stop()
        try:
            await asyncio.wait_for(self._server.close_all_connections(), STOP_TIMEOUT / 2)
        except (asyncio.TimeoutError, Exception):  # noqa: BLE001 - slow requests are dropped
            pass

    def _close_sockets(self) -> None:
        for sock in self._sockets:
            try:
                sock.close()
            except OSError:
                pass
        self._sockets = []


def loopback_warning(host: str, port: int) -> str | None:
    """The banner's warning for a server other machines can reach (``None`` on loopback)."""
    if is_loopback(host):
        return None
    who = "anyone who can reach this machine" if is_wildcard(host) else f"anyone who can reach {host}"
    return (f"bound to {host}: {who} on port {port} can connect. Requests need the token in "
            "the URL above; share it only with people who may see this data. "
            "Use an SSH tunnel to 127.0.0.1 instead when you can.")
