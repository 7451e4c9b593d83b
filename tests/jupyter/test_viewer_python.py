"""The Viewer object against a real background server (no browser).

Viewer events are delivered the way the front end delivers them: as comm "update" and
"custom" messages handled by ipywidgets' own ``_handle_msg``.
"""

from __future__ import annotations

import gc
import threading
import time
import warnings

import numpy as np
import pandas as pd
import pytest
from jupyter_helpers import port_is_listening
from test_widget_traits import front_end_update, js_selection

import cellucid
from cellucid.widget import show_anndata


def custom(widget, event, payload):
    widget._handle_msg({"content": {"data": {"method": "custom", "content": {"event": event, "payload": payload}}}, "buffers": []})


def select_from_viewer(viewer, cells, source="lasso", seq=[0]):  # noqa: B006 - a counter on purpose
    seq[0] += 1
    front_end_update(viewer.widget, selection=js_selection(np.asarray(cells)), selection_event={"seq": seq[0], "source": source})


@pytest.fixture
def viewer(demo_adata):
    v = show_anndata(demo_adata, display=False, quiet=True)
    yield v
    v.stop()


def test_widget_points_at_the_running_server_with_its_token(viewer):
    w = viewer.widget
    assert w.server_url == f"http://127.0.0.1:{viewer.server.port}/"
    assert w.server_port == viewer.server.port and w.proxy_url == ""
    assert w.token == viewer.server.token and len(w.token) >= 16
    assert port_is_listening(viewer.server.port)


def test_lasso_selection_reaches_property_callbacks_and_selected_obs(viewer, demo_adata):
    got_a, got_b = [], []
    viewer.on_selection(got_a.append)

    @viewer.on_selection
    def second(event):
        got_b.append(event)

    cells = np.array([10, 3, 2999, 42], dtype=np.uint32)
    select_from_viewer(viewer, cells)
    np.testing.assert_array_equal(viewer.selection, cells)
    assert len(got_a) == 1 and len(got_b) == 1
    assert got_a[0]["source"] == "lasso"
    np.testing.assert_array_equal(got_a[0]["cells"], cells)
    obs = viewer.selected_obs()
    assert isinstance(obs, pd.DataFrame)
    pd.testing.assert_frame_equal(obs, demo_adata.obs.iloc[cells.astype(int)])
    assert viewer.state["selection"]["source"] == "lasso"


def test_the_same_selection_twice_calls_back_twice(viewer):
    got = []
    viewer.on_selection(got.append)
    select_from_viewer(viewer, [1, 2, 3], source="click")
    select_from_viewer(viewer, [1, 2, 3], source="click")
    assert len(got) == 2


def test_empty_selection_gives_an_empty_frame_with_all_columns(viewer, demo_adata):
    select_from_viewer(viewer, [], source="clear")
    obs = viewer.selected_obs()
    assert obs.shape == (0, demo_adata.obs.shape[1])


def test_selected_obs_for_an_h5ad_path_reads_obs_from_the_file(demo_h5ad, demo_adata):
    v = show_anndata(str(demo_h5ad), display=False, quiet=True)
    try:
        select_from_viewer(v, [0, 5, 7])
        obs = v.selected_obs()
        assert list(obs.index) == list(demo_adata.obs_names[[0, 5, 7]])
        assert list(obs.columns) == list(demo_adata.obs.columns)
        assert v.n_cells == 3000
        with pytest.raises(ValueError, match="out of range"):
            v.highlight_cells([3000])
    finally:
        v.stop()


def test_hover_click_ready_callbacks_and_state(viewer):
    hovers, clicks, readies = [], [], []
    viewer.on_hover(hovers.append)
    viewer.on_click(clicks.append)
    viewer.on_ready(readies.append)
    assert not viewer.is_ready
    custom(viewer.widget, "ready", {"n_cells": 3000, "dimensions": [1, 2, 3]})
    front_end_update(viewer.widget, hover=17)
    front_end_update(viewer.widget, hover=None)
    custom(viewer.widget, "click", {"cell": 5, "shift": True, "ctrl": False})
    assert readies == [{"n_cells": 3000, "dimensions": [1, 2, 3]}]
    assert hovers == [{"cell": 17}, {"cell": None}]
    assert clicks == [{"cell": 5, "shift": True, "ctrl": False}]
    assert viewer.is_ready and viewer.wait_for_ready(0.1) is True
    st = viewer.state
    assert st["click"] == {"cell": 5, "shift": True, "ctrl": False} and st["hover"] == {"cell": None}
    late = []
    viewer.on_ready(late.append)  # registered after ready: called at once
    assert late == [{"n_cells": 3000, "dimensions": [1, 2, 3]}]


def test_a_failing_callback_does_not_stop_the_others(viewer, capsys):
    got = []
    viewer.on_click(lambda e: 1 / 0)
    viewer.on_click(got.append)
    custom(viewer.widget, "click", {"cell": 1, "shift": False, "ctrl": False})
    assert got and "ZeroDivisionError" in capsys.readouterr().err


def test_python_commands_set_the_synced_traits(viewer):
    viewer.highlight_cells([4, 5, 6], color="#0f0")
    assert viewer.widget.highlight_color == "#00ff00"
    np.testing.assert_array_equal(viewer.highlight, [4, 5, 6])
    viewer.clear_highlights()
    assert viewer.highlight.size == 0
    viewer.set_color_by("n_counts")
    assert viewer.widget.color_by == "n_counts"
    viewer.color_by = "cell_type"
    assert viewer.color_by == "cell_type" and viewer.state["color_by"] == "cell_type"
    viewer.dimension = 3
    assert viewer.widget.dimension == 3


@pytest.mark.parametrize("call", [
    lambda v: v.highlight_cells([3000]),
    lambda v: v.highlight_cells([1], color="red"),
    lambda v: v.set_visibility([-1], False),
    lambda v: v.set_color_by(""),
])
def test_bad_arguments_raise_clear_errors(viewer, call):
    with pytest.raises((ValueError, TypeError)):
        call(viewer)


def test_stop_frees_the_port_and_is_idempotent(demo_adata):
    v = show_anndata(demo_adata, display=False, quiet=True)
    port = v.server.port
    assert port_is_listening(port)
    v.stop()
    v.stop()
    assert not port_is_listening(port)
    assert v.widget.comm is None


def test_closing_the_widget_stops_the_server(demo_adata):
    v = show_anndata(demo_adata, display=False, quiet=True)
    port = v.server.port
    v.widget.close()
    assert not port_is_listening(port)


def test_rebinding_the_name_frees_the_old_server(demo_adata):
    threads_before = threading.active_count()
    v = show_anndata(demo_adata, display=False, quiet=True)
    port = v.server.port
    v.on_selection(lambda e: None)
    del v  # what re-running `viewer = show_anndata(adata)` does to the old viewer
    gc.collect()
    deadline = time.monotonic() + 5
    while port_is_listening(port) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not port_is_listening(port)
    deadline = time.monotonic() + 5
    while threading.active_count() > threads_before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() <= threads_before


def test_several_viewers_are_independent(demo_adata):
    a = show_anndata(demo_adata, display=False, quiet=True)
    b = show_anndata(demo_adata, display=False, quiet=True)
    try:
        assert a.server.port != b.server.port and a.widget.token != b.widget.token
        select_from_viewer(a, [1, 2])
        assert a.selection.size == 2 and b.selection.size == 0
    finally:
        a.stop()
        b.stop()


def test_stop_all_stops_every_live_viewer(demo_adata):
    a = show_anndata(demo_adata, display=False, quiet=True)
    port = a.server.port
    assert cellucid.widget.stop_all() >= 1
    assert not port_is_listening(port)


def test_wait_for_ready_blocks_off_the_kernel_thread_until_ready(viewer):
    result = {}
    t = threading.Thread(target=lambda: result.setdefault("ready", viewer.wait_for_ready(10)))
    t.start()
    time.sleep(0.2)
    assert t.is_alive()  # still waiting: nothing said ready yet
    custom(viewer.widget, "ready", {"n_cells": 3000, "dimensions": [2]})
    t.join(5)
    assert result == {"ready": True}


def test_wait_for_ready_inside_a_running_loop_returns_at_once_with_advice(viewer):
    import asyncio

    async def in_cell():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ok = viewer.wait_for_ready(30)
        return ok, caught

    start = time.monotonic()
    ok, caught = asyncio.run(in_cell())
    assert ok is False and time.monotonic() - start < 5
    assert any("await viewer.ready()" in str(w.message) for w in caught)


def test_await_ready_returns_when_the_viewer_says_ready(viewer):
    import asyncio

    async def scenario():
        loop = asyncio.get_running_loop()
        loop.call_later(0.2, custom, viewer.widget, "ready", {"n_cells": 3000, "dimensions": [2]})
        return await viewer.ready(10)

    assert asyncio.run(scenario()) is True


def test_proxy_url_from_jupyterhub_prefix(monkeypatch, demo_adata):
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/alice/")
    v = show_anndata(demo_adata, display=False, quiet=True)
    try:
        assert v.widget.proxy_url == f"/user/alice/proxy/{v.server.port}/"
    finally:
        v.stop()


def test_set_proxy_true_lets_the_page_supply_the_base_url(demo_adata):
    cellucid.set_proxy(True)
    v = show_anndata(demo_adata, display=False, quiet=True)
    try:
        assert v.widget.proxy_url == "auto"
    finally:
        v.stop()


def test_show_export_folder_rebuilds_obs_from_the_export(tmp_path, demo_adata):
    out = tmp_path / "export"
    cellucid.prepare(demo_adata, out)
    v = cellucid.show(out, display=False, quiet=True)
    try:
        select_from_viewer(v, [0, 5, 9])
        obs = v.selected_obs()
        assert list(obs.index) == list(demo_adata.obs_names[[0, 5, 9]])
        assert list(obs["cell_type"].astype(str)) == list(demo_adata.obs["cell_type"].iloc[[0, 5, 9]].astype(str))
        np.testing.assert_allclose(obs["n_counts"], demo_adata.obs["n_counts"].iloc[[0, 5, 9]])
    finally:
        v.stop()


def test_repr_shows_the_widget_until_stopped(viewer):
    bundle = viewer._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert data["application/vnd.jupyter.widget-view+json"]["model_id"] == viewer.widget.model_id
    viewer.stop()
    assert viewer._repr_mimebundle_() == {"text/plain": repr(viewer)} and "stopped" in repr(viewer)


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_selected_obs_for_a_zarr_path_keeps_missing_values_and_dtypes(make_adata, write_zarr, zarr_format):
    adata = make_adata()
    path = write_zarr(adata, zarr_format=zarr_format)
    v = show_anndata(str(path), display=False, quiet=True)
    try:
        cells = [0, 1, 4, 7, 299]
        select_from_viewer(v, cells)
        pd.testing.assert_frame_equal(v.selected_obs(), adata.obs.iloc[cells])
    finally:
        v.stop()
