"""The on-disk gene-major index: right columns, atomic files, keys that follow the file."""

from __future__ import annotations

import os
import time

import anndata as ad
import h5py
import numpy as np
import pytest
import scipy.sparse as sp

from cellucid.data.gene_reading.gene_index import GeneIndex, cache_dir, file_cache_key


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    # Every test gets its own cache dir; nothing touches the real ~/.cache.
    monkeypatch.setenv("CELLUCID_CACHE_DIR", str(tmp_path / "cache"))


def _csr(n_rows=3000, n_cols=257, seed=0):
    m = sp.random(n_rows, n_cols, density=0.04, format="csr", dtype=np.float32, random_state=seed)
    m = m.tolil()
    m[:, 5] = 0  # an empty column
    m[7, :] = 0  # an empty row
    return m.tocsr()


def _h5ad(path, X):
    ad.AnnData(X=X).write_h5ad(path)
    return path


@pytest.mark.parametrize("chunk_nnz", [500, 100_000])  # many short runs (bucketed) / long runs (direct)
def test_columns_equal_scipy_from_numpy_arrays(chunk_nnz):
    X = _csr()
    g = GeneIndex.open_or_build(f"a{chunk_nnz}", X.indptr, X.indices, X.data, *X.shape, background=False, progress=False, chunk_nnz=chunk_nnz)
    assert g.ready and g.error is None
    C = X.tocsc()
    for j in range(X.shape[1]):
        np.testing.assert_array_equal(g.column(j), C[:, j].toarray().ravel())
    assert g.column(5).dtype == np.float32 and not g.column(5).any()


def test_columns_equal_scipy_from_backed_h5ad_in_background(tmp_path):
    X = _csr(seed=1)
    path = _h5ad(tmp_path / "d.h5ad", X)
    with h5py.File(path, "r") as f:
        x = f["X"]
        g = GeneIndex.open_or_build(
            file_cache_key(path, "ds-test"), x["indptr"], x["indices"], x["data"], *X.shape, progress=False, chunk_nnz=777
        )
        assert g.wait(60)
    C = X.tocsc()
    for j in (0, 1, 5, 100, X.shape[1] - 1):
        np.testing.assert_array_equal(g.column(j), C[:, j].toarray().ravel())


def test_integer_data_becomes_float32():
    X = _csr(seed=2)
    X.data = np.round(X.data * 10).astype(np.int64)
    g = GeneIndex.open_or_build("ints", X.indptr, X.indices, X.data, *X.shape, background=False, progress=False)
    np.testing.assert_array_equal(g.column(3), X[:, 3].toarray().ravel().astype(np.float32))


def test_second_open_reuses_the_file_without_reading_the_matrix():
    X = _csr(seed=3)
    GeneIndex.open_or_build("reuse", X.indptr, X.indices, X.data, *X.shape, background=False, progress=False)
    # Arrays that fail on any read: only an index opened from disk can answer.
    class Boom:
        def __getitem__(self, _):
            raise AssertionError("matrix was read again")

    g = GeneIndex.open_or_build("reuse", Boom(), Boom(), Boom(), *X.shape, background=False, progress=False)
    assert g.ready and g.error is None
    np.testing.assert_array_equal(g.column(9), X[:, 9].toarray().ravel())


def test_failed_build_leaves_no_file_and_no_temp():
    X = _csr(seed=4)

    class FailsLate:
        # data is only read while writing (counting reads indices): fail after `ok` reads.
        def __init__(self, arr, ok):
            self.arr, self.calls, self.ok = arr, 0, ok

        def __getitem__(self, s):
            self.calls += 1
            if self.calls > self.ok:
                raise OSError("disk went away")
            return self.arr[s]

    for chunk_nnz, ok in ((300, 3), (100_000, 0)):  # bucketed writer half-way; direct writer
        g = GeneIndex.open_or_build(
            "fail", X.indptr, X.indices, FailsLate(X.data, ok), *X.shape, background=False, progress=False, chunk_nnz=chunk_nnz
        )
        assert not g.ready and isinstance(g.error, OSError)
        assert os.listdir(cache_dir()) == []  # neither a final file nor a temp or bucket file
    g2 = GeneIndex.open_or_build("fail", X.indptr, X.indices, X.data, *X.shape, background=False, progress=False)
    assert g2.ready and os.listdir(cache_dir()) == ["fail.cgidx"]


def test_truncated_index_file_is_rebuilt():
    X = _csr(seed=5)
    g = GeneIndex.open_or_build("trunc", X.indptr, X.indices, X.data, *X.shape, background=False, progress=False)
    g.close()
    with open(g.path, "r+b") as f:
        f.truncate(os.path.getsize(g.path) - 8)
    g2 = GeneIndex.open_or_build("trunc", X.indptr, X.indices, X.data, *X.shape, background=False, progress=False)
    assert g2.ready
    np.testing.assert_array_equal(g2.column(X.shape[1] - 1), X[:, -1].toarray().ravel())


def test_cache_key_changes_when_the_file_changes(tmp_path):
    path = _h5ad(tmp_path / "d.h5ad", _csr(seed=6))
    k1 = file_cache_key(path, "ds-1")
    assert file_cache_key(path, "ds-1") == k1
    assert file_cache_key(path, "ds-2") != k1
    assert file_cache_key(path, "ds-1", matrix="raw/X") != k1
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    k2 = file_cache_key(path, "ds-1")
    assert k2 != k1
    time.sleep(0.01)
    _h5ad(path, _csr(seed=7))
    assert file_cache_key(path, "ds-1") not in (k1, k2)


def test_cache_dir_follows_env_and_is_never_the_data_folder(tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    X = _csr(seed=8)
    path = _h5ad(data_dir / "d.h5ad", X)
    before = sorted(os.listdir(data_dir))

    monkeypatch.delenv("CELLUCID_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "cellucid" / "gene-index"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "cellucid" / "gene-index"

    with h5py.File(path, "r") as f:
        x = f["X"]
        g = GeneIndex.open_or_build(file_cache_key(path), x["indptr"], x["indices"], x["data"], *X.shape, background=False, progress=False)
    assert g.ready
    assert g.path.parent == cache_dir()
    assert data_dir not in g.path.parents
    assert sorted(os.listdir(data_dir)) == before


def test_bad_key_and_out_of_range_column_are_clear_errors():
    X = _csr(seed=9)
    with pytest.raises(ValueError, match="cache_key"):
        GeneIndex.open_or_build("../escape", X.indptr, X.indices, X.data, *X.shape, background=False)
    g = GeneIndex.open_or_build("ok", X.indptr, X.indices, X.data, *X.shape, background=False, progress=False)
    with pytest.raises(IndexError, match="out of range"):
        g.column(X.shape[1])


def test_index_for_reader_only_for_on_disk_csr(tmp_path, monkeypatch):
    from cellucid.data.gene_reading.columns import column_reader
    from cellucid.data.gene_reading.gene_index import index_for_reader

    X = _csr(seed=10)
    csr_path = _h5ad(tmp_path / "csr.h5ad", X)
    csc_path = _h5ad(tmp_path / "csc.h5ad", X.tocsc())
    with h5py.File(csr_path, "r") as f, h5py.File(csc_path, "r") as g:
        csr_reader, csc_reader = column_reader(f["X"]), column_reader(g["X"])
        assert index_for_reader(csc_reader, csc_path) is None
        assert index_for_reader(column_reader(X), csr_path) is None  # in memory: no index
        monkeypatch.setenv("CELLUCID_GENE_INDEX", "0")
        assert index_for_reader(csr_reader, csr_path) is None
        monkeypatch.delenv("CELLUCID_GENE_INDEX")
        idx = index_for_reader(csr_reader, csr_path, "ds-x", "X", progress=False)
        assert idx.wait(60)
        for j in (0, 5, 77):
            np.testing.assert_array_equal(idx.column(j), csr_reader.read(j))


def test_indexed_reader_reads_through_the_index_once_ready(tmp_path):
    from cellucid.data.gene_reading.columns import column_reader
    from cellucid.data.gene_reading.gene_index import IndexedReader, index_for_reader

    X = _csr(seed=11)
    path = _h5ad(tmp_path / "d.h5ad", X)
    with h5py.File(path, "r") as f:
        plain = column_reader(f["X"])
        idx = index_for_reader(plain, path, progress=False)
        reader = IndexedReader(plain, idx)
        assert reader.shape == X.shape and reader.layout == "csr"
        assert idx.wait(60)

        class NoScan:  # proves reads now come from the index, not from the matrix
            shape, layout = plain.shape, plain.layout

            def read(self, j):
                raise AssertionError("scanned the matrix")

        reader.reader = NoScan()
        np.testing.assert_array_equal(reader.read(42), X[:, 42].toarray().ravel())
        reader.close()
        assert not idx.ready


@pytest.mark.parametrize("chunk_nnz", [300, 100_000])  # bucketed / staged writer
def test_close_stops_a_running_build_and_leaves_no_temp(chunk_nnz):
    # The build is held inside its writing phase (the first read of values once the
    # temporary file exists; the counting pass reads them too) until close() has asked it
    # to stop; the thread must then end (no daemon thread left inside the user's file at
    # exit) and the temporary file must be gone.
    import threading

    X = _csr(seed=6)
    writing = threading.Event()
    box = {}

    class HeldData:
        def __getitem__(self, s):
            if any(p.endswith(".tmp") for p in os.listdir(cache_dir())):
                writing.set()
                box["index"]._cancel.wait(10)  # hold until close() has been called
            return X.data[s]

    g = GeneIndex.open_or_build("cancel", X.indptr, X.indices, HeldData(), *X.shape, progress=False,
                                chunk_nnz=chunk_nnz, start_delay=0.2)
    box["index"] = g
    assert writing.wait(30)
    assert any(p.endswith(".tmp") for p in os.listdir(cache_dir()))  # mid-write
    g.close()
    assert not g._thread.is_alive()
    assert not g.ready and g.error is None
    assert os.listdir(cache_dir()) == []  # no final file, no .tmp, no bucket file


def test_close_during_the_start_delay_never_builds():
    X = _csr(seed=7)
    g = GeneIndex.open_or_build("delayed", X.indptr, X.indices, X.data, *X.shape, progress=False, start_delay=30)
    g.close()
    assert not g._thread.is_alive() and not g.ready
    assert not (cache_dir() / "delayed.cgidx").exists()


@pytest.mark.parametrize("chunk_nnz", [300, 100_000])  # bucketed / staged writer
def test_build_asks_yield_while_between_steps_and_still_finishes_while_it_says_wait(chunk_nnz):
    # A server sets yield_while (a viewer is loading): the build asks it between its steps
    # and waits while it is true — within its share of the time, so it ends even if it says
    # "wait" for ever; close() stops it while it waits.
    import threading

    X = _csr(seed=8)
    asked = []
    g = GeneIndex.open_or_build(f"yield{chunk_nnz}", X.indptr, X.indices, X.data, *X.shape, progress=False,
                                chunk_nnz=chunk_nnz, start_delay=0.2)
    g.yield_while = lambda: asked.append(1) or True  # "a viewer is loading", always
    assert g.wait(60) and g.error is None
    assert len(asked) >= 2  # asked at more than one step
    C = X.tocsc()
    for j in (0, 5, X.shape[1] - 1):
        np.testing.assert_array_equal(g.column(j), C[:, j].toarray().ravel())

    waiting = threading.Event()
    g2 = GeneIndex.open_or_build(f"yieldclose{chunk_nnz}", X.indptr, X.indices, X.data, *X.shape, progress=False,
                                 chunk_nnz=chunk_nnz, start_delay=0.2)
    g2.yield_while = lambda: waiting.set() or True
    assert waiting.wait(30)
    g2.close()
    assert not g2._thread.is_alive() and not g2.ready and g2.error is None
    assert not any(p.startswith(f"yieldclose{chunk_nnz}") for p in os.listdir(cache_dir()))
