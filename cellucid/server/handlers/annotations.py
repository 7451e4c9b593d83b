"""Annotation routes (only with ``--annotations DIR``; see docs/annotation.md):

- ``GET  /_cellucid/api/annotations``: every target's proposals, votes, voters and consensus;
- ``POST /_cellucid/api/annotations/vote``: ``{annotator, label, field+category | set | cells,
  note?, confidence?}`` (proposing a new label is a vote for it; ``cells`` labels a selection);
- ``POST /_cellucid/api/annotations/retract``: ``{annotator, field+category | set}``;
- ``POST /_cellucid/api/annotations/lock``: ``{annotator, label | null, field+category | set}``
  (the project's author only);
- ``POST /_cellucid/api/annotations/sync``: ``{}`` — commit, pull and push the folder's git
  repository on the server's machine (:mod:`cellucid.annotation.sync`).

POSTs need the server's token in ``X-Cellucid-Token`` like every write (server/security.py).
The consensus itself is an obs field: ``/obs?field=annotation`` and ``/obs/meta``.
Requests only name targets and annotators; the file written is always the annotator's own
file inside the folder, named by :func:`cellucid.annotation._names.file_name`.
"""

from __future__ import annotations

import asyncio
import json

from cellucid.data.base import BadParameter, NotFound
from cellucid.server.handlers.base import BaseHandler

ACTIONS = ("vote", "retract", "lock", "sync")


class _AnnotationHandler(BaseHandler):
    def service(self):
        service = self.state.annotations
        if service is None:
            raise NotFound("this server has no annotation folder",
                           "Start it with `cellucid serve DATA --annotations DIR` "
                           "(annotations=DIR in Python).")
        return service

    async def off_loop(self, fn):
        return await asyncio.get_running_loop().run_in_executor(self.state.executor, fn)


class AnnotationsHandler(_AnnotationHandler):
    """``GET /_cellucid/api/annotations``."""

    async def get(self) -> None:
        service = self.service()
        self.write_json(await self.off_loop(service.payload))


class AnnotationWriteHandler(_AnnotationHandler):
    """``POST /_cellucid/api/annotations/(vote|retract|lock)``; answers like the GET."""

    async def post(self, action: str) -> None:
        service = self.service()
        if action not in ACTIONS:
            raise NotFound(f"no annotation action {action!r}", f"Use one of: {', '.join(ACTIONS)}.")
        body = self._body()
        annotator = body.get("annotator")
        folder = service.folder
        if action == "sync":
            self.write_json(await self.off_loop(lambda: self._sync(service)))
            return

        def write():
            target = self._target(body, service, allow_cells=(action == "vote"))
            if action == "vote" and "cells" in target:
                folder.label_cells(annotator, target["cells"], body.get("label"), service.n_cells,
                                   note=body.get("note"), confidence=body.get("confidence"))
            elif action == "vote":
                definition = service.summary().sets.get(target["set"]) if "set" in target else None
                folder.vote(annotator, body.get("label"), note=body.get("note"),
                            confidence=body.get("confidence"), set_definition=definition, **target)
            elif action == "retract":
                folder.retract(annotator, **target)
            else:
                folder.lock(annotator, body.get("label"), **target)
            return service.payload()

        self.write_json(await self.off_loop(write))

    @staticmethod
    def _sync(service) -> dict:
        # git runs with the server user's own configuration and credentials; a failure is a
        # SyncError (400 JSON: git's reason, and the hint that local work is kept).
        from cellucid.annotation.sync import sync

        result = sync(service.folder)
        return {**service.payload(), "sync": {"committed": result.committed, "pulled": result.pulled,
                                              "pushed": result.pushed, "log": result.log}}

    def _body(self) -> dict:
        try:
            body = json.loads(self.request.body or b"null")
        except (ValueError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            raise BadParameter("the request body must be a JSON object",
                               'For example {"annotator": "Ana", "field": "leiden", "category": "7", '
                               '"label": "CD8 T cell"} (see docs/annotation.md).')
        return body

    @staticmethod
    def _target(body: dict, service, allow_cells: bool) -> dict:
        if allow_cells and "cells" in body:
            cells = body["cells"]
            if not isinstance(cells, list) or not all(isinstance(c, int) and not isinstance(c, bool) for c in cells):
                raise BadParameter("cells must be a list of cell indices", "For example [0, 5, 6, 7].")
            return {"cells": cells}
        if "set" in body:
            return {"set": body["set"]}
        field, category = body.get("field"), body.get("category")
        if not isinstance(field, str) or not isinstance(category, str):
            raise BadParameter("say what the label is for: field and category (strings), a set, or cells",
                               'For example "field": "leiden", "category": "7".')
        if category not in service.categories_of(field):
            raise NotFound(f"{field!r} has no category {category!r}",
                           "Use a category exactly as the viewer's legend shows it.")
        return {"field": field, "category": category}
