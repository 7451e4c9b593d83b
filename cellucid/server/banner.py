"""The one start-up banner printed by the CLI, ``serve*`` and ``AnnDataServer``."""

from __future__ import annotations

from cellucid._version import __version__
from cellucid.data.base import DatasetSummary
from cellucid.server.runner import ServerRunner, loopback_warning
from cellucid.server.settings import is_wildcard


def format_banner(runner: ServerRunner, summary: DatasetSummary, stop_hint: str = "press Ctrl+C") -> str:
    """Multi-line text: URL, dataset, port fallback, exposure warning, how to stop."""
    lines = [
        f"cellucid {__version__} is serving {summary.name!r}",
        f"  dataset: {summary.n_cells:,} cells × {summary.n_genes:,} genes ({summary.kind})",
        f"  open:    {runner.url}",
    ]
    if is_wildcard(runner.host):
        # The host name may not resolve everywhere; this one always works on this machine.
        token = f"?token={runner.token}" if runner.settings.token_required else ""
        lines.append(f"  local:   http://127.0.0.1:{runner.port}/{token}")
    dask = runner.settings.dask
    if dask is not None:  # where the analysis passes go (a failure to connect is logged on its own)
        address = dask if isinstance(dask, str) else getattr(getattr(dask, "scheduler", None), "address", "a client")
        lines.append(f"  dask:    analysis over all cells on {address}")
    if runner.port_fell_back:
        lines.append(f"  note:    port {runner.requested_port} was taken, using {runner.port}")
    warning = loopback_warning(runner.host, runner.port)
    if warning:
        lines.append(f"  WARNING: {warning}")
    lines.append(f"  stop:    {stop_hint}")
    return "\n".join(lines)
