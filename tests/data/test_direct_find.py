"""The scan and gather paths of DirectArray (mapped windows, pread, their fallbacks) give
exactly what numpy gives on the same h5py-written arrays, at chunk, block and window
edges; a file truncated in place gives a clear OSError; the sparse column of a direct CSR
scan equals scipy's column."""

from __future__ import annotations

import anndata as ad
import h5py
import numpy as np
import pytest
import scipy.sparse as sp

from cellucid.data.gene_reading import columns as expression, hdf5_chunks
from cellucid.data.gene_reading.columns import column_reader
from cellucid.data.gene_reading.hdf5_chunks import DirectArray

N = 20_000
BLOCK = 100  # elements compared per step
WINDOW_ITEMS = 256  # elements per mapped window (a multiple of no chunk size below)


def _values(dtype) -> np.ndarray:
    """Random small values, with 7 placed at chunk, block and window edges and in runs."""
    rng = np.random.default_rng(0)
    a = rng.integers(0, 50, N).astype(np.int64)
    a[a == 7] = 8
    edges = []
    for step in (64, 1000, 4096, BLOCK, WINDOW_ITEMS):
        for k in range(step, N, step):
            edges += [k - 1, k]
    edges += [0, 1, 2, 3, N - 1, 5000, 5001, 5002, 5003, 5004, 5005, 5006, 5007]  # a run of 8 in a row
    a[np.asarray(edges)] = 7
    return a.astype(dtype)


def _write(path, values, chunks):
    with h5py.File(path, "w") as f:
        f.create_dataset("a", data=values, chunks=chunks)


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint16, ">i4"])
@pytest.mark.parametrize("chunks", [None, (64,), (1000,), (4096,)])
def test_find_paths_equal_numpy_at_every_edge(tmp_path, dtype, chunks):
    values = _values(dtype)
    path = tmp_path / "a.h5"
    _write(path, values, chunks)
    with h5py.File(path, "r") as f:
        arr = DirectArray.open(f["a"])
        assert arr is not None
        item = arr.dtype.itemsize
        for value in (7, 0, 49, 1000):  # 1000: never stored (empty result)
            expected = np.flatnonzero(values == value)
            for lo, hi in [(0, N), (1, N - 1), (BLOCK - 1, 3 * WINDOW_ITEMS + 1), (4095, 4097), (5000, 5000)]:
                want = expected[(expected >= lo) & (expected < hi)]
                got = {
                    "mapped": arr.find_mapped(value, hi, BLOCK, lo, window=WINDOW_ITEMS * item),
                    "mapped default window": arr.find_mapped(value, hi, start=lo),
                    "pread": arr.find_pread(value, hi, BLOCK, lo),
                    "find": arr.find(value, hi, BLOCK, lo),
                }
                for name, pos in got.items():
                    assert pos.dtype == np.int64, name
                    assert np.array_equal(pos, want), (name, value, lo, hi)
        arr.close()


@pytest.mark.parametrize("chunks", [None, (64,), (1000,)])
def test_gather_paths_equal_numpy(tmp_path, chunks):
    values = np.random.default_rng(1).random(N).astype(np.float32)
    path = tmp_path / "v.h5"
    _write(path, values, chunks)
    rng = np.random.default_rng(2)
    picks = [
        np.zeros(0, dtype=np.int64),
        np.array([0, N - 1]),
        np.arange(0, N, 3),  # dense
        np.unique(rng.integers(0, N, 300)),  # sparse
        np.array([63, 64, 999, 1000, 1023, 1024, 1025]),  # chunk and window borders
    ]
    with h5py.File(path, "r") as f:
        arr = DirectArray.open(f["v"] if "v" in f else f["a"])
        for pos in picks:
            want = values[pos]
            assert np.array_equal(arr.gather_mapped(pos, window=4096), want)
            assert np.array_equal(arr.gather_mapped(pos), want)
            assert np.array_equal(arr.gather_pread(pos), want)
        arr.close()


def test_scan_falls_back_to_pread_when_mapping_fails(tmp_path, monkeypatch):
    values = _values(np.int32)
    path = tmp_path / "a.h5"
    _write(path, values, (1000,))
    with h5py.File(path, "r") as f:
        arr = DirectArray.open(f["a"])
        assert arr.scan_method == arr.gather_method == "pread"  # the default: no SIGBUS on a truncated file
        arr.scan_method = arr.gather_method = "mmap"  # opted in: falls back when mapping fails

        def no_mapping(*args, **kwargs):
            raise OSError(19, "No such device")  # what mmap says on a filesystem without it

        monkeypatch.setattr(hdf5_chunks.mmap, "mmap", no_mapping)
        with pytest.raises(OSError):
            arr.find_mapped(7)
        assert np.array_equal(arr.find(7), np.flatnonzero(values == 7))
        assert np.array_equal(arr.gather(np.array([0, 5, 19_999])), values[[0, 5, 19_999]])
        arr.close()


@pytest.mark.parametrize("method", ["mmap", "pread"])
def test_truncated_file_gives_a_clear_oserror(tmp_path, method):
    values = np.arange(N, dtype=np.int32)
    path = tmp_path / "t.h5"
    _write(path, values, (1000,))
    with h5py.File(path, "r") as f:
        arr = DirectArray.open(f["a"])
        arr.scan_method = arr.gather_method = method
        assert np.array_equal(arr.find(12_345), [12_345])
        last = arr.extents[-1]
        with open(path, "r+b") as fh:  # in place, same inode, cutting into the last chunk
            fh.truncate(last.offset + 10)
        find, gather = (arr.find_mapped, arr.gather_mapped) if method == "mmap" else (arr.find_pread, arr.gather_pread)
        for read in (arr.find, find):
            with pytest.raises(OSError, match="shrank|truncated"):
                read(12_345)
        for read in (arr.gather, gather):
            with pytest.raises(OSError, match="shrank|truncated"):
                read(np.array([N - 1]))
        arr.close()


def _noncanonical():
    """Row 0: gene 2 twice, out of order; row 2: gene 0 three times; an explicit zero and a
    -0.0 (a stored value: its bits are not zero)."""
    indptr = np.array([0, 4, 4, 9])
    indices = np.array([5, 2, 0, 2, 0, 3, 0, 0, 4], dtype=np.int32)
    data = np.array([1.5, 2.0, 0.0, 4.0, 1.0, -0.0, 2.0, 0.5, 3.0], dtype=np.float32)
    return sp.csr_matrix((data, indices, indptr), shape=(3, 6))


@pytest.mark.parametrize("canonical", [True, False])
def test_read_sparse_equals_the_dense_column(tmp_path, canonical):
    if canonical:
        m = sp.random(3000, 40, density=0.1, format="csr", random_state=3, dtype=np.float32)
        m.data[::17] = 0.0  # explicit zeros stay stored entries
    else:
        m = _noncanonical()
    path = tmp_path / "x.h5"
    with h5py.File(path, "w") as f:
        g = f.create_group("X")
        g.attrs["encoding-type"] = "csr_matrix"
        g.attrs["encoding-version"] = "0.1.0"
        g.attrs["shape"] = np.asarray(m.shape)
        g.create_dataset("indptr", data=m.indptr.astype(np.int64))
        g.create_dataset("indices", data=m.indices, chunks=(7,))
        g.create_dataset("data", data=m.data, chunks=(7,))
    with h5py.File(path, "r") as f:
        reader = column_reader(f["X"])
        assert reader.strategy == "csr-direct"
        for j in range(m.shape[1]):
            dense = reader.read(j)
            rows, vals = reader.read_sparse(j)
            assert rows.dtype == np.int64 and vals.dtype == np.float32 and np.all(np.diff(rows) > 0), j
            again = np.zeros(m.shape[0], dtype=np.float32)
            again[rows] = vals
            assert np.array_equal(again.view(np.uint32), dense.view(np.uint32)), j  # -0.0 kept
        if not canonical:
            rows, vals = reader.read_sparse(0)  # row 0: an explicit zero; row 2: 1 + 2 + 0.5
            assert rows.tolist() == [2] and vals.tolist() == [3.5]
            rows, vals = reader.read_sparse(2)  # row 0: 2 + 4
            assert rows.tolist() == [0] and vals.tolist() == [6.0]
            rows, vals = reader.read_sparse(3)  # a stored -0.0
            assert rows.tolist() == [2] and np.signbit(vals[0])
        assert reader.read_sparse(m.shape[1]) is None  # out of range: read() raises the error
        reader.close()
        assert reader.read_sparse(0) is None  # no direct scan: the caller reads dense


def test_large_direct_reader_prefetches_indptr(tmp_path, monkeypatch):
    monkeypatch.setattr(expression, "SPLIT_MIN_NNZ", 10)
    m = sp.random(500, 20, density=0.2, format="csr", random_state=5, dtype=np.float32)
    path = tmp_path / "p.h5ad"
    ad.AnnData(X=m).write_h5ad(path)
    with h5py.File(path, "r") as f:
        reader = column_reader(f["X"])
        assert reader.strategy == "csr-direct"
        expression._scan_pool().submit(lambda: None).result()  # one worker: the prefetch ran first
        assert reader._indptr_cache is not None and np.array_equal(reader._indptr_cache, m.indptr)
        assert np.array_equal(reader.read(3), m[:, 3].toarray().ravel())
        reader.close()


def test_true_positions_equals_flatnonzero():
    from cellucid.data.gene_reading.hdf5_chunks import _true_positions

    rng = np.random.default_rng(6)
    masks = [np.zeros(0, bool), np.zeros(5, bool), np.ones(5, bool), np.zeros(64, bool), np.ones(64, bool)]
    for n in (7, 8, 9, 63, 64, 65, 1000, 4099):
        for density in (0.0, 0.001, 0.05, 0.5, 1.0):
            masks.append(rng.random(n) < density)
    edge = np.zeros(4099, bool)
    edge[[0, 7, 8, 15, 16, 17, 18, 19, 20, 21, 22, 23, 4095, 4096, 4098]] = True  # word edges, a full word, the tail
    masks.append(edge)
    for mask in masks:
        words = np.empty(mask.shape[0] // 8, dtype=bool)
        got = _true_positions(mask, words)
        assert got.dtype == np.int64 and np.array_equal(got, np.flatnonzero(mask)), mask.shape
