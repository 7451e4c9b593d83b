"""Reading one gene column from dense / CSR / CSC matrices in memory and on disk."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import scipy.sparse as sp
import zarr
from anndata.io import write_elem

from cellucid.data.gene_reading import columns as expression
from cellucid.data.gene_reading.columns import column_reader


@pytest.fixture
def matrix():
    rng = np.random.default_rng(5)
    m = (rng.random((500, 30)) < 0.2) * rng.integers(1, 100, (500, 30))
    m[:, 4] = 0  # an all-zero gene
    return m.astype(np.int32)


def readers(m, tmp_path):
    """The same matrix in every supported container."""
    yield "numpy", column_reader(m)
    yield "csr", column_reader(sp.csr_matrix(m))
    yield "csc", column_reader(sp.csc_matrix(m))
    yield "coo", column_reader(sp.coo_matrix(m))
    f = h5py.File(tmp_path / "m.h5", "w")
    for name, value in (("dense", m), ("csr", sp.csr_matrix(m)), ("csc", sp.csc_matrix(m))):
        write_elem(f, name, value)
    yield "h5-dense", column_reader(f["dense"])
    yield "h5-csr", column_reader(f["csr"])
    yield "h5-csc", column_reader(f["csc"])
    z = zarr.open_group(tmp_path / "m.zarr", mode="w", zarr_format=2)
    for name, value in (("dense", m), ("csr", sp.csr_matrix(m)), ("csc", sp.csc_matrix(m))):
        write_elem(z, name, value)
    yield "zarr-dense", column_reader(z["dense"])
    yield "zarr-csr", column_reader(z["csr"])
    yield "zarr-csc", column_reader(z["csc"])
    f.close()


def test_every_container_reads_the_same_columns(matrix, tmp_path):
    for name, reader in readers(matrix, tmp_path):
        assert reader.shape == (500, 30), name
        for j in range(30):
            got = reader.read(j)
            assert got.dtype == np.float32 and got.flags.c_contiguous, name
            assert np.array_equal(got, matrix[:, j].astype(np.float32)), (name, j)


def test_layout_and_on_disk_flags(matrix, tmp_path):
    flags = {name: (r.layout, r.on_disk) for name, r in readers(matrix, tmp_path)}
    assert flags["numpy"] == ("dense", False)
    assert flags["csc"] == ("csc", False)
    assert flags["h5-csr"] == ("csr", True)
    assert flags["zarr-csc"] == ("csc", True)
    assert flags["zarr-dense"] == ("dense", True)


def test_csr_scan_in_small_chunks(matrix, tmp_path, monkeypatch):
    # Chunk boundaries fall inside rows; the result must not change.
    monkeypatch.setattr(expression, "SCAN_CHUNK", 7)
    with h5py.File(tmp_path / "c.h5", "w") as f:
        write_elem(f, "csr", sp.csr_matrix(matrix))
        reader = column_reader(f["csr"])
        for j in (0, 4, 13, 29):
            assert np.array_equal(reader.read(j), matrix[:, j].astype(np.float32))


def test_duplicate_entries_are_summed_like_scipy():
    # Row 0 holds column 1 twice (a non-canonical CSR/CSC matrix).
    data, indices, indptr = np.array([1.0, 2.0, 5.0]), np.array([1, 1, 0]), np.array([0, 2, 3])
    csr = sp.csr_matrix((data, indices, indptr), shape=(2, 2))
    expected = csr.toarray()
    assert np.array_equal(column_reader(csr).read(1), expected[:, 1].astype(np.float32))
    csc = sp.csc_matrix((np.array([1.0, 2.0]), np.array([0, 0]), np.array([0, 0, 2])), shape=(2, 2))
    assert column_reader(csc).read(1).tolist() == [3.0, 0.0]


def test_float64_and_out_of_range(matrix):
    reader = column_reader(matrix.astype(np.float64) / 3)
    assert np.allclose(reader.read(2), (matrix[:, 2] / 3).astype(np.float32))
    with pytest.raises(IndexError):
        reader.read(30)
    with pytest.raises(TypeError):
        column_reader(np.zeros(5))
    with pytest.raises(TypeError):
        column_reader("not a matrix")


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(
    n_rows=st.integers(1, 40),
    n_cols=st.integers(1, 12),
    nnz=st.integers(0, 120),
    chunk=st.integers(1, 50),
    seed=st.integers(0, 2**16),
)
def test_sparse_readers_match_scipy_on_random_matrices(n_rows, n_cols, nnz, chunk, seed):
    """Random COO entries (duplicates allowed) as CSR/CSC, scanned in random chunk sizes."""
    rng = np.random.default_rng(seed)
    rows, cols = rng.integers(0, n_rows, nnz), rng.integers(0, n_cols, nnz)
    vals = rng.integers(-5, 20, nnz).astype(np.int32)
    coo = sp.coo_matrix((vals, (rows, cols)), shape=(n_rows, n_cols))
    expected = coo.toarray().astype(np.float32)  # scipy sums duplicates
    old = expression.SCAN_CHUNK
    expression.SCAN_CHUNK = chunk
    try:
        # Build CSR and CSC by hand so duplicate entries stay duplicated (scipy's own
        # conversions would sum them first).
        for major, minor, cls in ((rows, cols, sp.csr_matrix), (cols, rows, sp.csc_matrix)):
            n_major = n_rows if cls is sp.csr_matrix else n_cols
            order = np.argsort(major, kind="stable")
            indptr = np.searchsorted(major[order], np.arange(n_major + 1))
            raw = cls((vals[order], minor[order], indptr), shape=(n_rows, n_cols))
            reader = column_reader(raw)
            disk = expression.ColumnReader(reader.layout, reader.shape, True, indptr=reader.indptr,
                                           indices=reader.indices, data=reader.data)
            for j in range(n_cols):
                assert np.array_equal(reader.read(j), expected[:, j])
                assert np.array_equal(disk.read(j), expected[:, j])  # the chunked-scan path
    finally:
        expression.SCAN_CHUNK = old
