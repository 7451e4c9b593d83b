"""``AnnDataServer``: serve an ``.h5ad`` / ``.zarr`` path, an ``AnnData``, an export folder
or the demo dataset in the background of a Python process.

>>> from cellucid.anndata_server import AnnDataServer
>>> with AnnDataServer(None, demo_cells=2000, quiet=True) as server:   # doctest: +SKIP
...     print(server.url)
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any, Iterable, Sequence

from cellucid.server.runner import ServerRunner

__all__ = ["AnnDataServer"]


def configure_logging(verbose: bool) -> None:
    """With ``verbose``, show one access-log line per request on stderr."""
    if not verbose:
        return
    logger = logging.getLogger("cellucid")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("[cellucid %(asctime)s] %(message)s", "%H:%M:%S"))
        logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)


def open_in_browser(url: str) -> None:
    """Open ``url`` without blocking (some browsers block ``webbrowser.open``)."""
    import webbrowser  # imported here: it pulls in subprocess & co., and only this needs it

    threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()


class AnnDataServer:
    """A cellucid data + viewer server for one dataset.

    ``data``: path to ``.h5ad`` / ``.zarr`` / an export folder, an ``AnnData``, or ``None``
    for the built-in demo. The other keywords are those of ``cellucid serve``:
    ``backed`` (read lazily from disk), ``latent_key``, ``gene_id_column``, ``expression``
    (``"X"``, ``"raw"`` or ``"layer:NAME"``), ``obs_keys`` (show only these obs columns),
    ``allowed_hosts`` (extra ``Host`` names, e.g. behind a reverse proxy), ``dataset_name``,
    ``annotations`` (an annotation folder, created when missing: the viewer's annotation
    panel and the consensus field; docs/annotation.md), ``dask_client`` (a
    ``distributed.Client`` or a scheduler address such as ``"tcp://host:8786"``: the
    analysis passes over all cells run there; docs/dask.md).
    Extra keywords (e.g. ``demo_cells``) go to :func:`cellucid.data.open_source`.

    The data is opened right away (bad input raises a ``CellucidError`` here); the socket
    is bound by :meth:`start_background` (or ``with``). Several servers can run in one
    process; :meth:`stop` frees the port and closes the data files.
    """

    def __init__(self, data: Any = None, port: int = 8765, host: str = "127.0.0.1",
                 open_browser: bool = False, backed: bool = True, latent_key: str | None = None,
                 gene_id_column: str | None = None, expression: str = "X",
                 obs_keys: Sequence[str] | None = None, allowed_hosts: Iterable[str] | None = None,
                 dataset_name: str | None = None, quiet: bool = False, verbose: bool = False,
                 annotations: Any = None, dask_client: Any = None, **source_options: Any):
        from cellucid.analysis.cluster import check_target
        from cellucid.data import open_source

        check_target(dask_client)  # before anything is opened
        self.open_browser = open_browser
        self.quiet = quiet
        configure_logging(verbose)
        if isinstance(obs_keys, str):
            obs_keys = [obs_keys]
        self.source = open_source(
            data, backed=backed, latent_key=latent_key, gene_id_column=gene_id_column,
            expression=expression, obs_keys=list(obs_keys) if obs_keys is not None else None,
            dataset_name=dataset_name, **source_options,
        )
        folder = None
        if annotations is not None:
            from cellucid.annotation.folder import open_beside_data

            try:
                folder = open_beside_data(annotations, self.source.watched_paths())
            except BaseException:
                self.source.close()
                raise
        self._runner = ServerRunner(self.source, host=host, port=port,
                                    allowed_hosts=allowed_hosts, verbose=verbose)
        self._runner.settings.annotations = folder
        self._runner.settings.dask = dask_client
        self.annotations = folder

    # -- lifecycle -----------------------------------------------------------------
    def start_background(self, stop_hint: str = "call .stop() on the server") -> "AnnDataServer":
        """Start serving on a daemon thread; returns ``self`` once the port is listening."""
        if self._runner.running:
            return self
        try:
            self._runner.start_background()
        except BaseException:
            self._runner.stop()
            raise
        self._announce(stop_hint)
        return self

    def serve_forever(self) -> None:
        """Serve in the foreground until Ctrl+C / SIGTERM, then stop and release everything."""
        try:
            self._runner.serve_forever(on_started=lambda: self._announce("press Ctrl+C"))
        finally:
            self._runner.stop()
        if not self.quiet:
            print("cellucid: stopped", flush=True)

    def _announce(self, stop_hint: str) -> None:
        if not self.quiet:
            print(self.banner(stop_hint), flush=True)
        if self.open_browser:
            open_in_browser(self.url)

    def stop(self) -> None:
        """Stop serving, free the port, close the data files. Safe to call twice."""
        self._runner.stop()

    def banner(self, stop_hint: str = "press Ctrl+C") -> str:
        from cellucid.server.banner import format_banner

        return format_banner(self._runner, self.source.summary(), stop_hint)

    def __enter__(self) -> "AnnDataServer":
        return self.start_background()

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<AnnDataServer {self.url} {state}>"

    # -- addresses -----------------------------------------------------------------
    @property
    def url(self) -> str:
        """The URL to open (with ``?token=`` when bound to a non-loopback host)."""
        return self._runner.url

    @property
    def base_url(self) -> str:
        """``http://host:port/`` without any token."""
        return self._runner.base_url

    @property
    def port(self) -> int:
        """The port in use (the next free one if the requested port was taken)."""
        return self._runner.port

    @property
    def host(self) -> str:
        return self._runner.host

    @property
    def token(self) -> str:
        """This server's secret: ``X-Cellucid-Token`` header for POST/PUT/DELETE."""
        return self._runner.token

    @property
    def running(self) -> bool:
        return self._runner.running

    @property
    def dask(self):
        """The :class:`~cellucid.analysis.cluster.DaskCluster` analysis runs on once started
        with ``dask_client`` (its ``status()`` is what ``/_cellucid/health`` shows), else ``None``."""
        app = self._runner._app
        return app.cellucid_state.cluster if app is not None else None

    @property
    def runner(self) -> ServerRunner:
        return self._runner
