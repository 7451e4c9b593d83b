"""The cellucid viewer as a Jupyter widget.

    viewer = cellucid.show_anndata(adata)      # displays the viewer, returns a Viewer
    viewer.selection                           # numpy positions of the selected cells
    viewer.selected_obs()                      # adata.obs.iloc[viewer.selection]

See docs/jupyter.md.
"""

from __future__ import annotations

from typing import Any

from cellucid.widget._lifetime import stop_all
from cellucid.widget._session import SessionError
from cellucid.widget.proxy import set_proxy
from cellucid.widget.viewer import Viewer, check_transport

__all__ = ["show_anndata", "show", "set_proxy", "Viewer", "stop_all", "SessionError"]


def _start_viewer(data: Any, *, height: int, color_by, embedding, dimension, display: bool,
                  proxy, transport: str, server_options: dict) -> Viewer:
    from cellucid.anndata_server import AnnDataServer

    check_transport(transport)  # before a server starts

    server_options.setdefault("open_browser", False)
    server = AnnDataServer(data, **server_options)
    server.start_background()
    try:
        viewer = Viewer(server, data, height=height, color_by=color_by, embedding=embedding,
                        dimension=dimension, proxy=proxy, transport=transport)
    except BaseException:
        server.stop()
        raise
    if display:
        _auto_display(viewer)
    return viewer


def _auto_display(viewer: Viewer) -> None:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return
    ip = get_ipython()
    if ip is None or getattr(ip, "kernel", None) is None:
        return  # plain Python / terminal IPython: nothing to draw an iframe in
    viewer.display()
    viewer._auto_displayed_in = ip.execution_count


def show_anndata(data: Any, gene_id_column: str | None = None, height: int = 600, color_by: str | None = None,
                 embedding: str | None = None, dimension: int | None = None, *, display: bool = True,
                 proxy: bool | str | None = None, transport: str = "auto", **server_options: Any) -> Viewer:
    """Show ``data`` (an ``AnnData``, a ``mudata.MuData``, or a path to ``.h5ad`` / ``.zarr`` /
    ``.h5mu`` / ``.loom``) in the notebook.

    Starts a background server (on a thread, so it serves while cells run), displays the
    viewer in the cell output and returns a :class:`Viewer`. ``color_by``, ``embedding``
    (an obsm key) and ``dimension`` (1/2/3) set the initial view; ``height`` is in pixels.
    ``proxy`` overrides :func:`set_proxy` for this viewer. ``transport``: ``"auto"`` (the
    server's port when the browser reaches it, else the notebook's own connection — for
    VS Code remote, Colab, gateways), ``"http"`` or ``"comm"``; ``viewer.transport`` says
    which one is in use. Other keyword arguments go to
    :class:`cellucid.anndata_server.AnnDataServer` (``port``, ``host``, ``backed``,
    ``latent_key``, ``expression``, ``obs_keys``, ``dataset_name``, ``modality``,
    ``dask_client`` (a ``distributed.Client`` or scheduler address: the analysis passes over
    all cells of a ``.h5ad`` / ``.zarr`` path run on that Dask cluster; docs/dask.md), ...).
    ``display=False`` returns the viewer without displaying it (display it with ``viewer``).
    """
    if gene_id_column is not None:
        server_options["gene_id_column"] = gene_id_column
    return _start_viewer(data, height=height, color_by=color_by, embedding=embedding, dimension=dimension,
                         display=display, proxy=proxy, transport=transport, server_options=server_options)


def show(export_dir: Any, height: int = 600, color_by: str | None = None, embedding: str | None = None,
         dimension: int | None = None, *, display: bool = True, proxy: bool | str | None = None,
         transport: str = "auto", **server_options: Any) -> Viewer:
    """Like :func:`show_anndata` for an export folder written by ``cellucid.prepare()``."""
    return _start_viewer(export_dir, height=height, color_by=color_by, embedding=embedding, dimension=dimension,
                         display=display, proxy=proxy, transport=transport, server_options=server_options)
