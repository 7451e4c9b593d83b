"""The Dask path gives the in-process answers: rank_genes (t-test, Wilcoxon), markers and the
server's precomputed arrays, on a backed .h5ad, a .zarr and a dense .h5ad written by anndata,
with a real LocalCluster of two worker processes that open the files themselves."""

from __future__ import annotations

import numpy as np
import pytest
from dask_helpers import assert_same_frames, cellucid_tasks, fresh
from distributed import get_task_stream

import cellucid


@pytest.mark.parametrize("kind", ["h5ad", "zarr", "dense"])
def test_markers_t_test(files, client, kind):
    path = files[kind]
    expected = fresh(cellucid.markers, path, "cell_type")
    with get_task_stream(client=client) as ts:
        got = fresh(cellucid.markers, path, "cell_type", dask_client=client)
    assert_same_frames(expected, got)
    ran = cellucid_tasks(ts)
    assert any(k.startswith("cellucid-sums-") for k in ran)  # per-category sums on the workers
    assert any(k.startswith("cellucid-totals-") for k in ran)
    assert len(ran) >= 4  # split into row blocks, not one task


@pytest.mark.parametrize("kind", ["h5ad", "zarr", "dense"])
def test_rank_genes_t_test_small_and_large_groups(files, client, adata, kind):
    path = files[kind]
    small = np.flatnonzero(adata.obs["cell_type"].to_numpy() == "B cell")
    half = np.arange(0, adata.n_obs, 2)
    for group in (small, half):
        expected = fresh(cellucid.rank_genes, path, group)
        with get_task_stream(client=client) as ts:
            got = fresh(cellucid.rank_genes, path, group, dask_client=client)
        assert_same_frames(expected, got)
        assert cellucid_tasks(ts)  # at least the totals; the half group's sums too
    # a reference group (both sides read as groups)
    ref = np.flatnonzero(adata.obs["cell_type"].to_numpy() == "T cell")
    expected = fresh(cellucid.rank_genes, path, small, ref)
    assert_same_frames(expected, fresh(cellucid.rank_genes, path, small, ref, dask_client=client))


@pytest.mark.parametrize("kind", ["h5ad", "zarr"])
def test_wilcoxon_markers_and_vs_rest(files, client, adata, kind):
    path = files[kind]
    expected = fresh(cellucid.markers, path, "cell_type", method="wilcoxon", tie_correct=True)
    with get_task_stream(client=client) as ts:
        got = fresh(cellucid.markers, path, "cell_type", method="wilcoxon", tie_correct=True, dask_client=client)
    assert_same_frames(expected, got)
    ran = cellucid_tasks(ts)
    assert any(k.startswith("cellucid-values-") for k in ran)  # the value table on the workers
    assert any(k.startswith("cellucid-ranks-") for k in ran)  # the rank sums too
    # one group against the rest; a group of 30 % is read from all blocks (the cluster's job)
    group = np.flatnonzero(np.arange(adata.n_obs) % 10 < 3)
    with get_task_stream(client=client) as ts:
        got = fresh(cellucid.rank_genes, path, group, method="wilcoxon", dask_client=client)
    assert_same_frames(fresh(cellucid.rank_genes, path, group, method="wilcoxon"), got)
    assert any(k.startswith("cellucid-ranks-") for k in cellucid_tasks(ts))


@pytest.mark.parametrize("kind", ["h5ad", "zarr"])
def test_precompute_arrays(files, client, kind):
    """What the server precomputes (analysis/prepare.py): totals and the value table."""
    from cellucid.analysis import prepare
    from cellucid.analysis._matrix import expression_of
    from cellucid.analysis.cluster import DaskCluster
    from cellucid.data import open_source

    local, remote = open_source(files[kind]), open_source(files[kind])
    try:
        e_local, e_remote = expression_of(local), expression_of(remote)
        e_remote.cluster = DaskCluster(client)
        prepare.prepare(local)
        with get_task_stream(client=client) as ts:
            prepare.prepare(remote)
        assert prepare.status(remote) == "ready"
        ran = cellucid_tasks(ts)
        assert any(k.startswith("cellucid-totals-") for k in ran)
        assert any(k.startswith("cellucid-values-") for k in ran)
        a, b = e_local.totals(), e_remote.totals()
        np.testing.assert_allclose(b.total, a.total, rtol=1e-12)
        np.testing.assert_allclose(b.squares, a.squares, rtol=1e-12)
        np.testing.assert_array_equal(b.nonzero, a.nonzero)
        ta, tb = e_local._value_table, e_remote._value_table
        assert ta is not None and tb is not None
        np.testing.assert_array_equal(tb.keys, ta.keys)
        np.testing.assert_array_equal(tb.rank, ta.rank)
        np.testing.assert_array_equal(tb.zero_rank, ta.zero_rank)
        np.testing.assert_array_equal(tb.ties, ta.ties)
    finally:
        local.close()
        remote.close()


def test_in_memory_data_runs_in_process_and_says_why(adata, client):
    """An AnnData in memory has no path for the workers: computed here, with a note."""
    from cellucid.analysis._matrix import expression_of
    from cellucid.analysis.cluster import DaskCluster
    from cellucid.data import open_source

    source = open_source(adata)
    expr = expression_of(source)
    expr.cluster = cluster = DaskCluster(client)
    with get_task_stream(client=client) as ts:
        got = fresh(cellucid.markers, source, "cell_type")
    assert not cellucid_tasks(ts)
    assert "not read from a .h5ad / .zarr path" in cluster.status()["note"]
    assert_same_frames(fresh(cellucid.markers, adata, "cell_type"), got)


def test_csc_file_runs_in_process_and_says_why(adata, client, tmp_path):
    """A gene-major (CSC) matrix cannot be split into row blocks: computed here, with a note."""
    from cellucid.analysis._matrix import expression_of
    from cellucid.analysis.cluster import DaskCluster
    from cellucid.data import open_source

    csc = adata.copy()
    csc.X = csc.X.tocsc()
    path = tmp_path / "csc.h5ad"
    csc.write_h5ad(path)
    source = open_source(path)
    try:
        expression_of(source).cluster = cluster = DaskCluster(client)
        with get_task_stream(client=client) as ts:
            got = fresh(cellucid.markers, source, "cell_type")
        assert not cellucid_tasks(ts)
        assert "stored CSC (gene-major)" in cluster.status()["note"]
    finally:
        source.close()
    assert_same_frames(fresh(cellucid.markers, path, "cell_type"), got)
