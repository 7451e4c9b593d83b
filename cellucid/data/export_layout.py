"""The on-disk layout of a cellucid export folder (format ``cellucid_export_v1``).

This leaf module is the single place that knows file names, dtypes and the quantization
codec; the writer (:mod:`cellucid.export._writer`) and the reader
(:mod:`cellucid.data.export_source`) both import it, so they cannot drift apart.
It depends on numpy only. The layout is documented for users in ``docs/export.md``.

Every binary file is a raw little-endian array with no header, row order = cell order.
A ``.gz`` suffix means the file is one gzip stream of those bytes.
"""

from __future__ import annotations

import gzip
import os
import re
from pathlib import Path

import numpy as np

from cellucid.data.base import category_code_dtype

FORMAT = "cellucid_export_v1"
IDENTITY_FILE = "dataset_identity.json"
UPSTREAM_FORMAT = "compact_v1"

GENES_DIR = "genes"
GENE_INDPTR = "genes/indptr.u64"  # (n_genes + 1,) offsets into indices/data
GENE_INDICES = "genes/indices.u32"  # cell index of each stored value, gene-major
GENE_RANGES = "genes/ranges.f32"  # (n_genes, 2) min/max of stored values (quantized only)
GENE_NAMES = "genes/var.json"  # {"names": [...], "id_columns": {col: [...]}}
OBS_NAMES = "obs/obs_names.json"  # list of cell names
LATENT_FILE = "latent.f32"

# dtype name -> (numpy dtype, file extension)
DTYPES = {
    "float32": ("<f4", "f32"),
    "uint8": ("u1", "u8"),
    "uint16": ("<u2", "u16"),
    "uint32": ("<u4", "u32"),
    "uint64": ("<u8", "u64"),
}

# Quantization: bits -> (largest code for a value, code for non-finite/missing)
QUANT_LEVELS = {8: (254, 255), 16: (65534, 65535)}

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def slug(name: str, limit: int = 60) -> str:
    """A file-safe, readable fragment of ``name`` (never used alone as a key).

    Files are named ``{position:04d}_{slug}``: the position makes every file name unique
    even when two names collapse to the same slug (``"a/b"`` and ``"a_b"``), so no
    collision handling is needed and the mapping name → file lives only in
    ``dataset_identity.json``.
    """
    s = _UNSAFE.sub("_", str(name)).strip("._")[:limit]
    return s or "field"


def gene_data_file(dtype: str) -> str:
    """Path of the gene value file for a stored dtype (``float32``/``uint8``/``uint16``)."""
    return f"{GENES_DIR}/data.{DTYPES[dtype][1]}"


codes_dtype = category_code_dtype  # one rule for served and exported codes


# -- quantization -----------------------------------------------------------------------


def quant_error_bound(vmin: float, vmax: float, bits: int) -> float:
    """Largest |value - decoded| for values quantized by :func:`quantize` (plus float32 rounding)."""
    top, _ = QUANT_LEVELS[bits]
    return (vmax - vmin) / (2 * top) if vmax > vmin else 0.0


def finite_range(values: np.ndarray) -> tuple[float, float]:
    """(min, max) of the finite values; (0, 0) when there are none."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0.0, 0.0
    return float(finite.min()), float(finite.max())


def quantize(values: np.ndarray, vmin: float, vmax: float, bits: int) -> np.ndarray:
    """Round ``values`` onto ``2**bits - 1`` evenly spaced levels between vmin and vmax.

    Rounding (not truncation, unlike the original cellucid) halves the error: the bound
    is ``(vmax - vmin) / (2 * 254)`` for 8 bits and ``/ (2 * 65534)`` for 16 bits.
    Non-finite values get the top code (255 / 65535) and decode to NaN.
    """
    top, missing = QUANT_LEVELS[bits]
    dtype = np.uint8 if bits == 8 else np.uint16
    v = np.asarray(values, dtype=np.float64)
    span = vmax - vmin
    with np.errstate(invalid="ignore"):
        q = np.zeros(v.shape) if span <= 0 else np.rint((v - vmin) * (top / span))
        q = np.clip(q, 0, top)
    out = q.astype(dtype)
    out[~np.isfinite(v)] = missing
    return out


def dequantize(q: np.ndarray, vmin: float, vmax: float, bits: int) -> np.ndarray:
    """Inverse of :func:`quantize` (float32; the missing code → NaN)."""
    top, missing = QUANT_LEVELS[bits]
    span = vmax - vmin
    out = (vmin + q.astype(np.float64) * (span / top)).astype(np.float32)
    out[q == missing] = np.nan
    return out


def dequantize_upstream(q: np.ndarray, vmin: float, vmax: float, bits: int) -> np.ndarray:
    """Decode the original cellucid's quantized files (truncated codes, same formula)."""
    return dequantize(q, vmin, vmax, bits)


# -- raw file I/O ----------------------------------------------------------------------


def write_array(path: Path, array: np.ndarray, dtype: str, compression: int | None) -> str:
    """Write ``array`` as raw little-endian ``dtype``; with ``compression`` (gzip level) the
    file is gzipped when that saves at least 20 % (codes: yes; float coordinates: rarely).
    Returns the file name actually written (with ``.gz`` when compressed)."""
    data = np.ascontiguousarray(array, dtype=DTYPES[dtype][0]).tobytes()
    if compression and not _worth_compressing(data, compression):
        compression = None  # e.g. float coordinates: gzip saves <20% but costs time on every read
    if compression:
        path = path.with_name(path.name + ".gz")
        # mtime=0: the same data gives the same bytes (reproducible exports)
        with open(path, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", compresslevel=compression, mtime=0) as gz:
            gz.write(data)
    else:
        with open(path, "wb") as fh:
            fh.write(data)
    return path.name


def _worth_compressing(data: bytes, level: int, sample: int = 1 << 18, min_saving: float = 0.2) -> bool:
    """Whether gzip shrinks ``data`` by at least ``min_saving`` (judged on a sample)."""
    if len(data) < 4096:
        return True
    head = data[:sample]
    return len(gzip.compress(head, compresslevel=level)) <= (1 - min_saving) * len(head)


def read_array(path: Path, dtype: str, count: int | None = None) -> np.ndarray:
    """Read a raw array file (gzip when the name ends in ``.gz``) as ``dtype``."""
    np_dtype = np.dtype(DTYPES[dtype][0]) if dtype in DTYPES else np.dtype(dtype)
    if str(path).endswith(".gz"):
        with gzip.open(path, "rb") as fh:
            raw = fh.read()
        arr = np.frombuffer(raw, dtype=np_dtype)
    else:
        arr = np.fromfile(path, dtype=np_dtype)
    if count is not None and arr.size != count:
        raise ValueError(f"{Path(path).name}: expected {count} values, found {arr.size}")
    return arr


def pread_array(fd: int, dtype: str, start: int, stop: int) -> np.ndarray:
    """Elements ``start:stop`` of a raw file opened as ``fd`` — one positioned read,
    safe to call from several threads at once (no shared file offset)."""
    np_dtype = np.dtype(DTYPES[dtype][0])
    n = int(stop - start)
    if n <= 0:
        return np.empty(0, dtype=np_dtype)
    raw = os.pread(fd, n * np_dtype.itemsize, int(start) * np_dtype.itemsize)
    return np.frombuffer(raw, dtype=np_dtype)
