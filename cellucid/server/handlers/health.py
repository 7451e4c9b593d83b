"""``GET /_cellucid/health``: answered from memory, never touches the data files."""

from __future__ import annotations

from cellucid.server.handlers.base import BaseHandler


class HealthHandler(BaseHandler):
    def get(self) -> None:
        problem = self.state.watch.problem  # set by a data route that saw the files change
        self.write_json(self.state.health if problem is None else
                        {**self.state.health, "status": "data_changed", "problem": problem})
