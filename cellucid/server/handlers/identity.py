"""``GET /dataset_identity.json``: the dataset description (built once at start-up)."""

from __future__ import annotations

from cellucid.server.encode import json_bytes
from cellucid.server.handlers.base import BaseHandler


class IdentityHandler(BaseHandler):
    def get(self) -> None:
        self.state.check_files()  # the description of a file that changed is stale too
        if self.not_modified():
            return
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json_bytes(self.state.identity))
