"""The compact gene index's column encoding, shared by the writer (:mod:`.index_build`) and
the reader (:mod:`.gene_index`).

Rows are split into blocks of :data:`BLOCK_ROWS` (65,536) cells. A column with ``n`` stored
entries is one contiguous byte range::

    uint32 counts[n_blocks]   entries of this column in each row block
    uint16 low[n]             row - block start (the row's low 16 bits), ascending
    value  values[n]          in the column's own dtype (see below)

and an empty column takes no bytes. Each column's values use the smallest dtype that holds
every one of its float32 values exactly: ``uint8`` (integers 0..255), ``uint16`` (integers
0..65535), ``float16`` (when a round trip through it gives the same float32) or ``float32``.
Integer counts thus take 3 bytes per non-zero (4 for genes with a count above 255), against
8 (int32 index + float32 value) in the ``.h5ad``. Exact means equal as float32 values:
``-0.0`` stored as an integer reads back as ``0.0``.

The layout of every column follows from counts known after one pass over the matrix (per
column and row block, plus each column's dtype), so the writer fills columns in place.
"""

from __future__ import annotations

import numpy as np

BLOCK_BITS = 16
BLOCK_ROWS = 1 << BLOCK_BITS
#: Value dtype of a column, by code (the header's per-column code table).
VALUE_DTYPES = (np.dtype("<u1"), np.dtype("<u2"), np.dtype("<f2"), np.dtype("<f4"))
_ITEMSIZE = np.array([d.itemsize for d in VALUE_DTYPES], dtype=np.int64)


def n_blocks(n_rows: int) -> int:
    """Number of row blocks of :data:`BLOCK_ROWS` cells."""
    return (int(n_rows) + BLOCK_ROWS - 1) >> BLOCK_BITS


def column_sizes(counts: np.ndarray, codes: np.ndarray, nb: int) -> np.ndarray:
    """Bytes of each column's block (0 for an empty column)."""
    counts = np.asarray(counts, dtype=np.int64)
    return np.where(counts > 0, 4 * nb + (2 + _ITEMSIZE[codes]) * counts, 0)


def values_offset(count: int, nb: int) -> int:
    """Where a column's values start inside its block."""
    return 4 * nb + 2 * int(count)


def itemsize(code: int) -> int:
    return int(_ITEMSIZE[code])


def classify(cols: np.ndarray, vals: np.ndarray, codes: np.ndarray) -> None:
    """Raise ``codes[c]`` (in place) to the smallest value dtype code that holds every value
    of ``vals`` (float32) whose column is ``cols``. Cheap when the values are small integers:
    only entries that fail a test are looked at again for the next wider dtype."""
    n_cols = codes.shape[0]
    tests = (
        lambda v: v.astype(np.uint8) != v,  # equal only for integers 0..255, whatever the cast does
        lambda v: v.astype(np.uint16) != v,
        lambda v: v.astype(np.float16).astype(np.float32) != v,  # NaN: never equal, so float32
    )
    with np.errstate(invalid="ignore", over="ignore"):
        for code, wider in enumerate(tests, start=1):
            bad = wider(vals)
            if not bad.any():
                return
            cols, vals = cols[bad], vals[bad]
            hit = np.bincount(cols, minlength=n_cols)[:n_cols] > 0
            np.maximum(codes, np.uint8(code), out=codes, where=hit)


def encode_values(vals: np.ndarray, code: int) -> np.ndarray:
    """float32 values in the dtype of ``code`` (exact when :func:`classify` chose it)."""
    with np.errstate(invalid="ignore", over="ignore"):
        return vals.astype(VALUE_DTYPES[code], copy=False)


def decode(buf: bytes, count: int, nb: int, code: int) -> tuple[np.ndarray, np.ndarray]:
    """``(rows uint32, values float32)`` of one column's block ``buf``; ``ValueError`` when
    the block does not add up (a damaged file)."""
    if count == 0:
        return np.zeros(0, dtype=np.uint32), np.zeros(0, dtype=np.float32)
    if len(buf) != values_offset(count, nb) + itemsize(code) * count:
        raise ValueError("gene index column has the wrong size")
    per_block = np.frombuffer(buf, dtype="<u4", count=nb)
    low = np.frombuffer(buf, dtype="<u2", count=count, offset=4 * nb)
    vals = np.frombuffer(buf, dtype=VALUE_DTYPES[code], count=count, offset=values_offset(count, nb))
    if nb == 1:
        rows = low.astype(np.uint32)
    else:
        if int(per_block.sum(dtype=np.int64)) != count:
            raise ValueError("gene index column's block counts do not add up")
        rows = np.repeat(np.arange(nb, dtype=np.uint32) << np.uint32(BLOCK_BITS), per_block)
        rows |= low
    return rows, vals.astype(np.float32)
