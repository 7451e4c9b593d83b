"""The data layer: every input becomes a :class:`~cellucid.data.base.DataSource`.

``open_source(data, **options)`` is the one entry point; ``detect_kind(path)`` tells which
source a path needs. Sources: :mod:`~cellucid.data.store_source` (backed ``.h5ad`` and
``.zarr``), :mod:`~cellucid.data.mudata_source` (``.h5mu`` and MuData objects, through the
store reader), :mod:`~cellucid.data.loom_source` (``.loom``),
:mod:`~cellucid.data.memory_source` (in-memory AnnData, and the demo from
:mod:`~cellucid.data.demo`), and the export folder reader
(:mod:`cellucid.data.export_source`). Cell Ranger matrices (:mod:`~cellucid.data.tenx`) have
no embedding: :mod:`~cellucid.data.embed` computes one. See ``docs/data-sources.md`` and
``docs/formats.md``.
"""

from __future__ import annotations

from cellucid.data._open import detect_kind, open_source
from cellucid.data.base import (
    BadParameter,
    CellucidError,
    DataSource,
    InputError,
    NotFound,
    SourceOptions,
)

__all__ = [
    "open_source",
    "detect_kind",
    "DataSource",
    "SourceOptions",
    "CellucidError",
    "InputError",
    "NotFound",
    "BadParameter",
]
