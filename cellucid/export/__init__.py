"""Export folders: ``prepare()`` writes a folder that ``cellucid serve`` reads fastest.

The layout (format ``cellucid_export_v1``) is described in ``docs/export.md`` and encoded in
:mod:`cellucid.export.layout`; the reader is :mod:`cellucid.data.export_source`, which also
reads folders written by the original cellucid-python ``prepare()`` (``compact_v1``).
"""

from cellucid.export._prepare import prepare

__all__ = ["prepare"]
