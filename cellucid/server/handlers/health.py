"""``GET /_cellucid/health``: answered from memory, never touches the data files."""

from __future__ import annotations

from cellucid.server.handlers.base import BaseHandler


class HealthHandler(BaseHandler):
    def get(self) -> None:
        self.write_json(self.state.health)
