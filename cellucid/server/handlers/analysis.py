"""Analysis routes under ``/_cellucid/api/analysis/`` (layout in docs/http-api.md).

- ``POST /analysis/rank_genes``: differential expression of two groups of cells. POST
  because a group can be hundreds of thousands of cell positions (megabytes: far past any
  URL limit) and because the answer is a computation for this request, not a cacheable
  resource. Like every POST it needs the server token in the ``X-Cellucid-Token`` header
  (``cellucid/server/security.py``), so another web page cannot make the server compute.
- ``GET /analysis/markers?groupby=...``: marker genes of every category; no cells in the
  request, so a plain cacheable GET with an ETag.
- ``GET /analysis/signature?genes=A,B``, ``/analysis/correlation?x=&y=`` and
  ``/analysis/dotplot?groupby=&genes=``: the viewer's signature colour, scatter and dot plot
  (short gene lists: GETs with ETags, like every data route).

The viewer's page has no server token (only an annotation server writes it into the page), so
the analysis POST also accepts the narrower *analysis token* the page always carries
(``security.analysis_token``; docs/http-api.md says why).

Both run :mod:`cellucid.analysis` on the server's source (the Python API's code), on the
state's analysis thread, so the viewer's data requests keep their workers.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import numpy as np

from cellucid.data.base import BadParameter
from cellucid.server import encode
from cellucid.server.cache import Encoded
from cellucid.server.handlers.data import DataHandler
from cellucid.server.responses import JSON, binary

MAX_BODY = 64 << 20  # 16M cell positions as base64, or fewer as a JSON list


def frame_json(df) -> dict[str, list]:
    """A DataFrame as ``{column: [values]}`` with NaN as ``null``."""
    out: dict[str, list] = {}
    for col in df.columns:
        values = df[col].to_numpy()
        if values.dtype.kind == "f":
            out[col] = [None if v != v else float(v) for v in values.tolist()]
        else:
            out[col] = [str(v) for v in values.tolist()]
    return out


def _flag(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in (None, "", "0", "false", 0):
        return False
    if value in ("1", "true", 1):
        return True
    raise BadParameter(f"{name} must be true or false, got {value!r}", "For example tie_correct=1.")


def _group(spec: Any, what: str, body: dict) -> Any:
    """A group of the request body as rank_genes takes it (see docs/http-api.md)."""
    if spec == "rest" and what == "reference":
        return "rest"
    if not isinstance(spec, dict):
        raise BadParameter(f"{what} must be an object with 'cells', 'cells_b64' or 'categories'",
                           'For example {"cells": [0, 5, 9]} or {"categories": ["T cell"]} with "groupby".')
    if "cells_b64" in spec:
        try:
            raw = base64.b64decode(spec["cells_b64"], validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise BadParameter(f"{what}.cells_b64 is not base64", "Encode little-endian uint32 positions.") from None
        if len(raw) % 4:
            raise BadParameter(f"{what}.cells_b64 is not a whole number of uint32 values",
                               "Encode little-endian uint32 positions (4 bytes each).")
        return np.frombuffer(raw, dtype="<u4").astype(np.int64)
    if "cells" in spec:
        cells = spec["cells"]
        if not isinstance(cells, list) or not all(isinstance(c, int) and not isinstance(c, bool) for c in cells):
            raise BadParameter(f"{what}.cells must be a list of integers", "Cell positions are 0-based obs rows.")
        return np.asarray(cells, dtype=np.int64)
    if "categories" in spec:
        cats = spec["categories"]
        cats = [cats] if isinstance(cats, str) else cats
        if not isinstance(cats, list) or not cats or not all(isinstance(c, str) for c in cats):
            raise BadParameter(f"{what}.categories must be a non-empty list of names",
                               'For example {"categories": ["T cell"]}.')
        if not body.get("groupby"):
            raise BadParameter(f"{what} names categories but the body has no 'groupby'",
                               'Add "groupby": "<obs field>" to the body.')
        return cats
    raise BadParameter(f"{what} needs 'cells', 'cells_b64' or 'categories'",
                       'For example {"cells": [0, 5, 9]}.')


class RankGenesHandler(DataHandler):
    """``POST /_cellucid/api/analysis/rank_genes`` with a JSON body."""

    async def post(self) -> None:
        if len(self.request.body) > MAX_BODY:
            raise BadParameter(f"the request body is larger than {MAX_BODY >> 20} MB",
                               "Send cell positions as cells_b64 (4 bytes per cell).")
        try:
            body = json.loads(self.request.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise BadParameter("the request body is not JSON", "See docs/http-api.md for the body layout.") from None
        if not isinstance(body, dict):
            raise BadParameter("the request body must be a JSON object", "See docs/http-api.md.")
        group = _group(body.get("group"), "group", body)
        reference = _group(body.get("reference", "rest"), "reference", body)
        method = body.get("method", "t-test")
        groupby = body.get("groupby") or None
        tie_correct = _flag(body.get("tie_correct", False), "tie_correct")
        n_genes = body.get("n_genes")
        if n_genes is not None and (not isinstance(n_genes, int) or n_genes < 1):
            raise BadParameter("n_genes must be a positive integer", "Or leave it out for all genes.")
        state = self.state
        from cellucid.analysis import rank_genes

        def run():
            df = rank_genes(state.source, group, reference, method=method, groupby=groupby,
                            tie_correct=tie_correct)
            return df if n_genes is None else df.iloc[:n_genes]

        df = await state.run(("rank_genes", id(self)), run, executor=state.analysis_executor)
        self.write_json({"method": method, "n_genes": len(df), "columns": frame_json(df)})


class MarkersHandler(DataHandler):
    """``GET /_cellucid/api/analysis/markers?groupby=...&method=...&n_genes=...&tie_correct=0|1``."""

    async def get(self) -> None:
        groupby = self.param("groupby", required=True)
        method = self.param("method", default="t-test")
        n_genes = self.int_param("n_genes", default=None, lo=1, hi=1 << 30)
        tie_correct = _flag(self.param("tie_correct", default="0"), "tie_correct")
        state = self.state
        from cellucid.analysis import markers

        def build() -> Encoded:
            df = markers(state.source, groupby, method=method, n_genes=n_genes, tie_correct=tie_correct)
            groups = list(dict.fromkeys(df["group"].tolist()))
            return Encoded(encode.json_bytes({"method": method, "groupby": groupby, "groups": groups,
                                              "columns": frame_json(df)}), JSON)

        await self.send_encoded(("markers", groupby, method, n_genes, tie_correct), build,
                                executor=state.analysis_executor)


def gene_list(raw: str | None, what: str = "genes") -> list[str]:
    """Names separated by commas, semicolons or white space (a pasted column works too)."""
    import re

    names = [g for g in re.split(r"[\s,;]+", raw or "") if g]
    if not names:
        raise BadParameter(f"{what} is empty", f"For example {what}=CD3E,MS4A1.")
    return list(dict.fromkeys(names))


class SignatureHandler(DataHandler):
    """``GET /_cellucid/api/analysis/signature?genes=A,B&method=mean|zscore``: float32 per cell
    (``cellucid.analysis.signature_score``), the unknown and used genes in headers."""

    async def get(self) -> None:
        self.require_genes()
        names = gene_list(self.param("genes", required=True))
        method = self.param("method", default="mean")
        source = self.state.source
        from cellucid.analysis.scores import signature_values

        def build() -> Encoded:
            values, found, unknown = signature_values(source, names, method)
            rng = encode.finite_range(values)
            return binary(values, "float32", {
                "X-Cellucid-Min": encode.number_header(rng[0] if rng else None),
                "X-Cellucid-Max": encode.number_header(rng[1] if rng else None),
                "X-Cellucid-Genes": encode.name_header(json.dumps(found)),
                "X-Cellucid-Unknown-Genes": encode.name_header(json.dumps(unknown)),
            })

        await self.send_encoded(("signature", tuple(names), method), build,
                                executor=self.state.analysis_executor)


class CorrelationHandler(DataHandler):
    """``GET /_cellucid/api/analysis/correlation?x=&y=&method=pearson|spearman``: ``{"r", "p",
    "n", "method", "x", "y"}`` of two genes or continuous obs fields (``cellucid.correlation``)."""

    async def get(self) -> None:
        x = self.param("x", required=True)
        y = self.param("y", required=True)
        method = self.param("method", default="pearson")
        source = self.state.source
        from cellucid.analysis import correlation

        def build() -> Encoded:
            out = correlation(source, x, y, method=method)
            clean = {k: (None if isinstance(v, float) and v != v else v) for k, v in out.items()}
            return Encoded(encode.json_bytes(clean), JSON)

        await self.send_encoded(("correlation", x, y, method), build, executor=self.state.analysis_executor)


class DotplotHandler(DataHandler):
    """``GET /_cellucid/api/analysis/dotplot?groupby=&genes=A,B``: mean and fraction expressing
    per category and gene, ``{"groups", "genes", "mean": [[...]], "fraction": [[...]]}``
    (one row per category, one column per gene)."""

    async def get(self) -> None:
        self.require_genes()
        groupby = self.param("groupby", required=True)
        names = gene_list(self.param("genes", required=True))
        if len(names) > 200:
            raise BadParameter(f"{len(names)} genes asked; a dot plot takes at most 200", "Ask for fewer genes.")
        source = self.state.source
        from cellucid.analysis.scores import category_stats

        def build() -> Encoded:
            df = category_stats(source, groupby, names)
            groups = list(dict.fromkeys(df["group"].tolist()))
            k = len(names)

            def rows(col):
                values = df[col].to_numpy()
                return [[None if v != v else float(v) for v in values[i * k:(i + 1) * k]] for i in range(len(groups))]

            return Encoded(encode.json_bytes({"groupby": groupby, "groups": groups, "genes": names,
                                              "mean": rows("mean"), "fraction": rows("fraction")}), JSON)

        await self.send_encoded(("dotplot", groupby, tuple(names)), build, executor=self.state.analysis_executor)
