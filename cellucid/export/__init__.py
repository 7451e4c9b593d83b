"""Export folders: ``prepare()`` writes a folder that ``cellucid serve`` reads fastest.

The layout (format ``cellucid_export_v1``) is described in ``docs/export.md`` and encoded in
:mod:`cellucid.data.export_layout`; the reader is :mod:`cellucid.data.export_source`, which also
reads folders written by the original cellucid-python ``prepare()`` (``compact_v1``).
"""

__all__ = ["prepare"]


def __getattr__(name: str):
    # prepare() pulls in scipy and pandas (~0.3 s); the export folder reader only needs
    # cellucid.data.export_layout, so `cellucid serve <export folder>` must not pay for them.
    if name == "prepare":
        from cellucid.export._prepare import prepare

        return prepare
    raise AttributeError(f"module 'cellucid.export' has no attribute {name!r}")
