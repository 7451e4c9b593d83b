"""``make_app(source, settings)``: the Tornado application and its route table."""

from __future__ import annotations

import logging

import tornado.web

from cellucid.data.base import DataSource
from cellucid.server.handlers import analysis, annotations, data, graph, health, identity, neighbors, static
from cellucid.server.handlers.base import NotFoundHandler
from cellucid.server.settings import ServerSettings
from cellucid.server.state import ServerState

access_log = logging.getLogger("cellucid.access")

API = r"/_cellucid/api"


def _log_request(handler: tornado.web.RequestHandler) -> None:
    status = handler.get_status()
    level = logging.WARNING if status >= 500 and status != 503 else logging.INFO
    access_log.log(level, "%d %s %s %.1fms", status, handler.request.method,
                   handler.request.uri, 1000.0 * handler.request.request_time())


def make_app(source: DataSource, settings: ServerSettings | None = None) -> tornado.web.Application:
    """Build the application serving ``source``. ``app.cellucid_state`` holds the shared
    state (identity, caches, executor); call ``app.cellucid_state.close()`` when done."""
    settings = settings or ServerSettings()
    state = ServerState(source, settings)
    ctx = {"state": state}
    routes = [
        (r"/", static.IndexHandler, ctx),
        (r"/index\.html", static.IndexHandler, ctx),
        (r"/assets/(.*)", static.AssetHandler, {**ctx, "path": str(settings.viewer_dir / "assets")}),
        (r"/_cellucid/health", health.HealthHandler, ctx),
        (r"/dataset_identity\.json", identity.IdentityHandler, ctx),
        (API + r"/embedding", data.EmbeddingHandler, ctx),
        (API + r"/obs", data.ObsHandler, ctx),
        (API + r"/obs/meta", data.ObsMetaHandler, ctx),
        (API + r"/gene", data.GeneHandler, ctx),
        (API + r"/genes", data.GeneSearchHandler, ctx),
        (API + r"/vectors", data.VectorsHandler, ctx),
        (API + r"/cells", data.CellsHandler, ctx),
        (API + r"/neighbors", neighbors.NeighborsHandler, ctx),
        (API + r"/graph/edges", graph.GraphEdgesHandler, ctx),
        (API + r"/annotations", annotations.AnnotationsHandler, ctx),
        (API + r"/annotations/([a-z]+)", annotations.AnnotationWriteHandler, ctx),
        (API + r"/analysis/rank_genes", analysis.RankGenesHandler, ctx),
        (API + r"/analysis/markers", analysis.MarkersHandler, ctx),
        (API + r"/analysis/signature", analysis.SignatureHandler, ctx),
        (API + r"/analysis/correlation", analysis.CorrelationHandler, ctx),
        (API + r"/analysis/dotplot", analysis.DotplotHandler, ctx),
    ]
    app = tornado.web.Application(
        routes,
        default_handler_class=NotFoundHandler,
        default_handler_args=ctx,
        compress_response=True,  # JSON, HTML, JS; binary bodies are pre-gzipped and cached
        log_function=_log_request,
        xsrf_cookies=False,  # state-changing requests are guarded by the token header instead
        serve_traceback=False,
    )
    app.cellucid_state = state  # type: ignore[attr-defined]
    return app
