"""Which matrix genes are read from: the ``--expression`` / ``expression=`` value, parsed once.

``"X"``, ``"raw"`` or ``"layer:NAME"`` arrive as text from the command line, keywords and
stored summaries; :meth:`Expression.parse` is the only place that text is taken apart, so every
reader agrees on what a value means and every bad value gets the same error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cellucid.data.base import InputError

_LAYER = "layer:"
HINT = "use 'X', 'raw' or 'layer:NAME' (for example layer:counts)"


@dataclass(frozen=True)
class Expression:
    """A parsed expression choice: ``kind`` is ``"X"``, ``"raw"`` or ``"layer"`` (then
    ``layer`` is the layer's name). ``str()`` gives back the canonical text."""

    kind: Literal["X", "raw", "layer"]
    layer: str | None = None

    @classmethod
    def parse(cls, text: str | None) -> Expression:
        """``"X"`` (also ``None`` or empty), ``"raw"`` or ``"layer:NAME"``; surrounding spaces
        are ignored. Anything else raises :class:`InputError` saying what is accepted."""
        value = (text or "X").strip()
        if value in ("X", "raw"):
            return cls(value)
        if value.startswith(_LAYER) and len(value) > len(_LAYER):
            return cls("layer", value[len(_LAYER):])
        raise InputError(f"unknown expression {text!r}", hint=HINT)

    def __str__(self) -> str:
        return _LAYER + self.layer if self.kind == "layer" else self.kind

    @property
    def store_path(self) -> str:
        """Where the matrix lives in an AnnData store (``.h5ad`` / ``.zarr``): ``X``,
        ``raw/X`` or ``layers/NAME``."""
        return {"X": "X", "raw": "raw/X"}.get(self.kind) or f"layers/{self.layer}"
