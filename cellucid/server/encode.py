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


def quantize_u16(coords: np.ndarray) -> tuple[np.ndarray, list[list[float]]]:
    """Scale each column linearly so its finite min→0 and max→65534; 65535 = not finite."""
    coords = np.asarray(coords, dtype=np.float32)
    if coords.ndim == 1:
        coords = coords[:, None]
    out = np.empty(coords.shape, dtype=np.uint16)
    bounds: list[list[float]] = []
    for j in range(coords.shape[1]):
        col = coords[:, j].astype(np.float64)
        finite = np.isfinite(col)
        rng = finite_range(col) or (0.0, 0.0)
        lo, hi = rng
        scale = U16_MAX_VALUE / (hi - lo) if hi > lo else 0.0
        q = np.rint((np.where(finite, col, lo) - lo) * scale)
        out[:, j] = np.clip(q, 0, U16_MAX_VALUE).astype(np.uint16)
        out[~finite, j] = U16_MISSING
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


def json_bytes(obj) -> bytes:
    # allow_nan=False: NaN is not JSON; callers turn it into null first.
    return json.dumps(obj, allow_nan=False, separators=(",", ":")).encode()


def name_header(name: str) -> str:
    """Percent-encode a name so it fits an ASCII header."""
    return quote(str(name), safe="")
