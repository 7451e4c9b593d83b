"""Annotator names: free text for people, a safe file name for the folder.

A name is whatever a person types ("Ana María", "dr. o'brien"); it is stored as a JSON
string (so it is escaped by the JSON encoder, never interpreted) and mapped to a file name
that can only be ``[a-z0-9-]+-<8 hex>.json``: no separator, no ``..``, nothing that can
leave the annotation folder, and two names that share a slug still get different files.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from cellucid.data.base import BadParameter

MAX_NAME = 80
MAX_LABEL = 200
MAX_NOTE = 2000
_SLUG_CHARS = re.compile(r"[^a-z0-9]+")
FILE_PATTERN = re.compile(r"^[a-z0-9-]{0,40}-[0-9a-f]{8}\.json$")


def clean_text(value, what: str, limit: int, required: bool = True) -> str:
    """``value`` as a trimmed single-spaced string without control characters.

    Raises :class:`BadParameter` (what was wrong and what to do) for a non-string, an empty
    required value or one longer than ``limit`` characters."""
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise BadParameter(f"{what} must be text, got {type(value).__name__}",
                           f"Give the {what} as a string.")
    text = "".join(ch for ch in value if unicodedata.category(ch)[0] != "C" or ch in "\n\t")
    text = " ".join(text.split()) if what != "note" else text.strip()
    if required and not text:
        raise BadParameter(f"the {what} is empty", f"Give a non-empty {what}.")
    if len(text) > limit:
        raise BadParameter(f"the {what} is {len(text)} characters long (at most {limit})",
                           f"Shorten the {what}.")
    return text


def clean_name(name) -> str:
    """An annotator name as stored (trimmed, single-spaced, at most :data:`MAX_NAME` chars)."""
    return clean_text(name, "annotator name", MAX_NAME)


def name_key(name: str) -> str:
    """What makes two names the same annotator: case and spacing do not matter."""
    return clean_name(name).casefold()


def file_name(name: str) -> str:
    """The file of annotator ``name`` inside ``annotators/``: an ASCII slug of the name
    (for people browsing the folder) and 8 hex digits of a hash of :func:`name_key`
    (so the file is unique per name and no name can produce a path)."""
    key = name_key(name)
    ascii_name = unicodedata.normalize("NFKD", key).encode("ascii", "ignore").decode()
    slug = _SLUG_CHARS.sub("-", ascii_name).strip("-")[:40].strip("-")
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:8]
    return f"{slug}-{digest}.json" if slug else f"annotator-{digest}.json"


def label_key(label: str) -> str:
    """Two spellings of one label that differ only in case or spacing count as one label."""
    return " ".join(label.split()).casefold()


def exact_text(value, what: str, limit: int = 400) -> str:
    """A field or category name: kept as written (it must match the data), only checked."""
    if not isinstance(value, str) or not value or len(value) > limit:
        raise BadParameter(f"the {what} must be a non-empty name of at most {limit} characters, got {str(value)[:60]!r}",
                           f"Give the {what} exactly as the dataset names it.")
    return value
