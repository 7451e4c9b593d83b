"""``GET /_cellucid/health``: answered from memory, never touches the data files."""

from __future__ import annotations

from cellucid.server import security
from cellucid.server.handlers.base import BaseHandler


class HealthHandler(BaseHandler):
    def get(self) -> None:
        health = dict(self.state.health)
        problem = self.state.watch.problem  # set by a data route that saw the files change
        if problem is not None:
            health.update(status="data_changed", problem=problem)
        # A backed CSR file builds a gene-major index in the background: report how far.
        progress = self.state.source.gene_index_progress()
        if progress is not None:
            health["gene_index"] = round(progress, 3)
            note = self.state.source.gene_index_note()  # e.g. it would not fit: genes are scanned
            if note:
                health["gene_index_note"] = note
        from cellucid.analysis import prepare as analysis_prep

        analysis = analysis_prep.status(self.state.source)
        if analysis is not None:  # totals and rank tables for /analysis routes, made in the background
            health["analysis"] = analysis
        cluster = self.state.cluster
        if cluster is not None:  # --dask: the scheduler, its state, a fallback warning, a job's progress
            health["dask"] = cluster.status()
        self._answer_the_widgets_probe(health)
        self.write_json(health)

    def _answer_the_widgets_probe(self, health: dict) -> None:
        """The notebook widget asks with this server's token before it points its frame here:
        ``token_ok`` tells it that this is its own server, not another one that happens to
        answer at that address (a forwarded port, a reused one). Readable from the notebook's
        origin (CORS) only for a request carrying the token, which grants access anyway."""
        if not security.token_matches(self.get_query_argument("token", None), self.state.settings):
            return
        health["token_ok"] = True
        origin = self.request.headers.get("Origin")
        if origin:
            self.set_header("Access-Control-Allow-Origin", origin)
            self.set_header("Vary", "Origin")
