"""A small Tornado application on its own thread and event loop (a free loopback port), for
pages the browser tests need beside the viewer: a host page on another origin, a proxy."""

from __future__ import annotations

import asyncio
import threading

import tornado.web


class ThreadedApp:
    """Serve ``handlers`` on 127.0.0.1 until :meth:`stop`; ``port`` is known once constructed."""

    def __init__(self, handlers: list):
        self.port: int | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, args=(handlers,), daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the test's Tornado app did not start within 10 s")

    def _main(self, handlers: list) -> None:
        async def run():
            server = tornado.web.Application(handlers).listen(0, "127.0.0.1")
            self.port = next(iter(server._sockets.values())).getsockname()[1]
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            self._ready.set()
            await self._stop.wait()
            server.stop()

        asyncio.run(run())

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(5)
