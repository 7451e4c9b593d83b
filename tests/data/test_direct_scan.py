"""Direct (pread / mmap) reads of uncompressed on-disk CSR columns equal scipy's columns,
the fast path is really taken for anndata's default layout, and anything unusual falls
back to the h5py scan, still exact. The user's file is never written."""

from __future__ import annotations

import os

import anndata as ad
import h5py
import numpy as np
import pytest
import scipy.sparse as sp

from cellucid.data.gene_reading.columns import column_reader
from cellucid.data.gene_reading.hdf5_chunks import DirectArray


def _csr(n_rows=2000, n_cols=97, density=0.06, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    m = sp.random(n_rows, n_cols, density=density, format="csr", random_state=seed, dtype=np.float64)
    m.data = rng.integers(1, 50, m.data.size).astype(np.float64) + (rng.random(m.data.size) if dtype != "int" else 0)
    m = m.tolil()
    m[:, 11] = 0  # a gene with no entries
    m[5, :] = 0  # empty rows, including the last one
    m[n_rows - 1, :] = 0
    m[:, n_cols - 1] = 0
    m[3, n_cols - 1] = 7  # the last gene has exactly one entry
    m = m.tocsr()
    m.sort_indices()
    return m.astype(np.int32 if dtype == "int" else dtype)


def _write_group(f: h5py.File, name: str, m: sp.csr_matrix, index_dtype=np.int32, chunks=None, **kw):
    """An anndata-style csr_matrix group written with plain h5py (layout under our control)."""
    g = f.create_group(name)
    g.attrs["encoding-type"] = "csr_matrix"
    g.attrs["encoding-version"] = "0.1.0"
    g.attrs["shape"] = np.asarray(m.shape)
    g.create_dataset("indptr", data=m.indptr.astype(np.int64))
    g.create_dataset("indices", data=np.asarray(m.indices, dtype=index_dtype), chunks=chunks, **kw)
    g.create_dataset("data", data=m.data, chunks=chunks, **kw)
    return g


def _assert_columns_equal(reader, m, cols=None):
    dense = m.toarray().astype(np.float32)
    for j in cols if cols is not None else range(m.shape[1]):
        got = reader.read(j)
        assert got.dtype == np.float32 and got.shape == (m.shape[0],)
        assert np.array_equal(got, dense[:, j]), j


def _fingerprint(path):
    st = os.stat(path)
    with open(path, "rb") as fh:
        return fh.read(), st.st_mtime_ns


def test_anndata_default_file_takes_the_direct_path_and_equals_scipy(tmp_path):
    m = _csr()
    path = tmp_path / "a.h5ad"
    ad.AnnData(X=m).write_h5ad(path)
    before = _fingerprint(path)
    with h5py.File(path, "r") as f:
        assert f["X/indices"].chunks is not None and f["X/indices"].compression is None  # the default layout
        reader = column_reader(f["X"])
        assert reader.strategy == "csr-direct"  # fails if the fast path silently fell back
        _assert_columns_equal(reader, m)
        reader.close()
        assert reader.strategy == "csr-chunked"
        _assert_columns_equal(reader, m, cols=[0, 11, 96])  # the h5py scan agrees
    assert _fingerprint(path) == before


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64, np.uint16, ">i4"])  # ">i4": big-endian on disk
@pytest.mark.parametrize("dtype", [np.float32, np.float64, "int"])
@pytest.mark.parametrize("chunks", [None, (64,), (1000,)])  # contiguous; many small chunks; few
def test_layouts_and_dtypes(tmp_path, index_dtype, dtype, chunks):
    m = _csr(dtype=dtype, seed=3)
    path = tmp_path / "m.h5"
    with h5py.File(path, "w") as f:
        _write_group(f, "X", m, index_dtype=index_dtype, chunks=chunks)
    before = _fingerprint(path)
    with h5py.File(path, "r") as f:
        reader = column_reader(f["X"])
        assert reader.strategy == "csr-direct"
        assert reader.direct[0].dtype == np.dtype(index_dtype)
        _assert_columns_equal(reader, m)
        reader.close()
    assert _fingerprint(path) == before


def test_duplicate_and_unsorted_entries_are_summed(tmp_path):
    # Row 0: gene 2 twice and out of order; row 2: gene 0 three times; row 1 empty.
    indptr = np.array([0, 4, 4, 8])
    indices = np.array([5, 2, 0, 2, 0, 3, 0, 0], dtype=np.int32)
    data = np.array([1.5, 2.0, 3.0, 4.0, 1.0, 9.0, 2.0, 0.5], dtype=np.float32)
    m = sp.csr_matrix((data, indices, indptr), shape=(3, 6))
    assert not m.has_canonical_format
    path = tmp_path / "dup.h5"
    with h5py.File(path, "w") as f:
        _write_group(f, "X", m, chunks=(3,))
    with h5py.File(path, "r") as f:
        reader = column_reader(f["X"])
        assert reader.strategy == "csr-direct"
        expected = m.toarray().astype(np.float32)  # scipy sums duplicates
        assert expected[0, 2] == 6.0 and expected[2, 0] == 3.5
        for j in range(6):
            assert np.array_equal(reader.read(j), expected[:, j]), j


@pytest.mark.parametrize("kw", [{"compression": "gzip"}, {"shuffle": True}, {"compression": "lzf"}])
def test_filtered_datasets_fall_back_and_stay_exact(tmp_path, kw):
    m = _csr(seed=4)
    path = tmp_path / "z.h5"
    with h5py.File(path, "w") as f:
        _write_group(f, "X", m, chunks=(500,), **kw)
    with h5py.File(path, "r") as f:
        assert DirectArray.open(f["X/indices"]) is None
        reader = column_reader(f["X"])
        assert reader.strategy == "csr-chunked" and reader.direct is None
        _assert_columns_equal(reader, m)


def test_compressed_anndata_file_falls_back(tmp_path):
    m = _csr(seed=5)
    path = tmp_path / "gz.h5ad"
    ad.AnnData(X=m).write_h5ad(path, compression="gzip")
    with h5py.File(path, "r") as f:
        reader = column_reader(f["X"])
        assert reader.strategy == "csr-chunked"
        _assert_columns_equal(reader, m, cols=range(0, 97, 7))


def test_file_opened_for_writing_is_not_read_directly(tmp_path):
    # Another writer (the same h5py handle in r+) could move chunks: only read-only files.
    m = _csr(seed=6)
    path = tmp_path / "rw.h5"
    with h5py.File(path, "w") as f:
        _write_group(f, "X", m)
    with h5py.File(path, "r+") as f:
        reader = column_reader(f["X"])
        assert reader.strategy == "csr-chunked"
        _assert_columns_equal(reader, m, cols=[0, 1, 96])


def test_direct_array_reads_match_h5py_across_chunk_borders(tmp_path):
    values = np.arange(10_000, dtype=np.int64) * 3 - 7
    path = tmp_path / "arr.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("a", data=values, chunks=(333,))
    with h5py.File(path, "r") as f:
        arr = DirectArray.open(f["a"])
        assert arr is not None
        for a, b in [(0, 1), (330, 340), (0, 10_000), (9_990, 10_000), (666, 667)]:
            assert np.array_equal(arr[a:b], values[a:b])
        pos = np.array([0, 1, 332, 333, 5000, 9999])
        for method in ("mmap", "pread"):
            arr.gather_method = method
            assert np.array_equal(arr.gather(pos), values[pos])
        assert np.array_equal(arr.find(values[4321]), [4321])
        assert arr.find(-2).size == 0  # no 3k - 7 equals -2
        arr.close()


@pytest.mark.parametrize("method", ["mmap", "pread"])
def test_gather_methods_agree_on_sparse_and_dense_hits(tmp_path, method):
    m = _csr(n_rows=5000, n_cols=13, density=0.5, seed=7)  # dense genes: long runs of hits
    path = tmp_path / "d.h5ad"
    ad.AnnData(X=m).write_h5ad(path)
    with h5py.File(path, "r") as f:
        reader = column_reader(f["X"])
        assert reader.strategy == "csr-direct"
        reader.direct[1].gather_method = method
        _assert_columns_equal(reader, m)


def test_truncated_file_raises_instead_of_crashing(tmp_path):
    m = _csr(n_rows=20_000, n_cols=50, seed=8)
    path = tmp_path / "t.h5ad"
    ad.AnnData(X=m).write_h5ad(path)
    with h5py.File(path, "r") as f:
        reader = column_reader(f["X"])
        assert reader.strategy == "csr-direct"
        assert np.array_equal(reader.read(3), m[:, 3].toarray().ravel().astype(np.float32))
        with open(path, "r+b") as fh:  # in place, same inode: what a careless rewrite does
            fh.truncate(os.path.getsize(path) // 3)
        with pytest.raises(OSError, match="shrank|truncated"):
            reader.read(4)


def test_gene_index_built_from_direct_reads_equals_scipy_and_reports_ready(tmp_path, monkeypatch):
    from cellucid.data.gene_reading.gene_index import IndexedReader, index_for_reader

    monkeypatch.setenv("CELLUCID_CACHE_DIR", str(tmp_path / "cache"))
    m = _csr(n_rows=3000, n_cols=40, seed=9)
    path = tmp_path / "i.h5ad"
    ad.AnnData(X=m).write_h5ad(path)
    before = _fingerprint(path)
    with h5py.File(path, "r") as f:
        reader = column_reader(f["X"])
        assert reader.strategy == "csr-direct"
        idx = index_for_reader(reader, path, "ds", background=False, progress=False)
        assert idx.error is None and idx.ready and idx.progress == 1.0
        _assert_columns_equal(IndexedReader(reader, idx), m)
        idx.close()
        reader.close()
    assert _fingerprint(path) == before
    assert not any(p.parent == tmp_path and p.name != "i.h5ad" for p in tmp_path.iterdir() if p.is_file())


def _foreground_read_from_the_start(tmp_path, monkeypatch, max_pause_s: float):
    """GeneIndex with a foreground read in flight from the moment the object exists."""
    from cellucid.data.gene_reading import gene_index
    from cellucid.data.gene_reading.gene_index import GeneIndex

    monkeypatch.setenv("CELLUCID_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(gene_index, "MAX_PAUSE_S", max_pause_s)
    original_init = GeneIndex.__init__

    def init_and_hold(self, *a, **kw):
        original_init(self, *a, **kw)
        self._busy = 1

    monkeypatch.setattr(GeneIndex, "__init__", init_and_hold)
    return GeneIndex


def test_build_waits_while_a_foreground_read_is_in_flight(tmp_path, monkeypatch):
    import time

    GeneIndex = _foreground_read_from_the_start(tmp_path, monkeypatch, 60.0)
    m = _csr(n_rows=500, n_cols=20, seed=10)
    # A build that did not wait would be done (ready) long before we look; one that waits
    # wrote nothing.
    idx = GeneIndex.open_or_build("paused", m.indptr, m.indices, m.data, *m.shape, background=True, progress=False,
                                start_delay=0)
    time.sleep(0.5)
    assert not idx.ready and idx.progress == 0.0 and idx.error is None
    with idx._idle:  # the foreground read ends
        idx._busy = 0
        idx._idle.notify_all()
    assert idx.wait(30) and idx.error is None
    assert np.array_equal(idx.column(3), m[:, 3].toarray().ravel().astype(np.float32))
    idx.close()


def test_build_ends_while_requests_scan_without_a_break(tmp_path, monkeypatch):
    # A foreground read is in flight for the whole build (a steady stream of requests).
    # Yielding to it at every step (up to MAX_PAUSE_S each, ~40 steps here) would take
    # ~200 s; with its guaranteed share the build waits at most MAX_PAUSE_S plus as long as
    # it works.
    GeneIndex = _foreground_read_from_the_start(tmp_path, monkeypatch, 5.0)  # never released
    m = _csr(n_rows=4000, n_cols=20, seed=11)
    idx = GeneIndex.open_or_build("always-busy", m.indptr, m.indices, m.data, *m.shape, background=True,
                                  progress=False, start_delay=0, chunk_nnz=256)
    assert idx.wait(60) and idx.error is None
    assert np.array_equal(idx.column(3), m[:, 3].toarray().ravel().astype(np.float32))
    idx.close()


def test_closed_direct_array_refuses_reads(tmp_path):
    path = tmp_path / "c.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("a", data=np.arange(100, dtype=np.int32))
    with h5py.File(path, "r") as f:
        arr = DirectArray.open(f["a"])
        assert arr[10:12].tolist() == [10, 11]
        arr.close()
        arr.close()  # idempotent
        with pytest.raises(OSError, match="closed"):
            arr.read(0, 5)
        with pytest.raises(OSError, match="closed"):
            arr.find(3)


def test_zarr_csr_uses_the_chunked_scan(tmp_path):
    import zarr
    from anndata.io import write_elem

    m = _csr(n_rows=400, n_cols=30, seed=11)
    z = zarr.open_group(tmp_path / "m.zarr", mode="w", zarr_format=2)
    write_elem(z, "X", m)
    reader = column_reader(z["X"])
    assert reader.strategy == "csr-chunked" and reader.direct is None
    _assert_columns_equal(reader, m)
