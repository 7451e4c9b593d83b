"""Pure functions turning source arrays into the wire formats of docs/http-api.md."""

from __future__ import annotations

import json
import math
from urllib.parse import quote

import numpy as np

from cellucid.data.base import FieldData, category_code_dtype

U16_MISSING = 65535
U16_MAX_VALUE = 65534


def le(array: np.ndarray, dtype: str) -> bytes:
    """Little-endian, C-ordered bytes of ``array`` as ``dtype``."""
    return np.ascontiguousarray(array, dtype=np.dtype(dtype).newbyteorder("<")).tobytes()


def shape_header(array: np.ndarray) -> str:
    return ",".join(str(int(s)) for s in array.shape)


def finite_range(values: np.ndarray) -> tuple[float, float] | None:
    """(min, max) of the finite values, or ``None`` when there are none."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None
    return float(finite.min()), float(finite.max())


def number_header(value: float | None) -> str:
    return "NaN" if value is None or not math.isfinite(value) else repr(float(value))


_QUANT_BLOCK = 1 << 18  # rows per block: float64 temporaries of 2 MB, not n_cells * 8 bytes


def quantize_u16(coords: np.ndarray) -> tuple[np.ndarray, list[list[float]]]:
    """Scale each column linearly so its finite min→0 and max→65534; 65535 = not finite.

    Arithmetic in float64, in place, one column and one block of rows at a time: this runs
    on the first frame's path, and whole-column temporaries cost several times the
    arithmetic (docs/benchmark-history.md) — at 10M cells a float64 copy of a column alone
    is 80 MB of peak memory.
    """
    coords = np.asarray(coords, dtype=np.float32)
    if coords.ndim == 1:
        coords = coords[:, None]
    n = coords.shape[0]
    out = np.empty(coords.shape, dtype=np.uint16)
    bounds: list[list[float]] = []
    for j in range(coords.shape[1]):
        column = coords[:, j]
        # float32 min/max are exact; NaN in either means some value is not finite
        lo, hi = (float(column.min()), float(column.max())) if n else (0.0, 0.0)
        all_finite = np.isfinite(lo) and np.isfinite(hi)
        if not all_finite:
            lo, hi = finite_range(column) or (0.0, 0.0)
        scale = U16_MAX_VALUE / (hi - lo) if hi > lo else 0.0
        for a in range(0, n, _QUANT_BLOCK):
            col = column[a : a + _QUANT_BLOCK].astype(np.float64)
            finite = None if all_finite else np.isfinite(col)
            if finite is not None:
                col[~finite] = lo
            col -= lo
            col *= scale
            np.rint(col, out=col)
            np.clip(col, 0, U16_MAX_VALUE, out=col)
            out[a : a + _QUANT_BLOCK, j] = col
            if finite is not None:
                out[a : a + _QUANT_BLOCK, j][~finite] = U16_MISSING
        bounds.append([lo, hi])
    return out, bounds


code_dtype = category_code_dtype  # one rule for served and exported codes


def encode_codes(field: FieldData) -> tuple[np.ndarray, str, int]:
    """Category codes (int32, -1 = missing) → the smallest unsigned dtype."""
    dtype, missing = code_dtype(len(field.categories or []))
    codes = np.asarray(field.codes)
    out = codes.astype(np.int64)
    out[codes < 0] = missing
    return out.astype(dtype), dtype, missing


def field_meta(field: FieldData) -> dict:
    """The JSON of ``/_cellucid/api/obs/meta``."""
    if field.kind == "continuous":
        values = np.asarray(field.values, dtype=np.float32)
        rng = finite_range(values)
        return {
            "name": field.name, "kind": field.kind, "categories": None, "colors": None,
            "counts": None, "n_missing": int(field.n_missing),
            "min": rng[0] if rng else None, "max": rng[1] if rng else None,
            "dtype": "float32", "missing_code": None,
        }
    dtype, missing = code_dtype(len(field.categories or []))
    return {
        "name": field.name, "kind": field.kind, "categories": [str(c) for c in field.categories or []],
        "colors": list(field.colors) if field.colors else None, "counts": field.counts(),
        "n_missing": int(field.n_missing), "min": None, "max": None,
        "dtype": dtype, "missing_code": missing,
    }


def cell_value(field: FieldData, index: int):
    """One cell's value for the tooltip JSON (``None`` when missing)."""
    if field.kind == "continuous":
        v = float(field.values[index])
        return v if math.isfinite(v) else None
    code = int(field.codes[index])
    return None if code < 0 else str(field.categories[code])


SAMPLE_BYTES = 1 << 16


def worth_compressing(body: bytes, min_saving: float = 0.1) -> bool:
    """Whether gzip would save at least ``min_saving`` of ``body``, judged from three 64 KB
    samples (start, middle, end) at level 1 — about a millisecond whatever the size."""
    import zlib

    n = len(body)
    if n <= 3 * SAMPLE_BYTES:
        sample = body
    else:
        mid = n // 2
        sample = body[:SAMPLE_BYTES] + body[mid : mid + SAMPLE_BYTES] + body[-SAMPLE_BYTES:]
    return len(zlib.compress(sample, 1)) <= (1 - min_saving) * len(sample)


def json_bytes(obj) -> bytes:
    # allow_nan=False: NaN is not JSON; callers turn it into null first.
    return json.dumps(obj, allow_nan=False, separators=(",", ":")).encode()


def name_header(name: str) -> str:
    """Percent-encode a name so it fits an ASCII header."""
    return quote(str(name), safe="")


# -- one gene, sparse (``/_cellucid/api/gene?...&encoding=sparse``; layout in docs/http-api.md) --
SKIP_ESCAPE = 255  # a skip byte of 255: the skip is the next uint32 of the escape block
MAX_DICT = 256  # values as uint8 codes into a table of at most this many float32s


def sparse_body_bytes(nnz: int, n_escapes: int, n_dict: int) -> int:
    """Length of a sparse gene body: escapes, table, skips, then codes or byte planes."""
    return 4 * n_escapes + 4 * n_dict + nnz + (nnz if n_dict else 4 * nnz)


def sparse_gene(values: np.ndarray) -> tuple[list[np.ndarray], dict[str, str]]:
    """One gene's dense float32 values → the parts of the sparse body (uint8 arrays, to be
    concatenated), and its headers.

    Body (little-endian, no padding), ``nnz`` = cells whose float32 bits are not zero (so a
    NaN or a -0.0 is a stored value, and the decoded array is bit-for-bit the dense one):

    1. ``uint32 escapes[n_escapes]`` — the skips of 255 or more, in order;
    2. ``float32 table[n_dict]`` — the distinct values, when ``n_dict > 0``;
    3. ``uint8 skips[nnz]`` — for each stored cell, how many zero cells precede it since the
       previous stored cell (``row[i] - row[i-1] - 1``, with ``row[-1] = -1``); 255 means
       "take the next escape";
    4. the values: with a table, ``uint8 codes[nnz]`` (positions in the table); without
       (``n_dict = 0``), ``uint8 planes[4][nnz]``, the float32 bytes byte-shuffled: plane
       ``k`` holds byte ``k`` of every value (shuffled planes compress far better).

    A table is used when every value's low 16 bits are zero (integer counts up to 256, for
    example) and there are at most 256 distinct values: Huffman then codes each value as a
    whole, ~30 % fewer bytes than two planes, found with one pass (no sort).

    The headers carry what the decoder needs: ``X-Cellucid-N-Cells``, ``X-Cellucid-Nnz``,
    ``X-Cellucid-Escapes``, ``X-Cellucid-Dict`` (``n_dict``) and the finite
    ``X-Cellucid-Min``/``-Max`` over all cells.
    """
    values = np.ascontiguousarray(values, dtype="<f4").reshape(-1)
    bits = values.view("<u4")
    rows = np.flatnonzero(bits != 0)  # a bool mask is ~5x faster to scan than uint32
    return _sparse_parts(rows, bits[rows], values.size)


def sparse_gene_from_entries(rows: np.ndarray, values: np.ndarray, n_cells: int
                             ) -> tuple[list[np.ndarray], dict[str, str]] | None:
    """Like :func:`sparse_gene` from a column's stored entries (``rows`` ascending, e.g. from a
    gene index) without building the dense column; explicit zeros are dropped. ``None`` when
    the rows are not strictly increasing and inside ``0..n_cells-1`` (duplicates: use the
    dense column, which has their rule)."""
    rows = np.asarray(rows)
    bits = np.ascontiguousarray(values, dtype="<f4").view("<u4")
    if rows.size:
        if rows.shape != bits.shape or int(rows[-1]) >= n_cells or not (np.diff(rows.astype(np.int64)) > 0).all():
            return None
        keep = bits != 0
        if not keep.all():
            rows, bits = rows[keep], bits[keep]
    return _sparse_parts(rows.astype(np.int64), bits, n_cells)


def _value_table(bits: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``(table uint32, codes uint8)`` when every value has zero low 16 bits and there are at
    most :data:`MAX_DICT` distinct values, else ``None``. A 65,536-bin count of the high
    halves replaces a sort (~0.3 ms for 100k values)."""
    if bits.size == 0 or (bits & 0xFFFF).any():
        return None
    high = (bits >> 16).astype(np.uint16)
    present = np.flatnonzero(np.bincount(high, minlength=1 << 16))
    if present.size > MAX_DICT:
        return None
    lut = np.zeros(1 << 16, dtype=np.uint8)
    lut[present] = np.arange(present.size, dtype=np.uint8)
    return present.astype("<u4") << 16, lut[high]


def _sparse_parts(rows: np.ndarray, bits: np.ndarray, n_cells: int) -> tuple[list[np.ndarray], dict[str, str]]:
    skips = np.diff(rows, prepend=-1)
    skips -= 1
    small = np.minimum(skips, SKIP_ESCAPE).astype(np.uint8)
    escapes = skips[small == SKIP_ESCAPE].astype("<u4")
    bits = bits.astype("<u4", copy=False)
    table = _value_table(bits)
    if table is not None:
        parts = [escapes.view(np.uint8), table[0].view(np.uint8), small, table[1]]
    else:
        planes = np.ascontiguousarray(bits.view(np.uint8).reshape(-1, 4).T)
        parts = [escapes.view(np.uint8), small, planes.reshape(-1)]
    rng = finite_range(bits.view("<f4"))
    if rows.size < n_cells:  # the zeros count too
        rng = (min(0.0, rng[0]), max(0.0, rng[1])) if rng else (0.0, 0.0)
    headers = {
        "X-Cellucid-Encoding": "sparse",
        "X-Cellucid-Dtype": "float32",
        "X-Cellucid-Shape": str(n_cells),
        "X-Cellucid-N-Cells": str(n_cells),
        "X-Cellucid-Nnz": str(rows.size),
        "X-Cellucid-Escapes": str(escapes.size),
        "X-Cellucid-Dict": str(0 if table is None else table[0].size),
        "X-Cellucid-Min": number_header(rng[0] if rng else None),
        "X-Cellucid-Max": number_header(rng[1] if rng else None),
    }
    return parts, headers


def decode_sparse_gene(body: bytes, n_cells: int, nnz: int, n_escapes: int, n_dict: int = 0) -> np.ndarray:
    """Inverse of :func:`sparse_gene` (for Python clients and tests): the dense float32 array."""
    expected = sparse_body_bytes(nnz, n_escapes, n_dict)
    if len(body) != expected:
        raise ValueError(f"sparse gene body has {len(body)} bytes, expected {expected}")
    escapes = np.frombuffer(body, "<u4", n_escapes).astype(np.int64)
    table = np.frombuffer(body, "<f4", n_dict, 4 * n_escapes)
    at = 4 * n_escapes + 4 * n_dict
    skips = np.frombuffer(body, np.uint8, nnz, at).astype(np.int64)
    where = np.flatnonzero(skips == SKIP_ESCAPE)
    if where.size != n_escapes:
        raise ValueError("sparse gene body: escape count does not match the header")
    skips[where] = escapes
    rows = np.cumsum(skips + 1) - 1
    if rows.size and rows[-1] >= n_cells:
        raise ValueError("sparse gene body: a row is past the last cell")
    out = np.zeros(n_cells, dtype="<f4")
    if n_dict:
        codes = np.frombuffer(body, np.uint8, nnz, at + nnz)
        if codes.size and int(codes.max()) >= n_dict:
            raise ValueError("sparse gene body: a value code is past the table")
        out[rows] = table[codes]
    else:
        planes = np.frombuffer(body, np.uint8, 4 * nnz, at + nnz).reshape(4, nnz)
        out[rows] = np.ascontiguousarray(planes.T).view("<f4").reshape(-1)
    return out


def gzip_rle(parts) -> bytes:
    """gzip (RFC 1952) of the concatenated ``parts`` with zlib's run-length strategy at level 1.

    On sparse gene bodies (near-random skip bytes, byte planes with long runs) this is both
    the fastest and the smallest deflate setting measured (against levels 4 and 6 with the
    default strategy; figures in docs/benchmark-history.md).
    Any gzip decoder (browsers' Content-Encoding) reads it.
    """
    import zlib

    c = zlib.compressobj(1, zlib.DEFLATED, 31, 8, zlib.Z_RLE)
    out = [c.compress(p) for p in parts]
    out.append(c.flush())
    return b"".join(out)
