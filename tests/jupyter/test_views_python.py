"""The views conveniences of the Viewer (no browser): what they send to the viewer, what they
read back from the viewer's reports, and the errors they raise for bad input."""

from __future__ import annotations

import pytest
from test_viewer_python import custom

from cellucid.widget import show_anndata

LIVE = {"id": "live", "name": "live", "embedding": "X_umap", "dimension": 2, "color_by": "cell_type"}


@pytest.fixture
def viewer(demo_adata):
    v = show_anndata(demo_adata, display=False, quiet=True)
    sent = []
    v.widget.send = lambda content, buffers=None: sent.append(content)
    v.sent = sent
    yield v
    v.stop()


def test_snapshot_sends_the_command_with_a_fresh_id(viewer):
    vid = viewer.snapshot("counts", color_by="n_counts", dimension=2)
    assert viewer.sent[-1] == {"cmd": "snapshot", "payload": {"id": vid, "name": "counts", "color_by": "n_counts", "dimension": 2}}
    assert viewer.snapshot() != vid


def test_views_and_layout_come_from_the_viewers_report(viewer):
    assert viewer.views == [] and viewer.layout == "single"
    snap = {**LIVE, "id": "view-1", "name": "snapshot 1", "color_by": "n_counts"}
    custom(viewer.widget, "views", {"views": [LIVE, snap], "layout": "grid", "link_cameras": True})
    assert viewer.views == [LIVE, snap] and viewer.layout == "grid" and viewer.link_cameras is True
    viewer.views[0]["name"] = "changed"  # a copy: the widget's list is not touched
    assert viewer.views[0]["name"] == "live"
    viewer.layout = "single"
    assert viewer.widget.layout == "single"
    assert viewer.sent[-1] == {"cmd": "layout", "payload": {"layout": "single"}}
    viewer.link_cameras = False
    assert viewer.widget.link_cameras is False
    assert viewer.sent[-1] == {"cmd": "link_cameras", "payload": {"on": False}}
    viewer.remove_view("view-1")
    assert viewer.sent[-1] == {"cmd": "remove_view", "payload": {"id": "view-1"}}


def test_bad_views_input_says_what_to_do(viewer):
    with pytest.raises(ValueError, match="'single' or 'grid'"):
        viewer.layout = "mosaic"
    with pytest.raises(ValueError, match="1, 2 or 3"):
        viewer.snapshot(dimension=4)
    with pytest.raises(ValueError, match="live view cannot be removed"):
        viewer.remove_view("live")
    custom(viewer.widget, "views", {"views": [LIVE, {**LIVE, "id": "view-1"}]})
    with pytest.raises(KeyError, match="view-1"):
        viewer.remove_view("nope")
    custom(viewer.widget, "views", {"views": [LIVE] + [{**LIVE, "id": f"view-{k}"} for k in (1, 2, 3)]})
    with pytest.raises(ValueError, match="remove one first"):
        viewer.snapshot()
    assert viewer.sent == []  # nothing refused reached the viewer


def test_a_refused_views_command_is_warned_about(viewer):
    with pytest.warns(UserWarning, match="at most 4 views"):
        custom(viewer.widget, "view_error", {"message": "at most 4 views (the live view and 3 snapshots) fit side by side"})
