"""The compact gene index is lossless: every column equals scipy's CSC column, for integer
counts and floats, empty genes, one cell, the last cell, gaps over 65,535 cells and more
than one row block; an index written in the old format is never read, it is rebuilt."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import scipy.sparse as sp

from cellucid.data.gene_reading import index_cache
from cellucid.data.gene_reading import index_format as fmt
from cellucid.data.gene_reading.gene_index import GeneIndex, cache_dir


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CELLUCID_CACHE_DIR", str(tmp_path / "cache"))


def _matrix(values: str, n_rows=140_000, n_cols=9, seed=0) -> sp.csr_matrix:
    """Columns: 0 empty; 1 one entry on the first cell; 2 one entry on the last cell;
    3 two entries 100,000 cells apart (a gap over 65,535, across row blocks); 4 dense-ish
    random; 5 every block boundary; 6 values over 255; 7 random sparse; 8 every cell."""
    rng = np.random.default_rng(seed)
    last = n_rows - 1
    rows, cols = [], []

    def put(c, r):
        rows.extend(np.asarray(r).tolist())
        cols.extend([c] * len(np.atleast_1d(r)))

    put(1, [0])
    put(2, [last])
    put(3, [7, min(100_007, last)])
    put(4, np.flatnonzero(rng.random(n_rows) < 0.2))
    put(5, sorted({r for r in (65_535, 65_536, 131_071, 131_072) if r < last} | {last}))
    put(6, np.flatnonzero(rng.random(n_rows) < 0.01))
    put(7, np.flatnonzero(rng.random(n_rows) < 0.001))
    put(8, np.arange(n_rows))
    rows, cols = np.asarray(rows), np.asarray(cols)
    if values == "counts":
        vals = rng.integers(1, 200, rows.size).astype(np.float32)
        vals[cols == 6] = rng.integers(1, 60_000, int((cols == 6).sum()))
    elif values == "lognorm":
        vals = np.log1p(rng.random(rows.size) * 50).astype(np.float32)
    else:  # halves: exact in float16
        vals = (rng.integers(-40, 40, rows.size) / 2).astype(np.float32)
    return sp.csr_matrix((vals, (rows, cols)), shape=(n_rows, n_cols), dtype=np.float32)


@pytest.mark.parametrize("values", ["counts", "lognorm", "halves"])
@pytest.mark.parametrize("chunk_nnz", [20_000, 1 << 20])  # bucketed / staged writer
def test_every_column_round_trips_exactly(values, chunk_nnz):
    X = _matrix(values)
    g = GeneIndex.open_or_build(f"rt-{values}-{chunk_nnz}", X.indptr, X.indices, X.data, *X.shape,
                                background=False, progress=False, chunk_nnz=chunk_nnz)
    assert g.ready and g.error is None, g.error
    C = X.tocsc()
    for j in range(X.shape[1]):
        rows, vals = g.column_sparse(j)
        ref = C[:, j]
        np.testing.assert_array_equal(rows, ref.indices)
        np.testing.assert_array_equal(vals, ref.data)  # bit-exact float32 (no NaN here)
        assert rows.dtype == np.uint32 and vals.dtype == np.float32
        assert g.nnz(j) == ref.nnz
        np.testing.assert_array_equal(g.column(j), ref.toarray().ravel())
    assert g.column_sparse(0)[0].size == 0


def test_counts_take_about_3_bytes_per_entry_and_floats_use_float32():
    counts = _matrix("counts")
    # Columns 6 (values up to 60,000) need uint16; the rest uint8.
    g = GeneIndex.open_or_build("size-counts", counts.indptr, counts.indices, counts.data, *counts.shape,
                                background=False, progress=False)
    assert g._codes.tolist() == [0, 0, 0, 0, 0, 0, 1, 0, 0]
    assert g.path.stat().st_size < 3.2 * counts.nnz + 4096
    lognorm = _matrix("lognorm")
    g2 = GeneIndex.open_or_build("size-log", lognorm.indptr, lognorm.indices, lognorm.data, *lognorm.shape,
                                 background=False, progress=False)
    assert set(g2._codes[1:].tolist()) == {3}
    halves = _matrix("halves")
    g3 = GeneIndex.open_or_build("size-halves", halves.indptr, halves.indices, halves.data, *halves.shape,
                                 background=False, progress=False)
    assert g3._codes[[4, 6, 8]].tolist() == [2, 2, 2] and g3._codes.max() == 2  # one-entry columns may be whole


def test_classify_picks_the_smallest_exact_dtype_per_column():
    cols = np.array([0, 1, 1, 2, 3, 3, 4], dtype=np.int32)
    vals = np.array([255, 256, 3, 0.5, 70_000, 1, np.nan], dtype=np.float32)
    codes = np.zeros(6, dtype=np.uint8)
    fmt.classify(cols, vals, codes)
    # uint8, uint16, float16 (0.5 exact), float32 (70,000 is not a float16), float32 (NaN), empty
    assert codes.tolist() == [0, 1, 2, 3, 3, 0]
    rows, back = fmt.decode(b"", 0, 1, 0)
    assert rows.size == 0 and back.size == 0


def _write_v1_index(path, X):
    """The format before version 2: uint32 rows + float32 values, 8 bytes per entry."""
    C = X.tocsc()
    header = json.dumps({"version": 1, "n_rows": X.shape[0], "n_cols": X.shape[1], "nnz": int(X.nnz),
                         "source": "/old/file.h5ad", "matrix": "X"}).encode()
    header += b" " * (-len(header) % 8)
    body = b"".join(C.indices[C.indptr[j]:C.indptr[j + 1]].astype("<u4").tobytes()
                    + C.data[C.indptr[j]:C.indptr[j + 1]].astype("<f4").tobytes() for j in range(X.shape[1]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"CLDGIDX1" + len(header).to_bytes(8, "little") + header
                     + C.indptr.astype("<i8").tobytes() + body)


def test_an_old_format_index_under_the_key_is_not_read_but_rebuilt():
    X = _matrix("counts", n_rows=3000, n_cols=9)
    old = cache_dir() / f"oldkey{index_cache.INDEX_SUFFIX}"
    _write_v1_index(old, X)
    g = GeneIndex.open_or_build("oldkey", X.indptr, X.indices, X.data, *X.shape, background=False, progress=False)
    assert g.ready and g.built  # built again, not opened
    with open(old, "rb") as f:
        assert f.read(8) == index_cache.MAGIC
    C = X.tocsc()
    for j in range(X.shape[1]):
        np.testing.assert_array_equal(g.column(j), C[:, j].toarray().ravel())


def test_old_format_entries_are_listed_and_removed_before_a_build():
    X = _matrix("counts", n_rows=3000, n_cols=9)
    stale = cache_dir() / f"someoldfile{index_cache.INDEX_SUFFIX}"
    _write_v1_index(stale, X)
    entries = index_cache.list_entries()
    assert [(e.key, e.version, e.source) for e in entries] == [("someoldfile", 1, "/old/file.h5ad")]
    g = GeneIndex.open_or_build("newkey", X.indptr, X.indices, X.data, *X.shape, background=False, progress=False)
    assert g.ready
    assert not stale.exists()
    assert sorted(os.listdir(cache_dir())) == [f"newkey{index_cache.INDEX_SUFFIX}"]
