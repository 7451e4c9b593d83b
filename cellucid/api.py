"""``serve`` and ``serve_anndata``: the blocking one-liners of the Python API."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from cellucid.anndata_server import AnnDataServer

__all__ = ["serve", "serve_anndata"]


def _in_running_event_loop() -> bool:
    """True inside Jupyter (ipykernel runs cells on a running asyncio loop)."""
    try:
        asyncio.get_running_loop()
        return True
    except RuntimeError:
        pass
    shell = sys.modules.get("IPython")
    if shell is not None and "ipykernel" in sys.modules:
        ip = shell.get_ipython()
        return ip is not None and getattr(ip, "kernel", None) is not None
    return False


def _run(server: AnnDataServer) -> AnnDataServer:
    if _in_running_event_loop():
        server.start_background(stop_hint="server.stop()")
        print("cellucid: an event loop is running here (Jupyter?), so the server runs in the "
              "background; call .stop() on the returned server to stop it.", flush=True)
        return server
    server.serve_forever()
    return server


def serve(export_dir, port: int = 8765, host: str = "127.0.0.1", open_browser: bool = True,
          **options: Any) -> AnnDataServer:
    """Serve a prepared export folder (``prepare()`` output) until Ctrl+C.

    Any path ``cellucid serve`` accepts works too. In a running event loop (Jupyter) the
    server starts in the background instead and is returned; call ``.stop()`` on it.
    ``options`` are those of :class:`~cellucid.anndata_server.AnnDataServer`.
    """
    return _run(AnnDataServer(export_dir, port=port, host=host, open_browser=open_browser, **options))


def serve_anndata(data, port: int = 8765, host: str = "127.0.0.1", open_browser: bool = True,
                  **options: Any) -> AnnDataServer:
    """Serve a path (``.h5ad``, ``.zarr``, ``.h5mu``, ``.loom``), an ``AnnData`` or a
    ``mudata.MuData`` until Ctrl+C.

    ``options``: ``backed``, ``latent_key``, ``gene_id_column``, ``expression``,
    ``obs_keys``, ``allowed_hosts``, ``dataset_name``, ``modality`` (MuData: the modality
    genes come from), ``dask_client`` (a ``distributed.Client`` or ``"tcp://host:8786"``:
    analysis passes over all cells run on that Dask cluster; docs/dask.md), ``quiet``,
    ``verbose``. In a
    running event loop (Jupyter) it starts in the background, says so, and returns the
    server; call ``.stop()`` on it.
    """
    return _run(AnnDataServer(data, port=port, host=host, open_browser=open_browser, **options))
